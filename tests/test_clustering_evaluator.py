"""The ``clustering`` evaluator on synthetic blobs, its bad-input messages, its PNGs and its registration."""

import keras
import numpy as np
import pytest

from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.eval.clustering import ClusteringEvaluator
from kssl.pretext.pretext_task import PretextTask


def blobs(n_per_class=30, k=4, dim=5, seed=0, spread=0.05):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 5
    y = np.repeat(np.arange(k), n_per_class)
    x = centres[y] + rng.normal(scale=spread, size=(len(y), dim))
    order = rng.permutation(len(y))
    return x[order].astype("float32"), y[order].astype("int32")


class FeatureModel(PretextTask):
    """A stand-in pretext model: features are the inputs; its own clusters only when given (else the base's None)."""

    def __init__(self, clusters=None, n_clusters=None):
        super().__init__(keras.layers.Identity())
        self._clusters, self._n_clusters = clusters, n_clusters

    def embed(self, x, batch_size=256):
        return np.asarray(x)

    def predict_clusters(self, x, batch_size=256):
        return super().predict_clusters(x, batch_size) if self._clusters is None else self._clusters(x)

    @property
    def n_clusters(self):
        return self._n_clusters


@pytest.fixture
def data():
    x_tr, y_tr = blobs(seed=0)
    x_te, y_te = blobs(seed=0, n_per_class=10)
    return DataSplits(x_tr, y_tr, x_te, y_te, batch_size=32)


def test_separated_blobs_score_perfectly(data):
    scores = ClusteringEvaluator(num_classes=4, n_init=3).evaluate(FeatureModel(), data)
    assert scores["kmeans_acc"] == 1.0 and scores["kmeans_nmi"] == pytest.approx(1.0) and scores["kmeans_ari"] == pytest.approx(1.0)
    assert scores["raw_kmeans_acc"] == 1.0
    assert not any(k.startswith("clusters_") for k in scores)  # the model has no clusters of its own


def test_models_own_clusters_are_scored_under_any_renaming(data):
    perm = np.array([2, 0, 3, 1])
    model = FeatureModel(clusters=lambda x: perm[np.asarray(data.y_test)] if len(x) == len(data.y_test) else None)
    scores = ClusteringEvaluator(num_classes=4, n_init=2, raw_baseline=False).evaluate(model, data)
    assert scores["clusters_acc"] == 1.0 and scores["clusters_ari"] == pytest.approx(1.0)
    assert scores["clusters_usage_entropy"] == pytest.approx(1.0)
    assert "raw_kmeans_acc" not in scores


def test_usage_entropy_counts_the_models_declared_clusters(data):
    """4 equally used clusters of the 8 the model declares: entropy log 4 / log 8 = 2/3; undeclared: 4 of 4."""
    own = lambda x: np.asarray(data.y_test)  # noqa: E731
    evaluator = ClusteringEvaluator(num_classes=4, n_init=1, raw_baseline=False)
    assert evaluator.evaluate(FeatureModel(clusters=own, n_clusters=8), data)["clusters_usage_entropy"] == pytest.approx(2 / 3)
    assert evaluator.evaluate(FeatureModel(clusters=own), data)["clusters_usage_entropy"] == pytest.approx(1.0)


def test_a_worse_clustering_scores_lower(data):
    rng = np.random.default_rng(0)
    noisy = DataSplits(data.x_train, data.y_train, rng.normal(size=data.x_test.shape).astype("float32"), data.y_test)
    scores = ClusteringEvaluator(n_clusters=4, n_init=2).evaluate(FeatureModel(), noisy)
    assert scores["kmeans_acc"] < 0.7 and scores["kmeans_nmi"] < 0.5


def test_missing_labels_give_a_clear_message(data):
    unlabeled = DataSplits(data.x_train)
    with pytest.raises(KsslError, match="clustering.*no labels"):
        ClusteringEvaluator(n_clusters=4).evaluate(FeatureModel(), unlabeled)


def test_config_round_trips():
    evaluator = ClusteringEvaluator(n_clusters=5, n_init=3, l2_normalize=True, embedding_map="pca")
    assert ClusteringEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()
    assert evaluator.get_config()["n_clusters"] == 5 and evaluator.get_config()["embedding_map"] == "pca"


