"""Tests of `moderation.features`: the vectorised featuriser against its pure-Python reference."""

from __future__ import annotations

import math
import re
from collections import Counter

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from moderation import features
from moderation.features import HashingTfidf, SklearnTfidf, _is_word, _py_column, _reference_counts

TEXTS = [
    "You are an IDIOT!!! f*ck off, fuuuuck",
    "Thanks for fixing the infobox :) see WP:RS, 4 july 2005 02:58 (utc)",
    "Ağdam and Ərdoğan visited Հայաստան; ΣΟΦΟΣ ΣΑΣ",
    "emoji 😀👍🏽 and astral letters 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐨 mixed_with_underscores",
    "",
    "   \n\t  ",
    "!!! ??? ...",
    "a b c d e f",
    "x",
    "İstanbul İİ",
    "glued\x00words and a lone surrogate \ud800 here",
    ("one very long comment, " + "sooo looong wordswithoutspaces " * 40 + "ünïcödé 12345 ") * 28,
]
LABELS = [1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]

CONFIGS = [
    {},
    {"char_mode": "char"},
    {"n_features": 1000, "word_ngram_range": (1, 3), "char_ngram_range": (1, 6)},
    {"n_features": 2**12, "lowercase": False, "word_ngram_range": (2, 2), "char_ngram_range": (3, 3)},
]
MAKERS = [lambda: HashingTfidf(n_features=2**14), lambda: SklearnTfidf(word_min_df=1, char_min_df=1)]
COLUMN_PARAMS = ("n_features", "word_ngram_range", "char_ngram_range", "char_mode", "lowercase")


def as_dict(row: sp.csr_matrix) -> dict[int, float]:
    """Column -> value of a one-row sparse matrix."""
    return dict(zip(row.indices.tolist(), row.data.tolist()))


def reference(vec: HashingTfidf, text: str) -> dict[int, int]:
    """The pure-Python counts for the parameters of `vec`."""
    params = vec.get_params()
    return _reference_counts(text, **{k: params[k] for k in COLUMN_PARAMS})


@pytest.fixture(scope="module")
def fitted() -> HashingTfidf:
    return HashingTfidf().fit(TEXTS)


# ----------------------------------------------------------------------------- counts


def test_the_long_text_is_really_long() -> None:
    assert len(TEXTS[-1]) > 20_000


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: ",".join(p) or "defaults")
def test_vectorised_counts_equal_the_reference(params: dict) -> None:
    vec = HashingTfidf(**params)
    counts = vec._counts(TEXTS)
    assert counts.shape == (len(TEXTS), vec.n_features)
    for i, text in enumerate(TEXTS):
        assert as_dict(counts[i]) == reference(vec, text), f"row {i}: {text[:40]!r}"


def test_word_characters_are_exactly_what_re_calls_word_characters() -> None:
    everything = "".join(map(chr, range(0x110000)))
    expected = np.zeros(0x110000, bool)
    expected[[m.start() for m in re.finditer(r"\w", everything)]] = True
    assert np.array_equal(_is_word(np.arange(0x110000, dtype=np.uint32)), expected)


def test_single_character_words_and_bigrams_count() -> None:
    vec = HashingTfidf(n_features=2**16, char_weight=0)
    row = as_dict(vec._counts(["a b a"])[0])
    assert row == {_py_column("a", 1, 1, 2**16): 2, _py_column("b", 1, 1, 2**16): 1,
                   _py_column("a b", 1, 2, 2**16): 1, _py_column("b a", 1, 2, 2**16): 1}


def test_texts_without_words_give_zero_rows(fitted: HashingTfidf) -> None:
    X = fitted.transform(["", "   ", "!!! ???", "😀😀"])
    assert X.shape == (4, fitted.n_features) and X.nnz == 0
    assert fitted.transform([]).shape == (0, fitted.n_features)


def test_result_does_not_depend_on_chunking_threads_or_order(monkeypatch: pytest.MonkeyPatch) -> None:
    vec = HashingTfidf(n_features=2**14).fit(TEXTS)
    whole = vec.transform(TEXTS)
    monkeypatch.setattr(features, "_CHUNK_DOCS", 2)
    monkeypatch.setattr(features, "_CHUNK_CHARS", 40)
    assert (vec.transform(TEXTS) != whole).nnz == 0
    assert (vec.set_params(n_jobs=3).transform(TEXTS) != whole).nnz == 0
    order = np.random.default_rng(0).permutation(len(TEXTS))
    assert (vec.transform([TEXTS[i] for i in order]) != whole[order]).nnz == 0


