"""Scoring throughput: our model, all four categories, against alt-profanity-check's `predict_prob`.

The corpus is the distinct texts of the shipped label files, in file order, cycled to `--n` comments
(a text that several raters labelled is one comment, not one per rater row: a chunk of repeated
texts would flatter any stage that looks at a distinct text once). The model is
`models/current` if there is one; otherwise one is trained (without cross-validation) into a
temporary directory, and the script says so. Each measurement runs in a fresh process (spawned),
which reports its own peak RSS; every figure is from one process, but the end-to-end ones: each
of those (start-up, 1 worker, all workers) runs `--repeat` times, alternating with the others, and
the median run is reported, every run listed below the table. Prints a table; asserts nothing.

    .venv/bin/python tests/bench/throughput.py
    .venv/bin/python tests/bench/throughput.py --n 20000 --n-jobs 1 2

A measurement is a function that takes the run's `Setup` and returns a result dict with at least
`name`, `comments`, `seconds` and `peak MiB`; add one to MEASUREMENTS to extend the table.
"""

from __future__ import annotations

import argparse
import itertools
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
TARGET = 3.0  # ours / alt-profanity-check, comments per second
REFERENCE = "alt-profanity-check predict_prob"


@dataclass(frozen=True)
class Setup:
    """What every measurement needs: the corpus size, the model directory, the chunk size, threads."""

    n: int
    model_dir: str
    chunk: int = 10_000
    n_jobs: int = 1


def load_corpus(n: int) -> list[str]:
    """`n` comments: the distinct texts of the shipped label files, in order of first use, cycled."""
    from moderation.labels import load_labels
    from moderation.policy import Policy

    texts = list(dict.fromkeys(load_labels([ROOT / "labels"], Policy.load(ROOT / "labels" / "policy.toml")).texts))
    if not texts:
        raise SystemExit(f"no texts in {ROOT / 'labels'}")
    return list(itertools.islice(itertools.cycle(texts), n))


def mean_length(n: int) -> float:
    """Mean length in characters of the corpus of `n` comments."""
    corpus = load_corpus(n)
    return sum(map(len, corpus)) / len(corpus)


def peak_mib() -> float:
    """Peak resident set size of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def chunks(texts: list[str], size: int) -> list[list[str]]:
    """`texts` cut into consecutive lists of `size`."""
    return [texts[i : i + size] for i in range(0, len(texts), size)]


# --------------------------------------------------------------------------- measurements (child processes)


def measure_profanity_check(setup: Setup) -> dict:
    """alt-profanity-check's `predict_prob` on the whole corpus (its one category), one call."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        return {"name": REFERENCE, "missing": "alt-profanity-check is not installed: pip install -e '.[bench]'"}
    texts = load_corpus(setup.n)
    predict_prob(texts[:10])  # load its model before the clock starts
    started = time.perf_counter()
    predict_prob(texts)
    return {"name": REFERENCE, "comments": len(texts), "seconds": time.perf_counter() - started,
            "peak MiB": peak_mib()}


def measure_in_memory(setup: Setup) -> dict:
    """`Model.predict_proba` (all categories) over the corpus in chunks, after `load_model`; then the
    same chunks again split into normalisation and featurise + dot products + calibration."""
    from moderation.model import calibrate, load_model
    from moderation.normalize import normalize_batch

    texts = load_corpus(setup.n)
    started = time.perf_counter()
    model = load_model(setup.model_dir)  # includes warm_up: kernels loaded from numba's cache or compiled
    load_seconds = time.perf_counter() - started
    model.featurizer.set_params(n_jobs=setup.n_jobs)
    parts = chunks(texts, setup.chunk)
    started = time.perf_counter()
    for part in parts:
        model.predict_proba(part)
    seconds = time.perf_counter() - started
    normalising = scoring = 0.0
    for part in parts:
        t0 = time.perf_counter()
        normalized = normalize_batch(part)
        t1 = time.perf_counter()
        calibrate(model.featurizer.decision(normalized, model.coef, model.intercept), model.calibration)
        normalising, scoring = normalising + t1 - t0, scoring + time.perf_counter() - t1
    name = f"ours: predict_proba, {len(model.categories)} categories" + (
        f", {setup.n_jobs} threads" if setup.n_jobs != 1 else "")
    return {"name": name, "comments": len(texts), "seconds": seconds, "peak MiB": peak_mib(),
            "load s": load_seconds, "normalise s": normalising, "featurise+dot s": scoring}


MEASUREMENTS: list[Callable[[Setup], dict]] = [measure_profanity_check, measure_in_memory]


