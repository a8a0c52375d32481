"""Per-sample random resized crop (+ horizontal flip), written with ``keras.ops``."""

from __future__ import annotations

import math

import keras
from keras import ops

from kssl.checks import check_int, check_probability, check_range_pair


@keras.saving.register_keras_serializable(package="kssl")
class RandomResizedCrop(keras.layers.Layer):
    """Crop a random box of each image and resize it back to the input size.

    Each sample draws its own area fraction ``s ~ U(scale)`` and aspect ratio
    ``r`` (log-uniform in ``ratio``), as in Inception / SimCLR; the box is
    ``W*sqrt(s*r)`` by ``H*sqrt(s/r)`` pixels, clipped to the image, at a uniform
    random position inside it. It is resampled bilinearly to (H, W) by two
    per-sample interpolation matrices (the crop is axis-aligned, so resampling is
    separable), which runs eagerly, in tf.data and inside jit on TensorFlow (with
    or without XLA), JAX and torch; ``keras.ops.image.affine_transform`` gives the
    same result but fails under TensorFlow XLA. A horizontal flip with probability
    ``flip_probability`` is folded into the same mapping.

    Random only when called with ``training=True``; identity otherwise (when ``size`` is
    set, a plain bilinear resize of the whole image instead).
    Input: (N, H, W, C) float images, channels last; output (N, H, W, C), or (N, size, size, C).

    Args:
        scale: range of the box's area as a fraction of the image, within (0, 1].
        ratio: range of the box's width/height ratio (sampled log-uniformly).
        flip_probability: probability of a horizontal flip.
        seed: seed of the layer's random stream (None: random).
        size: side of the square output in pixels (None: the input's height and width), at
            most the input's side (multi-crop's smaller local crops).
    """

    def __init__(self, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip_probability: float = 0.5, seed=None, size=None, **kwargs):
        scale = check_range_pair("scale", scale, low=0.0, high=1.0, low_inclusive=False, what="area fractions", example="[0.08, 1.0]")
        ratio = check_range_pair("ratio", ratio, low=0.0, low_inclusive=False, what="aspect ratios", example="[0.75, 1.333]")
        flip_probability = check_probability("flip_probability", flip_probability)
        size = None if size is None else check_int("size", size, low=1)
        super().__init__(**kwargs)
        self.size = size
        self.scale = list(scale)
        self.ratio = list(ratio)
        self.flip_probability = flip_probability
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images if self.size is None else self._resize(images)
        n = ops.shape(images)[0]
        area = keras.random.uniform((n,), self.scale[0], self.scale[1], seed=self.seed_generator)
        log_ratio = keras.random.uniform((n,), math.log(self.ratio[0]), math.log(self.ratio[1]), seed=self.seed_generator)
        u_x = keras.random.uniform((n,), seed=self.seed_generator)
        u_y = keras.random.uniform((n,), seed=self.seed_generator)
        flip = ops.cast(keras.random.uniform((n,), seed=self.seed_generator) < self.flip_probability, "float32")
        return self.crop_box(images, area, ops.exp(log_ratio), u_x, u_y, flip)

    def crop_box(self, images, area, ratio, u_x, u_y, flip):
        """The crop with given per-sample (N,) values: ``area`` fraction, width/height ``ratio``, box position
        ``u_x``, ``u_y`` in [0, 1] (0: left/top edge, 1: right/bottom edge) and ``flip`` (1.0: mirrored)."""
        hf, wf = float(images.shape[1]), float(images.shape[2])
        ho, wo = (hf, wf) if self.size is None else (float(self.size), float(self.size))
        area, ratio, flip = (ops.cast(v, "float32") for v in (area, ratio, flip))
        cw = ops.clip(wf * ops.sqrt(area * ratio), 1.0, wf)
        ch = ops.clip(hf * ops.sqrt(area / ratio), 1.0, hf)
        x0 = ops.cast(u_x, "float32") * (wf - cw)
        y0 = ops.cast(u_y, "float32") * (hf - ch)
        sx, sy = cw / wo, ch / ho
        # The box is [x0, x0+cw] x [y0, y0+ch] in edge coordinates. Output pixel centre
        # i + 0.5 maps to x0 + (i + 0.5) * sx, i.e. input pixel index x0 + (i + 0.5) * sx - 0.5;
        # a flip uses w - 1 - i instead of i. (scale = ratio = 1, no flip: the identity.)
        a0 = sx * (1.0 - 2.0 * flip)
        a2 = x0 - 0.5 + sx * (0.5 + flip * (wo - 1.0))
        b2 = y0 - 0.5 + 0.5 * sy
        return self._resample(images, a0, a2, sy, b2, ho, wo)

    def _resize(self, images):
        """The whole image resized bilinearly to ``size`` (the crop's mapping with the full box and no flip)."""
        n = ops.shape(images)[0]
        hf, wf, side = float(images.shape[1]), float(images.shape[2]), float(self.size)
        ones = ops.ones((n,), "float32")
        sx, sy = ones * (wf / side), ones * (hf / side)
        return self._resample(images, sx, 0.5 * sx - 0.5, sy, 0.5 * sy - 0.5, side, side)

    def _resample(self, images, a0, a2, sy, b2, ho, wo):
        """Output pixel (i, k) samples the input at column ``a0 * i + a2`` and row ``sy * k + b2`` (per sample, bilinear)."""
        hf, wf = float(images.shape[1]), float(images.shape[2])
        # The crop is axis-aligned, so bilinear resampling is separable: per sample, an (H_out, H)
        # and a (W_out, W) matrix of hat weights max(0, 1 - |source - j|) with the source coordinate
        # clamped to the image (nearest fill). Two einsums apply them; unlike
        # ops.image.affine_transform this also compiles under XLA on TensorFlow.
        cols = ops.arange(int(wf), dtype="float32")
        rows = ops.arange(int(hf), dtype="float32")
        out_cols = ops.arange(int(wo), dtype="float32")
        out_rows = ops.arange(int(ho), dtype="float32")
        src_x = ops.clip(a0[:, None] * out_cols[None, :] + a2[:, None], 0.0, wf - 1.0)  # (n, W_out)
        src_y = ops.clip(sy[:, None] * out_rows[None, :] + b2[:, None], 0.0, hf - 1.0)  # (n, H_out)
        wx = ops.relu(1.0 - ops.abs(src_x[:, :, None] - cols[None, None, :]))  # (n, W_out, W_in)
        wy = ops.relu(1.0 - ops.abs(src_y[:, :, None] - rows[None, None, :]))  # (n, H_out, H_in)
        x = ops.cast(images, "float32")
        x = ops.einsum("nij,nhjc->nhic", wx, x)
        out = ops.einsum("nkh,nhic->nkic", wy, x)
        return ops.cast(out, images.dtype)

    def compute_output_shape(self, input_shape):
        if self.size is None:
            return input_shape
        return (input_shape[0], self.size, self.size, *input_shape[3:])

    def get_config(self):
        config = super().get_config()
        config.update(scale=list(self.scale), ratio=list(self.ratio), flip_probability=self.flip_probability, seed=self.seed, size=self.size)
        return config
