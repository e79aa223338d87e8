"""Training: labelled rows → distinct comments with soft labels → grouped cross-validation → model."""

from __future__ import annotations

import hashlib
import platform
import re
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from moderation.errors import LabelError
from moderation.evaluation import derive_thresholds, metrics_table
from moderation.kernels import _jit, _thread_map
from moderation.labels import LabelSet, text_key
from moderation.model import Model, calibrate
from moderation.normalize import normalize_batch
from moderation.policy import Policy

if TYPE_CHECKING:
    from moderation.augment import IdentityTerms


# The default featuriser: char n-grams inside white-space tokens (as scikit-learn's char_wb takes them) and
# n-grams seen in fewer than 2 (words) or 3 (chars) training comments pruned (as SklearnTfidf prunes them).
# By 5-fold grouped CV (tests/bench/quality.py --against-sklearn), ROC-AUC ours - SklearnTfidf(word_weight=2):
# profanity -0.0017, personal_attack -0.0015, identity_attack -0.0029, threat -0.0003, any_violation -0.0015;
# UNPRUNED_FEATURIZER, the earlier default (char n-grams inside runs of word characters, nothing pruned), in the
# same conditions: -0.0051, -0.0034, -0.0076, -0.0076, -0.0037, which misses the 0.005 bar. 520.4 non-zeros per
# comment (486.3). Pruning costs scoring time: on one thread, for 200,000 label comments, Model.predict_proba ran
# at 48,882-49,208/s against UNPRUNED_FEATURIZER's 58,765-60,413/s (alternating, one process, quiet machine).
PRUNED_FEATURIZER = {"word_weight": 2.0, "n_features": 2**18, "char_mode": "ws", "word_min_df": 2, "char_min_df": 3}
UNPRUNED_FEATURIZER = {"word_weight": 2.0, "n_features": 2**18}


@dataclass
class TrainConfig:
    """Hyper-parameters of the default model (tuned by grouped cross-validation)."""

    alpha: float = 3e-5  # L2 regularisation of each head; the policy's [training.alpha] overrides per category
    balance: float = 0.5  # 0: as labelled; 1: positives and negatives weigh the same in each head
    nb_smoothing: float = 0.1  # NB-weighting of the features per head (0 turns it off)
    epochs: int = 8
    folds: int = 5
    seed: int = 0
    # 2**18 hashed columns (half words, half chars): by grouped CV, fewer columns than 2**20 regularise the
    # rare n-grams (threat ROC-AUC +0.010, Wikipedia "any violation" +0.001 to +0.002, the others within
    # -0.0015), with the same non-zeros per comment and a coefficient table that fits in cache.
    # PRUNED_FEATURIZER (see there): within 0.005 ROC-AUC of scikit-learn's vectorisers, slower to score.
    featurizer: dict = field(default_factory=lambda: dict(PRUNED_FEATURIZER))
    n_jobs: int = -1


@dataclass
class Examples:
    """Distinct comments (by normalised text) with a soft label and a weight per category."""

    texts: list[str]
    soft: np.ndarray  # (n, k) mean label over raters and sources, NaN where unknown
    weight: np.ndarray  # (n, k) training weight, 0 where unknown
    sources: list[str]  # the source that weighs most for the comment
    evaluable: np.ndarray  # (n,) False for sources the policy keeps out of evaluation
    groups: np.ndarray  # (n,) near-duplicate group: one group never straddles folds
    copies: int = 0  # how many of the rows (the last ones) are counterfactual copies


