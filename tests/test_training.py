"""Training internals: distinct comments and their groups, the NB-weighting of the heads."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from moderation.labels import LabelSet
from moderation.training import (_class_sums, _letters, _scaled_rows, aggregate, near_duplicate_groups,
                                 nb_ratio)


def test_scaled_rows_are_the_rows_times_the_column_scales_in_the_given_order():
    X = sp.random(40, 30, density=0.3, format="csr", dtype=np.float32, random_state=1)
    scale = np.random.default_rng(0).normal(size=30).astype(np.float32)
    rows = np.array([5, 0, 5, 39, 12, 12])  # any order, with repeats, as a head's positive then negative rows
    out = _scaled_rows(X, rows, scale)
    assert out.shape == (6, 30) and out.dtype == np.float32 and out.indices.dtype == np.int32
    np.testing.assert_array_equal(out.toarray(), X[rows].toarray() * scale)  # the same float32 products
    assert (_scaled_rows(X, rows, None) != X[rows]).nnz == 0
    assert _scaled_rows(X, np.array([], dtype=np.int64), scale).shape == (0, 30)


def test_class_sums_are_the_weighted_column_sums_of_each_class():
    X = sp.random(50, 20, density=0.25, format="csr", dtype=np.float32, random_state=2)
    rows = np.array([3, 7, 7, 49, 0, 21])
    positive = np.array([True, True, False, False, True, False])
    w = np.random.default_rng(3).random(6)
    pos, neg = _class_sums(X, rows, positive, w)
    np.testing.assert_allclose(pos, X[rows].T @ (w * positive), rtol=1e-6)
    np.testing.assert_allclose(neg, X[rows].T @ (w * ~positive), rtol=1e-6)


def test_nb_ratio_favours_the_features_of_positives():
    X = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32))
    y = np.array([1, 1, 0, 0])
    r = nb_ratio(X, y, np.ones(4), smoothing=0.1)
    assert r[0] > 0 > r[1] and abs(r[2]) < 1e-6
    # over chosen rows: rows 2 and 3 taken as the positives reverse the first two columns
    r = nb_ratio(X, np.array([1, 1, 0, 0]), np.ones(4), smoothing=0.1, rows=np.array([2, 3, 0, 1]))
    assert r[1] > 0 > r[0] and abs(r[2]) < 1e-6


def test_letters_keep_exactly_the_alphanumeric_characters_of_every_code_point():
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert _letters(everything) == "".join(ch for ch in everything if ch.isalnum())
    assert _letters("a_b-c 1²") == "abc1²"  # the ASCII path: "_" is a word character, not a letter
    assert _letters("ß_İ٣") == "ßİ٣"


def test_near_duplicate_groups_on_underscores_scripts_and_short_texts():
    texts = ["snake_case_people_write_like_this_all_day_long_and_more",
             "snake case people write like this all day long, and more",
             "Ереван — столица Армении, древний город на реке Раздан у горы",
             "ЕРЕВАН столица армении древний город на реке раздан у горы!",
             "İstanbul hosts the talks", "i̇stanbul hosts the talks",
             "a_b", "ab", "a b c"]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] and groups[2] == groups[3] and groups[4] == groups[5]
    assert groups[6] == groups[7] and groups[8] not in (groups[6], groups[0], groups[2], groups[4])
    assert len(set(groups[[0, 2, 4, 6]])) == 4


def test_near_duplicates_join_through_a_shared_head_or_a_shared_tail():
    head = "the ministers met in vienna to talk about the border and the ceasefire "
    texts = [head + "and agreed on nothing", head + "and left early", "someone else wrote " + head,
             "no overlap at all with anything written above, not one shared word really"]
    groups = near_duplicate_groups(texts)
    assert groups[0] == groups[1] and groups[2] != groups[0] and groups[3] not in (groups[0], groups[2])
    tail = ["first the news: " + head, "then the weather: " + head]  # the same last 48 letters
    assert len(set(near_duplicate_groups(tail))) == 1


def test_aggregate_weighs_sources_and_keeps_the_heaviest_first(policy):
    # outlet and jigsaw rate "x" 1 and 0; outlet_written keeps "y" out of evaluation
    labels = LabelSet(categories=policy.names, texts=["x", "y", "X", "x ", "y", "z"],
                      sources=["jigsaw", "outlet_written", "outlet", "jigsaw", "jigsaw", "davidson"],
                      annotators=["a", "", "", "b", "", ""], ids=list("123456"), files=["f"] * 6,
                      lines=list(range(2, 8)),
                      values=np.array([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, np.nan], [1, 0, 0, np.nan],
                                       [0, np.nan, 0, 0], [np.nan, 1, np.nan, np.nan]], dtype=np.float32))
    ex = aggregate(labels, policy)
    assert ex.texts == ["x", "y", "z"]
    jigsaw, outlet, written, davidson = (policy.source_weight(s) for s in ("jigsaw", "outlet", "outlet_written", "davidson"))
    assert outlet > written > 0 and outlet > jigsaw > 0 and 0 < davidson < jigsaw
    # x: jigsaw's raters mean 0.5, outlet 1, a weighted mean; threat known from jigsaw only
    np.testing.assert_allclose(ex.soft[0], [(0.5 * jigsaw + outlet) / (jigsaw + outlet), 0, 0, 0])
    np.testing.assert_allclose(ex.weight[0], [outlet, outlet, outlet, jigsaw])
    assert ex.sources == ["outlet", "outlet_written", "davidson"]
    mixed = written / (written + jigsaw)
    np.testing.assert_allclose(ex.soft[1], [mixed, 1, mixed, mixed])
    assert ex.weight[1, 1] == written
    assert np.isnan(ex.soft[2, [0, 2, 3]]).all() and ex.weight[2, 1] == davidson and (ex.weight[2, [0, 2, 3]] == 0).all()
    assert ex.evaluable.tolist() == [True, False, True]
    assert len(set(ex.groups)) == 3


def test_aggregate_of_no_rows(policy):
    empty = LabelSet(categories=policy.names, values=np.zeros((0, len(policy.names)), dtype=np.float32))
    ex = aggregate(empty, policy)
    assert ex.texts == [] and ex.soft.shape == (0, len(policy.names)) and ex.groups.size == 0

