"""Colorization: self-supervised features from predicting the colours of a grayscale image.

Zhang, Isola, Efros, "Colorful Image Colorization", ECCV 2016 (arXiv:1603.08511); Larsson, Maire,
Shakhnarovich, "Learning Representations for Automatic Colorization", ECCV 2016 (arXiv:1603.06668).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

import kssl
from kssl.checks import check_int, check_positive
from kssl.errors import ArgumentError, KsslError
from kssl.inference import map_batches
from kssl.losses import with_model_losses
from kssl_colorization.colorization_loss import ColorizationLoss
from kssl_colorization.lab import luminance_rgb, rgb_to_lab

GRAY_TOLERANCE = 1.0 / 255.0  # images whose channels differ by less than one 8-bit level everywhere are gray


@keras.saving.register_keras_serializable(package="kssl_colorization")
class Colorization(kssl.PretextTask):
    """Predict the colours (CIE ab) of an image from its lightness (L*) alone.

    Each batch of RGB images in [0, 1] (augmented first when an augmenter is given; a geometric one:
    colour jitter would change the targets) is converted to CIE Lab. The encoder sees only the
    lightness, L*/100 repeated into the three channels (:func:`kssl_colorization.lab.luminance_rgb`);
    a small decoder head (Dense, reshape to ``target_size`` x ``target_size`` x ``head_width``, a 3x3 and a
    1x1 convolution) predicts, at each position of that coarse grid, a distribution over the Q in-gamut
    ab bins of a ``bin_size`` grid. The targets are the images' ab averaged over each grid cell.

    Classification, not regression (Zhang et al., Sec. 2.1): colours are multimodal (a gray shirt may be
    red or blue), and an L2 regression of ab is pulled to the desaturated mean of the modes; the
    multinomial loss with soft-encoded targets (:class:`~kssl_colorization.colorization_loss.ColorizationLoss`)
    keeps the modes apart. Class rebalancing is left out (it serves vivid pictures, not features).
    The head sees only the encoder's pooled features (N, D), so all the colour information passes
    through the representation that the evaluators score (no skip connection from the input).

    Training and evaluation see the same input: ``call`` and :meth:`embed` (what kNN, linear-probe,
    few-shot and clustering evaluators and ``kssl embed`` use) both feed the encoder
    ``luminance_rgb(x)``. The exported ``encoder.keras`` is the bare encoder: give it
    ``luminance_rgb(images)``, not colour images (``kssl finetune`` feeds it colour images).

    Tracked metric ``ab_error``: the mean Euclidean distance in ab between the target and the annealed
    mean of the predicted distribution (Zhang et al., Sec. 3.1, ``temperature`` 0.38).

    Args:
        encoder: ``keras.Model`` from RGB images (N, H, W, 3) to features (N, D).
        augmenter: random ``keras.layers.Layer`` applied before the colour conversion (training only), or None.
        target_size: side of the predicted ab grid; must divide the image height and width (16x16 images: 1, 2, 4, 8 or 16).
        bin_size: side of the ab quantisation grid (Zhang et al.: 10, here 261 in-gamut bins).
        neighbours: bins each true colour is spread over (Zhang et al.: 5).
        sigma: width of the spreading Gaussian in ab units (Zhang et al.: 5).
        head_width: channels of the decoder head's grid.
        temperature: annealed-mean temperature of the ``ab_error`` metric (1: the mean, towards 0: the mode).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        target_size: int = 8,
        bin_size: float = 10.0,
        neighbours: int = 5,
        sigma: float = 5.0,
        head_width: int = 32,
        temperature: float = 0.38,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        self.target_size = check_int("target_size", target_size, low=1)
        self.head_width = check_int("head_width", head_width, low=1)
        self.temperature = check_positive("temperature", temperature)
        self.colour_loss = ColorizationLoss(bin_size=bin_size, neighbours=neighbours, sigma=sigma)
        self.bin_size, self.neighbours, self.sigma = self.colour_loss.bin_size, self.colour_loss.neighbours, self.colour_loss.sigma
        self.num_bins = len(self.colour_loss.bin_centres)
        if self.neighbours > self.num_bins:
            raise ArgumentError("neighbours", f"expected at most the {self.num_bins} ab bins of bin_size {bin_size:g}, got {neighbours}.")
        self._check_images(getattr(encoder, "input_shape", None))
        size, width = self.target_size, self.head_width
        self.head = keras.Sequential(
            [
                keras.layers.Dense(size * size * width, activation="relu"),
                keras.layers.Reshape((size, size, width)),
                keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
                keras.layers.Conv2D(self.num_bins, 1),
            ],
            name="colour_head",
        )
        self.ab_error = keras.metrics.Mean(name="ab_error")

    def _check_images(self, shape) -> None:
        if not (isinstance(shape, tuple) and len(shape) == 4):
            return  # an encoder without a fixed image input: the shapes are checked when it runs
        height, width, channels = shape[1:]
        if channels != 3:
            raise ArgumentError(
                "encoder",
                f"colorization needs colour images, got {channels} channel{'s' if channels != 1 else ''} (the encoder takes "
                f"{height}x{width}x{channels} images). It predicts colour from lightness, so it trains on RGB images: use a colour "
                "dataset such as data: {type: colour_tiles} (kssl-colorization), or RGB images of your own (data.channels: 3); "
                "gray digits repeated into three channels have no colour to predict.",
            )
        for side in (height, width):
            if side is not None and (self.target_size > side or side % self.target_size):
                raise ArgumentError(
                    "target_size",
                    f"the predicted ab grid must evenly divide the {height}x{width} images, got {self.target_size}. "
                    f"Use a divisor of {side} no larger than it, e.g. {max(d for d in range(1, min(side, 8) + 1) if side % d == 0)}.",
                )

    def targets(self, lab):
        """The ab targets (N, target_size, target_size, 2): the mean ab of each grid cell of Lab images (N, H, W, 3)."""
        height, width = int(lab.shape[1]), int(lab.shape[2])
        pool = (height // self.target_size, width // self.target_size)
        return ops.average_pool(lab[..., 1:], pool_size=pool, strides=pool, padding="valid")

    def call(self, x, training=False):
        (view,) = self.views(x, 1, training=training)
        lab = rgb_to_lab(view)
        gray = ops.concatenate([lab[..., :1] / 100.0] * 3, axis=-1)  # luminance_rgb, from the Lab computed once
        logits = self.head(self.encoder(gray, training=training), training=training)
        return {"logits": logits, "ab": ops.stop_gradient(self.targets(lab))}

    def predict_ab(self, logits):
        """The annealed mean (..., 2) of the predicted ab distributions (logits (..., Q)) at ``temperature``."""
        probs = ops.softmax(ops.cast(logits, "float32") / self.temperature, axis=-1)
        return ops.matmul(probs, ops.convert_to_tensor(self.colour_loss.bin_centres))

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = self.colour_loss(y_pred["ab"], y_pred["logits"])
        distance = ops.sqrt(ops.sum(ops.square(self.predict_ab(y_pred["logits"]) - y_pred["ab"]), axis=-1) + 1e-12)
        self.ab_error.update_state(distance)
        return with_model_losses(self, loss)

    def embed(self, x, batch_size: int = 256) -> np.ndarray:
        """The encoder's features of ``luminance_rgb(x)``: the lightness the encoder was trained on, not the colours."""
        gray = map_batches(luminance_rgb, np.asarray(x, "float32"), batch_size, (0, *np.shape(x)[1:]))
        return super().embed(gray, batch_size=batch_size)

    def make_dataset(self, x, batch_size: int = 32, shuffle: bool = True, seed=None):
        """No pipeline of its own (None); refuses gray training images (three equal channels), which carry no colour to learn."""
        sample = np.asarray(x[:1024], "float32")
        if sample.ndim == 4 and sample.shape[-1] == 3 and float(np.max(np.ptp(sample, axis=-1))) < GRAY_TOLERANCE:
            raise KsslError(
                f"data: colorization needs colour images, but the first {len(sample)} training images are gray (their three channels "
                "are equal): there is no colour to predict. Use colour images, e.g. data: {type: colour_tiles} (kssl-colorization)."
            )
        return None

    def get_config(self):
        return {
            **super().get_config(),
            "target_size": self.target_size,
            "bin_size": self.bin_size,
            "neighbours": self.neighbours,
            "sigma": self.sigma,
            "head_width": self.head_width,
            "temperature": self.temperature,
        }