def test_bad_cluster_counts(data):
    with pytest.raises(ArgumentError, match="n_clusters: expected an integer >= 1, got 0"):
        ClusteringEvaluator(n_clusters=0)
    with pytest.raises(KsslError, match="n_clusters=500 is more than the 120 training samples"):
        ClusteringEvaluator(n_clusters=500).evaluate(FeatureModel(), data)
    with pytest.raises(ArgumentError, match="embedding_map"):
        ClusteringEvaluator(embedding_map="umap")


def test_recipe_errors_name_the_key(write_recipe):
    from kssl.builder import build_all

    recipe = {
        "name": "bad",
        "data": {"type": "digits", "image_size": 8, "limit": 32},
        "encoder": {"type": "mlp", "hidden_units": [4]},
        "pretext": {"type": "dec", "n_clusters": 3},
        "eval": [{"type": "clustering", "n_clusters": 0}],
    }
    with pytest.raises(RecipeError, match=r"eval\.0\.n_clusters: expected an integer >= 1, got 0"):
        build_all(write_recipe(recipe))


@pytest.mark.parametrize("with_clusters", [False, True])
def test_write_artifacts_draws_confusion_matrix_and_embedding_map(data, tmp_path, with_clusters):
    from PIL import Image

    model = FeatureModel(clusters=(lambda x: np.asarray(data.y_test) % 3) if with_clusters else None)
    paths = ClusteringEvaluator(num_classes=4, n_init=2, embedding_map="pca").write_artifacts(tmp_path, model, data)
    assert [p.name for p in paths] == ["clusters_confusion.png", "embedding_map.png"]
    for p in paths:
        with Image.open(p) as image:
            assert image.format == "PNG" and image.width > 100 and image.height > 100
            assert len(image.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 3  # not a blank canvas


def test_tsne_map_on_a_small_set():
    from kssl.eval.cluster_plots import project_2d

    x, _ = blobs(n_per_class=5, k=3)
    assert project_2d(x, "tsne").shape == (15, 2)
    assert project_2d(x[:2], "tsne").shape == (2, 2)


def test_embedding_map_legends_name_the_classes_and_keep_one_colour_per_class():
    from kssl.eval.cluster_plots import legend_entries, panel_legends

    labels = np.array([0, 0, 1, 1, 2, 2, 2])
    clusters = np.array([2, 2, 0, 0, 1, 1, 3])  # cluster 2 is class 0, 0 is 1, 1 is 2; cluster 3 matches nothing
    colours, cluster_names, label_names = panel_legends(clusters, labels, ["zero", "one", "two"])
    assert colours == {2: 0, 0: 1, 1: 2, 3: 3}
    assert legend_entries(labels, None, label_names) == [("zero", 0), ("one", 1), ("two", 2)]
    assert legend_entries(clusters, colours, cluster_names) == [("c2: zero", 0), ("c0: one", 1), ("c1: two", 2), ("c3", 3)]
    _, _, by_id = panel_legends(clusters, labels)  # no class names: the ids
    assert legend_entries(labels, None, by_id) == [("0", 0), ("1", 1), ("2", 2)]


def test_embedding_map_draws_a_class_in_one_colour_in_both_panels():
    from kssl.eval.cluster_plots import PALETTE, embedding_map_image

    points = np.array([[0.0, 0.0], [0.1, 0.0], [1.0, 1.0], [1.1, 1.0]])
    image = np.asarray(embedding_map_image(points, clusters=[1, 1, 0, 0], labels=[0, 0, 1, 1], method="pca", class_names=["a", "b"]))
    half = image.shape[1] // 2
    for panel in (image[:, :half], image[:, half:]):
        colours = {tuple(p) for p in panel.reshape(-1, 3).tolist()}
        assert set(PALETTE[:2]) <= colours and not set(PALETTE[2:]) & colours


def test_components_are_registered():
    from kssl.plugins import get_registry

    registry = get_registry()
    assert registry.entry("pretext", "dec").provider == "kssl"
    assert {"dec", "swav"} <= set(registry.names("pretext"))
    assert "clustering" in registry.names("evaluator")