def test_many_short_documents_in_one_chunk() -> None:
    docs = [f"w{i} x" for i in range(5000)]  # 5000 docs * 2**20 columns: keys beyond 32 bits
    vec = HashingTfidf()
    counts = vec._counts(docs)
    assert all(as_dict(counts[i]) == reference(vec, docs[i]) for i in (0, 4096, 4999))


# ----------------------------------------------------------------------------- weighting


def test_tfidf_and_l2_norm_by_hand() -> None:
    docs = ["a a b", "b c", "c"]
    vec = HashingTfidf(n_features=2**16, word_ngram_range=(1, 1), char_weight=0)
    X = vec.fit_transform(docs)
    col = {w: _py_column(w, 1, 1, 2**16) for w in "abc"}
    idf = {w: math.log(4 / (1 + df)) + 1 for w, df in {"a": 1, "b": 2, "c": 2}.items()}
    raw = {col["a"]: (1 + math.log(2)) * idf["a"], col["b"]: idf["b"]}
    norm = math.sqrt(sum(v * v for v in raw.values()))
    assert as_dict(X[0]) == pytest.approx({c: v / norm for c, v in raw.items()})
    assert as_dict(X[2]) == pytest.approx({col["c"]: 1.0})
    assert X.dtype == np.float32 and X.has_canonical_format
    assert vec.idf_.dtype == np.float32 and vec.idf_[col["b"]] == pytest.approx(idf["b"])


def test_weights_min_df_and_norm_follow_the_reference_counts() -> None:
    vec = HashingTfidf(n_features=2**12, min_df=2, word_weight=3.0, char_weight=0.5, smooth_idf=False)
    X = vec.fit_transform(TEXTS)
    counts = [reference(vec, t) for t in TEXTS]
    df = Counter(c for row in counts for c in row)
    for i, row in enumerate(counts):
        raw = {c: (1 + math.log(k)) * (math.log(len(TEXTS) / df[c]) + 1) * (3.0 if c < 2**11 else 0.5)
               for c, k in row.items() if df[c] >= 2}
        norm = math.sqrt(sum(v * v for v in raw.values())) or 1.0
        assert as_dict(X[i]) == pytest.approx({c: v / norm for c, v in raw.items() if v}, rel=1e-5)


def test_unseen_columns_are_dropped_unless_min_df_is_zero() -> None:
    assert HashingTfidf().fit(["hello"]).transform(["zzz"]).nnz == 0
    assert HashingTfidf(min_df=0).fit(["hello"]).transform(["zzz"]).nnz > 0


def test_binary_and_raw_tf() -> None:
    text = ["aaaa"]
    binary = HashingTfidf(binary=True, norm=None, use_idf=False).fit(text).transform(text)
    raw = HashingTfidf(sublinear_tf=False, norm=None, use_idf=False).fit(text).transform(text)
    assert set(binary.data) == {1.0} and max(raw.data) == 3.0  # "aa" occurs 3 times in " aaaa "


# ----------------------------------------------------------------------------- occurrences


@pytest.mark.parametrize("params", CONFIGS[:3], ids=["defaults", "char", "small"])
def test_occurrences_point_at_their_ngrams_and_sum_to_the_row(params: dict) -> None:
    vec = HashingTfidf(**params).fit(TEXTS)
    for text in TEXTS[:-1]:
        col, start, end, value = vec.occurrences(text)
        assert Counter(col.tolist()) == reference(vec, text)
        # lower-case first where that keeps offsets (a final 'Σ' lowers to 'ς' only in context)
        source = text.lower() if vec.lowercase and len(text.lower()) == len(text) else text
        for c, s, e in zip(col.tolist(), start.tolist(), end.tolist()):
            if e > s:  # an n-gram of the padding alone ("char_ngram_range" from 1) has an empty span
                assert c in reference(vec, source[s:e]), (text, text[s:e])
        sums = np.zeros(vec.n_features)
        np.add.at(sums, col, value)
        assert np.allclose(sums, vec.transform([text]).toarray().ravel(), atol=1e-6)


def test_occurrences_of_a_word_span_the_word(fitted: HashingTfidf) -> None:
    text = "You, IDIOT!"
    col, start, end, _ = fitted.occurrences(text)
    idiot = _py_column("idiot", 1, 1, fitted.n_features)
    assert [text[s:e] for c, s, e in zip(col, start, end) if c == idiot] == ["IDIOT"]
    assert "You, IDIOT" in {text[s:e] for s, e in zip(start, end)}


