"""kssl.eval.feature_cache: FeatureCache, the features a run's evaluators share."""

import numpy as np
import pytest

from kssl.data.splits import DataSplits
from kssl.eval.clustering import ClusteringEvaluator
from kssl.eval.feature_cache import FeatureCache
from kssl.eval.knn import KNNEvaluator
from kssl.eval.linear_probe import LinearProbeEvaluator


class CountingPretext:
    """Features ``scale * x``; records the (length, options) of every ``embed`` call."""

    def __init__(self, scale):
        self.scale, self.calls = scale, []

    def embed(self, x, batch_size=256, **options):
        self.calls.append((len(x), options))
        return np.asarray(x, np.float32) * self.scale

    def predict_clusters(self, x, batch_size=256):
        return None

    @property
    def n_clusters(self):
        return None


def test_features_are_computed_once_per_model_and_array():
    x, y = np.ones((4, 2, 3)), np.zeros((5, 6))
    a, b = CountingPretext(2.0), CountingPretext(3.0)
    cache = FeatureCache()
    first = cache.embed(a, x)
    assert cache.embed(a, x, batch_size=7) is first and len(a.calls) == 1  # same model, same array: cached
    np.testing.assert_array_equal(first, np.full((4, 6), 2.0))  # flattened to 2-D float32
    assert first.dtype == np.float32
    np.testing.assert_array_equal(cache.embed(b, x), np.full((4, 6), 3.0))  # another model
    cache.embed(a, y)  # another array
    assert (len(a.calls), len(b.calls)) == (2, 1)
    cache.embed(a, x, pooling="cls")  # other options to model.embed: other features
    assert a.calls[-1] == (4, {"pooling": "cls"}) and cache.embed(a, x, pooling="cls") is not first and len(a.calls) == 3
    with pytest.raises(ValueError):
        first[0, 0] = 7.0  # shared by the run's evaluators: read-only
    FeatureCache().embed(a, x)
    assert len(a.calls) == 4  # another cache computes afresh
    cache.clear()
    cache.embed(a, x)
    assert len(a.calls) == 5


def _labeled(seed=0, n=90, dims=5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = (rng.normal(size=(3, dims)) * 4)[y] + rng.normal(size=(n, dims))
    return DataSplits(x[:60].astype("float32"), y[:60], x[60:].astype("float32"), y[60:], batch_size=16)


def test_one_cache_embeds_each_split_once_across_knn_linear_probe_and_clustering(tmp_path):
    data = _labeled()
    evaluators = [KNNEvaluator(k=5), LinearProbeEvaluator(), ClusteringEvaluator(n_init=2, embedding_map="pca", raw_baseline=False)]
    trained, baseline = CountingPretext(1.0), CountingPretext(-1.0)
    cache = FeatureCache()
    scores = []
    for model in (trained, baseline):  # a run scores the trained model and a random-init one with the same cache
        scores.append({k: v for evaluator in evaluators for k, v in evaluator.evaluate(model, data, features=cache).items()})
        evaluators[2].write_artifacts(tmp_path, model, data, features=cache)
    for model in (trained, baseline):
        assert sorted(model.calls) == [(30, {}), (60, {})]  # the test split and the train split, once each
    # The same scores as without a cache, where every evaluator embeds afresh.
    fresh = CountingPretext(1.0)
    assert {k: v for evaluator in evaluators for k, v in evaluator.evaluate(fresh, data).items()} == scores[0]
    assert len(fresh.calls) == 6  # 2 splits x 3 evaluators
