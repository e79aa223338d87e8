"""Featurisation: word and character n-grams, hashed and TF-IDF weighted, compiled with numba.

`HashingTfidf` is the production featuriser; `SklearnTfidf` is the scikit-learn baseline the
benchmarks compare it with. Both are scikit-learn transformers and explain a score through
`occurrences(text)`: every n-gram occurrence with its character span and TF-IDF value.

Feature space of `HashingTfidf`: columns `[0, n_features // 2)` hold word n-grams and
`[n_features // 2, n_features)` hold character n-grams, so `word_weight` and `char_weight`
scale disjoint blocks and a column always says which kind of n-gram it counts.

`HashingTfidf` runs the numba kernels of `moderation.kernels` (`_nb_*`, also importable from here),
one document at a time, over a chunk's code points: `transform` builds the CSR matrix, and
`decision` goes from counts straight to `X @ coef` without building it (`decision_kernel` gives the
`DecisionKernel` that `Model` scores with, without this module or scikit-learn).
`_reference_counts` is the pure-Python specification that the tests hold the kernels to.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from functools import partial
from numbers import Real
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from moderation import kernels
from moderation.kernels import (  # noqa: F401 - the kernels, also importable from here as before
    _CHAR, _NORMS, _P, _TF_BINARY, _TF_RAW, _TF_SUBLINEAR, _WORD, DecisionKernel, _astral_words,
    _bmp_word_table, _check_texts, _checked_coef, _count_chunk, _encode, _encoded, _is_word, _jit,
    _kernel_spec, _M64, _nb_count_chunk, _nb_decision_chunk, _nb_explained_occurrences, _nb_occurrences,
    _nb_shares, _nb_weigh_chunk, _py_fmix, _py_hash, _py_kept, _seed, _Spec, _tf_table, _thread_map, decide,
)

__all__ = ["HashingTfidf", "SklearnTfidf"]

_CHUNK_DOCS, _CHUNK_CHARS = kernels._CHUNK_DOCS, kernels._CHUNK_CHARS
_WORD_RE = re.compile(r"\w+")


# --------------------------------------------------------------------------- hashing, pure Python


def _py_column(gram: str, block: int, n: int, n_features: int, kept: np.ndarray | None = None) -> int | None:
    """Column of one n-gram string: polynomial hash of its code points, finalised, then reduced; None
    if the pruning `kept` (`_py_kept`) drops it."""
    f = _py_hash(gram, block, n)
    if not _py_kept(f, block, kept):
        return None
    half = n_features // 2
    size, offset = (half, 0) if block == _WORD else (n_features - half, half)
    return f % size + offset


def _reference_counts(
    text: str,
    *,
    n_features: int = 2**20,
    word_ngram_range: tuple[int, int] = (1, 2),
    char_ngram_range: tuple[int, int] = (2, 5),
    char_mode: str = "wb",
    lowercase: bool = True,
    kept: np.ndarray | None = None,
) -> dict[int, int]:
    """Column -> count of one text, one n-gram at a time: the specification the fast path must meet.

    `kept`: a fitted featuriser's pruning bitset (`kept_`; None or empty: nothing pruned)."""
    if lowercase:
        text = text.lower()
    kept = None if kept is None or not len(kept) else kept
    words = _WORD_RE.findall(text)
    grams = []
    for n in range(word_ngram_range[0], word_ngram_range[1] + 1):
        for i in range(len(words) - n + 1):
            grams.append(_py_column(" ".join(words[i : i + n]), _WORD, n, n_features, kept))
    units = {"wb": [f" {w} " for w in words], "ws": [f" {t} " for t in text.split()], "char": [text]}[char_mode]
    for n in range(char_ngram_range[0], char_ngram_range[1] + 1):
        for unit in units:
            for a in range(len(unit) - n + 1):
                grams.append(_py_column(unit[a : a + n], _CHAR, n, n_features, kept))
    return dict(Counter(c for c in grams if c is not None))


# --------------------------------------------------------------------------- helpers


def _chunks(docs: list[str]) -> list[list[str]]:
    """`docs` cut into consecutive slices of at most _CHUNK_DOCS documents and ~_CHUNK_CHARS characters."""
    return kernels._chunks(docs, _CHUNK_DOCS, _CHUNK_CHARS)


def _normalise_rows(data: np.ndarray, row_nnz: np.ndarray, norm: str | None) -> None:
    """Scale consecutive rows (`row_nnz` values each) of `data` in place to unit l2 or l1 norm."""
    if norm is None or not len(data):
        return
    filled = row_nnz > 0
    size = np.square(data) if norm == "l2" else np.abs(data)
    sums = np.add.reduceat(size, (np.cumsum(row_nnz) - row_nnz)[filled], dtype=np.float64)  # row by row
    scale = np.sqrt(sums) if norm == "l2" else sums
    data /= np.repeat(scale.astype(data.dtype), row_nnz[filled])


def _assemble(pieces: list, n_docs: int, n_features: int, dtype: np.dtype) -> sp.csr_matrix:
    """One CSR matrix from pieces (values, columns, nonzeros per row) of consecutive rows; frees them."""
    total = sum(len(piece[1]) for piece in pieces)
    index = np.int32 if total < 2**31 else np.int64
    data, cols, indptr = np.empty(total, dtype), np.empty(total, index), np.zeros(n_docs + 1, index)
    at, row = 0, 0
    for i, (values, columns, row_nnz) in enumerate(pieces):
        data[at : at + len(values)], cols[at : at + len(values)] = values, columns
        ends = indptr[row + 1 : row + 1 + len(row_nnz)]
        np.cumsum(row_nnz, out=ends)
        ends += at
        at, row, pieces[i] = at + len(values), row + len(row_nnz), None
    return sp.csr_matrix((data, cols, indptr), shape=(n_docs, n_features))


def _lower_with_map(text: str) -> tuple[str, np.ndarray]:
    """`text.lower()` and, for each of its positions plus the end, the position in `text`."""
    low = text.lower()
    if len(low) == len(text):
        return low, np.arange(len(text) + 1)
    grow = np.fromiter((len(c.lower()) for c in text), np.int64, len(text))  # 'İ' -> 'i̇'
    return low, np.append(np.repeat(np.arange(len(text)), grow), len(text))


