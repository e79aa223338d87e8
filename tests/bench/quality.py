"""Quality benchmark: grouped cross-validation of the default model, per source and category,
with alt-profanity-check scored on the same held-out comments in the same run.

    .venv/bin/pip install -e '.[bench]'      # alt-profanity-check, the reference
    .venv/bin/python tests/bench/quality.py [--labels labels] [--folds 5] [--json reports/quality.json]
    .venv/bin/python tests/bench/quality.py --against-sklearn   # also: the same model on SklearnTfidf

Every figure comes from comments the model did not see in training (out-of-fold predictions, folds
grouped so that near-duplicates never straddle them). alt-profanity-check is a pretrained model:
it sees the same held-out comments; note that its authors trained it on public data that may
include some of these sources (Jigsaw, Davidson), which can only flatter it. Rows written by the
team (`not_for_evaluation` in the policy) are never scored.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from moderation.evaluation import ANY, metrics_table  # noqa: E402
from moderation.labels import load_labels  # noqa: E402
from moderation.policy import Policy  # noqa: E402
from moderation.augment import IdentityTerms  # noqa: E402
from moderation.training import TrainConfig, featurize, held_out, prepare  # noqa: E402

def reference_scores(texts: list[str]) -> np.ndarray | None:
    """alt-profanity-check's probability for each text, or None when it is not installed."""
    try:
        from profanity_check import predict_prob
    except ImportError:
        print("alt-profanity-check is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return None
    out = []
    for start in range(0, len(texts), 5000):
        out.append(predict_prob(texts[start:start + 5000]))
    return np.concatenate(out) if out else np.zeros(0)


def against_sklearn(examples, policy: Policy, config: TrainConfig, ours: dict) -> dict:
    """Cross-validate the same model on scikit-learn's vectorisers; print ROC-AUC per category, both ways."""
    from moderation.features import SklearnTfidf

    started = time.perf_counter()
    _, X = featurize(examples, config, SklearnTfidf(word_weight=config.featurizer.get("word_weight", 1.0)))
    proba, _, thresholds, _ = held_out(X, examples, policy, config)
    theirs = metrics_table(proba, examples, policy, thresholds)
    print(f"\nsame model, SklearnTfidf(word_weight={config.featurizer.get('word_weight', 1.0)}) as featuriser "
          f"({X.nnz / X.shape[0]:.1f} non-zeros per comment, {time.perf_counter() - started:.1f} s):")
    print(f"{'category':<17}{'ROC-AUC ours':>13}{'sklearn':>9}{'ours - sklearn':>16}")
    for cat in ours:
        a, b = ours[cat]["all"]["roc_auc"], theirs[cat]["all"]["roc_auc"]
        gap = None if a is None or b is None else a - b
        flag = "" if gap is None or gap >= -0.005 else "   more than 0.005 behind"
        print(f"{cat:<17}{a:>13.4f}{b:>9.4f}{gap:>+16.4f}{flag}")
    return {cat: entry["all"] for cat, entry in theirs.items()}


def update_card(model_dir: Path, results: list[dict], labels) -> None:
    """Write the benchmark table into a model card trained on exactly these label files."""
    from moderation.files import atomic_write
    from moderation.model import CARD, resolve_model_dir

    directory = resolve_model_dir(model_dir)
    card = json.loads((directory / CARD).read_text(encoding="utf-8"))
    if sorted(card.get("training_data", {}).get("files", {}).values()) != sorted(labels.hashes.values()):
        print(f"not updating {directory / CARD}: it was trained on other label files", file=sys.stderr)
        return
    card["quality_benchmark"] = {
        "what": "grouped cross-validation per source and category (tests/bench/quality.py), with "
                "alt-profanity-check scored on the same held-out comments",
        "results": results,
    }
    with atomic_write(directory / CARD) as fh:
        fh.write(json.dumps(card, indent=2) + "\n")
    print(f"recorded the table in {directory / CARD}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", nargs="+", default=[str(ROOT / "labels")])
    parser.add_argument("--policy", default=str(ROOT / "labels" / "policy.toml"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    parser.add_argument("--against-sklearn", action="store_true",
                        help="also cross-validate the same model with SklearnTfidf(word_weight=2) as featuriser "
                             "and print both ROC-AUCs per category (the featuriser must be within 0.005)")
    parser.add_argument("--featurizer", default=None, metavar="JSON",
                        help="the featuriser's parameters instead of TrainConfig's, e.g. "
                             "'{\"word_weight\": 2.0, \"n_features\": 262144, \"char_mode\": \"ws\"}'")
    parser.add_argument("--update-card", default=None, metavar="MODEL_DIR",
                        help="record the table in this model's card (its training files must match --labels)")
    args = parser.parse_args()

    started = time.perf_counter()
    policy = Policy.load(args.policy)
    labels = load_labels(args.labels, policy)
    terms_path = Path(args.policy).parent / "identity_terms.toml"
    examples = prepare(labels, policy, IdentityTerms.load(terms_path) if terms_path.is_file() else None)
    config = TrainConfig(folds=args.folds)
    if args.featurizer is not None:
        try:
            config.featurizer = json.loads(args.featurizer)
        except json.JSONDecodeError as exc:
            parser.error(f"--featurizer: not JSON: {exc}")
        if not isinstance(config.featurizer, dict):
            parser.error(f"--featurizer: expected a JSON object, got {args.featurizer!r}")
    _, X = featurize(examples, config)
    nnz_per_comment = X.nnz / X.shape[0]
    proba, _, thresholds, _ = held_out(X, examples, policy, config)
    del X
    ours_seconds = time.perf_counter() - started

    evaluable = np.flatnonzero(examples.evaluable)
    ref = np.full(len(examples.texts), np.nan)
    t0 = time.perf_counter()
    scored = reference_scores([examples.texts[i] for i in evaluable])
    ref_seconds = time.perf_counter() - t0
    if scored is not None:
        ref[evaluable] = scored

    ours = metrics_table(proba, examples, policy, thresholds)
    half = {c: {"reject": 0.5, "review": 0.5} for c in policy.names}
    theirs = metrics_table(np.repeat(ref[:, None], len(policy.names), axis=1), examples, policy, half) \
        if scored is not None else None
    results = []
    for cat, entry in ours.items():
        for source, m in [("all sources", entry["all"])] + sorted(entry["by_source"].items()):
            ref_entry = None
            if theirs is not None:
                ref_entry = theirs[cat]["all"] if source == "all sources" else theirs[cat]["by_source"][source]
            results.append({"category": cat, "source": source, "ours": m, "reference": ref_entry})

    def f(x):
        return "   —  " if x is None else f"{x:6.3f}"

    head = (f"{'category':<17}{'source':<27}{'n':>7}{'pos':>7} | {'ROC-AUC ours':>12}{'APC':>7}"
            f" | {'PR-AUC ours':>11}{'APC':>7} | {'P@reject':>8}{'R@reject':>9}")
    print(head)
    print("-" * len(head))
    last = None
    for r in results:
        o, a = r["ours"], r["reference"] or {"roc_auc": None, "pr_auc": None}
        print(f"{r['category'] if r['category'] != last else '':<17}{r['source']:<27}{o['n']:>7}{o['positives']:>7} | "
              f"{f(o['roc_auc']):>12}{f(a['roc_auc']):>7} | {f(o['pr_auc']):>11}{f(a['pr_auc']):>7} | "
              f"{f(o['at_reject']['precision']):>8}{f(o['at_reject']['recall']):>9}")
        last = r["category"]
    print(f"\nours: {args.folds}-fold grouped cross-validation, {len(examples.texts) - examples.copies} distinct comments "
          f"(+{examples.copies} counterfactual copies in training only), {ours_seconds:.1f} s; APC (alt-profanity-check) scored {len(evaluable)} held-out comments "
          f"in {ref_seconds:.1f} s. P/R@reject: ours at the derived reject thresholds "
          + ", ".join(f"{c} {t['reject']:.3f}" for c, t in thresholds.items())
          + f"; '{ANY}' scores a comment by its highest category probability and counts it rejected "
          "when any category reaches its reject threshold. APC P/R are not shown: it has no thresholds of ours.")
    print(f"featuriser: {nnz_per_comment:.1f} non-zeros per comment on average")
    sklearn = against_sklearn(examples, policy, config, ours) if args.against_sklearn else None
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        figures = {"thresholds": thresholds, "results": results} | ({"sklearn_featuriser": sklearn} if sklearn else {})
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if args.update_card:
        update_card(Path(args.update_card), results, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
