"""COLA: contrastive learning of general-purpose audio representations (Saeed et al., ICASSP 2021, arXiv:2010.10915)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError
from kssl.losses.cola_loss import cola_logits
from kssl.losses.cross_replica import all_gather, with_model_losses
from kssl.pretext.pretext_task import PretextTask


@keras.saving.register_keras_serializable(package="kssl")
class COLA(PretextTask):
    """Two random segments of the same clip are positives; the other clips of the batch are negatives.

    ``fit(x)`` takes raw waveforms (N, T, 1). While training, ``call`` crops two random
    segments of ``segment_seconds`` from every clip (independent offsets), after the
    optional augmenter has made two views of the clip; without training the two
    segments are the clip's first and last ``segment_seconds``. Both segments go through
    the encoder and the paper's projection (``Dense`` → ``LayerNormalization`` → tanh);
    the similarity is bilinear, ``s(a, p) = a^T W p`` (``W``: a ``Dense`` layer without bias
    applied to the second segment). ``compute_loss`` scores each anchor with a softmax
    cross-entropy over the global batch's candidates (:func:`kssl.losses.cola_loss.cola_logits`
    on the projections of every replica) and logs ``contrastive_accuracy``.

    ``call`` returns (2, N, projection_dim): the anchors' projections and ``W`` times the
    positives' projections. The encoder must accept clips of any length (``audio_cnn`` does):
    it sees segments while training and whole clips in ``embed``.

    Args:
        encoder: ``keras.Model`` from waveforms (N, T, 1) of any length T to features.
        augmenter: random waveform ``keras.layers.Layer`` (identity when not training), or None
            (the paper: cropping is the only augmentation).
        segment_seconds: length of each segment, at most the clip's length.
        sample_rate: samples per second of the waveforms (the dataset's, passed by the builder).
        projection_dim: width of the projection and of the bilinear similarity.
        seed: seed of the segment offsets.
    """

    def __init__(self, encoder, augmenter=None, segment_seconds: float = 0.5, sample_rate: int = 16000, projection_dim: int = 128, seed=None, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.segment_seconds = check_number("segment_seconds", segment_seconds, low=0.0, low_inclusive=False)
        self.sample_rate = check_int("sample_rate", sample_rate, low=1)
        self.projection_dim = check_int("projection_dim", projection_dim, low=1)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self.segment_length = max(1, round(self.segment_seconds * self.sample_rate))
        self.projection = keras.layers.Dense(self.projection_dim, name="projection")
        self.projection_norm = keras.layers.LayerNormalization(name="projection_norm")
        self.bilinear = keras.layers.Dense(self.projection_dim, use_bias=False, name="bilinear")
        self.offsets = keras.random.SeedGenerator(self.seed, name="segment_offsets")
        # Each anchor's loss is a softmax cross-entropy over its row of logits; through a
        # keras.losses.Loss it is scaled per replica, so 2 replicas give the 1-device gradient.
        self.contrastive_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, name="cola")
        self.contrastive_accuracy = keras.metrics.Mean(name="contrastive_accuracy")

    def build(self, input_shape):
        if len(input_shape) != 3:
            shape = tuple(input_shape)
            raise ArgumentError("data", f"COLA needs waveforms (N, T, channels), got data of shape {shape}; use an audio dataset such as spoken_words.")
        length = input_shape[1]
        if length is not None and int(length) < self.segment_length:
            raise ArgumentError(
                "segment_seconds",
                f"{self.segment_seconds} s is {self.segment_length} samples at {self.sample_rate} Hz, longer than the clips "
                f"({int(length)} samples = {int(length) / self.sample_rate:.3g} s); use a segment of at most half the clip, "
                f"e.g. segment_seconds: {int(length) / 2 / self.sample_rate:.3g}.",
            )
        super().build(input_shape)

    def segments(self, x, training=False):
        """Two segments of ``segment_length`` samples per clip: random offsets when training, else first and last."""
        v1, v2 = self.views(x, 2, training=training)
        length = ops.shape(x)[1]
        span = self.segment_length
        if not training:
            return v1[:, :span], v2[:, length - span :]
        return self._random_segment(v1, length), self._random_segment(v2, length)

    def _random_segment(self, x, length):
        n = ops.shape(x)[0]
        high = ops.cast(length - self.segment_length + 1, "float32")
        start = ops.cast(ops.floor(keras.random.uniform((n, 1), seed=self.offsets) * high), "int32")
        start = ops.minimum(start, ops.cast(length - self.segment_length, "int32"))
        rows = start + ops.expand_dims(ops.arange(self.segment_length, dtype="int32"), 0)
        return ops.take_along_axis(x, ops.expand_dims(rows, -1), axis=1)

    def project(self, features, training=False):
        """The paper's projection g: Dense, layer normalisation, tanh."""
        return ops.tanh(self.projection_norm(self.projection(features), training=training))

    def call(self, x, training=False):
        first, second = self.segments(x, training=training)
        n = ops.shape(x)[0]
        z = self.project(self.encoder(ops.concatenate([first, second], axis=0), training=training), training=training)
        return ops.stack([z[:n], self.bilinear(z[n:])], axis=0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        logits, targets = cola_logits(all_gather(y_pred[0]), all_gather(y_pred[1]))
        loss = self.contrastive_loss(targets, logits)
        best = ops.argmax(logits, axis=1)
        self.contrastive_accuracy.update_state(ops.cast(ops.equal(best, ops.cast(targets, best.dtype)), "float32"))
        return with_model_losses(self, loss)

    def segment_pairs(self, x, seed: int = 0):
        """Two training views of each clip of ``x`` (N, T, 1) for pictures, silent outside their segment.

        Each view is the augmenter's view of the clip (when there is an augmenter) with everything
        but one random segment of ``segment_length`` samples zeroed, so a picture shows where the
        two segments of a positive pair lie in their clip. Offsets come from ``seed`` (numpy).
        """
        x = np.asarray(x, dtype="float32")
        rng = np.random.default_rng(seed)
        pairs = []
        for view in self.views(x, 2, training=True):
            view = np.asarray(ops.convert_to_numpy(view), dtype="float32")
            starts = rng.integers(0, x.shape[1] - self.segment_length + 1, size=len(x))
            inside = (np.arange(x.shape[1])[None, :] >= starts[:, None]) & (np.arange(x.shape[1])[None, :] < starts[:, None] + self.segment_length)
            pairs.append(np.where(inside[..., None], view, 0.0).astype("float32"))
        return pairs

    def write_artifacts(self, run_dir, data=None, n: int = 4) -> list:
        """``audio_views.png`` (log-mels of ``n`` training clips and their two segments) and TensorBoard audio (:mod:`kssl.viz.audio_pictures`)."""
        from kssl.viz.audio_pictures import write_audio_pictures  # matplotlib: imported only when pictures are drawn

        if data is None or np.ndim(data.x_train) != 3:
            return []
        x = np.asarray(data.x_train[:n], dtype="float32")
        return write_audio_pictures(run_dir, x, self.segment_pairs(x), self.sample_rate, max_clips=n)

    def get_config(self):
        return {
            **super().get_config(),
            "segment_seconds": self.segment_seconds,
            "sample_rate": self.sample_rate,
            "projection_dim": self.projection_dim,
            "seed": self.seed,
        }