def aggregate(labels: LabelSet, policy: Policy) -> Examples:
    """Merge rows of the same comment: per source the raters' mean, across sources a weighted mean."""
    k = len(labels.categories)
    index: dict[str, int] = {}  # text key → comment
    texts: list[str] = []
    keys: list[str] = []
    seen: dict[str, int] = {}  # raw text → comment (rows often repeat a text verbatim)
    known_keys = labels.text_keys  # those computed while loading
    comment = np.empty(len(labels.texts), dtype=np.int64)
    for i, text in enumerate(labels.texts):
        n = seen.get(text)
        if n is None:
            key = known_keys.get(text)
            if key is None:
                key = text_key(text)
            n = index.setdefault(key, len(texts))
            if n == len(texts):
                texts.append(text)
                keys.append(key)
            seen[text] = n
        comment[i] = n
    # one cell per (comment, source), numbered in the order of its first row
    source_names = sorted(set(labels.sources))
    source_of = {name: s for s, name in enumerate(source_names)}
    source = np.fromiter((source_of[name] for name in labels.sources), dtype=np.int64, count=len(labels.sources))
    cells, first, cell = np.unique(comment * len(source_names) + source, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # cells by first appearance
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    cell = rank[cell.ravel()]
    cell_comment, cell_source = (cells // len(source_names))[order], (cells % len(source_names))[order]
    values = np.asarray(labels.values, dtype=np.float64).reshape(len(labels.texts), k)
    known = ~np.isnan(values)
    sums = np.zeros((order.size, k))
    counts = np.zeros((order.size, k))
    np.add.at(sums, cell, np.where(known, values, 0.0))  # row by row, in row order
    np.add.at(counts, cell, known.astype(np.float64))
    n_texts = len(texts)
    w = np.array([policy.source_weight(name) for name in source_names])[cell_source]
    has = counts > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, w[:, None] * sums / np.where(has, counts, 1.0), 0.0)
    num = np.zeros((n_texts, k))
    den = np.zeros((n_texts, k))
    np.add.at(num, cell_comment, mean)  # cell by cell, in order of first appearance
    np.add.at(den, cell_comment, np.where(has, w[:, None], 0.0))
    weight = np.zeros((n_texts, k))
    np.maximum.at(weight, cell_comment, np.where(has, w[:, None], 0.0))
    # the source that weighs most: of the comment's cells with the largest weight, the first one
    best_w = np.full(n_texts, -1.0)
    np.maximum.at(best_w, cell_comment, w)
    top = np.flatnonzero(w == best_w[cell_comment])
    best = np.full(n_texts, order.size, dtype=np.int64)
    np.minimum.at(best, cell_comment[top], top)
    excluded = np.array([name in policy.not_for_evaluation for name in source_names], dtype=bool)
    evaluable = np.ones(n_texts, dtype=bool)
    evaluable[cell_comment[excluded[cell_source]]] = False
    with np.errstate(invalid="ignore", divide="ignore"):
        soft = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    return Examples(
        texts=texts,
        soft=soft.astype(np.float64),
        weight=weight,
        sources=[source_names[b] for b in cell_source[best]],
        evaluable=evaluable,
        groups=_groups(keys),
    )


def prepare(labels: LabelSet, policy: Policy, terms: "IdentityTerms | None" = None, seed: int = 0) -> Examples:
    """Aggregate the rows into distinct comments, then add counterfactual copies if `terms` are given."""
    examples = aggregate(labels, policy)
    if terms is not None and policy.counterfactual_copies:
        from moderation.augment import augment

        examples = augment(examples, terms, policy.counterfactual_copies, seed)
    return examples


_NOT_LETTERS = re.compile(r"[\W_]+")  # \w is str.isalnum() plus "_": this keeps exactly the isalnum() characters
_ASCII_NOT_LETTERS = bytes(c for c in range(128) if not chr(c).isalnum())


def _letters(key: str) -> str:
    """The letters and digits of a text key (the characters for which `str.isalnum()` is true)."""
    if key.isascii():  # most comments: a byte-level deletion, many times faster than the pattern
        return key.encode("ascii").translate(None, _ASCII_NOT_LETTERS).decode("ascii")
    return _NOT_LETTERS.sub("", key)


def near_duplicate_groups(texts: list[str], width: int = 48) -> np.ndarray:
    """Group comments that share their first or last `width` letters and digits (union-find)."""
    return _groups([text_key(text) for text in texts], width)


def _groups(keys: list[str], width: int = 48) -> np.ndarray:
    """`near_duplicate_groups` of the comments whose text keys are `keys`."""
    parent = list(range(len(keys)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    letters = [_letters(key) for key in keys]
    for part in ("head", "tail"):
        seen: dict[str, int] = {}
        for i, chars in enumerate(letters):
            if len(chars) < 12:
                key = chars
            else:
                key = chars[:width] if part == "head" else chars[-width:]
            j = seen.setdefault(key, i)
            if j != i:
                parent[find(i)] = find(j)
    roots = np.array([find(i) for i in range(len(keys))], dtype=np.int64)
    _, groups = np.unique(roots, return_inverse=True)
    return groups


EVALUATION_SHARE = 0.10  # of comments (by the hash of their evaluation key) in the fixed evaluation split


def evaluation_key(text: str, width: int = 48) -> str:
    """The key that places a comment in or out of the evaluation split: `near_duplicate_groups`' head key.

    >>> evaluation_key("You are  a DISGRACE!") == evaluation_key("you are a disgrace")
    True
    """
    return _letters(text_key(text))[:width]


def evaluation_split(texts: list[str], share: float = EVALUATION_SHARE) -> np.ndarray:
    """True for the comments in the fixed evaluation split: the hash of their key falls under `share`.

    Membership depends on a comment's own text only, never on row order or on the other comments,
    so the split is stable as label files grow; near-duplicates sharing a head fall on the same side.

    >>> evaluation_split(["great reporting, keep it up"] * 2).tolist() in ([True, True], [False, False])
    True
    """
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share: expected a number between 0 and 1, found {share!r}")
    cut = int(share * 2**64)
    return np.fromiter(
        (int.from_bytes(hashlib.blake2b(evaluation_key(t).encode("utf-8"), digest_size=8).digest(), "big") < cut
         for t in texts),
        dtype=bool, count=len(texts),
    )


def _fit_head(X, subset: np.ndarray | None, soft: np.ndarray, weight: np.ndarray, config: TrainConfig,
              alpha: float) -> tuple[np.ndarray, float]:
    """One logistic-regression head on the rows whose label is known; soft labels become two weighted rows.

    Fitted by averaged stochastic gradient descent on the log loss: as accurate as liblinear here
    (held-out ROC-AUC within 0.002) and eight times faster. With `nb_smoothing` > 0 each feature is
    first scaled by its naive-Bayes log-count ratio for this head (Wang & Manning's NB-weighting);
    the scale is folded into the returned coefficients, so scoring stays one sparse product.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import SGDClassifier

    idx = np.flatnonzero(~np.isnan(soft) & (weight > 0))
    if subset is not None:  # rows of one training fold; X is sliced once, here, for this head only
        idx = np.intersect1d(idx, subset)
    s, w = soft[idx], weight[idx]
    pos, neg = s > 0, s < 1
    rows = np.concatenate([idx[pos], idx[neg]])
    y = np.concatenate([np.ones(pos.sum()), np.zeros(neg.sum())])
    sw = np.concatenate([w[pos] * s[pos], w[neg] * (1 - s[neg])])
    if y.min() == y.max():
        raise LabelError(f"a category has only {'positive' if y[0] else 'negative'} examples: cannot train it")
    if config.balance > 0:
        ratio = sw[y == 0].sum() / sw[y == 1].sum()
        sw[y == 1] *= ratio ** config.balance
    sw *= len(sw) / sw.sum()
    clf = SGDClassifier(loss="log_loss", alpha=alpha, max_iter=config.epochs, tol=None, average=True,
                        random_state=config.seed)
    scale = nb_ratio(X, y, sw, config.nb_smoothing, rows) if config.nb_smoothing > 0 else None
    features = _scaled_rows(X, rows, scale)  # this head's own copy of its rows, already scaled
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs is the design
        clf.fit(features, y, sample_weight=sw)
    coef = clf.coef_.ravel()
    if scale is not None:
        coef = coef * scale
    return coef.astype(np.float32), float(clf.intercept_[0])


@_jit  # without the GIL: heads fitted on threads run side by side
def _class_sums_kernel(indptr, indices, data, rows, positive, weight, n_features):  # noqa: ANN001
    """Weighted column sums of the rows `rows` of a CSR matrix, the positive rows' and the others'."""
    sums = np.zeros((2, n_features))
    for i in range(rows.shape[0]):
        r, w, c = rows[i], weight[i], 0 if positive[i] else 1
        for p in range(indptr[r], indptr[r + 1]):
            sums[c, indices[p]] += w * data[p]
    return sums


@_jit
def _scale_kernel(indices, data, scale):  # noqa: ANN001
    """Each value of a CSR matrix's `data` times the scale of its column, in place."""
    for p in range(data.shape[0]):
        data[p] *= scale[indices[p]]


def _class_sums(X, rows: np.ndarray, positive: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`X[rows].T @ (weight * positive)` and `X[rows].T @ (weight * ~positive)` for a CSR matrix, in one
    pass over the rows and without copying them."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    sums = _class_sums_kernel(X.indptr, X.indices, X.data, rows, np.ascontiguousarray(positive, bool),
                              np.ascontiguousarray(weight, np.float64), X.shape[1])
    return sums[0], sums[1]


def _scaled_rows(X, rows: np.ndarray, scale: np.ndarray | None):
    """`X[rows]` (CSR) with each value multiplied by its column's `scale` (None: as they are)."""
    out = X[rows]
    if scale is not None:
        _scale_kernel(out.indices, out.data, np.ascontiguousarray(scale, out.dtype))
    return out


def release_free_memory() -> None:
    """Hand memory that the allocator keeps after large temporaries back to the system (glibc only).

    Featurisation frees many chunk-sized arrays; glibc keeps their pages for reuse, which would
    otherwise add several hundred megabytes to training's peak. Elsewhere this does nothing.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is not None:
        trim(0)


def nb_ratio(X, y: np.ndarray, sample_weight: np.ndarray, smoothing: float, rows: np.ndarray | None = None
             ) -> np.ndarray:
    """Log-count ratio per feature: log of (positive share of the feature) / (negative share).

    Over the rows `rows` of X (default: all of them), where `y[i]` and `sample_weight[i]` are those
    of row `rows[i]`.
    """
    rows = np.arange(X.shape[0]) if rows is None else rows
    positive, negative = _class_sums(X, rows, np.asarray(y) == 1, sample_weight)
    positive, negative = positive + smoothing, negative + smoothing
    return np.log((positive / positive.sum()) / (negative / negative.sum())).astype(np.float32)


def _alphas(policy: Policy, config: TrainConfig) -> list[float]:
    """Regularisation per category: the policy's [training.alpha] table, else the config's."""
    return [policy.training_alpha.get(c, config.alpha) for c in policy.names]


def _fit_platt(z: np.ndarray, soft: np.ndarray) -> tuple[float, float]:
    """Platt scaling fitted on held-out raw scores against (soft) labels."""
    from sklearn.linear_model import LogisticRegression

    ok = ~np.isnan(soft) & ~np.isnan(z)
    z, s = z[ok], soft[ok]
    pos, neg = s > 0, s < 1
    x = np.concatenate([z[pos], z[neg]])[:, None]
    y = np.concatenate([np.ones(pos.sum()), np.zeros(neg.sum())])
    sw = np.concatenate([s[pos], 1 - s[neg]])
    lr = LogisticRegression(C=1e4, solver="lbfgs", max_iter=1000)
    lr.fit(x, y, sample_weight=sw)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def _fit_heads(X, examples: Examples, config: TrainConfig, alphas: list[float], cross_validate: bool = True,
               final: bool = True) -> tuple[np.ndarray | None, list[tuple[np.ndarray, float]]]:
    """Out-of-fold raw scores (GroupKFold over near-duplicate groups; None unless `cross_validate`) and
    the heads fitted on all comments (none unless `final`), every head fitted in one pool of threads.

    The heads go to the threads largest first, so that no thread is left alone with a large one.
    """
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold

    n, k = examples.soft.shape
    known = ~np.isnan(examples.soft) & (examples.weight > 0)
    folds = list(GroupKFold(n_splits=config.folds).split(np.zeros(n), groups=examples.groups)) if cross_validate else []
    tasks, sizes = [], []
    for train, _test in folds:
        for j in range(k):
            tasks.append((X, train, examples.soft[:, j], examples.weight[:, j], config, alphas[j]))
            sizes.append(np.count_nonzero(known[train, j]))
    for j in range(k) if final else ():
        tasks.append((X, None, examples.soft[:, j], examples.weight[:, j], config, alphas[j]))
        sizes.append(np.count_nonzero(known[:, j]))
    order = np.argsort(sizes, kind="stable")[::-1]
    done = Parallel(n_jobs=config.n_jobs, prefer="threads")(delayed(_fit_head)(*tasks[t]) for t in order)
    fitted: list = [None] * len(tasks)
    for t, result in zip(order, done):
        fitted[t] = result
    oof = None
    if cross_validate:
        oof = np.full((n, k), np.nan)
        for f, (_train, test) in enumerate(folds):
            rows = X[test]
            for j in range(k):
                coef, intercept = fitted[f * k + j]
                oof[test, j] = np.asarray(rows @ coef).ravel() + intercept
    return oof, fitted[len(folds) * k:]


def cross_validated_scores(X, examples: Examples, config: TrainConfig, alphas: list[float]) -> np.ndarray:
    """Out-of-fold raw scores for every comment and category, from GroupKFold over near-duplicate groups."""
    return _fit_heads(X, examples, config, alphas, final=False)[0]


def held_out(X, examples: Examples, policy: Policy, config: TrainConfig) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """Calibrated out-of-fold probabilities, the Platt parameters, derived thresholds and metrics."""
    return _calibrated(cross_validated_scores(X, examples, config, _alphas(policy, config)), examples, policy)


def _calibrated(oof: np.ndarray, examples: Examples, policy: Policy) -> tuple[np.ndarray, np.ndarray, dict, dict]:
    """`held_out` from the out-of-fold raw scores `oof`."""
    calibration = np.array([_fit_platt(oof[:, j], examples.soft[:, j]) for j in range(len(policy.names))])
    proba = calibrate(oof, calibration)
    thresholds = derive_thresholds(proba, examples, policy)
    return proba, calibration, thresholds, metrics_table(proba, examples, policy, thresholds)


def _normalized(texts: list[str], n_jobs: int | None) -> list[str]:
    """`normalize_batch(texts)`, slices of them on `n_jobs` threads (its folding runs without the GIL)."""
    step = 10_000
    slices = [texts[at : at + step] for at in range(0, len(texts), step)]
    return [text for part in _thread_map(normalize_batch, slices, n_jobs) for text in part]


def featurize(examples: Examples, config: TrainConfig, featurizer=None):
    """Fit the featuriser on the examples' normalised texts; return it and the matrix."""
    from moderation.features import HashingTfidf

    featurizer = featurizer if featurizer is not None else HashingTfidf(**config.featurizer)
    texts = _normalized(examples.texts, config.n_jobs)
    if not isinstance(featurizer, HashingTfidf) or featurizer.n_jobs is not None:
        return featurizer, featurizer.fit_transform(texts).tocsr()
    featurizer.n_jobs = config.n_jobs  # fitted on the training's threads (the matrix does not depend on them),
    try:                               # saved as it was given
        return featurizer, featurizer.fit_transform(texts).tocsr()
    finally:
        featurizer.n_jobs = None


@dataclass
class TrainingRun:
    """What one training produced: the model, the examples it saw and their out-of-fold probabilities."""

    model: Model
    examples: Examples
    held_out: np.ndarray | None  # (n, k) calibrated out-of-fold probabilities; None without cross-validation


def train(
    labels: LabelSet,
    policy: Policy,
    policy_text: str,
    config: TrainConfig | None = None,
    featurizer=None,
    log: Callable[[str], None] = lambda msg: None,
    cross_validate: bool = True,
    terms: "IdentityTerms | None" = None,
) -> Model:
    """Train the model: featurise, cross-validate, calibrate, derive thresholds, fit on everything."""
    return training_run(labels, policy, policy_text, config, featurizer, log, cross_validate, terms).model


def training_run(
    labels: LabelSet,
    policy: Policy,
    policy_text: str,
    config: TrainConfig | None = None,
    featurizer=None,
    log: Callable[[str], None] = lambda msg: None,
    cross_validate: bool = True,
    terms: "IdentityTerms | None" = None,
) -> TrainingRun:
    """`train`, keeping the examples and the out-of-fold probabilities (the promotion gate needs them).

    >>> run = training_run(labels, policy, policy_text)  # doctest: +SKIP
    >>> run.held_out.shape == (len(run.examples.texts), len(policy.names))  # doctest: +SKIP
    True
    """
    config = config or TrainConfig()
    started = time.perf_counter()
    examples = prepare(labels, policy, terms, config.seed)
    k = len(policy.names)
    distinct = int(examples.groups.size - examples.copies)
    log(f"{len(labels)} label rows → {distinct} distinct comments + {examples.copies} counterfactual copies "
        f"({examples.groups.max() + 1} near-duplicate groups)")
    featurizer, X = featurize(examples, config, featurizer)
    release_free_memory()
    log(f"featurised: {X.shape[0]} × {X.shape[1]}, {X.nnz} non-zeros ({time.perf_counter() - started:.1f} s)")

    calibration = np.tile([1.0, 0.0], (k, 1))
    metrics: dict = {}
    thresholds = policy.thresholds()
    proba = None
    alphas = _alphas(policy, config)
    oof, fitted = _fit_heads(X, examples, config, alphas, cross_validate)
    release_free_memory()
    folds = f"{config.folds} folds × {k} categories + " if cross_validate else ""
    log(f"trained {folds}{k} heads on all comments ({time.perf_counter() - started:.1f} s)")
    if oof is not None:
        proba, calibration, thresholds, metrics = _calibrated(oof, examples, policy)
        log(f"cross-validated {config.folds} folds: calibrated, thresholds and metrics "
            f"({time.perf_counter() - started:.1f} s)")
    coef = np.stack([c for c, _ in fitted], axis=1)
    intercept = np.array([b for _, b in fitted])
    seconds = time.perf_counter() - started
    card = {
        "model": "normalise → hashed word+char TF-IDF → NB-weighted logistic regression per category "
                 "(averaged SGD) "
                 "→ Platt scaling",
        "regularisation": dict(zip(policy.names, alphas)),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "policy": policy.name,
        "categories": policy.names,
        "training_data": {
            "files": labels.hashes,
            "label_rows": len(labels),
            "distinct_comments": distinct,
            "counterfactual_copies": examples.copies,
            "rows_per_source_and_category": labels.counts(),
            "source_weights": {s: policy.source_weight(s) for s in sorted(set(labels.sources))},
        },
        "config": asdict(config) | {"featurizer": featurizer.get_params()},
        "cross_validation": {
            "method": f"GroupKFold({config.folds}) over near-duplicate groups; Platt scaling on the "
                      "out-of-fold scores; rows of sources in not_for_evaluation excluded from metrics",
            "metrics": metrics,
        } if cross_validate else None,
        "training_seconds": round(seconds, 2),
        "libraries": _library_versions(),
    }
    return TrainingRun(Model(policy, featurizer, coef, intercept, calibration, thresholds, card, policy_text),
                       examples, proba)


def _library_versions() -> dict[str, str]:
    from importlib.metadata import version

    import joblib
    import scipy
    import sklearn

    return {
        "confusable-homoglyphs": version("confusable-homoglyphs"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }
