"""The trained model: normalise → featurise → one linear head per category → calibrated probability.

A saved model is a directory `models/<version>/` holding `model.joblib` (the pickled featuriser and
the arrays), `scoring.npz` (what scoring needs, as plain arrays: the `DecisionKernel` of a hashing
featuriser, intercept, calibration), `policy.toml` (the policy it was trained under) and `card.json`
(the model card: data hashes, counts, metrics, thresholds, library versions, and the SHA-256 of the
other files). `load_model` verifies the checksums against the card before it reads anything else.
With `scoring.npz`, loading unpickles nothing and imports no scikit-learn: the featuriser is
unpickled on first use (explanations, `Model.featurizer`). A directory without it (saved before
it existed, or with a featuriser that has no `decision_kernel`) loads from the pickle alone.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from moderation.errors import InputError, ModelError
from moderation.files import sha256_file
from moderation.kernels import DecisionKernel, _chunks, _jit, decide
from moderation.language import assess_support_many
from moderation.normalize import normalize_batch, normalize_encoded, normalize_with_offsets, original_span
from moderation.policy import Decision, Policy
from moderation.quoting import review_quoted_many

ARTIFACT = "model.joblib"
SCORING = "scoring.npz"
CARD = "card.json"
POLICY = "policy.toml"
CURRENT = "current"
_WORD = re.compile(r"\w+")
_KERNEL_DOCS = 64  # up to this many comments per call are scored in one compiled call (`Model._kernel`),
_KERNEL_CHARS = 1 << 17  # if they hold at most this many characters (one chunk of `HashingTfidf.decision`)


@dataclass(frozen=True)
class Span:
    """Evidence: the characters `[start, end)` of the original text pushed `category` up by `weight`."""

    start: int
    end: int
    category: str
    weight: float
    text: str
    source: str = "model"


class _Scoring(NamedTuple):
    """What a saved model scores with before its featuriser is unpickled: the featuriser's
    `decision_kernel(coef)`, whether it lower-cases, and its `n_jobs`."""

    kernel: DecisionKernel
    lowercase: bool
    n_jobs: int | None


class _Deferred:
    """The featuriser pickled in a model directory's artifact, unpickled on first `load()` (once,
    whichever thread asks first), after its checksum is verified again."""

    _lock = threading.Lock()

    def __init__(self, path: Path, sha256: str) -> None:
        self.path, self.sha256, self.value = path, sha256, None

    def load(self) -> object:
        """The featuriser, unpickled now if it was not already; ModelError if the file changed or does not load."""
        with self._lock:
            if self.value is None:
                self.value = _load_artifact(self.path, self.sha256)["featurizer"]
            return self.value


@dataclass(frozen=True)
class Assessment:
    """Everything the model and the policy say about one comment."""

    scores: dict[str, float]
    decision: Decision
    spans: list[Span]


class Model:
    """A trained classifier bound to the policy it was trained under.

    >>> model = load_model("models/current")  # doctest: +SKIP
    >>> model.assess(["You are a disgrace"])[0].decision.decision  # doctest: +SKIP
    'reject'
    """

    def __init__(
        self,
        policy: Policy,
        featurizer,
        coef: np.ndarray,
        intercept: np.ndarray,
        calibration: np.ndarray,
        thresholds: dict[str, dict[str, float]] | None = None,
        card: dict | None = None,
        policy_text: str = "",
        scoring: _Scoring | None = None,
    ) -> None:
        if isinstance(featurizer, _Deferred) and scoring is None:
            raise ValueError("a featuriser unpickled on first use needs the scoring arrays")
        self.policy = policy
        self._featurizer = featurizer
        self._scoring = scoring
        self.coef = np.ascontiguousarray(coef, dtype=np.float32)  # (n_features, n_categories)
        self.intercept = np.asarray(intercept, dtype=np.float64)  # (n_categories,)
        self.calibration = np.asarray(calibration, dtype=np.float64)  # (n_categories, 2): a, b
        self.thresholds = thresholds or policy.thresholds()
        self.card = card or {}
        self.policy_text = policy_text

    @property
    def featurizer(self):  # noqa: ANN201 - HashingTfidf or any transformer; importing its type imports sklearn
        """The featuriser, unpickled on first use when the model was loaded from its scoring arrays."""
        if isinstance(self._featurizer, _Deferred):
            self._featurizer = self._featurizer.load()
        return self._featurizer

    @featurizer.setter
    def featurizer(self, value: object) -> None:
        self._featurizer = value

    @property
    def categories(self) -> list[str]:
        """Category names, in the column order of `predict_proba`."""
        return self.policy.names

    @property
    def version(self) -> str:
        """The version recorded in the card ('unsaved' before `save`)."""
        return str(self.card.get("version", "unsaved"))

    def decision_function(self, texts: Sequence[str]) -> np.ndarray:
        """Raw linear scores, shape (n, n_categories)."""
        texts = _text_list(texts)
        deferred = isinstance(self._featurizer, _Deferred)
        if not deferred and not hasattr(self._featurizer, "decision_kernel"):  # a plain transformer
            features = self.featurizer.transform(normalize_batch(texts))
            return np.asarray(features @ self.coef, dtype=np.float64) + self.intercept
        lower = self._scoring.lowercase if deferred else self._featurizer.lowercase
        if 0 < len(texts) <= _KERNEL_DOCS and sum(map(len, texts)) <= _KERNEL_CHARS:
            # a few comments (the service's): one compiled call, the featuriser's checks done once;
            # more are scored in chunks on the featuriser's threads
            cp, offsets = normalize_encoded(texts, lower=lower)
            return self._kernel()(cp, offsets) + self.intercept
        # fused: text to scores per document, no feature matrix, as the featuriser's `decision` scores
        # them (on its threads), with the kernel made once
        n_jobs = self._scoring.n_jobs if deferred else self._featurizer.n_jobs
        out = decide(self._kernel(), _chunks(texts), partial(normalize_encoded, lower=lower), n_jobs)
        out += self.intercept
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Calibrated probabilities that each text violates each category, shape (n, n_categories)."""
        raw = self.decision_function(texts)
        return calibrate(raw, self.calibration)

    def _kernel(self) -> DecisionKernel:
        """The featuriser's `decision_kernel` for `coef` (the saved one while the featuriser is not
        unpickled), made on first use (again if either is replaced)."""
        source = self._scoring if isinstance(self._featurizer, _Deferred) else self._featurizer
        made = self.__dict__.get("_made_kernel")
        if made is None or made[0] is not source or made[1] is not self.coef:
            if source is self._scoring:
                saved = self._scoring.kernel
                kernel = saved if saved.coef is self.coef else saved.with_coef(self.coef)
            else:
                kernel = source.decision_kernel(self.coef)
            made = (source, self.coef, kernel)
            self.__dict__["_made_kernel"] = made
        return made[2]

    def warm_up(self, explain: bool = True) -> None:
        """Score and (if `explain`) explain a short text once, so that the compiled kernels are loaded
        (or compiled) now rather than on the first request. `load_model` calls it."""
        self.predict_proba(["warm up"])
        if explain:
            self.explain("warm up")

    def explain(self, text: str, top: int = 5, min_share: float = 0.1,
                categories: list[str] | None = None, hits: list | None = None) -> list[Span]:
        """The words that pushed each category (or only `categories`) up, with offsets into `text`."""
        if categories is not None and not categories:  # nothing flagged: no evidence to find
            return []
        norm, origin = normalize_with_offsets(text)
        if not norm.strip():
            return []
        cols, starts, ends, values = self.featurizer.occurrences(norm)
        words = [(m.start(), m.end()) for m in _WORD.finditer(norm)]
        if not words or len(cols) == 0:
            return []
        bounds = np.array(words, np.int64)
        wanted = [j for j, c in enumerate(self.categories) if categories is None or c in categories]
        weights = _word_weights(cols, starts, ends, values, bounds[:, 0], bounds[:, 1], self.coef,
                                np.array(wanted, np.int64), np.empty(2, np.result_type(values, self.coef)))
        spans: list[Span] = []
        for j, weight in zip(wanted, weights):
            category = self.categories[j]
            positive = weight > 0
            if not positive.any():
                continue
            cutoff = weight[positive].max() * min_share
            order = np.argsort(-weight)[:top]
            for k in order:
                if weight[k] <= 0 or weight[k] < cutoff:
                    continue
                start, end = original_span(origin, words[k][0], words[k][1])
                spans.append(Span(start, end, category, round(float(weight[k]), 4), text[start:end]))
        for hit in self.policy.lexicon_hits(text) if hits is None else hits:  # `assess` passes the ones it found
            spans.append(Span(hit.start, hit.end, hit.term.category, 1.0, text[hit.start:hit.end], source="lexicon"))
        return sorted(spans, key=lambda s: (s.start, s.category))

    def assess(self, texts: Sequence[str], explain: bool = True) -> list[Assessment]:
        """Scores, the policy's decision and (optionally) evidence spans for each text."""
        texts = _text_list(texts)
        proba = self.predict_proba(texts) if texts else np.zeros((0, len(self.categories)))
        out = []
        supports = assess_support_many(texts)  # the texts that need normalising, normalised together
        all_hits = self.policy.lexicon_hits_many(texts)
        all_scores = [{c: round(float(p), 6) for c, p in zip(self.categories, row)} for row in proba]
        decisions = [self.policy.decide(scores, self.thresholds, hits) for scores, hits in zip(all_scores, all_hits)]
        decisions = review_quoted_many(self, texts, decisions, all_hits)  # quoting or condemning an attack is not one
        for text, scores, hits, support, decision in zip(texts, all_scores, all_hits, supports, decisions):
            if not support.supported:
                # The model cannot judge this text: never a confident allow.
                decision = Decision(
                    decision="review" if decision.decision == "allow" else decision.decision,
                    violations=decision.violations, review=decision.review,
                    reasons=decision.reasons + [support.reason],
                )
            # Evidence for the categories the decision is about: violations and the review band.
            flagged = decision.violations + decision.review
            out.append(Assessment(scores, decision, self.explain(text, categories=flagged, hits=hits) if explain else []))
        return out

    def check_text(self, text: object, field: str = "text") -> str:
        """Validate one comment for scoring; InputError naming `field` otherwise."""
        return check_text(text, self.policy.max_chars, field)

    # ------------------------------------------------------------ persistence

    def save(self, models_dir: str | Path, version: str | None = None, make_current: bool = True) -> Path:
        """Write `models_dir/<version>/` atomically and (by default) point `models_dir/current` at it."""
        import joblib

        models_dir = Path(models_dir)
        models_dir.mkdir(parents=True, exist_ok=True)
        version = version or self.card.get("version") or _new_version()
        final = models_dir / version
        if final.exists():
            raise ModelError(f"{final}: a model with this version already exists")
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=models_dir))
        try:
            joblib.dump(
                {
                    "featurizer": self.featurizer,
                    "coef": self.coef,
                    "intercept": self.intercept,
                    "calibration": self.calibration,
                    "thresholds": self.thresholds,
                },
                tmp / ARTIFACT,
                compress=3,
            )
            names = [ARTIFACT, POLICY]
            if hasattr(self.featurizer, "decision_kernel"):  # scoring without unpickling the featuriser
                np.savez(tmp / SCORING, **self._kernel().arrays(), intercept=self.intercept,
                         calibration=self.calibration, lowercase=np.array(bool(self.featurizer.lowercase)),
                         n_jobs=np.array(self.featurizer.n_jobs or 0, np.int64))
                names.append(SCORING)
            (tmp / POLICY).write_text(self.policy_text, encoding="utf-8")
            card = dict(self.card)
            card["version"] = version
            card["files"] = {name: sha256_file(tmp / name) for name in names}
            card["thresholds"] = self.thresholds
            (tmp / CARD).write_text(json.dumps(card, indent=2, default=_json_default) + "\n", encoding="utf-8")
            os.replace(tmp, final)
        except BaseException:
            for child in tmp.glob("*"):
                child.unlink()
            tmp.rmdir()
            raise
        self.card = card
        if make_current:
            point_current(models_dir, version)
        return final


@_jit
def _word_weights(cols, starts, ends, values, word_starts, word_ends, coef, wanted, tmp):  # noqa: ANN001
    """The evidence of each word for each category `wanted` (rows), float64 of shape (len(wanted), words).

    Occurrence i (n-gram column cols[i] at [starts[i], ends[i]), value values[i]) contributes
    values[i] * coef[cols[i], j] to category j, shared evenly among the words it overlaps; the
    products and shares are rounded to the dtype of `tmp` (that of values * coef) as numpy rounds
    them, and each word adds its shares in occurrence order, in float64.
    """
    weights = np.zeros((wanted.shape[0], word_starts.shape[0]))
    for i in range(cols.shape[0]):
        first = np.searchsorted(word_ends, starts[i], side="right")  # the first word ending after the start
        last = np.searchsorted(word_starts, ends[i], side="left") - 1  # the last word starting before the end
        if last < first:
            continue
        for q in range(wanted.shape[0]):
            tmp[0] = values[i] * coef[cols[i], wanted[q]]
            tmp[1] = last - first + 1
            tmp[0] = tmp[0] / tmp[1]
            share = np.float64(tmp[0])
            for w in range(first, last + 1):
                weights[q, w] += share
    return weights


def _text_list(texts: Sequence[str], argument: str = "texts") -> list[str]:
    """`texts` as a list of str; TypeError naming `argument` for a bare str or bytes, or a non-str item."""
    if isinstance(texts, (str, bytes, bytearray)):
        raise TypeError(f"{argument}: expected a sequence of comments, found a single {type(texts).__name__}; "
                        f"pass [text] to score one comment")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{argument}[{i}]: expected str, found {type(text).__name__}")
    return texts


