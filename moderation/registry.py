"""The models directory as a registry: candidates, the promotion gate, `current`, history and rollback.

`moderation train` saves every model as a *candidate* `models/<version>/`. It becomes
`models/current` only if it is not worse than the current model on a fixed evaluation split by
more than the policy's `[training] promotion_tolerance` in any category (ROC-AUC); `--force`
promotes anyway and the card says so. Every promotion and rollback is appended to
`models/history.jsonl`, which `rollback` replays to find the previously promoted version.

The fixed evaluation split. A comment belongs to it iff the hash of its evaluation key (its first
48 normalised letters and digits: the head key of `near_duplicate_groups`) falls under 10 %
(`training.evaluation_split`). Membership depends on the comment's own text only, so it does not
move when rows are added, removed or reordered, and a new comment falls in or out by its own
hash. Rows from sources in the policy's `not_for_evaluation` and counterfactual copies never
count; the labels are those of the *current* label files, for both models.

Which predictions the gate compares, and why. Three options, none of which trains anything extra:

1. Hold the split out of every final fit: honest for both models, but every shipped model would
   lose a tenth of its labels, the outlet's scarce hand labels included.
2. The candidate's out-of-fold (OOF) predictions against the current model's plain predictions:
   the current model has trained on nearly every evaluation row, so its scores are in-sample.
   Measured on the shipped labels (7,417 evaluation rows), in-sample ROC-AUC exceeds OOF ROC-AUC
   of the very same model by 0.029 (personal_attack) to 0.116 (threat), six to twenty times the
   0.005 tolerance: an identical retrain would be refused. Not a conservative gate but a wall.
3. OOF against OOF (chosen). `train` computes calibrated OOF probabilities anyway (grouped
   cross-validation, near-duplicates never straddle folds); each saved model keeps those of its
   evaluation-split rows in `held_out.npz` (checksum in the card). The gate scores the candidate
   by its OOF probabilities and the current model by its stored OOF probabilities, and by plain
   predictions only for rows added since it was trained — rows it has never seen, scored by a
   model fitted on all its data rather than four fifths of it: a small bias in its favour,
   i.e. conservative. An identical retrain gives identical numbers.

Caveats: OOF ROC-AUC measures the training procedure on these labels (fold models), not the exact
final weights; a category with fewer than `MIN_POSITIVES` positives or negatives in the split is
shown but not gated; a current model saved before the gate existed has no `held_out.npz`, so it
is scored in-sample (option 2, with a warning) and the first gated retrain may need `--force`.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np

from moderation.errors import ModelError
from moderation.files import atomic_write
from moderation.labels import text_key
from moderation.model import CARD, CURRENT, Model, load_model, point_current
from moderation.policy import Policy
from moderation.training import EVALUATION_SHARE, evaluation_split

if TYPE_CHECKING:
    from moderation.training import Examples, TrainingRun

HISTORY = "history.jsonl"
HELD_OUT = "held_out.npz"
LOCK = ".lock"
MIN_POSITIVES = 5  # fewer positives (or negatives) in the split: the category is shown, not gated
SPLIT_RULE = (f"blake2b(first 48 normalised letters and digits) < {EVALUATION_SHARE:.0%}; "
              "sources in not_for_evaluation and counterfactual copies excluded")


# ------------------------------------------------------------------------------------ the gate


@dataclass(frozen=True)
class GateRow:
    """One category's comparison on the evaluation split."""

    category: str
    n: int
    positives: int
    current_roc: float | None
    candidate_roc: float | None
    current_pr: float | None
    candidate_pr: float | None
    tolerance: float

    @property
    def gated(self) -> bool:
        """True when both ROC-AUCs exist and the split has enough positives and negatives."""
        enough = min(self.positives, self.n - self.positives) >= MIN_POSITIVES
        return enough and self.current_roc is not None and self.candidate_roc is not None

    @property
    def difference(self) -> float | None:
        """Candidate minus current ROC-AUC (negative: the candidate is worse)."""
        if self.current_roc is None or self.candidate_roc is None:
            return None
        return round(self.candidate_roc - self.current_roc, 4)

    @property
    def worse(self) -> bool:
        """True when the candidate loses more ROC-AUC than the tolerance allows."""
        return self.gated and self.difference < -self.tolerance


@dataclass(frozen=True)
class Gate:
    """The comparison of a candidate with the current model, category by category."""

    current: str
    rows: list[GateRow]
    note: str = ""

    @property
    def passed(self) -> bool:
        """True when no category is worse beyond its tolerance."""
        return not any(row.worse for row in self.rows)

    def as_dict(self) -> dict:
        """The gate as the card records it."""
        return {"current": self.current, "passed": self.passed, "note": self.note,
                "categories": {r.category: asdict(r) | {"difference": r.difference, "gated": r.gated}
                               for r in self.rows}}


def compare(soft: np.ndarray, candidate: np.ndarray, current: np.ndarray, categories: list[str],
            tolerances: dict[str, float]) -> list[GateRow]:
    """Per category, ROC-AUC and PR-AUC of both models' probabilities against the (soft) labels.

    >>> soft = np.array([[1.0], [0.0], [1.0], [0.0]])
    >>> compare(soft, soft, 1 - soft, ["threat"], {"default": 0.005})[0].difference
    1.0
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = []
    for j, category in enumerate(categories):
        known = ~np.isnan(soft[:, j]) & ~np.isnan(candidate[:, j]) & ~np.isnan(current[:, j])
        y = (soft[known, j] >= 0.5).astype(int)
        n, positives = int(known.sum()), int(y.sum())
        both = 0 < positives < n

        def auc(metric, p: np.ndarray) -> float | None:
            return round(float(metric(y, p[known, j])), 4) if both else None

        rows.append(GateRow(category, n, positives, auc(roc_auc_score, current), auc(roc_auc_score, candidate),
                            auc(average_precision_score, current), auc(average_precision_score, candidate),
                            tolerances.get(category, tolerances.get("default", 0.005))))
    return rows


def evaluation_rows(examples: "Examples") -> np.ndarray:
    """Indices of the examples that count on the fixed evaluation split."""
    original = np.arange(len(examples.texts)) < len(examples.texts) - examples.copies
    return np.flatnonzero(evaluation_split(examples.texts) & examples.evaluable & original)


def format_gate(gate: Gate) -> str:
    """The gate as a terminal table: ROC-AUC and PR-AUC of both models, the difference, the verdict."""
    head = (f"{'category':<18}{'n':>7}{'pos':>6}{'ROC-AUC cur':>13}{'cand':>8}{'diff':>9}{'tol':>7}"
            f"{'PR-AUC cur':>12}{'cand':>8}  verdict")
    lines = [f"promotion gate: candidate vs current {gate.current} on the fixed evaluation split", head,
             "-" * len(head)]

    def fmt(x: float | None, sign: bool = False) -> str:
        return "—" if x is None else f"{x:+.4f}" if sign else f"{x:.4f}"

    for r in gate.rows:
        verdict = ("WORSE" if r.worse else "ok") if r.gated else f"not gated (< {MIN_POSITIVES} positives or negatives)"
        lines.append(f"{r.category:<18}{r.n:>7}{r.positives:>6}{fmt(r.current_roc):>13}{fmt(r.candidate_roc):>8}"
                     f"{fmt(r.difference, True):>9}{r.tolerance:>7.3f}{fmt(r.current_pr):>12}"
                     f"{fmt(r.candidate_pr):>8}  {verdict}")
    if gate.note:
        lines.append(f"note: {gate.note}")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ promotion


@dataclass(frozen=True)
class Promotion:
    """Whether a candidate becomes current, and why."""

    promoted: bool
    forced: bool
    reason: str
    previous: str | None
    gate: Gate | None = None

    def as_dict(self) -> dict:
        """The `promotion` entry of the candidate's card."""
        return {"promoted": self.promoted, "forced": self.forced, "reason": self.reason,
                "previous": self.previous, "gate": self.gate.as_dict() if self.gate else None}


