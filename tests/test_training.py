"""Training internals: the NB-weighting of the heads."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from moderation.training import _scale_columns, _weighted_column_sums, nb_ratio


def test_scale_columns_matches_a_dense_product_across_blocks():
    rng = np.random.default_rng(0)
    X = sp.random(40, 30, density=0.3, format="csr", dtype=np.float32, random_state=1)
    scale = rng.normal(size=30).astype(np.float32)
    expected = X.toarray() * scale
    _scale_columns(X, scale, block=7)  # several blocks, the last one partial
    np.testing.assert_allclose(X.toarray(), expected, rtol=1e-6)


def test_nb_ratio_favours_the_features_of_positives():
    X = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1], [0, 1, 1], [0, 1, 1]], dtype=np.float32))
    y = np.array([1, 1, 0, 0])
    r = nb_ratio(X, y, np.ones(4), smoothing=0.1)
    assert r[0] > 0 > r[1] and abs(r[2]) < 1e-6


def test_weighted_column_sums_match_the_transposed_product():
    X = sp.random(50, 20, density=0.25, format="csr", dtype=np.float32, random_state=2)
    w = np.random.default_rng(3).random(50)
    np.testing.assert_allclose(_weighted_column_sums(X, w, rows_per_block=8), X.T @ w, rtol=1e-6)