def check_text(text: object, max_chars: int, field: str = "text") -> str:
    """A comment must be a non-empty, non-blank string of at most `max_chars` characters."""
    if not isinstance(text, str):
        raise InputError(f"{field}: expected a string, found {type(text).__name__}")
    if not text.strip():
        raise InputError(f"{field}: empty text: there is nothing to score")
    if len(text) > max_chars:
        raise InputError(f"{field}: text has {len(text)} characters; the limit is {max_chars}")
    return text


def calibrate(raw: np.ndarray, calibration: np.ndarray) -> np.ndarray:
    """Platt scaling of raw scores: p = 1 / (1 + exp(-(a·z + b))), per column."""
    z = raw * calibration[:, 0] + calibration[:, 1]
    # 1 / (1 + exp(-clip(z, -40, 40))) in place, with the ufuncs themselves (np.clip's Python
    # wrapper costs more than the arithmetic on the service's one row; NaN stays NaN either way)
    np.maximum(z, -40.0, out=z)
    np.minimum(z, 40.0, out=z)
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += 1.0
    return np.divide(1.0, z, out=z)


def point_current(models_dir: Path, version: str) -> None:
    """Atomically make `models_dir/current` a symlink to `version`."""
    link = models_dir / CURRENT
    tmp = models_dir / f".{CURRENT}-{os.getpid()}"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(version, tmp)
    os.replace(tmp, link)


