"""Featurisation throughput: HashingTfidf against SklearnTfidf and a word-only TfidfVectorizer.

Builds a corpus of real comments (the text columns of the Jigsaw CSVs, cycled) and prints, per
featuriser: docs/s for fit_transform, transform, scoring (transform + a sparse product with four
categories' coefficients) and one-comment-at-a-time scoring, the ratio of each to the word-only
reference, peak memory and pickled size. Each featuriser runs in a fresh process so that its peak
RSS is its own. Prints figures; asserts nothing.

    .venv/bin/python tests/bench/featurise.py
    .venv/bin/python tests/bench/featurise.py --docs 20000 --data /work/shared/data/jigsaw
"""

from __future__ import annotations

import argparse
import csv
import glob
import itertools
import json
import os
import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from moderation.features import HashingTfidf, SklearnTfidf

FEATURISERS = {
    "word-only TfidfVectorizer (reference)": lambda: TfidfVectorizer(analyzer="word"),
    "SklearnTfidf (word 1-2 + char_wb 2-5)": SklearnTfidf,
    "HashingTfidf n_jobs=1": HashingTfidf,
    "HashingTfidf n_jobs=2": lambda: HashingTfidf(n_jobs=2),
}
REFERENCE = "word-only TfidfVectorizer (reference)"


def load_corpus(data: Path, n_docs: int) -> list[str]:
    """`n_docs` comments: the `comment_text` (or `text`) column of every CSV in `data`, cycled."""
    csv.field_size_limit(sys.maxsize)
    texts: list[str] = []
    for path in sorted(glob.glob(str(data / "*.csv"))):
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            column = next((c for c in ("comment_text", "text") if c in (reader.fieldnames or [])), None)
            if column is not None:
                texts.extend(row[column] for row in reader if row[column])
    if not texts:
        raise SystemExit(f"no comment_text/text column in {data}/*.csv")
    return list(itertools.islice(itertools.cycle(texts), n_docs))


def rss_kib() -> int:
    """Current resident set size of this process, KiB."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def timed(fn, *args):
    """(seconds, result) of one call."""
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def run_one(name: str, data: Path, n_docs: int, n_single: int) -> dict:
    """Measure the featuriser `name` of FEATURISERS in this process; return its figures."""
    corpus = load_corpus(data, n_docs)
    base = rss_kib()
    vec = FEATURISERS[name]()
    t_fit, X = timed(vec.fit_transform, corpus)
    nnz_per_doc = X.nnz / X.shape[0]
    del X
    t_tr, X = timed(vec.transform, corpus)
    coef = np.random.default_rng(0).standard_normal((X.shape[1], 4)).astype(np.float32)
    del X
    t_score, _ = timed(lambda: vec.transform(corpus) @ coef)
    t_single, _ = timed(lambda: [vec.transform([t]) @ coef for t in corpus[:n_single]])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "fit_transform": n_docs / t_fit, "transform": n_docs / t_tr, "score": n_docs / t_score,
        "score 1-by-1": n_single / t_single, "n_features": coef.shape[0], "nnz/doc": nnz_per_doc,
        "peak MiB": peak / 1024, "above corpus MiB": (peak - base) / 1024,
        "pickle MiB": len(pickle.dumps(vec, protocol=5)) / 2**20,
    }


def run_training(data: Path, n_docs: int) -> float:
    """Seconds for HashingTfidf(n_jobs=2).fit_transform on `n_docs` comments."""
    corpus = load_corpus(data, n_docs)
    return timed(HashingTfidf(n_jobs=2).fit_transform, corpus)[0]


def main() -> None:
    """Run every featuriser in a child process and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=50_000, help="corpus size (default 50000)")
    parser.add_argument("--single", type=int, default=2_000, help="comments scored one at a time (default 2000)")
    parser.add_argument("--train-docs", type=int, default=150_000, help="corpus for the training-time line")
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data/jigsaw"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--training", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.data, args.docs, args.single)))
        return
    if args.training:
        print(json.dumps(run_training(args.data, args.train_docs)))
        return

    def child(*extra: str):
        cmd = [sys.executable, __file__, "--docs", str(args.docs), "--single", str(args.single),
               "--train-docs", str(args.train_docs), "--data", str(args.data), *extra]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)

    corpus = load_corpus(args.data, args.docs)
    mean_len = sum(map(len, corpus)) / len(corpus)
    print(f"corpus: {len(corpus)} comments from {args.data}, mean {mean_len:.0f} chars; "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}, numpy {np.__version__}; "
          f"load average before: {os.getloadavg()[0]:.2f}")
    results = {name: child("--one", name) for name in FEATURISERS}
    ref = results[REFERENCE]
    rates = ("fit_transform", "transform", "score", "score 1-by-1")
    print(f"\n{'docs/s (x word-only reference)':40}" + "".join(f"{r:>20}" for r in rates))
    for name, res in results.items():
        print(f"{name:40}" + "".join(f"{res[r]:>11,.0f} ({res[r] / ref[r]:4.2f}x)" for r in rates))
    print(f"\n{'memory and size':40}{'n_features':>12}{'nnz/doc':>10}{'peak RSS MiB':>14}"
          f"{'above corpus':>14}{'pickle MiB':>12}")
    for name, res in results.items():
        print(f"{name:40}{res['n_features']:>12,}{res['nnz/doc']:>10.0f}{res['peak MiB']:>14.0f}"
              f"{res['above corpus MiB']:>14.0f}{res['pickle MiB']:>12.1f}")
    seconds = child("--training")
    print(f"\ntraining featurisation: HashingTfidf(n_jobs=2).fit_transform on {args.train_docs:,} comments "
          f"(corpus cycled) took {seconds:.1f} s")
    print("'score' = transform + X @ coef (n_features x 4 categories); '1-by-1' = one transform call per comment.")
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work on the machine skews every figure)")


if __name__ == "__main__":
    main()
