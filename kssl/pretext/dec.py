"""DEC: Deep Embedded Clustering (Xie, Girshick, Farhadi, ICML 2016)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kssl.checks import check_choice, check_int, check_number, check_positive, check_widths
from kssl.data.batches import ShuffledBatches
from kssl.errors import ArgumentError, KsslError
from kssl.inference import map_batches
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.dec_loss import DECLoss, student_t_assignment
from kssl.pretext.dec_schedule import DECSchedule
from kssl.pretext.kmeans_init import SELECTIONS, kmeans_init
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class DEC(PretextTask):
    """Autoencoder pretraining, k-means initialisation, then KL self-training (arXiv:1511.06335).

    ``fit(x)`` on unlabeled samples runs the three phases of the paper in one
    call, counted in epochs (:class:`kssl.pretext.dec_schedule.DECSchedule` runs them):

    1. epochs ``[0, pretrain_epochs)``: the encoder, a linear ``embedding_dim``
       bottleneck and an MLP decoder are trained to reconstruct ``x`` (mean
       squared error). With an ``augmenter`` the autoencoder sees and
       reconstructs augmented samples, and the KL phase below trains the soft
       assignments of augmented samples towards targets computed on clean ones
       (DEC-DA, Guo et al., ACML 2018); with ``corruption`` a random fraction of
       the input values is zeroed and the uncorrupted sample is the target
       (denoising).
    2. at epoch ``pretrain_epochs``: k-means (``kmeans_restarts`` restarts) on
       the embeddings of all of ``x`` initialises the ``n_clusters`` centroids;
       ``kmeans_selection`` says which restart is kept (see
       :func:`kssl.pretext.kmeans_init.kmeans_init`), and the optimizer's step
       count and moment estimates restart (:func:`kssl.optimizers.restart_optimizer`).
    3. then: the Student-t soft assignments ``q`` are trained towards the
       target distribution ``p`` by ``KL(p || q)``. ``p`` is recomputed from the
       whole of ``x`` every ``update_interval`` epochs and held fixed in between;
       training stops when fewer than ``tolerance`` of the samples changed
       cluster since the previous update (the paper's stopping rule; logged as
       ``assignment_change``). ``reconstruction_weight > 0`` keeps the
       reconstruction loss in this phase (IDEC, Guo et al., IJCAI 2017).

    The target distribution lives outside the model: :meth:`make_dataset` feeds
    ``(x, p)`` batches (a :class:`kssl.data.batches.ShuffledBatches` whose
    ``targets`` the schedule replaces), and :meth:`training_callbacks` gives the
    schedule bound to them; ``fit`` and ``kssl train`` use both. The phase and the
    centroids are model weights, so a saved model resumes in the right phase.
    ``predict_clusters(x)`` gives hard assignments; ``embed(x)`` the bottleneck
    embeddings; ``soft_assignments(x)`` ``q``.

    Args:
        encoder: ``keras.Model`` from inputs to features (e.g. the ``mlp`` encoder).
        augmenter: optional random layer applied to the inputs when training.
        n_clusters: number of clusters (default: the dataset's number of classes).
        num_classes: filled in by kssl from the dataset; the default for n_clusters.
        embedding_dim: width of the linear bottleneck that is clustered.
        decoder_units: hidden widths of the MLP decoder (its output matches the input).
        alpha: degrees of freedom of the Student's t kernel.
        corruption: fraction of input values zeroed during pretraining (denoising
            autoencoder, as in the paper's stacked denoising pretraining).
        pretrain_epochs: epochs of autoencoder pretraining before clustering.
        update_interval: epochs between target-distribution updates.
        tolerance: stop when the fraction of samples that changed cluster between
            two updates falls below this (0 disables the rule).
        reconstruction_weight: weight of the reconstruction loss in the KL phase.
        kmeans_restarts: k-means initialisations tried for the centroids.
        kmeans_selection: which of them initialises the centroids: ``inertia``
            (the lowest within-cluster sum of squares, as in the paper) or
            ``balanced`` (the most even cluster sizes; for data with roughly
            equal-sized clusters).
        seed: seed of the k-means initialisation and the batch shuffling
            (default: drawn from numpy's global generator, which kssl seeds,
            each time :meth:`make_dataset` runs).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        n_clusters: int | None = None,
        num_classes: int | None = None,
        embedding_dim: int = 10,
        decoder_units=(256, 256),
        alpha: float = 1.0,
        corruption: float = 0.0,
        pretrain_epochs: int = 50,
        update_interval: int = 1,
        tolerance: float = 0.001,
        reconstruction_weight: float = 0.0,
        kmeans_restarts: int = 20,
        kmeans_selection: str = "inertia",
        seed: int | None = None,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        if n_clusters is None and num_classes is None:
            raise ArgumentError("n_clusters", "expected the number of clusters: the dataset has no labels to take a default from. Set n_clusters: ...")
        self._n_clusters = check_int("n_clusters", num_classes if n_clusters is None else n_clusters, low=1)
        self.num_classes = num_classes
        self.embedding_dim = check_int("embedding_dim", embedding_dim, low=1)
        self.decoder_units = check_widths("decoder_units", decoder_units)
        self.alpha = check_positive("alpha", alpha)
        self.corruption = check_number("corruption", corruption, low=0.0, high=1.0, high_inclusive=False)
        self.pretrain_epochs = check_int("pretrain_epochs", pretrain_epochs, low=0)
        self.update_interval = check_int("update_interval", update_interval, low=1)
        self.tolerance = check_number("tolerance", tolerance, low=0.0, high=1.0)
        self.reconstruction_weight = check_number("reconstruction_weight", reconstruction_weight, low=0.0)
        self.kmeans_restarts = check_int("kmeans_restarts", kmeans_restarts, low=1)
        self.kmeans_selection = check_choice("kmeans_selection", kmeans_selection, SELECTIONS)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self.embedding = keras.layers.Dense(self.embedding_dim, name="embedding")
        self.input_dropout = keras.layers.Dropout(self.corruption, name="corruption")
        self.decoder_layers = [keras.layers.Dense(u, activation="relu", name=f"decoder{i + 1}") for i, u in enumerate(self.decoder_units)]
        self.reconstruction_loss = keras.losses.MeanSquaredError(name="reconstruction")
        self.clustering_loss = DECLoss()
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    @property
    def n_clusters(self) -> int:
        """The number of clusters K (centroids)."""
        return self._n_clusters

    # -- weights ---------------------------------------------------------
    def build_heads(self, input_shape):
        """The output layer (as wide as a sample), the centroids and the phase; then the rest via ``call``."""
        self._sample_shape = tuple(int(d) for d in input_shape[1:])
        self.reconstruction_layer = keras.layers.Dense(int(np.prod(self._sample_shape)), name="reconstruction")
        self.centroids = self.add_weight(name="centroids", shape=(self._n_clusters, self.embedding_dim), initializer="glorot_uniform", trainable=True)
        # 0: autoencoder pretraining, 1: KL clustering phase. A weight, so checkpoints resume in the right phase.
        self.phase = self.add_weight(name="phase", shape=(), initializer="zeros", trainable=False)
        super().build_heads(input_shape)

    # -- forward ---------------------------------------------------------
    def encode(self, x, training=False):
        """Bottleneck embeddings (N, embedding_dim)."""
        return self.embedding(self.encoder(x, training=training))

    def decode(self, z, training=False):
        """Reconstructions with the input's shape."""
        h = z
        for layer in self.decoder_layers:
            h = layer(h)
        return ops.reshape(self.reconstruction_layer(h), (-1, *self._sample_shape))

    def call(self, x, training=False):
        if training and self.augmenter is not None:
            x = self.augmenter(x, training=True)
        target = x  # what the decoder should give back: the (augmented) sample, before any corruption
        if training and self.corruption > 0:
            # Denoising pretraining (the paper's masking corruption); clean inputs in the KL phase.
            x = ops.where(ops.cast(self.phase, "float32") < 0.5, self.input_dropout(x, training=True) * (1.0 - self.corruption), x)
        z = self.encode(x, training=training)
        return {
            "q": student_t_assignment(z, self.centroids, self.alpha),
            "reconstruction": self.decode(z, training=training),
            "reconstruction_target": target,
        }

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        phase = ops.cast(self.phase, "float32")
        recon = self.reconstruction_loss(ops.cast(y_pred["reconstruction_target"], "float32"), ops.cast(y_pred["reconstruction"], "float32"))
        self.reconstruction_tracker.update_state(recon)
        if y is None:  # plain batches of x (e.g. model.evaluate(x)): no targets, reconstruction only
            loss = recon
        else:
            kl = self.clustering_loss(y, y_pred["q"])
            self.kl_tracker.update_state(kl)
            loss = (1.0 - phase) * recon + phase * (kl + self.reconstruction_weight * recon)
        return with_model_losses(self, loss)

    # -- inference -------------------------------------------------------
    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        """Bottleneck embeddings (N, embedding_dim) of un-augmented ``x`` (what evaluators score)."""
        return map_batches(lambda b: self.encode(b, training=False), x, batch_size, empty_shape=(0, self.embedding_dim))

    def soft_assignments(self, x, batch_size: int = 256) -> np.ndarray:
        """Student-t soft assignments ``q`` (N, n_clusters)."""
        assign = lambda b: student_t_assignment(self.encode(b, training=False), self.centroids, self.alpha)  # noqa: E731
        return map_batches(assign, x, batch_size, empty_shape=(0, self._n_clusters))

    def predict_clusters(self, x, batch_size: int = 256) -> np.ndarray:
        """Hard cluster ids (N,) in [0, n_clusters): the most likely centroid of each sample."""
        return self.soft_assignments(x, batch_size).argmax(axis=1).astype("int64")

    def _check_cluster_count(self, n_samples: int) -> None:
        if n_samples < self._n_clusters:
            raise KsslError(
                f"pretext.n_clusters: expected at most as many clusters as samples, got n_clusters={self._n_clusters} "
                f"for {n_samples} samples. Lower n_clusters or use more data."
            )

    def initialize_centroids(self, x, batch_size: int = 256, seed: int | None = None) -> np.ndarray:
        """k-means on the embeddings of ``x`` sets the centroids; returns its labels."""
        self._check_cluster_count(len(x))
        centroids, labels = kmeans_init(self.embed(x, batch_size), self._n_clusters, self.kmeans_restarts, seed, self.kmeans_selection)
        self.centroids.assign(centroids.astype("float32"))
        return labels

    # -- training --------------------------------------------------------
    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed=None) -> ShuffledBatches:
        """Shuffled ``(x, p)`` batches of the samples and their target distribution (uniform at first).

        ``x`` must be one array (the target distribution is computed over all of it) with at
        least ``n_clusters`` samples. The batch order and the k-means initialisation share one
        seed: the model's ``seed``, else one drawn here from numpy's global generator (which
        kssl seeds from the recipe). The ``seed`` argument is not used: a recipe's runs keep
        the draws they had when ``fit`` drew that seed itself. Builds the model if it is not.
        """
        x = _one_array(x)
        self._check_cluster_count(len(x))
        if not self.built:  # the schedule reads the phase weight from the first epoch on
            self(x[:2])
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        uniform = np.full((len(x), self._n_clusters), 1.0 / self._n_clusters, dtype="float32")
        batches = ShuffledBatches(x, batch_size, shuffle, seed, targets=uniform)
        return batches

    def training_callbacks(self, data=None) -> list:
        """The :class:`~kssl.pretext.dec_schedule.DECSchedule` bound to ``data``, the batches :meth:`make_dataset` made."""
        if isinstance(data, ShuffledBatches) and data.targets is not None:
            return [DECSchedule(data, data.seed)]
        if isinstance(data, (np.ndarray, list)):  # fit sends raw samples past make_dataset only with labels
            raise KsslError("DEC trains without labels: call fit(x) with the samples only.")
        raise _not_one_array(data)

    def get_config(self):
        return {
            **super().get_config(),
            "n_clusters": self._n_clusters,
            "num_classes": self.num_classes,
            "embedding_dim": self.embedding_dim,
            "decoder_units": self.decoder_units,
            "alpha": self.alpha,
            "corruption": self.corruption,
            "pretrain_epochs": self.pretrain_epochs,
            "update_interval": self.update_interval,
            "tolerance": self.tolerance,
            "reconstruction_weight": self.reconstruction_weight,
            "kmeans_restarts": self.kmeans_restarts,
            "kmeans_selection": self.kmeans_selection,
            "seed": self.seed,
        }


def _not_one_array(x) -> KsslError:
    return KsslError(
        f"DEC.fit needs the training samples as one array (the target distribution is computed over all of them), got {type(x).__name__}. Pass a numpy array."
    )


def _one_array(x) -> np.ndarray:
    """``x`` as one float32 array of samples, or the error that says DEC needs one."""
    try:
        samples = np.asarray(x, dtype="float32")
    except (TypeError, ValueError):  # a dataset, a generator, ragged or non-numeric samples
        raise _not_one_array(x) from None
    if samples.ndim == 0:
        raise _not_one_array(x)
    return samples
