"""``kssl.PretextTask``: the base class every self-supervised method subclasses."""

from __future__ import annotations

import keras
import numpy as np

from kssl.data.epoch_steps import EpochSteps
from kssl.data.image_stream import ImageStream
from kssl.data.stream_input import stream_fit_input
from kssl.errors import ArgumentError


@keras.saving.register_keras_serializable(package="kssl")
class PretextTask(keras.Model):
    """A self-supervised method: an encoder, an optional augmenter, heads, and a loss.

    A method subclasses this and writes only what is its own: ``__init__`` (its
    arguments, checked with :mod:`kssl.checks`, and its heads), ``call``,
    ``compute_loss`` and ``get_config`` (its own arguments, merged into the base's)::

        @keras.saving.register_keras_serializable(package="my_plugin")
        class MyTask(kssl.PretextTask):
            def __init__(self, encoder, augmenter=None, temperature=0.1, **kwargs):
                super().__init__(encoder, augmenter, **kwargs)
                self.temperature = check_positive("temperature", temperature)
                self.projector = kssl.heads.MLPHead([256], 64, name="projector")

            def call(self, x, training=False):
                v1, v2 = self.views(x, 2, training=training)
                ...

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                ...

            def get_config(self):
                return {**super().get_config(), "temperature": self.temperature}

    The base owns what every method shares:

    - building: :meth:`build` builds the augmenter and encoder for the input shape, then
      :meth:`build_heads` creates every other weight (by default by running ``call`` once
      on a batch of two zero samples);
    - :meth:`views`: ``n`` augmented views of a batch (the batch itself when not training);
    - saving: ``get_config``/``from_config`` serialise the encoder and augmenter, so a saved
      model reloads with ``keras.models.load_model`` after ``import kssl``;
    - :meth:`embed`: batched, distribution-aware features of an array, for evaluators;
    - ``fit`` adds the callbacks of :meth:`training_callbacks` and feeds raw samples through
      :meth:`make_dataset` when the method has a data-side pipeline.

    Optional capabilities, each with a default that means "none" (override to provide it):

    ``uses_augmenter`` (class attribute, default True)
        False: the method rejects an augmenter (e.g. a VAE reconstructs its input).
    ``needs_augmenter`` (class attribute, default False)
        True: the method compares augmented views and rejects ``augmenter=None`` (two
        identical views teach nothing), with an error naming ``augmenter``.
    :meth:`make_dataset`
        A data-side pipeline from raw samples (tokenisation and masking, targets that change
        during training). Default None: ``fit`` takes the arrays as they are.
    :meth:`use_context`
        Dataset context values a reloaded model needs but does not save (CLIP's captions), handed
        over by ``kssl train --resume``. Default: none needed.
    :meth:`training_callbacks`
        Callbacks the method needs while training (a momentum update, DEC's phases), run before the
        caller's own. Default [].
    :meth:`write_artifacts`
        Files the method writes into a run directory after training (a vocabulary). Default none.
    :meth:`predict_clusters` and ``n_clusters``
        The method's own cluster assignments (DEC, SwAV), scored by the ``clustering``
        evaluator. Default None: the method does not cluster.

    Args:
        encoder: ``keras.Model`` from samples to features, exposed as ``.encoder``.
        augmenter: random ``keras.layers.Layer`` (identity when not training), or None.
    """

    uses_augmenter = True
    needs_augmenter = False

    def __init__(self, encoder, augmenter=None, **kwargs):
        super().__init__(**kwargs)
        if augmenter is not None and not self.uses_augmenter:
            raise ArgumentError(
                "augmenter",
                f"the {type(self).__name__} pretext task does not use an augmenter; remove the augmenter section.",
            )
        if augmenter is None and self.needs_augmenter:
            raise ArgumentError(
                "augmenter",
                f"the {type(self).__name__} pretext task compares two augmented views and needs an augmenter, got none (augmenter: null). "
                "Add an augmenter section, e.g. augmenter: {type: simclr}.",
            )
        self.encoder = encoder
        self.augmenter = augmenter

    # -- building -----------------------------------------------------------------
    def build(self, input_shape):
        if self.augmenter is not None and not self.augmenter.built:
            self.augmenter.build(input_shape)
        if not self.encoder.built:
            self.encoder.build(input_shape)
        self.build_heads(input_shape)
        self.built = True

    def build_heads(self, input_shape):
        """Create the weights of everything but the encoder and augmenter.

        The default runs ``call`` once on a batch of two zero samples (not training), which
        builds every layer ``call`` uses. Override it for weights ``call`` does not create
        (``add_weight`` of centroids or counters); call ``super().build_heads`` after.
        """
        sample = tuple(int(d) for d in input_shape[1:])
        self.call(keras.ops.zeros((2, *sample), dtype=self.compute_dtype), training=False)

    # -- views ----------------------------------------------------------------------
    def views(self, x, n: int = 2, training=False) -> list:
        """``n`` independently augmented views of the batch ``x`` (``n`` times ``x`` when not training)."""
        if self.augmenter is None or not training:
            return [x] * n
        return [self.augmenter(x, training=True) for _ in range(n)]

    # -- features -----------------------------------------------------------------
    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        """Features of ``x`` for evaluators: a 2-D float32 array, one row per sample.

        The default is the encoder's output (``predict``, padded where JAX data
        parallelism needs even batches), flattened. Override it where the method's
        representation is elsewhere (a VAE's posterior means, DEC's bottleneck), using
        :func:`kssl.inference.map_batches`.
        """
        from kssl.inference import predict

        features = np.asarray(predict(self.encoder, x, batch_size=batch_size), dtype=np.float32)
        return features.reshape(len(features), -1)

    # -- optional capabilities --------------------------------------------------------
    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed=None):
        """A data-side pipeline (tf.data or ``keras.utils.PyDataset``) from raw samples ``x``, or None.

        None (the default): ``fit`` trains on ``x`` as it is. A method whose inputs or
        targets are made outside the model (tokenisation, masking, targets that change
        between epochs) returns the pipeline here; ``fit`` and ``kssl train`` use it.
        """
        return None

    @classmethod
    def has_data_pipeline(cls) -> bool:
        """Whether the method overrides :meth:`make_dataset` (its samples then stay in memory: no streamed datasets)."""
        return cls.make_dataset is not PretextTask.make_dataset

    def use_context(self, context: dict) -> None:
        """Take the dataset's context values a reloaded model needs and does not save (CLIP's captions). Default: none.

        ``kssl train --resume`` calls it after loading a checkpoint, with ``DataSplits.context``.
        """

    def training_callbacks(self, data=None) -> list:
        """Callbacks the method needs during ``fit`` (``data``: what ``fit`` trains on). Default: none."""
        return []

    def write_artifacts(self, run_dir, data=None) -> list:
        """Write method-specific files into ``run_dir`` after training; returns their paths. Default: none."""
        return []

    def predict_clusters(self, x, batch_size: int = 256):
        """The method's own cluster id of each sample (N,), or None when the method does not cluster."""
        return None

    @property
    def n_clusters(self):
        """How many clusters :meth:`predict_clusters` can return (None: the method does not cluster)."""
        return None

    # -- training -------------------------------------------------------------------
    def fit(self, x=None, y=None, batch_size=None, epochs=1, callbacks=None, shuffle=True, **kwargs):
        """``keras.Model.fit``, through :meth:`make_dataset` for raw samples, with :meth:`training_callbacks` added."""
        if isinstance(x, ImageStream):  # a streamed dataset: its sharded tf.data pipeline, one pass per epoch
            steps = kwargs.pop("steps_per_epoch", None)
            x, options = stream_fit_input(self, x, batch_size or 32, shuffle, seed=0, steps_per_epoch=steps, initial_epoch=kwargs.get("initial_epoch", 0))
            batch_size, shuffle, kwargs["steps_per_epoch"] = None, False, options["steps_per_epoch"]
        elif x is not None and y is None and _is_array_like(x):
            pipeline = self.make_dataset(x, batch_size=batch_size or 32, shuffle=shuffle)
            if pipeline is not None:
                x, batch_size, shuffle = pipeline, None, False
        callbacks = list(callbacks or [])
        # The method's callbacks run first, so that what they log (e.g. DEC's phase) reaches the caller's
        # loggers and their stop decisions are seen in the same epoch; a caller's own instance wins.
        # train.steps_per_epoch wraps the method's feeder (EpochSteps): its callbacks need the feeder it made.
        feeder = x.inner if isinstance(x, EpochSteps) else x
        own = [c for c in self.training_callbacks(feeder) if not any(type(c) is type(mine) for mine in callbacks)]
        callbacks = [*own, *callbacks]
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, callbacks=callbacks, shuffle=shuffle, **kwargs)

    # -- saving ---------------------------------------------------------------------
    def get_config(self):
        """The base config plus the serialised ``encoder`` and ``augmenter``; subclasses add their own arguments."""
        config = super().get_config()
        serialize = keras.saving.serialize_keras_object
        config["encoder"] = serialize(self.encoder)
        config["augmenter"] = serialize(self.augmenter) if self.augmenter is not None else None
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "augmenter"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _is_array_like(x) -> bool:
    """Raw samples (an array or a list), as opposed to a dataset or generator ``fit`` iterates itself."""
    return isinstance(x, (np.ndarray, list))
