"""Held-out quality: metrics per category and source, thresholds from target precision, reports and plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moderation.files import atomic_write
from moderation.policy import Policy

if TYPE_CHECKING:
    from moderation.training import Examples

MIN_POSITIVES = 10


def binary_metrics(y: np.ndarray, p: np.ndarray, reject: float, review: float,
                   flagged: dict[str, np.ndarray] | None = None) -> dict:
    """ROC-AUC, PR-AUC and precision/recall at the two thresholds for one category.

    `flagged` may give the rejected and reviewed rows directly (`{"at_reject": mask, ...}`),
    for scores that are not compared with one threshold.
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    n, positives = int(len(y)), int(y.sum())
    out: dict = {"n": n, "positives": positives}
    both = 0 < positives < n
    out["roc_auc"] = round(float(roc_auc_score(y, p)), 4) if both else None
    out["pr_auc"] = round(float(average_precision_score(y, p)), 4) if both else None
    for name, t in (("at_reject", reject), ("at_review", review)):
        hit = flagged[name] if flagged is not None else p >= t
        tp = int(np.sum(hit & (y == 1)))
        out[name] = {
            "threshold": None if flagged is not None else round(float(t), 4),
            "precision": round(tp / int(hit.sum()), 4) if hit.any() else None,
            "recall": round(tp / positives, 4) if positives else None,
        }
    return out


def _labelled(examples: "Examples", j: int) -> np.ndarray:
    """Rows usable for evaluating category j: known label, evaluable source."""
    return np.flatnonzero(~np.isnan(examples.soft[:, j]) & examples.evaluable)


ANY = "any_violation"


def any_violation(soft: np.ndarray) -> np.ndarray:
    """1 if any category is a violation, 0 if every category is known and clean, NaN otherwise."""
    hard = np.where(np.isnan(soft), np.nan, (soft >= 0.5).astype(float))
    positive = (np.nan_to_num(hard, nan=0.0) == 1).any(axis=1)
    clean = ~np.isnan(hard).any(axis=1) & ~positive
    return np.where(positive, 1.0, np.where(clean, 0.0, np.nan))


def metrics_table(proba: np.ndarray, examples: "Examples", policy: Policy,
                  thresholds: dict[str, dict[str, float]]) -> dict:
    """`{category: {"all": metrics, "by_source": {source: metrics}}}` from held-out probabilities.

    A last entry, `any_violation`, scores each comment by its highest category probability
    against "violates at least one category" (rows where every category is known or one is 1).
    """
    sources = np.asarray(examples.sources)
    columns = [(cat, examples.soft[:, j], proba[:, j], thresholds[cat]) for j, cat in enumerate(policy.names)]
    columns.append((ANY, any_violation(examples.soft), proba.max(axis=1), None))
    # "any violation" is rejected (reviewed) when any category reaches its own threshold
    decided = {kind: np.column_stack([proba[:, j] >= thresholds[c][kind.removeprefix("at_")]
                                      for j, c in enumerate(policy.names)]).any(axis=1)
               for kind in ("at_reject", "at_review")}
    table = {}
    for cat, soft, p_all, t in columns:
        rows = np.flatnonzero(~np.isnan(soft) & examples.evaluable)
        y = (soft[rows] >= 0.5).astype(int)
        p = p_all[rows]

        def metrics(mask: np.ndarray | slice) -> dict:
            if t is not None:
                return binary_metrics(y[mask], p[mask], t["reject"], t["review"])
            return binary_metrics(y[mask], p[mask], 0.0, 0.0,
                                  flagged={k: v[rows][mask] for k, v in decided.items()})

        entry = {"all": metrics(slice(None)), "by_source": {}}
        for source in sorted(set(sources[rows])):
            entry["by_source"][source] = metrics(sources[rows] == source)
        table[cat] = entry
    return table


def derive_thresholds(proba: np.ndarray, examples: "Examples", policy: Policy) -> dict[str, dict[str, float]]:
    """Per category, the lowest reject threshold whose held-out precision reaches the policy's target."""
    thresholds = policy.thresholds()
    for j, cat in enumerate(policy.names):
        target = policy.category(cat).target_precision
        if target is None:
            continue
        rows = _labelled(examples, j)
        y = (examples.soft[rows, j] >= 0.5).astype(int)
        t = reject_threshold(y, proba[rows, j], target)
        if t is not None:
            thresholds[cat]["reject"] = round(max(t, thresholds[cat]["review"]), 4)
    return thresholds