def resolve_model_dir(path: str | Path) -> Path:
    """A model directory: `path` itself, or `path/current` when `path` is a models directory."""
    path = Path(path)
    if (path / CARD).is_file():
        return path.resolve()
    if (path / CURRENT / CARD).is_file():
        return (path / CURRENT).resolve()
    if path.exists():
        raise ModelError(f"{path}: not a model directory (no {CARD}); train one with `moderation train`")
    raise ModelError(f"{path}: no model here; train one with `moderation train`")


def load_model(path: str | Path, explain: bool = True) -> Model:
    """Load a model directory after checking every file against the card's checksums.

    Scoring is warmed up, and explaining too if `explain` (which unpickles the featuriser now rather
    than on the first explanation); `moderation score`, which explains nothing, passes False.
    """
    directory = resolve_model_dir(path)
    try:
        card = json.loads((directory / CARD).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{directory / CARD}: unreadable model card: {exc}") from None
    files = card.get("files") if isinstance(card, dict) else None
    if not isinstance(files, dict) or not {ARTIFACT, POLICY} <= set(files) <= {ARTIFACT, POLICY, SCORING}:
        raise ModelError(f"{directory / CARD}: the card lists no checksums for {ARTIFACT} and {POLICY}")
    for name, expected in files.items():
        target = directory / name
        if not target.is_file():
            raise ModelError(f"{target}: missing from the model directory")
        _verify(target, expected)
    policy_text = (directory / POLICY).read_text(encoding="utf-8")
    import tomllib

    policy = Policy.from_dict(tomllib.loads(policy_text), source=str(directory / POLICY))
    if SCORING in files:
        featurizer, parts, scoring = _Deferred(directory / ARTIFACT, files[ARTIFACT]), *_load_scoring(directory / SCORING)
        parts["thresholds"] = card.get("thresholds")
    else:
        parts, scoring = _load_artifact(directory / ARTIFACT), None
        featurizer = parts["featurizer"]
    model = Model(
        policy=policy,
        featurizer=featurizer,
        coef=parts["coef"],
        intercept=parts["intercept"],
        calibration=parts["calibration"],
        thresholds=parts["thresholds"],
        card=card,
        policy_text=policy_text,
        scoring=scoring,
    )
    model.warm_up(explain=explain)
    return model


def _verify(target: Path, expected: object) -> None:
    """ModelError unless the SHA-256 of the file `target` is `expected`."""
    actual = sha256_file(target)
    if actual != expected:
        raise ModelError(
            f"{target}: checksum {actual[:12]}… does not match the card's {str(expected)[:12]}…; "
            "the model is corrupt or was changed: retrain it"
        )


def _load_artifact(path: Path, sha256: str | None = None) -> dict:
    """The unpickled artifact (featuriser and arrays), its checksum verified first if `sha256` is given."""
    import joblib

    if sha256 is not None:
        _verify(path, sha256)
    try:
        return joblib.load(path)
    except Exception as exc:  # a checksum-valid artifact that does not load: version skew
        raise ModelError(f"{path}: cannot load ({type(exc).__name__}: {exc})") from None


def _load_scoring(path: Path) -> tuple[dict, _Scoring]:
    """The arrays of a `scoring.npz` (coef, intercept, calibration) and its `_Scoring`; ModelError if malformed."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        kernel = DecisionKernel.from_arrays(arrays, str(path))
        k = kernel.coef.shape[1]
        intercept, calibration = arrays["intercept"], arrays["calibration"]
        if intercept.shape != (k,) or calibration.shape != (k, 2):
            raise ValueError(f"{path}: intercept and calibration must have shapes ({k},) and ({k}, 2), "
                             f"found {intercept.shape} and {calibration.shape}")
        scoring = _Scoring(kernel, bool(arrays["lowercase"]), int(arrays["n_jobs"]) or None)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"{path}: cannot load ({type(exc).__name__}: {exc})") from None
    return {"coef": kernel.coef, "intercept": intercept, "calibration": calibration}, scoring


def _json_default(value: object) -> object:
    """JSON for the odd values a card holds: numpy scalars and arrays, types (dtypes)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, type):
        return value.__name__
    return str(value)


def _new_version() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S") + f"-{os.urandom(2).hex()}"
