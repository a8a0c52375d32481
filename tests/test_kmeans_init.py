"""k-means initialisation of DEC's centroids: lowest inertia (the paper) or the most balanced restart."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from kssl.pretext.kmeans_init import kmeans_init, size_entropy


def two_close_groups_and_a_wide_one():
    # Merging the two tight groups and splitting the wide one has the LOWER inertia (about 60 against 100),
    # but the three groups are the equal-sized answer.
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal([0, 0], 0.1, (50, 2)), rng.normal([1, 0], 0.1, (50, 2)), rng.normal([10, 0], 1.0, (50, 2))])
    return z, np.repeat([0, 1, 2], 50)


def test_size_entropy_closed_forms():
    assert size_entropy([0, 1, 2, 0, 1, 2], 3) == pytest.approx(np.log(3))
    assert size_entropy([0, 0, 0, 0], 3) == pytest.approx(0.0)
    assert size_entropy([0, 0, 0, 1], 2) == pytest.approx(-(0.75 * np.log(0.75) + 0.25 * np.log(0.25)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_balanced_selection_recovers_equal_groups_that_lowest_inertia_merges(seed):
    z, y = two_close_groups_and_a_wide_one()
    _, by_inertia = kmeans_init(z, 3, restarts=20, seed=seed, selection="inertia")
    centroids, balanced = kmeans_init(z, 3, restarts=20, seed=seed, selection="balanced")
    assert adjusted_rand_score(y, balanced) == 1.0
    assert adjusted_rand_score(y, by_inertia) < 0.5 and sorted(np.bincount(by_inertia)) != [50, 50, 50]
    inertia = lambda labels, c: sum(((z[labels == k] - c[k]) ** 2).sum() for k in range(3))  # noqa: E731
    means = np.stack([z[balanced == k].mean(0) for k in range(3)])
    np.testing.assert_allclose(centroids, means, atol=1e-6)  # converged k-means: centroids are the cluster means
    assert inertia(balanced, centroids) > inertia(by_inertia, np.stack([z[by_inertia == k].mean(0) for k in range(3)]))


def test_balanced_selection_is_the_highest_size_entropy_of_the_restarts():
    # An independent re-run of the same restarts with scikit-learn picks the same one.
    z = np.random.default_rng(3).normal(size=(120, 4))
    seeds = np.random.default_rng(7).integers(0, 2**31 - 1, size=6)
    runs = [KMeans(5, n_init=1, random_state=int(s)).fit(z) for s in seeds]
    best = max(runs, key=lambda r: (round(size_entropy(r.labels_, 5), 9), -r.inertia_))
    centroids, labels = kmeans_init(z, 5, restarts=6, seed=7, selection="balanced")
    np.testing.assert_array_equal(labels, best.labels_)
    np.testing.assert_allclose(centroids, best.cluster_centers_)
