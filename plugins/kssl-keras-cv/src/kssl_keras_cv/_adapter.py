"""What every keras-cv adapter shares: the backend check, the lazy import, training-only calls."""

from __future__ import annotations

import keras

from kssl.errors import ArgumentError


def import_keras_cv(name: str):
    """``keras_cv``, after checking that it can work here; else an ArgumentError naming ``type``.

    keras-cv 0.9 layers run only on the TensorFlow backend (eagerly, in tf.data,
    and inside a TensorFlow model); inside a JAX jitted step or on torch they fail
    deep inside keras-cv. The backend is checked before keras-cv is imported.
    """
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ArgumentError(
            "type",
            f"{name!r} wraps a keras-cv layer, and keras-cv 0.9 layers run only on the TensorFlow backend; "
            f"this run uses the {backend} backend. Run with --backend tensorflow (or `backend: tensorflow` in the "
            "recipe), or pick an augmenter that runs on every backend, such as the built-in `simclr`.",
        )
    try:
        import keras_cv
    except ImportError as exc:
        raise ArgumentError("type", f"{name!r} needs keras-cv, which cannot be imported ({exc}). Install it with `pip install keras-cv`.") from None
    return keras_cv


class KerasCVAdapter(keras.layers.Layer):
    """Base of the adapters: runs a keras-cv layer only when ``training=True``.

    keras-cv layers augment whenever they are called; kssl augmenters are the
    identity at inference, so the adapter decides. keras-cv's per-image code
    needs AutoGraph, which Keras' own train step does not apply to layers: the
    adapter traces :meth:`augment` with ``tf.function(autograph=True)``, so the
    layer works eagerly, in tf.data and inside a TensorFlow model (not under XLA,
    ``train.jit_compile: true``). Subclasses create ``self.layer`` in
    :meth:`make_layer` (called from ``build``, when the image size is known) and
    keep their constructor arguments as attributes of the same names.
    """

    registered_name = "augmenter"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        import_keras_cv(self.registered_name)  # fail here, with a clear message, not mid-training
        self.layer = None
        self._traced_augment = None

    def make_layer(self, input_shape):
        raise NotImplementedError

    def augment(self, x):
        """The keras-cv layer applied to a batch (always random)."""
        return self.layer(x)

    def build(self, input_shape):
        import tensorflow as tf

        if len(input_shape) != 4:
            raise ValueError(f"{self.registered_name} expects a batch of images (N, H, W, C), got shape {tuple(input_shape)}.")
        self.layer = self.make_layer(input_shape)
        self._traced_augment = tf.function(self.augment, autograph=True, reduce_retracing=True)
        self.built = True

    def call(self, x, training=False):
        if not training:
            return x
        return keras.ops.cast(self._traced_augment(x), x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
