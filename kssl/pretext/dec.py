"""DEC: Deep Embedded Clustering (Xie, Girshick, Farhadi, ICML 2016)."""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from kssl.checks import check_choice, check_int, check_number, check_positive
from kssl.errors import ArgumentError, KsslError
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.dec_loss import DECLoss, student_t_assignment, target_distribution
from kssl.optimizers import restart_optimizer
from kssl.pretext.kmeans_init import SELECTIONS, kmeans_init
from kssl.saving import components_config, components_from_config


@keras.saving.register_keras_serializable(package="kssl")
class DEC(keras.Model):
    """Autoencoder pretraining, k-means initialisation, then KL self-training (arXiv:1511.06335).

    ``fit(x)`` on unlabeled samples runs the three phases of the paper in one
    call, counted in epochs:

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

    The phase and the centroids are model weights, so a saved model resumes in
    the right phase. ``predict_clusters(x)`` gives hard assignments;
    ``embed(x)`` the bottleneck embeddings; ``soft_assignments(x)`` ``q``.

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
            (default: drawn from numpy's global generator, which kssl seeds).
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
        super().__init__(**kwargs)
        if n_clusters is None and num_classes is None:
            raise ArgumentError(
                "n_clusters", "expected the number of clusters: the dataset has no labels to take a default from. Set n_clusters: ..."
            )
        self.n_clusters = check_int("n_clusters", num_classes if n_clusters is None else n_clusters, low=1)
        self.num_classes = num_classes
        self.embedding_dim = check_int("embedding_dim", embedding_dim, low=1)
        if not isinstance(decoder_units, (list, tuple)):
            raise ArgumentError("decoder_units", f"expected a list of widths such as [256, 256], got {decoder_units!r}.")
        self.decoder_units = [check_int("decoder_units", u, low=1) for u in decoder_units]
        self.alpha = check_positive("alpha", alpha)
        self.corruption = check_number("corruption", corruption, low=0.0, high=1.0, high_inclusive=False)
        self.pretrain_epochs = check_int("pretrain_epochs", pretrain_epochs, low=0)
        self.update_interval = check_int("update_interval", update_interval, low=1)
        self.tolerance = check_number("tolerance", tolerance, low=0.0, high=1.0)
        self.reconstruction_weight = check_number("reconstruction_weight", reconstruction_weight, low=0.0)
        self.kmeans_restarts = check_int("kmeans_restarts", kmeans_restarts, low=1)
        self.kmeans_selection = check_choice("kmeans_selection", kmeans_selection, SELECTIONS)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self.encoder = encoder
        self.augmenter = augmenter
        self.embedding = keras.layers.Dense(self.embedding_dim, name="embedding")
        self.input_dropout = keras.layers.Dropout(self.corruption, name="corruption")
        self.decoder_layers = [keras.layers.Dense(u, activation="relu", name=f"decoder{i + 1}") for i, u in enumerate(self.decoder_units)]
        self.reconstruction_loss = keras.losses.MeanSquaredError(name="reconstruction")
        self.clustering_loss = DECLoss()
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction_loss")
        self.kl_tracker = keras.metrics.Mean(name="kl_loss")

    # -- weights ---------------------------------------------------------
    def build(self, input_shape):
        shape = tuple(input_shape)
        self._sample_shape = tuple(int(d) for d in shape[1:])
        self.encoder.build(shape)
        features = self.encoder.compute_output_shape(shape)
        self.embedding.build(features)
        width = self.embedding_dim
        for layer in self.decoder_layers:
            layer.build((None, width))
            width = layer.units
        self.reconstruction_layer = keras.layers.Dense(int(np.prod(self._sample_shape)), name="reconstruction")
        self.reconstruction_layer.build((None, width))
        self.centroids = self.add_weight(
            name="centroids", shape=(self.n_clusters, self.embedding_dim), initializer="glorot_uniform", trainable=True
        )
        # 0: autoencoder pretraining, 1: KL clustering phase. A weight, so checkpoints resume in the right phase.
        self.phase = self.add_weight(name="phase", shape=(), initializer="zeros", trainable=False)
        self.built = True

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
    def _batched(self, fn, x, batch_size):
        x = np.asarray(x)
        out = [ops.convert_to_numpy(fn(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        return np.concatenate(out, axis=0) if out else None

    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        """Bottleneck embeddings (N, embedding_dim) of un-augmented ``x`` (what evaluators score)."""
        z = self._batched(lambda b: self.encode(b, training=False), x, batch_size)
        return np.zeros((0, self.embedding_dim), "float32") if z is None else z

    def soft_assignments(self, x, batch_size: int = 256) -> np.ndarray:
        """Student-t soft assignments ``q`` (N, n_clusters)."""
        q = self._batched(lambda b: student_t_assignment(self.encode(b, training=False), self.centroids, self.alpha), x, batch_size)
        return np.zeros((0, self.n_clusters), "float32") if q is None else q

    def predict_clusters(self, x, batch_size: int = 256) -> np.ndarray:
        """Hard cluster ids (N,) in [0, n_clusters): the most likely centroid of each sample."""
        return self.soft_assignments(x, batch_size).argmax(axis=1).astype("int64")

    def _check_cluster_count(self, n_samples: int) -> None:
        if n_samples < self.n_clusters:
            raise KsslError(
                f"pretext.n_clusters: expected at most as many clusters as samples, got n_clusters={self.n_clusters} "
                f"for {n_samples} samples. Lower n_clusters or use more data."
            )

    def initialize_centroids(self, x, batch_size: int = 256, seed: int | None = None) -> np.ndarray:
        """k-means on the embeddings of ``x`` sets the centroids; returns its labels."""
        self._check_cluster_count(len(x))
        centroids, labels = kmeans_init(self.embed(x, batch_size), self.n_clusters, self.kmeans_restarts, seed, self.kmeans_selection)
        self.centroids.assign(centroids.astype("float32"))
        return labels

    # -- training --------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, callbacks=None, shuffle=True, **kwargs):
        """Train on unlabeled ``x`` (an array): pretraining, k-means init, KL phase (see the class doc)."""
        if y is not None:
            raise KsslError("DEC trains without labels: call fit(x) with the samples only.")
        if x is None or not hasattr(x, "__len__") or not hasattr(x, "shape"):
            raise KsslError(
                f"DEC.fit needs the training samples as one array (the target distribution is computed over all of them), "
                f"got {type(x).__name__}. Pass a numpy array."
            )
        x = np.asarray(x, dtype="float32")
        self._check_cluster_count(len(x))
        if not self.built:
            self(x[:2])
        seed = self.seed if self.seed is not None else int(np.random.randint(0, 2**31 - 1))
        batches = _DECBatches(x, batch_size or 256, self.n_clusters, shuffle, seed)
        schedule = _DECSchedule(x, batches, seed)
        return super().fit(batches, epochs=epochs, callbacks=[schedule, *(callbacks or [])], shuffle=False, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            **components_config(self.encoder, self.augmenter),
            n_clusters=self.n_clusters,
            num_classes=self.num_classes,
            embedding_dim=self.embedding_dim,
            decoder_units=self.decoder_units,
            alpha=self.alpha,
            corruption=self.corruption,
            pretrain_epochs=self.pretrain_epochs,
            update_interval=self.update_interval,
            tolerance=self.tolerance,
            reconstruction_weight=self.reconstruction_weight,
            kmeans_restarts=self.kmeans_restarts,
            kmeans_selection=self.kmeans_selection,
            seed=self.seed,
        )
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**components_from_config(config))


class _DECBatches(keras.utils.PyDataset):
    """Shuffled batches ``(x, p)`` of the samples and their current target distribution."""

    def __init__(self, x, batch_size, n_clusters, shuffle, seed):
        super().__init__()
        self.x = x
        self.batch_size = int(batch_size)
        self.targets = np.full((len(x), n_clusters), 1.0 / n_clusters, dtype="float32")
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = self._rng.permutation(len(x)) if shuffle else np.arange(len(x))

    @property
    def num_batches(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __len__(self):
        return self.num_batches

    def __getitem__(self, index):
        idx = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.x[idx], self.targets[idx]

    def on_epoch_end(self):
        if self.shuffle:
            self._order = self._rng.permutation(len(self.x))


class _DECSchedule(keras.callbacks.Callback):
    """Runs DEC's phases at epoch boundaries: k-means init, target updates, the stopping rule."""

    def __init__(self, x, batches, seed):
        super().__init__()
        self.x = x
        self.batches = batches
        self.seed = seed
        self.previous = None  # assignments at the last target update
        self.last_update = None
        self.change = 1.0

    def _phase(self) -> int:
        return int(round(float(ops.convert_to_numpy(self.model.phase))))

    def _update_targets(self):
        """Recompute p over all samples; returns the fraction of samples that changed cluster."""
        q = self.model.soft_assignments(self.x, self.batches.batch_size)
        self.batches.targets = ops.convert_to_numpy(target_distribution(q)).astype("float32")
        labels = q.argmax(axis=1)
        change = 1.0 if self.previous is None else float(np.mean(labels != self.previous))
        self.previous = labels
        return change

    def on_epoch_begin(self, epoch, logs=None):
        model = self.model
        if self._phase() == 0 and epoch >= model.pretrain_epochs:
            self.previous = model.initialize_centroids(self.x, self.batches.batch_size, seed=self.seed)
            restart_optimizer(model.optimizer)
            model.phase.assign(1.0)
            self._update_targets()
            self.last_update = epoch
        elif self._phase() == 1 and self.last_update is None:  # a later fit() call or a resumed run
            self._update_targets()
            self.last_update = epoch

    def on_epoch_end(self, epoch, logs=None):
        model = self.model
        if self._phase() == 1 and self.last_update is not None and (epoch + 1 - self.last_update) >= model.update_interval:
            self.change = self._update_targets()
            self.last_update = epoch + 1
            if self.change < model.tolerance:
                model.stop_training = True
        if logs is not None:
            logs["dec_phase"] = float(self._phase())
            logs["assignment_change"] = self.change

    def on_train_end(self, logs=None):
        if self._phase() == 0:  # fit ended during pretraining: still leave usable centroids
            self.model.initialize_centroids(self.x, self.batches.batch_size, seed=self.seed)
