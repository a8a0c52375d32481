"""The ``clustering`` evaluator: ACC / NMI / ARI of k-means on features, of the model's own clusters, and of raw inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kssl.checks import check_bool, check_choice, check_int
from kssl.errors import ArgumentError, KsslError
from kssl.eval._labels import labeled_features, require_labels
from kssl.eval.cluster_metrics import clustering_scores, usage_entropy
from kssl.eval.evaluator import Evaluator


class ClusteringEvaluator(Evaluator):
    """Cluster held-out samples and score the clusters against their labels.

    k-means (``n_init`` restarts) is fit on the training split's features and
    assigns the test split's; ACC (Hungarian matching, scipy), NMI and ARI
    (scikit-learn) are computed on the test split. Returns:

    - ``kmeans_acc``, ``kmeans_nmi``, ``kmeans_ari``: k-means on the model's features
      (``model.embed``);
    - ``clusters_acc``, ``clusters_nmi``, ``clusters_ari``, ``clusters_usage_entropy``:
      the model's own assignments, when ``model.predict_clusters`` returns them (DEC,
      SwAV; None for a method that does not cluster), over ``model.n_clusters`` clusters;
    - ``raw_kmeans_acc``, ``raw_kmeans_nmi``, ``raw_kmeans_ari``: k-means on the
      raw (flattened) inputs with the same number of clusters, as a baseline.

    ``write_artifacts`` draws ``clusters_confusion.png`` (clusters against
    labels) and ``embedding_map.png`` (a 2-D t-SNE or PCA map of the test
    embedding, coloured by cluster and by label) into the run directory. Each class
    has one colour in both panels of the map; a cluster takes the colour of the class
    it is matched to, and the legends name the classes (the dataset's class names,
    e.g. the digits' '0'..'9'; cluster 3 matched to class '7' reads ``c3: 7``).

    Args:
        n_clusters: clusters for k-means (default: the dataset's number of classes).
        num_classes: filled in by kssl from the dataset.
        n_init: k-means restarts.
        seed: k-means and t-SNE seed.
        l2_normalize: L2-normalise features before k-means (cosine geometry, for contrastive features).
        raw_baseline: also report k-means on the raw inputs.
        embedding_map: ``tsne`` or ``pca`` for the 2-D map.
        max_plot_samples: at most this many test samples in the map.
    """

    name = "clustering"
    requires_labels = True

    def __init__(
        self,
        n_clusters: int | None = None,
        num_classes: int | None = None,
        n_init: int = 10,
        seed: int = 0,
        l2_normalize: bool = False,
        raw_baseline: bool = True,
        embedding_map: str = "tsne",
        max_plot_samples: int = 2000,
    ):
        self.n_clusters = None if n_clusters is None else check_int("n_clusters", n_clusters, low=1)
        self.num_classes = num_classes
        self.n_init = check_int("n_init", n_init, low=1)
        self.seed = check_int("seed", seed, low=0)
        self.l2_normalize = check_bool("l2_normalize", l2_normalize)
        self.raw_baseline = check_bool("raw_baseline", raw_baseline)
        self.embedding_map = check_choice("embedding_map", embedding_map, ("tsne", "pca"))
        self.max_plot_samples = check_int("max_plot_samples", max_plot_samples, low=2)
        self._raw = None  # (x_train, x_test, k, scores): the raw baseline of the last data, shared by a run's models

    # -- helpers ---------------------------------------------------------
    def _k(self, data) -> int:
        k = self.n_clusters or self.num_classes or data.num_classes
        if k is None:
            raise ArgumentError("n_clusters", "expected the number of clusters: the dataset does not say how many classes it has.")
        if k > len(data.x_train):
            raise KsslError(
                f"evaluator 'clustering': n_clusters={k} is more than the {len(data.x_train)} training samples k-means is fit on. "
                "Lower n_clusters or use more data."
            )
        return int(k)

    def _prepare(self, features):
        features = np.asarray(features, dtype=np.float64).reshape(len(features), -1)
        if self.l2_normalize:
            features = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
        return features

    def kmeans_predict(self, train_features, test_features, k: int) -> np.ndarray:
        """k-means fit on ``train_features``; the test samples' nearest centroids."""
        from sklearn.cluster import KMeans

        kmeans = KMeans(k, n_init=self.n_init, random_state=self.seed).fit(self._prepare(train_features))
        return kmeans.predict(self._prepare(test_features))

    def _raw_scores(self, data, k: int) -> dict:
        """k-means on the raw inputs; computed once for the trained and the randomly initialised model."""
        if self._raw is None or self._raw[0] is not data.x_train or self._raw[1] is not data.x_test or self._raw[2] != k:
            from sklearn.cluster import KMeans

            raw = lambda a: np.asarray(a, dtype=np.float64).reshape(len(a), -1)  # noqa: E731
            pred = KMeans(k, n_init=self.n_init, random_state=self.seed).fit(raw(data.x_train)).predict(raw(data.x_test))
            scores = {f"raw_kmeans_{m}": v for m, v in clustering_scores(data.y_test, pred).items()}
            self._raw = (data.x_train, data.x_test, k, scores)  # holds the arrays: identity stays meaningful
        return dict(self._raw[3])

    @staticmethod
    def _own_clusters(model, x):
        """The model's own cluster ids of ``x`` (int64), or None when the method does not cluster."""
        own = model.predict_clusters(x)
        return None if own is None else np.asarray(own, dtype=np.int64).reshape(-1)

    # -- the evaluator contract -----------------------------------------
    def get_config(self) -> dict:
        return {
            "n_clusters": self.n_clusters,
            "num_classes": self.num_classes,
            "n_init": self.n_init,
            "seed": self.seed,
            "l2_normalize": self.l2_normalize,
            "raw_baseline": self.raw_baseline,
            "embedding_map": self.embedding_map,
            "max_plot_samples": self.max_plot_samples,
        }

    def evaluate(self, model, data, features=None) -> dict:
        train, _, test, _ = labeled_features(self.name, model, data, features)
        k = self._k(data)
        scores = {f"kmeans_{m}": v for m, v in clustering_scores(data.y_test, self.kmeans_predict(train, test, k)).items()}
        own = self._own_clusters(model, data.x_test)
        if own is not None:
            scores.update({f"clusters_{m}": v for m, v in clustering_scores(data.y_test, own).items()})
            n_own = max(int(model.n_clusters or 0), int(own.max(initial=-1)) + 1)
            scores["clusters_usage_entropy"] = usage_entropy(own, n_own)
        if self.raw_baseline and isinstance(data.x_train, np.ndarray) and np.issubdtype(data.x_train.dtype, np.number):  # not text
            scores.update(self._raw_scores(data, k))
        return scores

    def write_artifacts(self, run_dir, model, data, features=None) -> list[Path]:
        """``clusters_confusion.png`` and ``embedding_map.png`` of the test split."""
        from kssl.eval import cluster_plots

        require_labels(self.name, data)
        run_dir = Path(run_dir)
        k = self._k(data)
        test = self.features_of(features, model, data.x_test, data.batch_size)
        clusters, source = self._own_clusters(model, data.x_test), "the model's clusters"
        if clusters is None:
            train = self.features_of(features, model, data.x_train, data.batch_size)
            clusters, source = self.kmeans_predict(train, test, k), f"k-means (k={k}) on features"
        y = np.asarray(data.y_test, dtype=np.int64)
        acc = clustering_scores(y, clusters)["acc"]
        confusion = cluster_plots.confusion_image(y, clusters, data.class_names, title=f"{source} vs labels (test, ACC {acc:.3f})")
        paths = [run_dir / "clusters_confusion.png", run_dir / "embedding_map.png"]
        confusion.save(paths[0])
        n = min(len(test), self.max_plot_samples)
        points = cluster_plots.project_2d(test[:n], self.embedding_map, self.seed)
        cluster_plots.embedding_map_image(points, clusters[:n], y[:n], self.embedding_map, data.class_names).save(paths[1])
        return paths