def decide(run: "TrainingRun", models_dir: str | Path, policy: Policy, force: bool = False) -> Promotion:
    """Run the gate against `models_dir/current`; the first model always passes, `force` always promotes.

    >>> decide(run, "models", policy).promoted  # doctest: +SKIP
    True
    """
    previous = current_version(models_dir)
    if previous is None:
        return Promotion(True, force, "first model: there is no current model to compare with", None)
    if run.held_out is None:
        reason = "trained without cross-validation: the gate has no out-of-fold predictions to compare"
        return Promotion(force, force, reason, previous)
    try:
        current = load_model(Path(models_dir) / previous)
        rows = evaluation_rows(run.examples)
        texts = [run.examples.texts[i] for i in rows]
        scores, stored = current_scores(current, Path(models_dir) / previous, texts, policy.names)
    except ModelError as exc:
        return Promotion(force, force, f"the current model {previous} cannot be compared: {exc}", previous)
    note = "" if stored == len(texts) else (
        f"{len(texts) - stored} of {len(texts)} rows scored by the current model directly"
        + (" (it has no stored out-of-fold predictions: in-sample scores favour it)" if stored == 0 else
           " (rows added since it was trained)"))
    gate = Gate(previous, compare(run.examples.soft[rows], run.held_out[rows], scores, policy.names,
                                  policy.promotion_tolerance), note)
    if gate.passed:
        return Promotion(True, force, f"not worse than {previous} on the evaluation split", previous, gate)
    worse = ", ".join(f"{r.category} {r.difference:+.4f} (tolerance {r.tolerance})" for r in gate.rows if r.worse)
    return Promotion(force, force, f"worse than {previous} in ROC-AUC: {worse}", previous, gate)


def register(run: "TrainingRun", models_dir: str | Path, promotion: Promotion) -> tuple[Path, Promotion]:
    """Save the candidate with its held-out predictions and promotion record; repoint `current` if promoted.

    If `current` changed while the candidate trained, the gate compared it with the wrong model:
    it is then saved but not promoted (unless forced). Returns the directory and the final decision.
    """
    models_dir = Path(models_dir)
    model = run.model
    held_out = None
    if run.held_out is not None:
        held_out = _held_out_bytes(run.examples, run.held_out, model.categories)
        model.card["evaluation_split"] = {"rule": SPLIT_RULE, "share": EVALUATION_SHARE,
                                          "file": HELD_OUT, "sha256": hashlib.sha256(held_out).hexdigest()}
    with _locked(models_dir):
        now = current_version(models_dir)
        if promotion.promoted and not promotion.forced and now != promotion.previous:
            promotion = Promotion(False, False, f"models/current changed to {now} while this model trained; "
                                                "the gate compared it with another model", now, promotion.gate)
        model.card["promotion"] = promotion.as_dict() | {"time": _now()}
        path = model.save(models_dir, make_current=False)
        if held_out is not None:
            with atomic_write(path / HELD_OUT, "wb") as fh:
                fh.write(held_out)
        if promotion.promoted:
            point_current(models_dir, path.name)
            _append_history(models_dir, {"action": "promote", "version": path.name,
                                         "previous": now, "forced": promotion.forced})
    return path, promotion


def current_scores(model: Model, directory: Path, texts: list[str], categories: list[str]) -> tuple[np.ndarray, int]:
    """The current model's probabilities for `texts`: its stored out-of-fold ones where it has them.

    Returns the (n, len(categories)) array (NaN for categories it lacks) and how many rows came
    from its stored out-of-fold predictions.
    """
    stored = _read_held_out(directory, model.card)
    columns = [model.categories.index(c) if c in model.categories else None for c in categories]
    out = np.full((len(texts), len(categories)), np.nan)
    missing = []
    for i, text in enumerate(texts):
        row = stored.get(_row_key(text))
        if row is None:
            missing.append(i)
            continue
        for j, col in enumerate(columns):
            if col is not None:
                out[i, j] = row[col]
    if missing:
        proba = model.predict_proba([texts[i] for i in missing])
        for j, col in enumerate(columns):
            if col is not None:
                out[missing, j] = proba[:, col]
    return out, len(texts) - len(missing)