def write_jsonl(path: str, n: int) -> None:
    """An archive of `n` comments as JSON Lines, `{"id", "text"}` a line, streamed to disk."""
    import json

    corpus = load_corpus(min(n, 200_000))
    with open(path, "w", encoding="utf-8") as fh:
        for i, text in zip(range(n), itertools.cycle(corpus)):
            fh.write(json.dumps({"id": f"c{i}", "text": text}, ensure_ascii=False) + "\n")


def measure_end_to_end(job: tuple[str, str, int, int]) -> dict:
    """`moderation score FILE --out OUT --workers N` as a subprocess: wall time, peak RSS of any process."""
    import subprocess

    model_dir, source, n, workers = job
    out = source + f".scored-{workers}.jsonl"
    command = [str(Path(sys.executable).parent / "moderation"), "score", source, "--out", out,
               "--model", model_dir, "--workers", str(workers), "--quiet"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return {"name": f"moderation score, {workers} worker(s)", "missing": done.stderr.strip()[-300:]}
    with open(out, encoding="utf-8") as fh:
        written = sum(1 for _ in fh)
    os.unlink(out)
    # the largest of the command and its worker processes (each is reaped, so each is counted)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"name": f"moderation score JSONL end to end, {workers} worker(s)", "comments": written,
            "seconds": seconds, "peak MiB": peak, "end to end": True, "workers": workers}