def _map_spans(start: np.ndarray, end: np.ndarray, where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spans in the lower-cased text mapped back to the original text."""
    return where[start], np.where(end > start, where[np.maximum(end - 1, 0)] + 1, where[start])


def _shares(row: sp.csr_matrix, col: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Each occurrence's share of its column's value in the one-row matrix `row`."""
    uniq, inv, cnt = np.unique(col, return_inverse=True, return_counts=True)
    dense = row[:, uniq].toarray().ravel() if len(uniq) else np.zeros(0)
    return (dense[inv] / cnt[inv]).astype(dtype)


# --------------------------------------------------------------------------- estimators


class HashingTfidf(TransformerMixin, BaseEstimator):
    """Hashed word and char n-grams, (sublinear) TF x IDF, normalised rows; compiled kernels.

    A word is a maximal run of `\\w` characters (single characters count); word n-grams join
    consecutive words of a document with one space. `char_mode="wb"` takes char n-grams inside each
    word padded with one space on each side (a padded word shorter than n gives no n-gram, unlike
    scikit-learn's char_wb which then counts it whole); `"ws"` does the same inside each token, a
    maximal run of non-space characters (`str.split()`'s, as scikit-learn's char_wb splits, so
    "f*ck" and "idiot!!" stay one token); `"char"` takes them over the raw document.
    Word n-grams hash into columns `[0, n_features // 2)`, char n-grams into the upper half.
    `word_min_df` and `char_min_df` prune n-grams: fitting counts the document frequency of every
    word (char) n-gram on a finer hash than the columns (the same 64-bit hash modulo 2**24 per block
    instead of modulo the block's columns, so that n-grams sharing a column are mostly told apart),
    and an n-gram seen in fewer training documents is dropped, as a vocabulary with min_df drops
    it: it counts in no column and has no occurrence. `kept_` is the bitset of the kept
    n-grams (empty with the defaults 1, 1: nothing pruned, and the kernels skip the bit test).
    `min_df` zeroes the IDF of columns seen in fewer than `min_df` training documents, so with the
    default 1 a column never seen in training stays empty, as with a vocabulary; 0 keeps them all.
    A block whose weight is 0 is not computed. `n_jobs` featurises chunks on that many threads
    (None: 1, -1: all CPUs); the result never depends on it nor on how the input is chunked.

    >>> vec = HashingTfidf(n_features=2**16).fit(["you are an idiot", "thanks for the fix"])
    >>> vec.transform(["what an idiot"]).shape
    (1, 65536)
    """

    def __init__(
        self,
        n_features: int = 2**20,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        char_mode: str = "wb",
        lowercase: bool = True,
        sublinear_tf: bool = True,
        use_idf: bool = True,
        smooth_idf: bool = True,
        min_df: int = 1,
        word_min_df: int = 1,
        char_min_df: int = 1,
        word_weight: float = 1.0,
        char_weight: float = 1.0,
        norm: str | None = "l2",
        binary: bool = False,
        dtype: type = np.float32,
        n_jobs: int | None = None,
    ) -> None:
        self.n_features = n_features
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.char_mode = char_mode
        self.lowercase = lowercase
        self.sublinear_tf = sublinear_tf
        self.use_idf = use_idf
        self.smooth_idf = smooth_idf
        self.min_df = min_df
        self.word_min_df = word_min_df
        self.char_min_df = char_min_df
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.norm = norm
        self.binary = binary
        self.dtype = dtype
        self.n_jobs = n_jobs

    def __setstate__(self, state: dict) -> None:
        """Unpickle, the parameters added since the featuriser was pickled set to the defaults that
        give what it gave then (no pruning; `kept_` is then absent, which `_kept` reads as none)."""
        super().__setstate__({"word_min_df": 1, "char_min_df": 1} | state)

    def fit(self, X: Iterable[str], y: object = None) -> "HashingTfidf":
        """Learn `kept_` and `idf_` from the documents X."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Iterable[str], y: object = None) -> sp.csr_matrix:
        """Learn `kept_` and `idf_` from X and return X's TF-IDF matrix (one counting pass, two if
        n-grams are pruned)."""
        spec, texts = self._spec(), self._texts(X)
        if not texts:
            raise ValueError("cannot fit on 0 documents")
        chunks = _chunks(texts)
        self.kept_ = self._fit_pruning(spec, chunks)
        pieces = self._map(partial(_count_chunk, spec=spec, kept=self._kept()), chunks)
        df = np.bincount(np.concatenate([cols for _, cols, _ in pieces]), minlength=spec.n_features)
        if self.use_idf:
            n = len(texts)  # without smoothing, a column never seen counts as seen once (matters if min_df=0)
            idf = np.log((n + 1) / (df + 1)) + 1 if self.smooth_idf else np.log(n / np.maximum(df, 1)) + 1
        else:
            idf = np.ones(spec.n_features)
        idf[df < self.min_df] = 0.0
        self.idf_ = idf.astype(np.float32)
        weighed = self._map(lambda piece: self._weigh(*piece), pieces)
        return _assemble(weighed, len(texts), spec.n_features, np.dtype(self.dtype))

    def _fit_pruning(self, spec: _Spec, chunks: list[list[str]]) -> np.ndarray:
        """The bitset of the n-grams of `chunks` that `word_min_df` and `char_min_df` keep (empty if
        both are 1): their document frequencies counted as columns of a space of 2 * 2**24."""
        if self.word_min_df <= 1 and self.char_min_df <= 1:
            return np.zeros(0, np.uint64)
        fine = spec._replace(n_features=2 << kernels._PRUNE_BITS)
        df, lock = np.zeros(fine.n_features, np.uint16), threading.Lock()  # saturates at 65535

        def count(docs: list[str]) -> None:
            cols = _count_chunk(docs, fine)[1]
            with lock:  # additions commute: df does not depend on the order of the chunks
                kernels._nb_add_counts(df, cols)

        self._map(count, chunks)
        return kernels._kept_bitset(df, self.word_min_df, self.char_min_df)

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix of the documents X: CSR, shape (len(X), n_features), rows normalised."""
        spec, texts, kept = self._fitted_spec(), self._texts(X), self._kept()
        pieces = self._map(lambda docs: self._weigh(*_count_chunk(docs, spec, kept)), _chunks(texts))
        return _assemble(pieces, len(texts), spec.n_features, np.dtype(self.dtype))

    def decision(self, X: Iterable[str], coef: np.ndarray, intercept: np.ndarray | float = 0.0,
                 encode: Callable[[list[str]], tuple[np.ndarray, np.ndarray]] | None = None) -> np.ndarray:
        """`transform(X) @ coef + intercept` without building the matrix: float64, shape (len(X), k).

        Each document's n-gram counts are weighted, normalised and multiplied by the rows of `coef`
        (shape (n_features, k)) that it touches, one document at a time. `encode`, if given, takes
        the place of lower-casing (whatever `lowercase` says) and encoding each chunk of X: it maps
        a list of documents to the code points (uint32) of the texts to featurise, end to end, and
        the offsets where each starts and the last ends (`moderation.normalize.normalize_encoded`
        normalises and encodes in one pass). It runs on the `n_jobs` threads too.

        >>> vec = HashingTfidf(n_features=2**16).fit(["you are an idiot", "thanks for the fix"])
        >>> vec.decision(["what an idiot"], np.ones((2**16, 4), np.float32)).shape
        (1, 4)
        """
        self._fitted_spec()
        texts = self._texts(X) if encode is None else _check_texts(X)
        out = decide(self.decision_kernel(coef), _chunks(texts), encode, self.n_jobs)
        out += np.asarray(intercept, np.float64)
        return out

    def decision_kernel(self, coef: np.ndarray) -> "DecisionKernel":
        """`decision` for documents already encoded, with this featuriser and `coef` checked once now.

        For callers that score a few documents at a time and often (the service): `decision`
        checks its arguments and chunks its input on every call.

        >>> vec = HashingTfidf(n_features=2**16).fit(["you are an idiot", "thanks for the fix"])
        >>> kernel = vec.decision_kernel(np.ones((2**16, 4), np.float32))
        >>> kernel(*_encode(["what an idiot"])[:2]).shape
        (1, 4)
        """
        spec = self._fitted_spec()
        return DecisionKernel(*_kernel_spec(spec), self.idf_, *self._weighting(), _checked_coef(coef, spec.n_features),
                              getattr(self, "kept_", None))

    def occurrences(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every n-gram occurrence of one text as (column, start, end, value) arrays, by position.

        `text[start:end]` is the occurrence (a char n-gram's padding is clipped off) and `value` its
        share of the transformed row, so `value * coef[column]` is its contribution to a score.

        >>> vec = HashingTfidf(n_features=2**16).fit(["you are an idiot", "thanks"])
        >>> col, start, end, value = vec.occurrences("an idiot")
        >>> sorted({"an idiot"[s:e] for s, e in zip(start, end)})[:4]
        ['a', 'an', 'an idiot', 'di']
        """
        if not hasattr(self, "idf_"):
            check_is_fitted(self)
        if not isinstance(text, str):
            raise ValueError(f"text is {type(text).__name__}, expected str")
        spec = self._spec()
        if self.idf_.shape[0] != spec.n_features:
            raise ValueError(f"n_features={spec.n_features} but the model was fitted with {self.idf_.shape[0]}")
        low, where = _lower_with_map(text) if self.lowercase else (text, np.arange(len(text) + 1))
        cp = np.frombuffer(low.encode("utf-32-le", "surrogatepass"), np.uint32)
        return _nb_explained_occurrences(cp, _bmp_word_table(), _astral_words(cp), *_kernel_spec(spec), where,
                                         self.idf_, *self._weighting(), _tf_table(), np.empty(0, self.dtype),
                                         self._kept())

    def _spec(self) -> _Spec:
        """The validated parameters that decide the columns; ValueError naming a bad value."""

        def is_int(v: object) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")

        if not (is_int(self.n_features) and 2 <= self.n_features <= 2**31 - 1):
            raise bad("n_features", "an int in [2, 2**31 - 1]")
        for name in ("word_ngram_range", "char_ngram_range"):
            r = getattr(self, name)
            if not (isinstance(r, (tuple, list)) and len(r) == 2 and all(map(is_int, r)) and 1 <= r[0] <= r[1]):
                raise bad(name, "a pair (min_n, max_n) with 1 <= min_n <= max_n")
        if self.char_mode not in ("wb", "ws", "char"):
            raise bad("char_mode", "'wb', 'ws' or 'char'")
        for name in ("word_weight", "char_weight"):
            if not (isinstance(getattr(self, name), Real) and not isinstance(getattr(self, name), bool)
                    and getattr(self, name) >= 0):
                raise bad(name, "a number >= 0")
        if self.norm not in ("l2", "l1", None):
            raise bad("norm", "'l2', 'l1' or None")
        if self.dtype not in (np.float32, np.float64, "float32", "float64"):
            raise bad("dtype", "np.float32 or np.float64")
        if not (is_int(self.min_df) and self.min_df >= 0):
            raise bad("min_df", "an int >= 0")
        for name in ("word_min_df", "char_min_df"):
            if not (is_int(getattr(self, name)) and 1 <= getattr(self, name) <= 65535):
                raise bad(name, "an int in [1, 65535]")
        if not (self.n_jobs is None or (is_int(self.n_jobs) and self.n_jobs != 0)):
            raise bad("n_jobs", "None or a non-zero int (-1: all CPUs)")
        word = tuple(self.word_ngram_range) if self.word_weight > 0 else None
        char = tuple(self.char_ngram_range) if self.char_weight > 0 else None
        return _Spec(int(self.n_features), word, char, self.char_mode)

    def _fitted_spec(self) -> _Spec:
        """`_spec()` of a fitted featuriser whose `idf_` matches `n_features`."""
        check_is_fitted(self)
        spec = self._spec()
        if self.idf_.shape[0] != spec.n_features:
            raise ValueError(f"n_features={spec.n_features} but the model was fitted with {self.idf_.shape[0]}")
        return spec

    def _kept(self) -> np.ndarray | None:
        """The fitted pruning as the kernels take it: the bitset `kept_`, or None if nothing is pruned
        (also for a featuriser fitted before pruning existed, which has no `kept_`)."""
        kept = getattr(self, "kept_", None)
        return None if kept is None else kernels._pruning(kept)

    def _weighting(self) -> tuple[np.ndarray, int, int]:
        """The kernels' weighting arguments: block weights (in the output dtype), tf and norm codes."""
        weights = np.array([self.word_weight, self.char_weight], np.dtype(self.dtype))
        tf = _TF_BINARY if self.binary else _TF_SUBLINEAR if self.sublinear_tf else _TF_RAW
        return weights, tf, _NORMS[self.norm]

    def _texts(self, X: Iterable[str]) -> list[str]:
        """The documents of X, checked and lower-cased if asked."""
        texts = _check_texts(X)
        return [t.lower() for t in texts] if self.lowercase else texts

    def _map(self, fn: Callable, items: list) -> list:
        """[fn(item) for item in items], on `n_jobs` threads (the kernels release the GIL)."""
        return _thread_map(fn, items, self.n_jobs)

    def _counts(self, X: Iterable[str]) -> sp.csr_matrix:
        """Raw n-gram counts of X, int32 CSR of shape (len(X), n_features), pruned if fitted."""
        spec, texts = self._spec(), self._texts(X)
        pieces = self._map(partial(_count_chunk, spec=spec, kept=self._kept()), _chunks(texts))
        return _assemble(pieces, len(texts), spec.n_features, np.dtype(np.int32))

    def _weigh(self, counts: np.ndarray, cols: np.ndarray, row_nnz: np.ndarray) -> tuple[np.ndarray, ...]:
        """TF x IDF x block weight of consecutive rows' counts, zeros dropped, rows normalised."""
        data = np.empty(len(counts), np.dtype(self.dtype))
        kept = _nb_weigh_chunk(counts, cols, row_nnz, self.idf_, *self._weighting(), _tf_table(), data)
        return data[:kept], cols[:kept], row_nnz

    def __sklearn_tags__(self):  # noqa: D105 - input is a 1-d sequence of str, like TfidfVectorizer's
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags


class SklearnTfidf(TransformerMixin, BaseEstimator):
    """The baseline: scikit-learn's word and char_wb TfidfVectorizers, stacked, rows normalised.

    Same weighting as `HashingTfidf` (each block's raw TF-IDF scaled by its weight, then one
    normalisation of the whole row), with exact, pruned vocabularies instead of hashing. Note that
    scikit-learn's char_wb splits words on white space, not on `\\w` as `HashingTfidf` does.

    >>> vec = SklearnTfidf(word_min_df=1, char_min_df=1).fit(["you are an idiot", "thanks"])
    >>> vec.transform(["what an idiot"]).shape[0]
    1
    """

    def __init__(
        self,
        word_ngram_range: tuple[int, int] = (1, 2),
        char_ngram_range: tuple[int, int] = (2, 5),
        word_min_df: int | float = 2,
        char_min_df: int | float = 3,
        word_max_features: int | None = 200_000,
        char_max_features: int | None = 300_000,
        lowercase: bool = True,
        sublinear_tf: bool = True,
        word_weight: float = 1.0,
        char_weight: float = 1.0,
        norm: str | None = "l2",
        dtype: type = np.float32,
    ) -> None:
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.word_min_df = word_min_df
        self.char_min_df = char_min_df
        self.word_max_features = word_max_features
        self.char_max_features = char_max_features
        self.lowercase = lowercase
        self.sublinear_tf = sublinear_tf
        self.word_weight = word_weight
        self.char_weight = char_weight
        self.norm = norm
        self.dtype = dtype

    def fit(self, X: Iterable[str], y: object = None) -> "SklearnTfidf":
        """Learn both vocabularies and IDFs from the documents X."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X: Iterable[str], y: object = None) -> sp.csr_matrix:
        """Learn from X and return X's TF-IDF matrix."""
        texts = _check_texts(X)
        if not texts:
            raise ValueError("cannot fit on 0 documents")
        if self.norm not in ("l2", "l1", None):
            raise ValueError(f"norm must be 'l2', 'l1' or None, got {self.norm!r}")
        common = {"lowercase": self.lowercase, "sublinear_tf": self.sublinear_tf, "norm": None,
                  "dtype": self.dtype}
        word = TfidfVectorizer(
            analyzer="word", ngram_range=tuple(self.word_ngram_range), token_pattern=r"(?u)\b\w+\b",
            min_df=self.word_min_df, max_features=self.word_max_features, **common,
        )
        char = TfidfVectorizer(
            analyzer="char_wb", ngram_range=tuple(self.char_ngram_range),
            min_df=self.char_min_df, max_features=self.char_max_features, **common,
        )
        blocks = word.fit_transform(texts), char.fit_transform(texts)
        self.word_vectorizer_, self.char_vectorizer_ = word, char
        return self._stack(*blocks)

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF matrix of the documents X: CSR, word columns then char columns, rows normalised."""
        check_is_fitted(self)
        texts = _check_texts(X)
        return self._stack(self.word_vectorizer_.transform(texts), self.char_vectorizer_.transform(texts))

    def occurrences(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every in-vocabulary n-gram occurrence of one text as (column, start, end, value), by position.

        >>> vec = SklearnTfidf(word_min_df=1, char_min_df=1).fit(["you are an idiot", "thanks"])
        >>> col, start, end, value = vec.occurrences("an idiot")
        >>> "an idiot"[start[0]:end[0]]
        'a'
        """
        check_is_fitted(self)
        if not isinstance(text, str):
            raise ValueError(f"text is {type(text).__name__}, expected str")
        low, where = _lower_with_map(text) if self.lowercase else (text, np.arange(len(text) + 1))
        words_vocab, chars_vocab = self.word_vectorizer_.vocabulary_, self.char_vectorizer_.vocabulary_
        found: list[tuple[int, int, int]] = []
        words = [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(low)]
        for n in range(self.word_ngram_range[0], self.word_ngram_range[1] + 1):
            for i in range(len(words) - n + 1):
                col = words_vocab.get(" ".join(w for _, _, w in words[i : i + n]))
                if col is not None:
                    found.append((col, words[i][0], words[i + n - 1][1]))
        for m in re.finditer(r"\S+", low):  # char_wb's words: runs of non-space, padded with a space
            padded, s, size = f" {m.group()} ", m.start(), len(m.group())
            for n in range(self.char_ngram_range[0], self.char_ngram_range[1] + 1):
                for a in range(max(len(padded) - n + 1, 1)):  # shorter than n: counted once, whole
                    col = chars_vocab.get(padded[a : a + n])
                    if col is not None:  # the span is the padded n-gram clipped to the word
                        span = (s + min(max(a - 1, 0), size), s + min(a + n - 1, size))
                        found.append((len(words_vocab) + col, *span))
                if len(padded) <= n:
                    break
        col, start, end = np.array(found, np.int64).reshape(-1, 3).T
        start, end = _map_spans(start, end, where)
        value = _shares(self.transform([text]), col, np.dtype(self.dtype))
        order = np.lexsort((col, end, start))
        return col[order], start[order], end[order], value[order]

    def _stack(self, words: sp.csr_matrix, chars: sp.csr_matrix) -> sp.csr_matrix:
        """The two blocks side by side, each scaled by its weight, rows normalised."""
        X = sp.hstack([words * self.word_weight, chars * self.char_weight], format="csr", dtype=self.dtype)
        X.eliminate_zeros()
        _normalise_rows(X.data, np.diff(X.indptr), self.norm)
        return X

    def __sklearn_tags__(self):  # noqa: D105 - input is a 1-d sequence of str, like TfidfVectorizer's
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        return tags
