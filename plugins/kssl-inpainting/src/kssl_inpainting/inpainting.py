"""Context encoders: features learned by inpainting a hidden region of each image.

Pathak, Krähenbühl, Donahue, Darrell, Efros, "Context Encoders: Feature Learning by
Inpainting", CVPR 2016 (arXiv:1604.07379).
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

import kssl
from kssl.checks import check_choice, check_number
from kssl.errors import ArgumentError
from kssl.heads import VAEDecoder
from kssl.inference import map_batches
from kssl.losses import with_model_losses
from kssl_inpainting.inpainting_loss import InpaintingLoss, inpainting_loss
from kssl_inpainting.masking import REGIONS, check_fill, hide_region, region_box, region_mask

INFERENCE_SEED = 1234  # random boxes when not training: the same for the same batch, so evaluation is repeatable


@keras.saving.register_keras_serializable(package="kssl_inpainting")
class Inpainting(kssl.PretextTask):
    """Hide a region of each image, let the encoder see the rest, and reconstruct the image from its features.

    Each training batch (augmented first, when the recipe has an augmenter) gets a square
    region hidden per image: the centred box (``region: center``) or a box at a random
    position drawn afresh for every sample and step (``region: random``), its sides
    ``region_size`` times the image's. The hidden pixels are set to a constant (``fill``:
    each image's per-channel context mean, or a number) before the encoder sees the image;
    a conv decoder (:class:`kssl.heads.vae_decoder.VAEDecoder`: Dense to a small map,
    stride-2 ``Conv2DTranspose`` upsamplings, a linear 3x3 conv) maps the encoder's
    features back to a whole image. The loss (:class:`~kssl_inpainting.inpainting_loss.InpaintingLoss`)
    is the mean squared error over the hidden region, plus ``context_weight`` times that
    over the visible pixels. ``fit`` logs ``hidden_mse`` and ``context_mse``.

    The encoder learns from masked images but is used as it is on whole images: ``embed``
    (what kssl's evaluators score) is the encoder's output on the unmasked input.
    ``call`` returns ``(reconstruction, target, mask)``: the decoder's (N, H, W, C) images,
    the (augmented) images it reconstructs, and the (N, H, W, 1) mask, 1 on hidden pixels.
    When not training, random boxes come from a fixed seed (repeatable evaluation).

    Args:
        encoder: ``keras.Model`` from images (N, H, W, C) to features.
        augmenter: random ``keras.layers.Layer`` applied before masking (training only), or None.
        input_shape: shape of one image (filled in by kssl from the dataset; else read from the encoder).
        region: ``center`` or ``random``.
        region_size: side of the hidden square as a fraction of the image's side, in (0, 1).
        fill: ``mean`` (each image's context mean per channel) or a number, the value of hidden pixels.
        context_weight: weight (>= 0) of the reconstruction error on the visible pixels (0: hidden region only).
        decoder_width: channels of the decoder's full-resolution stage (doubled per upsampling toward the features).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        input_shape=None,
        region: str = "center",
        region_size: float = 0.5,
        fill="mean",
        context_weight: float = 0.0,
        decoder_width: int = 32,
        **kwargs,
    ):
        super().__init__(encoder, augmenter, **kwargs)
        shape = _image_shape(encoder if input_shape is None else None, input_shape)
        self.region = check_choice("region", region, REGIONS)
        self.box = region_box(shape, region_size)
        self.region_size = float(region_size)
        self.fill = check_fill(fill)
        self.context_weight = check_number("context_weight", context_weight, low=0.0)
        # The decoder checks decoder_width; the task keeps its checked value.
        self.decoder = VAEDecoder(shape, decoder_width, "conv", name="decoder")
        self.input_shape, self.decoder_width = tuple(self.decoder.target_shape), self.decoder.width
        self.seed_generator = keras.random.SeedGenerator(name="mask_seed")
        self.reconstruction_loss = InpaintingLoss(self.context_weight)
        self.hidden_mse = keras.metrics.Mean(name="hidden_mse")
        self.context_mse = keras.metrics.Mean(name="context_mse")

    # -- training ------------------------------------------------------------------
    def masks(self, x, training=False):
        """The (N, H, W, 1) mask of hidden pixels for the batch ``x`` (fresh random boxes only when training)."""
        seed = self.seed_generator if training else INFERENCE_SEED
        return region_mask(ops.shape(x)[0], self.input_shape, self.box, self.region, seed=seed)

    def call(self, x, training=False):
        (view,) = self.views(x, 1, training=training)
        view = ops.cast(view, "float32")
        mask = self.masks(view, training=training)
        features = self.encoder(hide_region(view, mask, self.fill), training=training)
        features = ops.reshape(features, (ops.shape(features)[0], -1))
        return self.decoder(features), view, mask

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        reconstruction, target, mask = y_pred
        loss = self.reconstruction_loss((target, mask), reconstruction)
        self.hidden_mse.update_state(inpainting_loss(target, reconstruction, mask))
        self.context_mse.update_state(inpainting_loss(target, reconstruction, 1.0 - mask))
        return with_model_losses(self, loss)

    # -- what users call, on numpy arrays -------------------------------------------
    def inpaint(self, x, batch_size: int = 256):
        """``(masked, reconstruction)`` for images ``x`` (numpy, N x H x W x C), with the masks of ``call(training=False)``.

        ``masked`` is what the encoder saw; ``reconstruction`` the decoder's whole image.
        """
        x = np.asarray(x, dtype="float32")
        if not self.built:
            self.build((None, *self.input_shape))

        def both(batch):
            batch = ops.convert_to_tensor(batch)
            reconstruction, _, mask = self(batch, training=False)
            return hide_region(batch, mask, self.fill), reconstruction, mask

        return map_batches(both, x, batch_size)[:2]

    # -- run-directory pictures ------------------------------------------------------
    def write_artifacts(self, run_dir, data=None, n: int = 8):
        """``inpainting.png`` (rows: test images, what the encoder saw, the reconstructions, the
        reconstructed region pasted into the context) and the same grid in TensorBoard
        (``logs/images``); returns the PNG's path. Nothing without ``data``."""
        from pathlib import Path

        from kssl.viz import log_images, save_image_grid

        if data is None:
            return []
        x = data.x_test if getattr(data, "x_test", None) is not None and len(data.x_test) else data.x_train
        x = np.asarray(x[:n], dtype="float32")
        masked, reconstruction, mask = map_batches(lambda b: self._pictures(ops.convert_to_tensor(b)), x, len(x))
        pasted = x * (1.0 - mask) + reconstruction * mask
        images = np.concatenate([x, masked, reconstruction, pasted], axis=0)
        scale = max(1, 64 // max(x.shape[1], x.shape[2]))  # at least ~64 pixels per image
        path = save_image_grid(images, Path(run_dir) / "inpainting.png", ncols=len(x), scale=scale)
        log_images(Path(run_dir) / "logs" / "images", "inpainting/input_masked_reconstruction_pasted", images, step=0, ncols=len(x), scale=scale)
        return [path]

    def _pictures(self, batch):
        reconstruction, _, mask = self(batch, training=False)
        return hide_region(batch, mask, self.fill), ops.clip(reconstruction, 0.0, 1.0), mask

    # -- serialisation -----------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "input_shape": list(self.input_shape),
            "region": self.region,
            "region_size": self.region_size,
            "fill": self.fill,
            "context_weight": self.context_weight,
            "decoder_width": self.decoder_width,
        }


def _image_shape(encoder, input_shape) -> tuple:
    """The (H, W, C) of one image: ``input_shape``, or the encoder's input when it is None; anything else is refused."""
    if input_shape is None:
        try:
            input_shape = tuple(encoder.inputs[0].shape[1:])
        except (AttributeError, IndexError, TypeError, ValueError):
            raise ArgumentError(
                "input_shape", "could not read the image shape from the encoder (not a functional model); pass input_shape=(H, W, C)."
            ) from None
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ArgumentError(
            "input_shape",
            f"the inpainting pretext hides a region of each image and needs image data of shape (height, width, channels), "
            f"but the data's samples have shape {tuple(input_shape) if shape is not None else input_shape!r}. "
            "Use an image dataset in the data section (e.g. data: {type: digits}, or type: numpy with images).",
        )
    return shape