def test_sklearn_baseline_occurrences_match_its_analysers() -> None:
    vec = SklearnTfidf(word_min_df=1, char_min_df=1).fit(TEXTS)
    words, chars = vec.word_vectorizer_, vec.char_vectorizer_
    for text in TEXTS[:-1] + ["İstanbul is new here"]:
        col, start, end, value = vec.occurrences(text)
        n_words = len(words.vocabulary_)
        expected = Counter(
            [words.vocabulary_[g] for g in words.build_analyzer()(text) if g in words.vocabulary_]
            + [n_words + chars.vocabulary_[g] for g in chars.build_analyzer()(text) if g in chars.vocabulary_]
        )
        assert Counter(col.tolist()) == expected
        row = vec.transform([text]).toarray().ravel()
        sums = np.zeros(len(row))
        np.add.at(sums, col, value)
        assert np.allclose(sums, row, atol=1e-6)
        for c, s, e in zip(col.tolist(), start.tolist(), end.tolist()):
            if c < len(words.vocabulary_):
                assert " ".join(re.findall(r"\w+", text[s:e].lower())) == words.get_feature_names_out()[c]


# ----------------------------------------------------------------------------- estimator shape


@pytest.mark.parametrize("make", MAKERS, ids=["hashing", "sklearn"])
def test_behaves_like_a_scikit_learn_transformer(make) -> None:
    vec = make()
    with pytest.raises(NotFittedError):
        vec.transform(["x"])
    twin = clone(vec).set_params(word_weight=2.0)
    assert twin.get_params()["word_weight"] == 2.0 and vec.get_params()["word_weight"] == 1.0
    assert clone(twin).get_params() == twin.get_params()
    with pytest.raises(ValueError, match=r"X\[1\] is int"):
        vec.fit(["fine", 3])
    with pytest.raises(ValueError, match="single str"):
        vec.fit("not a list")
    assert vec.fit(TEXTS) is vec


@pytest.mark.parametrize("make", MAKERS, ids=["hashing", "sklearn"])
def test_works_in_a_pipeline_and_a_grid_search(make) -> None:
    pipe = Pipeline([("features", make()), ("model", LogisticRegression())])
    pipe.fit(TEXTS, LABELS)
    assert pipe.predict_proba(["you idiot"]).shape == (1, 2)
    search = GridSearchCV(pipe, {"features__char_weight": [0.5, 1.0]}, cv=2).fit(TEXTS * 2, LABELS * 2)
    assert search.best_params_["features__char_weight"] in (0.5, 1.0)


@pytest.mark.parametrize("bad", [{"n_features": 1}, {"word_ngram_range": (2, 1)}, {"char_mode": "words"},
                                 {"norm": "l3"}, {"min_df": -1}, {"char_weight": -1.0}, {"n_jobs": 0},
                                 {"dtype": "int8"}])
def test_bad_parameters_are_named(bad: dict) -> None:
    (name, value), = bad.items()
    with pytest.raises(ValueError, match=f"{name}.*{re.escape(repr(value))}"):
        HashingTfidf(**bad).fit(TEXTS)


def test_occurrences_need_a_str(fitted: HashingTfidf) -> None:
    with pytest.raises(ValueError, match="text is bytes"):
        fitted.occurrences(b"bytes")


# ----------------------------------------------------------------------------- persistence


@pytest.mark.parametrize("make", MAKERS, ids=["hashing", "sklearn"])
def test_joblib_round_trip_gives_identical_output(make, tmp_path) -> None:
    vec = make().fit(TEXTS)
    joblib.dump(vec, tmp_path / "vec.joblib")
    back = joblib.load(tmp_path / "vec.joblib")
    assert (back.transform(TEXTS) != vec.transform(TEXTS)).nnz == 0
    assert all(np.array_equal(a, b) for a, b in zip(back.occurrences(TEXTS[0]), vec.occurrences(TEXTS[0])))


def test_hashing_pickle_holds_only_idf_pruning_and_parameters(fitted: HashingTfidf, tmp_path) -> None:
    assert sorted(k for k in vars(fitted) if k.endswith("_")) == ["idf_", "kept_"]
    assert fitted.kept_.dtype == np.uint64 and fitted.kept_.shape == (0,)  # nothing pruned
    joblib.dump(fitted, tmp_path / "vec.joblib")
    assert (tmp_path / "vec.joblib").stat().st_size < fitted.idf_.nbytes + 4096
