"""The one-comment path of `Model`: the same scores and evidence as the batch path, bad input named."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from moderation import model as model_module
from moderation.features import HashingTfidf, _encode, _shares
from moderation.model import _KERNEL_DOCS, _WORD
from moderation.normalize import normalize_encoded, normalize_with_offsets
from tests.test_fastpath import CONFIGS, VARIED

COMMENTS = [
    "You are an IDIOT!!! f*ck off, fuuuuck",
    "the talks in vienna resumed on monday",
    "Well, you  STUPID idiot! I will kill you",
    "these barbaric people, go back to mongolia",
    "Calling Armenians 'dogs' is disgraceful",
    "İstanbul İİ, s-h-i-t and sh1t, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "x",
    "what the fuck is this shit " * 40,
]


@pytest.mark.parametrize("method", ["assess", "predict_proba", "decision_function"])
@pytest.mark.parametrize("bare", ["some text", b"some text"])
def test_a_bare_string_is_refused_naming_the_argument(model, method, bare):
    with pytest.raises(TypeError, match=rf"texts: expected a sequence of comments, found a single {type(bare).__name__}"):
        getattr(model, method)(bare)


@pytest.mark.parametrize("method", ["assess", "predict_proba", "decision_function"])
def test_an_item_that_is_not_a_string_is_named(model, method):
    with pytest.raises(TypeError, match=r"texts\[1\]: expected str, found bytes"):
        getattr(model, method)(["fine", b"not text"])


def test_one_comment_scores_as_in_a_batch(model):
    batch = COMMENTS * (_KERNEL_DOCS // len(COMMENTS) + 1)  # over the kernel's size: the chunked path
    assert len(batch) > _KERNEL_DOCS
    whole = model.decision_function(batch)
    one_by_one = np.vstack([model.decision_function([text]) for text in batch])
    assert np.array_equal(one_by_one, whole)
    encode = partial(normalize_encoded, lower=model.featurizer.lowercase)
    assert np.array_equal(model.featurizer.decision(COMMENTS, model.coef, model.intercept, encode=encode),
                          model.decision_function(COMMENTS))
    assert [a for text in batch for a in model.assess([text])] == model.assess(batch)


def test_a_few_long_comments_score_as_one_by_one(model):
    long = [(f"comment {i}: you idiot, the talks resumed " * 600)[:20_000] for i in range(8)]
    assert sum(map(len, long)) > model_module._KERNEL_CHARS  # over the kernel's size: the chunked path
    assert np.array_equal(np.vstack([model.decision_function([t]) for t in long]), model.decision_function(long))


def test_the_kernel_follows_a_replaced_coef(model):
    twin = model_module.Model(model.policy, model.featurizer, model.coef, model.intercept, model.calibration)
    before = twin.decision_function(COMMENTS[:2])
    twin.coef = np.ascontiguousarray(model.coef * 2)
    assert np.allclose(twin.decision_function(COMMENTS[:2]) - model.intercept, 2 * (before - model.intercept))


@pytest.mark.parametrize("params", CONFIGS + [{"n_features": 2**12, "dtype": np.float64, "norm": "l1"},
                                              {"n_features": 2**12, "norm": None, "binary": True},
                                              {"n_features": 2**12, "sublinear_tf": False, "word_weight": 0.5}])
def test_decision_kernel_equals_decision(params):
    vec = HashingTfidf(**params).fit(VARIED + COMMENTS)
    coef = np.random.default_rng(0).normal(size=(vec.n_features, 5)).astype(np.float32)
    texts = [t.lower() for t in VARIED + COMMENTS] if vec.lowercase else VARIED + COMMENTS
    cp, offsets, _ = _encode(texts)
    assert np.array_equal(vec.decision_kernel(coef)(cp, offsets), vec.decision(VARIED + COMMENTS, coef))


def test_decision_kernel_checks_once_what_decision_checks():
    with pytest.raises(ValueError, match="coef must be"):
        HashingTfidf(n_features=2**10).fit(["a b"]).decision_kernel(np.zeros((10, 4)))
    with pytest.raises(Exception, match="not fitted"):
        HashingTfidf().decision_kernel(np.zeros((2**20, 4)))


@pytest.mark.parametrize("params", CONFIGS + [{"n_features": 2**12, "dtype": np.float64, "norm": "l1"},
                                              {"n_features": 2**12, "norm": None, "binary": True},
                                              {"n_features": 2**12, "min_df": 2}])
def test_occurrence_values_are_the_shares_of_the_transformed_row(params):
    vec = HashingTfidf(**params).fit(VARIED + COMMENTS)
    for text in VARIED + COMMENTS:
        col, _, _, value = vec.occurrences(text)
        assert value.dtype == np.dtype(vec.dtype)
        assert np.array_equal(value, _shares(vec.transform([text]), col, np.dtype(vec.dtype))), text


def _numpy_word_weights(cols, starts, ends, values, words, coef, wanted):
    """The evidence per word and category computed with numpy, occurrence by occurrence: the reference."""
    word_starts, word_ends = np.array([w[0] for w in words]), np.array([w[1] for w in words])
    first = np.searchsorted(word_ends, starts, side="right")
    last = np.searchsorted(word_starts, ends, side="left") - 1
    overlaps = last >= first
    counts = (last - first + 1)[overlaps]
    ends_at = np.cumsum(counts)
    into = np.repeat(first[overlaps] - (ends_at - counts), counts) + np.arange(int(ends_at[-1]) if len(counts) else 0)
    rows = []
    for j in wanted:
        contrib = (values * coef[cols, j])[overlaps]
        shares = contrib / counts.astype(contrib.dtype)
        rows.append(np.bincount(into, weights=np.repeat(shares, counts), minlength=len(words)))
    return np.array(rows)


def test_word_weights_equal_the_numpy_reference(model):
    wanted = np.arange(len(model.categories))
    for text in COMMENTS + VARIED:
        norm, _ = normalize_with_offsets(text)
        words = [(m.start(), m.end()) for m in _WORD.finditer(norm)]
        cols, starts, ends, values = model.featurizer.occurrences(norm)
        if not words or not len(cols):
            continue
        bounds = np.array(words, np.int64)
        fast = model_module._word_weights(cols, starts, ends, values, bounds[:, 0], bounds[:, 1], model.coef, wanted,
                                          np.empty(2, np.result_type(values, model.coef)))
        assert np.array_equal(fast, _numpy_word_weights(cols, starts, ends, values, words, model.coef, wanted)), text


def test_explain_of_some_categories_is_part_of_explain_of_all(model):
    for text in COMMENTS:
        every = model.explain(text)
        for category in model.categories:
            some = model.explain(text, categories=[category])
            assert some == [s for s in every if s.category == category or s.source == "lexicon"]


def test_decision_kernel_scores_do_not_depend_on_what_it_scored_before():
    # each thread's word cache lives from call to call, grows with the chunks and is emptied when full
    vec = HashingTfidf(n_features=2**12).fit(VARIED + COMMENTS)
    coef = np.random.default_rng(1).normal(size=(vec.n_features, 4)).astype(np.float32)
    rng = np.random.default_rng(2)
    words = ["".join(rng.choice(list("abcdefghij"), rng.integers(1, 9))) for _ in range(3000)]
    texts = [t.lower() for t in VARIED + COMMENTS] + [" ".join(rng.choice(words, 30)) for _ in range(200)]
    expected = vec.decision_kernel(coef)(*_encode(texts)[:2])
    warm = vec.decision_kernel(coef)
    one_by_one = np.vstack([warm(*_encode([t])[:2]) for t in texts])  # a small cache, emptied often
    assert np.array_equal(one_by_one, expected)
    assert np.array_equal(warm(*_encode(texts)[:2]), expected)  # a larger one, the same words again
    assert np.array_equal(warm(*_encode(texts[::-1])[:2]), expected[::-1])


def test_decision_kernel_pickles_and_rebuilds_from_its_arrays():
    import pickle

    from moderation.kernels import DecisionKernel

    vec = HashingTfidf(n_features=2**12).fit(VARIED + COMMENTS)
    kernel = vec.decision_kernel(np.random.default_rng(3).normal(size=(vec.n_features, 4)).astype(np.float32))
    cp, offsets, _ = _encode([t.lower() for t in COMMENTS])
    expected = kernel(cp, offsets)
    assert np.array_equal(pickle.loads(pickle.dumps(kernel))(cp, offsets), expected)
    assert np.array_equal(DecisionKernel.from_arrays(kernel.arrays())(cp, offsets), expected)
    arrays = kernel.arrays()
    with pytest.raises(ValueError, match=r"saved: coef must be float32 or float64 of shape \(n_features, k\)"):
        DecisionKernel.from_arrays({**arrays, "coef": arrays["coef"][:10]}, "saved")
    with pytest.raises(ValueError, match="saved: no norm array"):
        DecisionKernel.from_arrays({k: v for k, v in arrays.items() if k != "norm"}, "saved")
