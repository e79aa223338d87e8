"""The compiled featuriser: its counts, its fused scores and the model scored through it."""

from __future__ import annotations

import copy
import re
from collections import Counter

import numpy as np
import pytest

from moderation import features
from moderation.features import HashingTfidf, SklearnTfidf, _jit, _reference_counts
from moderation.model import Model, calibrate, load_model
from moderation.normalize import normalize_batch, normalize_encoded

VARIED = [
    "You are an IDIOT!!! f*ck off, fuuuuck",
    "",
    "   \n\t  ",
    "!!! ??? ... :-) <> 😀😀",
    "x",
    "a b a b a b",
    "under_score snake_case __dunder__ 3.14 1,000,000",
    "Ağdam Ərdoğan Հայաստան ΣΟΦΟΣ ΣΑΣ Россия",
    "日本語のテキスト、句読点。中文文本",
    "مرحبا بالعالم שלום עולם",
    "e\u0301 combining, zero\u200bwidth, nbsp\u00a0here, ﬁ ligature, Ⅻ numeral",
    "emoji 😀👍🏽 family 👨‍👩‍👧 and astral letters 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𐐀𐐨 𝟙𝟚",
    "𐐀𐐨𐐀𐐨𐐀𐐨𐐀𐐨",
    "glued\x00words and a lone surrogate \ud800 here",
    "İstanbul İİ",
    "a" * 300 + " " + "b" * 7,
    ("long comment, " + "sooo looong wordswithoutspaces ünïcödé 😀 " * 500)[:20_000],
]
CONFIGS = [
    {"n_features": 2**20},
    {"n_features": 2**20, "char_mode": "char"},
    {"n_features": 1000, "word_ngram_range": (1, 3), "char_ngram_range": (1, 6)},
    {"n_features": 2**12, "lowercase": False, "word_ngram_range": (2, 2), "char_ngram_range": (3, 3)},
    {"n_features": 2**14, "char_weight": 0},
    {"n_features": 2**14, "word_weight": 0, "char_ngram_range": (3, 4)},
    {"n_features": 2**14, "char_mode": "ws"},
    {"n_features": 2**16, "word_min_df": 2, "char_min_df": 3},
    {"n_features": 2**12, "char_mode": "ws", "word_min_df": 3, "char_min_df": 2, "char_ngram_range": (1, 4)},
    {"n_features": 2**14, "char_mode": "char", "word_min_df": 2, "char_min_df": 2, "lowercase": False},
]
PRUNED = [params for params in CONFIGS if "word_min_df" in params]
COLUMN_PARAMS = ("n_features", "word_ngram_range", "char_ngram_range", "char_mode", "lowercase")


def reference(vec: HashingTfidf, text: str) -> dict[int, int]:
    """The pure-Python counts of `text` for the parameters of `vec` (and its pruning, if fitted),
    blocks of weight 0 left out."""
    params = vec.get_params()
    counts = _reference_counts(text, **{k: params[k] for k in COLUMN_PARAMS}, kept=getattr(vec, "kept_", None))
    half = vec.n_features // 2
    return {c: k for c, k in counts.items()
            if (vec.word_weight if c < half else vec.char_weight) > 0}


def random_texts(n: int, seed: int = 0) -> list[str]:
    """`n` texts drawn from an alphabet of word and non-word characters, BMP and astral."""
    alphabet = list("abcxyz_09 .,!?-'\t") + ["é", "ß", "Σ", "ж", "ա", "中", "\u0301", "😀", "𝔘", "𐐀",
                                             "\x00", "\u200b"]
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(alphabet, size=int(rng.integers(0, 80)))) for _ in range(n)]


def as_dict(row) -> dict[int, float]:
    """Column -> value of a one-row sparse matrix."""
    return dict(zip(row.indices.tolist(), row.data.tolist()))


# ----------------------------------------------------------------------------- counts


def test_the_varied_set_has_a_20000_character_text() -> None:
    assert len(VARIED[-1]) == 20_000