def _row_key(text: str) -> str:
    return hashlib.blake2b(text_key(text).encode("utf-8"), digest_size=8).hexdigest()


def _held_out_bytes(examples: "Examples", proba: np.ndarray, categories: list[str]) -> bytes:
    """`held_out.npz`: the out-of-fold probabilities of every evaluation-split comment, by text key."""
    n = len(examples.texts) - examples.copies
    rows = np.flatnonzero(evaluation_split(examples.texts[:n]))
    buffer = io.BytesIO()
    np.savez_compressed(buffer, keys=np.array([_row_key(examples.texts[i]) for i in rows], dtype="<U16"),
                        proba=proba[rows].astype(np.float32), categories=np.array(categories, dtype=str))
    return buffer.getvalue()


def _read_held_out(directory: Path, card: dict) -> dict[str, np.ndarray]:
    """Text key → stored out-of-fold probabilities; empty for a model saved before the gate existed."""
    entry = card.get("evaluation_split") or {}
    path = directory / str(entry.get("file", HELD_OUT))
    if not entry or not path.is_file():
        return {}
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise ModelError(f"{path}: checksum does not match the card; the file is corrupt or was changed")
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return dict(zip(npz["keys"].tolist(), npz["proba"]))


# -------------------------------------------------------------------- versions and history


@dataclass
class Version:
    """One model directory as `moderation models` lists it."""

    name: str
    card: dict = field(default_factory=dict)
    problem: str | None = None
    current: bool = False

    @property
    def status(self) -> str:
        """The card's promotion record in a word or two."""
        if self.problem:
            return "corrupt card"
        promotion = self.card.get("promotion")
        if not promotion:
            return "—"
        if promotion.get("forced"):
            return "forced"
        if promotion.get("promoted"):
            return "first" if promotion.get("previous") is None else "promoted"
        return "refused"


def current_version(models_dir: str | Path) -> str | None:
    """The version `models_dir/current` points at, or None when there is none."""
    link = Path(models_dir) / CURRENT
    if not link.is_symlink() and not link.exists():
        return None
    return link.resolve().name


