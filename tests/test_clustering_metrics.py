"""ACC / NMI / ARI against brute force and scikit-learn; invariance to renaming clusters."""

import itertools

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from kssl.errors import KsslError
from kssl.eval.cluster_metrics import (
    adjusted_rand,
    cluster_accuracy,
    cluster_to_class,
    clustering_scores,
    contingency_matrix,
    normalized_mutual_info,
    usage_entropy,
)


def brute_force_accuracy(y_true, y_pred, k):
    """Reference: try every one-to-one relabelling of the k cluster ids."""
    best = 0.0
    for perm in itertools.permutations(range(k)):
        best = max(best, float(np.mean(np.array(perm)[y_pred] == y_true)))
    return best


def test_accuracy_of_a_permuted_labelling_is_one():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, size=200)
    perm = rng.permutation(6)
    assert cluster_accuracy(y, perm[y]) == 1.0
    assert clustering_scores(y, perm[y]) == pytest.approx({"acc": 1.0, "nmi": 1.0, "ari": 1.0})


@pytest.mark.parametrize("seed", range(4))
def test_accuracy_matches_brute_force_over_permutations(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 5, size=60)
    y_pred = np.where(rng.random(60) < 0.6, (y_true + 2) % 5, rng.integers(0, 5, size=60))
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(brute_force_accuracy(y_true, y_pred, 5))


def test_closed_form_small_case():
    # Clusters {0,0,1} vs labels {1,1,0} plus one error: best mapping 0->1, 1->0 gets 3 of 4.
    assert cluster_accuracy([1, 1, 0, 0], [0, 0, 1, 0]) == pytest.approx(0.75)
    assert cluster_to_class([1, 1, 0, 0], [0, 0, 1, 0]) == {0: 1, 1: 0}
    np.testing.assert_array_equal(contingency_matrix([1, 1, 0, 0], [0, 0, 1, 0]), [[1, 2], [1, 0]])


def test_more_clusters_than_classes_counts_unmatched_clusters_as_errors():
    y_true = np.array([0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 6)


def test_nmi_and_ari_equal_scikit_learn():
    rng = np.random.default_rng(5)
    y_true, y_pred = rng.integers(0, 4, 100), rng.integers(0, 7, 100)
    assert normalized_mutual_info(y_true, y_pred) == pytest.approx(normalized_mutual_info_score(y_true, y_pred))
    assert adjusted_rand(y_true, y_pred) == pytest.approx(adjusted_rand_score(y_true, y_pred))


def test_usage_entropy():
    assert usage_entropy([0, 1, 2, 3], 4) == pytest.approx(1.0)
    assert usage_entropy([2, 2, 2, 2], 4) == pytest.approx(0.0)
    assert usage_entropy([0, 0, 1, 1], 4) == pytest.approx(0.5)


@pytest.mark.parametrize(
    "y_true,y_pred,match",
    [([0, 1], [0], "differ in length"), ([], [], "empty"), ([0.5, 1], [0, 1], "integer labels"), ([[0, 1]], [[0, 1]], "1-D")],
)
def test_bad_input_gives_a_clear_message(y_true, y_pred, match):
    with pytest.raises(KsslError, match=match):
        cluster_accuracy(y_true, y_pred)