def median_run(runs: list[dict]) -> dict:
    """The run of median wall time among repeated runs of one end-to-end measurement (the first
    failed one if any failed), with every run's seconds in "runs" and the largest peak memory."""
    failed = [run for run in runs if "missing" in run]
    if failed:
        return failed[0]
    ordered = sorted(runs, key=lambda run: run["seconds"])
    middle = dict(ordered[(len(ordered) - 1) // 2])
    middle["runs"] = [run["seconds"] for run in runs]
    middle["peak MiB"] = max(run["peak MiB"] for run in runs)
    return middle


# --------------------------------------------------------------------------- driver


def in_fresh_process(fn: Callable, arg: object) -> object:
    """`fn(arg)` in a newly spawned interpreter, so that its peak RSS is its own (plus this small
    parent's: on Linux a process inherits the peak of the one it was forked from)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, arg).result()


def model_directory(scratch: str) -> tuple[str, str]:
    """(directory, how it was obtained): models/current, or a model trained now under `scratch`."""
    current = ROOT / "models" / "current"
    if (current / "card.json").is_file():
        return str(current), f"model: {current.resolve()}"
    return in_fresh_process(train_into, scratch)


def train_into(scratch: str) -> tuple[str, str]:
    """Train a model without cross-validation on the label files, save it under `scratch`."""
    from moderation.labels import load_labels
    from moderation.policy import Policy
    from moderation.training import TrainConfig, train

    policy_path = ROOT / "labels" / "policy.toml"
    policy = Policy.load(policy_path)
    labels = load_labels([ROOT / "labels"], policy)
    started = time.perf_counter()
    model = train(labels, policy, policy_path.read_text(encoding="utf-8"), TrainConfig(n_jobs=1),
                  cross_validate=False)
    path = model.save(scratch, version="bench", make_current=False)
    return str(path), (f"model: no models/current, so trained one without cross-validation on "
                       f"{len(labels)} label rows in {time.perf_counter() - started:.0f} s into {path}")


def print_table(results: list[dict]) -> None:
    """One line per measurement, then where our time goes and the ratio to the target."""
    print(f"\n{'measurement':48}{'comments':>10}{'seconds':>9}{'comments/s':>12}{'peak MiB':>10}")
    for res in results:
        if "missing" in res:
            print(f"{res['name']:48}  {res['missing']}")
            continue
        print(f"{res['name']:48}{res['comments']:>10,}{res['seconds']:>9.2f}"
              f"{res['comments'] / res['seconds']:>12,.0f}{res['peak MiB']:>10.0f}")
    reference = next((r for r in results if r["name"] == REFERENCE and "missing" not in r), None)
    for res in results:
        if "normalise s" in res:
            split = res["normalise s"] + res["featurise+dot s"]
            print(f"\n{res['name']}: load_model (with warm-up) {res['load s']:.2f} s; of the time, "
                  f"normalisation {res['normalise s'] / split:.0%} ({res['comments'] / res['normalise s']:,.0f}/s), "
                  f"featurise + dot + calibrate {res['featurise+dot s'] / split:.0%} "
                  f"({res['comments'] / res['featurise+dot s']:,.0f}/s)")
            if reference is not None:
                ours = res["comments"] / res["seconds"]
                ref = reference["comments"] / reference["seconds"]
                alone = res["comments"] / res["featurise+dot s"]
                print(f"  ratio to {REFERENCE}: {ours / ref:.2f}x (target {TARGET:.0f}x: "
                      f"{'met' if ours / ref >= TARGET else 'not met'}); "
                      f"featurise + dot alone: {alone / ref:.2f}x")


def end_to_end_targets(results: list[dict]) -> None:
    """The issue's end-to-end targets, from the measured rows."""
    rate = {r["name"]: r["comments"] / r["seconds"] for r in results if "missing" not in r}
    memory = next((r for r in results if "missing" not in r and r["name"].startswith("ours: predict_proba")
                   and "threads" not in r["name"]), None)
    one = next((r for r in results if r.get("end to end") and r["workers"] == 1 and not r.get("startup")), None)
    many = next((r for r in results if r.get("end to end") and r["workers"] > 1), None)
    big = next((r for r in results if "missing" not in r and r["name"].startswith("moderation score, ")), None)
    print()
    for res in results:
        if len(res.get("runs", ())) > 1:
            print(f"{res['name']}: runs of {' / '.join(f'{x:.2f}' for x in res['runs'])} s, the median above")
    if memory and one:
        ratio = rate[one["name"]] / rate[memory["name"]]
        print(f"end to end, 1 worker / in-memory: {ratio:.2f}x (target ≥ 0.5x: {'met' if ratio >= 0.5 else 'not met'})")
    if one and many:
        ratio = rate[many["name"]] / rate[one["name"]]
        print(f"end to end, {many['workers']} workers / 1 worker: {ratio:.2f}x (target ≥ 1.7x: "
              f"{'met' if ratio >= 1.7 else 'not met'})")
    start = next((r for r in results if r.get("startup") and "missing" not in r), None)
    if start and one and many:  # what the start-up (imports, loading the model) leaves of the ratios
        per_one = one["comments"] / (one["seconds"] - start["seconds"])
        per_many = many["comments"] / (many["seconds"] - start["seconds"])
        print(f"  beyond the {start['seconds']:.2f} s start-up: 1 worker {per_one:,.0f}/s "
              f"({per_one / rate[memory['name']]:.2f}x in-memory), {many['workers']} workers {per_many:,.0f}/s "
              f"({per_many / per_one:.2f}x 1 worker)" if memory else "")
    if big:
        print(f"peak memory scoring {big['comments']:,} comments: {big['peak MiB']:.0f} MiB "
              f"(target ≤ 1 GB: {'met' if big['peak MiB'] <= 1024 else 'not met'})")


def main() -> None:
    """Run every measurement in its own process and print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000, help="comments in the corpus (default 200000)")
    parser.add_argument("--chunk", type=int, default=10_000, help="comments per predict_proba call (default 10000)")
    parser.add_argument("--big", type=int, default=1_000_000,
                        help="also score a file of this many comments with 1 worker, for peak memory (0: skip)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each end-to-end measurement (start-up, 1 worker, all workers), alternating; "
                             "the median run is reported (default 3)")
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1],
                        help="featuriser threads for ours, one measurement each (default 1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch:
        model_dir, origin = model_directory(scratch)  # in a child too: a child inherits its parent's peak RSS
        mean = in_fresh_process(mean_length, args.n)
        print(f"corpus: {args.n:,} comments (distinct label texts cycled), mean {mean:.0f} chars; {origin}")
        print(f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}; "
              f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        setups = [Setup(args.n, model_dir, args.chunk, n_jobs) for n_jobs in args.n_jobs]
        results = [in_fresh_process(measure, setup) for measure in MEASUREMENTS
                   for setup in (setups if measure is not measure_profanity_check else setups[:1])]
        source = os.path.join(scratch, "archive.jsonl")
        write_jsonl(source, args.n)
        tiny = os.path.join(scratch, "one.jsonl")
        write_jsonl(tiny, 1)
        workers = dict.fromkeys((1, os.cpu_count() or 1))  # once each, on a machine of one CPU too
        jobs = [(model_dir, tiny, 1, 1)] + [(model_dir, source, args.n, w) for w in workers]
        runs: list[list[dict]] = [[] for _ in jobs]
        for _ in range(max(args.repeat, 1)):  # alternating, so that a slow spell of the machine hits each kind
            for job, done in zip(jobs, runs):
                done.append(in_fresh_process(measure_end_to_end, job))
        results += [median_run(done) for done in runs]
        results[-len(jobs)]["name"], results[-len(jobs)]["startup"] = "moderation score start-up (1 comment)", True
        if args.big:
            big = os.path.join(scratch, "big.jsonl")
            write_jsonl(big, args.big)
            results.append(in_fresh_process(measure_end_to_end, (model_dir, big, args.big, 1)))
            results[-1]["name"] = f"moderation score, {args.big:,} comments, 1 worker"
        print_table(results)
        end_to_end_targets(results)
        print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              "(other work on the machine skews every figure)")


if __name__ == "__main__":
    main()