@pytest.mark.parametrize("params", CONFIGS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_compiled_counts_equal_the_reference(params: dict) -> None:
    texts = VARIED + random_texts(200)
    vec = HashingTfidf(**params).fit(texts + random_texts(100, seed=9))  # fitted: pruned as it says
    counts = vec._counts(texts)
    assert counts.has_canonical_format
    for i, text in enumerate(texts):
        assert as_dict(counts[i]) == reference(vec, text), f"row {i}: {text[:40]!r}"


@pytest.mark.parametrize("params", CONFIGS[:4] + CONFIGS[6:],
                         ids=["defaults", "char", "small", "cased", "ws", "pruned", "ws-pruned", "char-pruned"])
def test_occurrences_list_every_reference_ngram(params: dict) -> None:
    vec = HashingTfidf(**params).fit(VARIED + random_texts(100))
    for text in VARIED[:-1]:
        col, start, end, _ = vec.occurrences(text)
        assert Counter(col.tolist()) == reference(vec, text)
        assert ((0 <= start) & (start <= end) & (end <= len(text))).all()


# ----------------------------------------------------------------------------- fused scores


@pytest.mark.parametrize("params", [
    {},
    {"word_weight": 2.0, "min_df": 2},
    {"norm": "l1", "dtype": np.float64},
    {"norm": None, "binary": True, "char_mode": "char"},
    {"sublinear_tf": False, "use_idf": False, "char_weight": 0.5},
    {"char_weight": 0},
    {"char_mode": "ws", "word_min_df": 2, "char_min_df": 3, "word_weight": 2.0},
    {"char_mode": "char", "char_min_df": 2, "norm": "l1"},
], ids=["defaults", "min_df", "l1-float64", "binary-char", "raw-tf", "words-only", "ws-pruned", "char-pruned"])
def test_fused_decision_equals_the_matrix_product(params: dict) -> None:
    texts = VARIED + random_texts(300, seed=1)
    vec = HashingTfidf(n_features=2**14, **params).fit(texts)
    rng = np.random.default_rng(2)
    coef = rng.standard_normal((vec.n_features, 4)).astype(np.float32)
    intercept = rng.standard_normal(4)
    X = vec.transform(texts)
    exact = X.astype(np.float64) @ coef.astype(np.float64) + intercept
    fused = vec.decision(texts, coef, intercept)
    assert fused.shape == (len(texts), 4) and fused.dtype == np.float64
    np.testing.assert_allclose(fused, exact, rtol=1e-6, atol=1e-6)
    if vec.norm is not None:  # what Model computed before, a float32 product, is as close on unit rows
        np.testing.assert_allclose(fused, np.asarray(X @ coef, np.float64) + intercept, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(vec.decision(texts, coef.astype(np.float64)), exact - intercept, rtol=1e-6, atol=1e-6)


def test_fused_decision_of_texts_without_words_is_the_intercept() -> None:
    vec = HashingTfidf(n_features=2**12).fit(["some words", "more words"])
    coef = np.ones((2**12, 3), np.float32)
    assert np.array_equal(vec.decision(["", "!!!", "😀"], coef, [1.0, 2.0, 3.0]), np.tile([1.0, 2.0, 3.0], (3, 1)))
    assert vec.decision([], coef).shape == (0, 3)


def test_fused_decision_names_a_coef_of_the_wrong_shape() -> None:
    vec = HashingTfidf(n_features=2**12).fit(["some words"])
    with pytest.raises(ValueError, match=r"coef must .*n_features=4096.*\(100, 4\)"):
        vec.decision(["x"], np.zeros((100, 4)))
    with pytest.raises(ValueError, match="coef must"):
        vec.decision(["x"], np.zeros(4096))


@pytest.mark.parametrize("params", [{}, {"char_mode": "ws", "word_min_df": 2, "char_min_df": 2}],
                         ids=["defaults", "ws-pruned"])
def test_chunks_threads_and_order_do_not_change_results(monkeypatch: pytest.MonkeyPatch, params: dict) -> None:
    texts = VARIED + random_texts(100, seed=3)
    vec = HashingTfidf(n_features=2**14, **params).fit(texts)
    coef = np.random.default_rng(4).standard_normal((vec.n_features, 4))
    whole, matrix = vec.decision(texts, coef), vec.transform(texts)
    monkeypatch.setattr(features, "_CHUNK_DOCS", 3)
    monkeypatch.setattr(features, "_CHUNK_CHARS", 50)
    assert np.array_equal(vec.decision(texts, coef), whole)
    assert np.array_equal(vec.set_params(n_jobs=2).decision(texts, coef), whole)
    assert (vec.transform(texts) != matrix).nnz == 0
    order = np.random.default_rng(5).permutation(len(texts))
    assert np.array_equal(vec.decision([texts[i] for i in order], coef), whole[order])
    refit = HashingTfidf(n_features=2**14, n_jobs=2, **params).fit([texts[i] for i in order])  # small chunks
    assert np.array_equal(refit.kept_, vec.kept_) and np.array_equal(refit.idf_, vec.idf_)


# ----------------------------------------------------------------------------- pruning and white-space tokens


def word_column(vec: HashingTfidf, gram: str) -> int:
    """The column of the word n-gram `gram` (words joined by one space), pruning ignored."""
    return features._py_column(gram, features._WORD, gram.count(" ") + 1, vec.n_features)


def char_column(vec: HashingTfidf, gram: str) -> int:
    """The column of the char n-gram `gram`, pruning ignored."""
    return features._py_column(gram, features._CHAR, len(gram), vec.n_features)


def test_a_pruned_ngram_gets_no_column_and_no_occurrence() -> None:
    docs = ["zebra crossing ahead", "a zebra crossing here", "solitary zebra"]
    vec = HashingTfidf(n_features=2**20, word_min_df=2, char_min_df=3).fit(docs)
    row = vec._counts(["solitary zebra crossing"])
    kept = {word_column(vec, "zebra"), word_column(vec, "crossing"), word_column(vec, "zebra crossing"),
            char_column(vec, "ze"), char_column(vec, " zebra"[:5])}  # df 3, 2, 2 words; df 3 chars
    pruned = {word_column(vec, "solitary"), word_column(vec, "solitary zebra"),  # df 1
              char_column(vec, "sol"), char_column(vec, "ssin")}  # df 1 and df 2 < 3
    assert kept <= set(row.indices.tolist()) and not pruned & set(row.indices.tolist())
    col, start, end, value = vec.occurrences("solitary zebra crossing")
    spans = {("solitary zebra crossing"[s:e], c < vec.n_features // 2) for s, e, c in zip(start, end, col)}
    assert ("zebra", True) in spans and ("solitary", True) not in spans and ("solitary zebra", True) not in spans
    assert not any(text.startswith("so") for text, is_word in spans if not is_word)
    unpruned = HashingTfidf(n_features=2**20).fit(docs)
    assert pruned <= set(unpruned._counts(["solitary zebra crossing"]).indices.tolist())


def test_white_space_tokens_keep_what_lies_between_word_characters() -> None:
    text = "f*ck off, idiot!!"
    ws = HashingTfidf(n_features=2**20, char_mode="ws").fit([text])
    wb = HashingTfidf(n_features=2**20).fit([text])
    for gram, in_ws, in_wb in [(" f*ck ", True, False), ("ot!!", True, False), ("off,", True, False),
                               (" off ", False, True), (" ck", False, True), ("idio", True, True)]:
        assert (char_column(ws, gram[:5]) in ws._counts([text]).indices) == in_ws, gram
        assert (char_column(wb, gram[:5]) in wb._counts([text]).indices) == in_wb, gram
    words = {word_column(ws, w) for w in ("f", "ck", "off", "idiot", "ck off")}  # word n-grams as in "wb"
    assert words <= set(ws._counts([text]).indices.tolist())


def test_white_space_is_what_str_split_splits_on() -> None:
    spaces = [c for c in range(0x110000) if features.kernels._nb_is_space(c)]
    assert spaces == [c for c in range(0x110000) if chr(c).isspace()]


@pytest.mark.parametrize("bad", [{"word_min_df": 0}, {"char_min_df": 1.5}, {"char_min_df": 70_000},
                                 {"word_min_df": True}, {"char_mode": "whitespace"}])
def test_bad_pruning_parameters_are_named(bad: dict) -> None:
    (name, value), = bad.items()
    with pytest.raises(ValueError, match=f"{name} must be .*, got {re.escape(repr(value))}"):
        HashingTfidf(**bad).fit(["some words"])


def test_the_kernel_arrays_hold_the_bitset_only_when_something_is_pruned() -> None:
    from moderation.kernels import DecisionKernel

    texts = VARIED + random_texts(200, seed=11)
    cp, offsets, _ = features._encode([t.lower() for t in texts])
    for params in ({}, {"word_min_df": 2, "char_min_df": 3}):
        vec = HashingTfidf(n_features=2**14, **params).fit(texts)
        coef = np.random.default_rng(12).standard_normal((vec.n_features, 3)).astype(np.float32)
        arrays = vec.decision_kernel(coef).arrays()
        assert ("kept" in arrays) == bool(params)
        assert np.array_equal(DecisionKernel.from_arrays(arrays)(cp, offsets), vec.decision(texts, coef))
    assert arrays["kept"].shape == (2 * 2**features.kernels._PRUNE_BITS // 64,)
    with pytest.raises(ValueError, match=r"saved: kept must be uint64 of shape \(2\*\*k,\)"):
        DecisionKernel.from_arrays({**arrays, "kept": arrays["kept"][:3]}, "saved")
    with pytest.raises(ValueError, match=r"saved: kept must be uint64"):
        DecisionKernel.from_arrays({**arrays, "kept": arrays["kept"].astype(np.int64)}, "saved")


def test_a_featuriser_pickled_before_pruning_existed_scores_as_before() -> None:
    import pickle

    texts = VARIED + random_texts(100, seed=13)
    vec = HashingTfidf(n_features=2**14, char_mode="char").fit(texts)
    coef = np.random.default_rng(14).standard_normal((vec.n_features, 2))
    matrix, scores, explained = vec.transform(texts), vec.decision(texts, coef), vec.occurrences(texts[0])
    for name in ("kept_", "word_min_df", "char_min_df"):  # as pickled before they existed
        delattr(vec, name)
    vec = pickle.loads(pickle.dumps(vec))
    assert vec.get_params()["word_min_df"] == vec.get_params()["char_min_df"] == 1 and not hasattr(vec, "kept_")
    assert (vec.transform(texts) != matrix).nnz == 0
    assert np.array_equal(vec.decision(texts, coef), scores)
    assert all(np.array_equal(a, b) for a, b in zip(vec.occurrences(texts[0]), explained))


@pytest.mark.parametrize("lowercase", [True, False])
def test_an_encode_function_replaces_lower_casing_and_encoding(lowercase: bool) -> None:
    texts = VARIED + random_texts(200, seed=7)
    vec = HashingTfidf(n_features=2**14, lowercase=lowercase, n_jobs=2).fit(texts)
    coef = np.random.default_rng(8).standard_normal((vec.n_features, 4)).astype(np.float32)
    normalised = [t.lower() if lowercase else t for t in normalize_batch(texts)]
    expected = vec.set_params(lowercase=False).decision(normalised, coef, 0.5)
    vec.set_params(lowercase=lowercase)
    fused = vec.decision(texts, coef, 0.5, encode=lambda docs: normalize_encoded(docs, lower=lowercase))
    assert np.array_equal(fused, expected)


def test_an_encode_function_that_returns_the_wrong_shape_is_named() -> None:
    vec = HashingTfidf(n_features=2**12).fit(["some words"])
    coef = np.zeros((2**12, 2))
    with pytest.raises(ValueError, match=r"encode must return uint32 code points and 3 increasing offsets"):
        vec.decision(["a", "b"], coef, encode=lambda docs: (np.zeros(2, np.uint32), np.array([0, 2])))
    with pytest.raises(ValueError, match=r"encode must return uint32 .* got int64"):
        vec.decision(["a"], coef, encode=lambda docs: (np.zeros(1, np.int64), np.array([0, 1])))


def test_kernels_still_run_where_numba_cannot_cache() -> None:
    namespace: dict = {}
    exec(compile("def plus_one(x):\n    return x + 1\n", "<generated>", "exec"), namespace)
    assert _jit(namespace["plus_one"])(41) == 42  # no file to cache next to: compiled in memory


# ----------------------------------------------------------------------------- the model


TEXTS = ["you are an idiot", "the talks resumed on monday", "what the fuck", "I will kill you",
         "", "Ünïcödé 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "f u c k you, m0r0n!!!", "x" * 5000]


def test_model_probabilities_are_those_of_the_matrix_path(model: Model) -> None:
    matrix = model.featurizer.transform(normalize_batch(TEXTS))
    before = calibrate(np.asarray(matrix @ model.coef, np.float64) + model.intercept, model.calibration)
    np.testing.assert_allclose(model.predict_proba(TEXTS), before, rtol=1e-6, atol=1e-7)


def test_saved_and_loaded_model_scores_identically(model: Model, tmp_path) -> None:
    model.warm_up()
    again = load_model(copy.copy(model).save(tmp_path, version="copy", make_current=False))  # save sets .card
    assert np.array_equal(again.predict_proba(TEXTS), model.predict_proba(TEXTS))
    assert np.array_equal(again.decision_function(TEXTS[:1]), model.decision_function(TEXTS[:1]))


@pytest.mark.parametrize("params", [{}, {"char_mode": "ws", "word_min_df": 2, "char_min_df": 2}],
                         ids=["unpruned", "ws-pruned"])
def test_a_model_saved_with_or_without_pruning_scores_the_same_loaded(model: Model, policy, tmp_path,
                                                                       params: dict) -> None:
    texts = normalize_batch(TEXTS + VARIED)
    featurizer = HashingTfidf(n_features=2**16, **params).fit(texts * 2 + VARIED)
    coef = np.random.default_rng(15).standard_normal((featurizer.n_features, len(policy.names))).astype(np.float32)
    made = Model(policy, featurizer, coef, np.zeros(len(policy.names)), model.calibration, policy_text=model.policy_text)
    again = load_model(made.save(tmp_path, version="made", make_current=False))
    with np.load(tmp_path / "made" / "scoring.npz") as npz:
        if params:
            assert np.array_equal(npz["kept"], featurizer.kept_) and featurizer.kept_.any()
        else:  # the files of a model without pruning are as they were before pruning existed
            assert "kept" not in npz.files
    assert np.array_equal(again.predict_proba(TEXTS + VARIED), made.predict_proba(TEXTS + VARIED))
    assert np.array_equal(again.featurizer.kept_, featurizer.kept_)
    assert all(np.array_equal(a, b) for a, b in zip(again.featurizer.occurrences(texts[0]),
                                                    featurizer.occurrences(texts[0])))


def test_a_featuriser_without_a_fused_path_is_scored_through_its_matrix(model: Model, policy) -> None:
    featurizer = SklearnTfidf(word_min_df=1, char_min_df=1).fit(normalize_batch(TEXTS))
    n_features = featurizer.transform(["x"]).shape[1]
    coef = np.random.default_rng(6).standard_normal((n_features, len(policy.names)))
    other = Model(policy, featurizer, coef, np.zeros(len(policy.names)), model.calibration)
    other.warm_up()
    expected = np.asarray(featurizer.transform(normalize_batch(TEXTS)) @ other.coef, np.float64)
    np.testing.assert_allclose(other.decision_function(TEXTS), expected)


def test_a_model_trained_with_the_pruned_featuriser_saves_loads_and_scores_the_same(tiny_labels_dir, policy,
                                                                                      tmp_path) -> None:
    from moderation.labels import load_labels
    from moderation.training import PRUNED_FEATURIZER, TrainConfig, train
    from tests.conftest import POLICY_PATH

    config = TrainConfig(folds=2, n_jobs=1, alpha=1e-4, featurizer=dict(PRUNED_FEATURIZER))
    trained = train(load_labels([tiny_labels_dir], policy), policy, POLICY_PATH.read_text(encoding="utf-8"), config)
    assert trained.featurizer.char_mode == "ws" and trained.featurizer.kept_.any()
    assert trained.card["config"]["featurizer"]["word_min_df"] == 2
    again = load_model(trained.save(tmp_path, version="pruned", make_current=False))
    assert np.array_equal(again.predict_proba(TEXTS), trained.predict_proba(TEXTS))
    assert again.explain(TEXTS[0]) == trained.explain(TEXTS[0])