def list_versions(models_dir: str | Path) -> list[Version]:
    """Every model directory, newest first; unreadable cards are listed with the problem."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ModelError(f"{models_dir}: no models directory; train a model with `moderation train`")
    current = current_version(models_dir)
    versions = []
    for path in models_dir.iterdir():
        if path.name.startswith(".") or path.name == CURRENT or not path.is_dir():
            continue
        version = Version(path.name, current=path.name == current)
        try:
            card = json.loads((path / CARD).read_text(encoding="utf-8"))
            if not isinstance(card, dict):
                raise ValueError("not a JSON object")
            version.card = card
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            version.problem = f"{path / CARD}: unreadable model card ({exc})"
        versions.append(version)
    def age(v: Version) -> tuple[str, int]:  # the card's time has seconds; its file's mtime breaks ties
        with contextlib.suppress(OSError):
            return str(v.card.get("created", "")), (models_dir / v.name / CARD).stat().st_mtime_ns
        return str(v.card.get("created", "")), 0

    return sorted(versions, key=age, reverse=True)


def format_versions(versions: list[Version]) -> str:
    """The versions as a terminal table: created, label rows, CV ROC-AUC per category, status."""
    categories: list[str] = []
    for v in versions:
        categories += [c for c in v.card.get("categories", []) if c not in categories]
    width = max([len(v.name) for v in versions] + [7]) + 2
    head = f"  {'version':<{width}}{'created':<22}{'rows':>8}" + "".join(f"{c:>{max(len(c), 6) + 2}}"
                                                                          for c in categories) + "  status"
    lines = [head, "-" * len(head)]
    for v in versions:
        metrics = (v.card.get("cross_validation") or {}).get("metrics") or {}
        rows = (v.card.get("training_data") or {}).get("label_rows", "—")
        cells = ""
        for c in categories:
            roc = ((metrics.get(c) or {}).get("all") or {}).get("roc_auc")
            cells += f"{'—' if roc is None else f'{roc:.3f}':>{max(len(c), 6) + 2}}"
        lines.append(f"{'*' if v.current else ' '} {v.name:<{width}}{str(v.card.get('created', '—')):<22}"
                     f"{rows:>8}{cells}  {v.status}")
    lines.append("* current; ROC-AUC is cross-validated on the model's own training labels")
    return "\n".join(lines)


def read_history(models_dir: str | Path) -> list[dict]:
    """The events of `models_dir/history.jsonl`, oldest first (none when the file does not exist)."""
    path = Path(models_dir) / HISTORY
    if not path.is_file():
        return []
    events = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{path}:{number}: not valid JSON ({exc.msg}); fix or delete the line") from None
        if not isinstance(event, dict) or event.get("action") not in ("promote", "rollback") \
                or not isinstance(event.get("version"), str):
            raise ModelError(f"{path}:{number}: expected {{\"action\": \"promote\" or \"rollback\", \"version\": …}}")
        events.append(event)
    return events


def promoted_stack(events: list[dict], current: str | None) -> list[str]:
    """The versions that were current in turn, as rollbacks left them; the last one is `current`.

    >>> promoted_stack([{"action": "promote", "version": "a"}, {"action": "promote", "version": "b"},
    ...                 {"action": "rollback", "version": "a"}], "a")
    ['a']
    """
    stack: list[str] = []
    for event in events:
        version = event["version"]
        if event["action"] == "rollback" and version in stack:
            del stack[len(stack) - stack[::-1].index(version):]
        else:
            stack.append(version)
    if current is not None and (not stack or stack[-1] != current):
        stack.append(current)  # current was set outside the registry (an older `train`, by hand)
    return stack


def rollback(models_dir: str | Path, to: str | None = None) -> tuple[str | None, str]:
    """Point `current` at the previously promoted version (or `to`); return (previous, new) versions.

    >>> rollback("models")  # doctest: +SKIP
    ('20250101-120000-ab12', '20241201-090000-cd34')
    """
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ModelError(f"{models_dir}: no models directory; train a model with `moderation train`")
    with _locked(models_dir):
        current = current_version(models_dir)
        if to is None:
            stack = promoted_stack(read_history(models_dir), current)
            if len(stack) < 2:
                raise ModelError(
                    f"nothing to roll back to: {models_dir / HISTORY} records no version promoted before "
                    f"{current or 'the current one'}; name one with --to VERSION (see `moderation models`)")
            target = stack[-2]
        else:
            target = to
        directory = models_dir / target
        if target in (CURRENT, "") or target.startswith(".") or "/" in target or not directory.is_dir():
            known = [v.name for v in list_versions(models_dir)]
            close = difflib.get_close_matches(target, known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; versions: {', '.join(known) or 'none'}"
            raise ModelError(f"unknown version {target!r}: no {directory}{hint}")
        if target == current:
            raise ModelError(f"{target} is already current")
        load_model(directory)  # checksums and card verified before anything points at it
        point_current(models_dir, target)
        _append_history(models_dir, {"action": "rollback", "version": target, "previous": current})
    return current, target


def _append_history(models_dir: Path, event: dict) -> None:
    """Append one event as one line in a single `write` to an O_APPEND file, then fsync it."""
    line = (json.dumps({"time": _now()} | event) + "\n").encode("utf-8")
    fd = os.open(models_dir / HISTORY, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        if os.write(fd, line) != len(line):
            raise ModelError(f"{models_dir / HISTORY}: short write; check the disk")
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _locked(models_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on the models directory: one promotion or rollback at a time."""
    import fcntl

    models_dir.mkdir(parents=True, exist_ok=True)
    with open(models_dir / LOCK, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