def reject_threshold(y: np.ndarray, p: np.ndarray, target: float) -> float | None:
    """Lowest score t with precision(p ≥ t) ≥ target over at least MIN_POSITIVES true positives."""
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    tp = np.cumsum(y_sorted)
    precision = tp / np.arange(1, len(y_sorted) + 1)
    # only cut between distinct scores
    last_of_run = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    ok = (precision >= target) & (tp >= MIN_POSITIVES) & last_of_run
    if not ok.any():
        return None
    return float(p_sorted[np.flatnonzero(ok)[-1]])


def format_table(metrics: dict, by_source: bool = True) -> str:
    """A terminal table: one line per category (and per source under it)."""
    head = f"{'category':<18}{'source':<27}{'n':>7}{'pos':>7}{'ROC-AUC':>9}{'PR-AUC':>8}" \
           f"{'P@rej':>7}{'R@rej':>7}{'P@rev':>7}{'R@rev':>7}"
    lines = [head, "-" * len(head)]

    def fmt(x: float | None) -> str:
        return "—" if x is None else f"{x:.3f}"

    for cat, entry in metrics.items():
        parts = [("all sources", entry["all"])]
        if by_source:
            parts += sorted(entry["by_source"].items())
        for i, (source, m) in enumerate(parts):
            lines.append(
                f"{cat if i == 0 else '':<18}{source:<27}{m['n']:>7}{m['positives']:>7}"
                f"{fmt(m['roc_auc']):>9}{fmt(m['pr_auc']):>8}"
                f"{fmt(m['at_reject']['precision']):>7}{fmt(m['at_reject']['recall']):>7}"
                f"{fmt(m['at_review']['precision']):>7}{fmt(m['at_review']['recall']):>7}"
            )
    return "\n".join(lines)


def write_report(metrics: dict, thresholds: dict, out_dir: Path, proba: np.ndarray,
                 examples: "Examples", policy: Policy) -> list[Path]:
    """Write `evaluation.json` and one precision-recall PNG per category; return the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    path = out_dir / "evaluation.json"
    with atomic_write(path) as fh:
        json.dump({"thresholds": thresholds, "metrics": metrics}, fh, indent=2)
        fh.write("\n")
    written.append(path)
    written.extend(plot_pr_curves(proba, examples, policy, thresholds, out_dir))
    return written


def plot_pr_curves(proba: np.ndarray, examples: "Examples", policy: Policy,
                   thresholds: dict, out_dir: Path) -> list[Path]:
    """Precision-recall curves per category, overall and per source, with the thresholds marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    sources = np.asarray(examples.sources)
    paths = []
    for j, cat in enumerate(policy.names):
        rows = _labelled(examples, j)
        y = (examples.soft[rows, j] >= 0.5).astype(int)
        p = proba[rows, j]
        fig, ax = plt.subplots(figsize=(6, 4.5), dpi=100)
        groups = [("all sources", np.ones(len(rows), dtype=bool))]
        groups += [(s, sources[rows] == s) for s in sorted(set(sources[rows]))]
        for name, mask in groups:
            if 0 < y[mask].sum() < mask.sum():
                precision, recall, _ = precision_recall_curve(y[mask], p[mask])
                ax.plot(recall, precision, lw=2.5 if name == "all sources" else 1, label=name)
        for kind, marker in (("reject", "o"), ("review", "s")):
            t = thresholds[cat][kind]
            flagged = p >= t
            if flagged.any() and y.sum():
                ax.plot(y[flagged].sum() / y.sum(), y[flagged].mean(), marker, color="black",
                        label=f"{kind} ≥ {t:.2f}")
        ax.set(title=f"{cat}: precision-recall (held-out)", xlabel="recall", ylabel="precision",
               xlim=(0, 1), ylim=(0, 1.02))
        ax.legend(fontsize=7, loc="lower left")
        fig.tight_layout()
        path = out_dir / f"pr_{cat}.png"
        with atomic_write(path, "wb") as fh:
            fig.savefig(fh, format="png")
        plt.close(fig)
        paths.append(path)
    return paths
