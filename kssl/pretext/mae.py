"""MAE: masked autoencoders (He, Chen, Xie, Li, Dollár, Girshick, CVPR 2022, arXiv:2111.06377)."""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kssl.checks import check_bool, check_int, check_number
from kssl.encoders.patch_embedding import patchify, unpatchify
from kssl.encoders.vit import VisionTransformer
from kssl.errors import ArgumentError
from kssl.heads.mae_decoder import MAEDecoder
from kssl.inference import map_batches
from kssl.losses.cross_replica import with_model_losses
from kssl.losses.masked_patch_mse import EPSILON, MaskedPatchMSELoss
from kssl.pretext.patch_masking import num_masked_patches, random_masking
from kssl.pretext.pretext_task import PretextTask

EVAL_SEED = 1234  # masks when not training: fixed, so evaluation and saved-model outputs repeat exactly


@keras.saving.register_keras_serializable(package="kssl")
class MAE(PretextTask):
    """Mask most patches of each image, encode the visible ones, reconstruct every patch's pixels.

    Per sample, ``round(mask_ratio * N)`` of the encoder's N patches are masked at random
    (a different set per sample and step: :mod:`kssl.pretext.patch_masking`); the
    :class:`~kssl.encoders.vit.VisionTransformer` encodes only the visible patch tokens (no
    mask tokens in the encoder, the paper's key to speed); a light transformer
    (:class:`~kssl.heads.mae_decoder.MAEDecoder`: learned mask token, its own position
    embedding) predicts the pixels of every patch, and the loss
    (:class:`~kssl.losses.masked_patch_mse.MaskedPatchMSELoss`) is the mean squared error
    on the masked patches only, against per-patch normalised pixels with ``norm_pix_loss``.
    An augmenter is optional (the paper uses only random crops and flips); when given, the
    augmented image is both input and target.

    ``call(x)`` returns ``(predicted, target, mask)``: (B, N, P) predicted pixel patches,
    (B, N, P) the input's patches, (B, N) 1 where masked. When not training the masks are
    drawn from a fixed seed, so validation losses and a reloaded model's outputs repeat.
    ``reconstruct(x)`` gives images for pictures; after training, ``write_artifacts`` draws
    ``mae_reconstructions.png`` (inputs, masked inputs, reconstructions) and logs it to
    TensorBoard. Features for evaluators are the encoder's on the whole, unmasked image.

    Args:
        encoder: a ``vit`` encoder (:class:`~kssl.encoders.vit.VisionTransformer`).
        augmenter: optional random ``keras.layers.Layer`` (light crops).
        mask_ratio: share of the patches masked per image, in (0, 1) (MAE: 0.75).
        decoder_width: token width of the decoder.
        decoder_depth: transformer blocks of the decoder.
        decoder_num_heads: attention heads of the decoder; must divide ``decoder_width``.
        decoder_mlp_ratio: the decoder's MLP hidden units per token channel.
        norm_pix_loss: reconstruct per-patch normalised pixels (the paper's default for its best results).
    """

    def __init__(
        self,
        encoder,
        augmenter=None,
        mask_ratio: float = 0.75,
        decoder_width: int = 64,
        decoder_depth: int = 2,
        decoder_num_heads: int = 4,
        decoder_mlp_ratio: float = 2.0,
        norm_pix_loss: bool = False,
        **kwargs,
    ):
        if not isinstance(encoder, VisionTransformer):
            raise ArgumentError(
                "encoder",
                f"the mae pretext task masks image patches and encodes only the visible ones, which needs kssl's vit encoder; "
                f"got {type(encoder).__name__} ({getattr(encoder, 'name', '?')}). Use `encoder: {{type: vit, patch_size: 4}}`.",
            )
        super().__init__(encoder, augmenter, **kwargs)
        self.mask_ratio = check_number("mask_ratio", mask_ratio, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
        self.num_masked = num_masked_patches(encoder.num_patches, self.mask_ratio)
        self.decoder_width = check_int("decoder_width", decoder_width, low=1)
        self.decoder_depth = check_int("decoder_depth", decoder_depth, low=1)
        self.decoder_num_heads = check_int("decoder_num_heads", decoder_num_heads, low=1)
        self.decoder_mlp_ratio = check_number("decoder_mlp_ratio", decoder_mlp_ratio, low=0.0, low_inclusive=False)
        self.norm_pix_loss = check_bool("norm_pix_loss", norm_pix_loss)
        rows, cols = encoder.grid_size
        self.channels = int(encoder.image_shape[-1])
        self.decoder = MAEDecoder(
            rows,
            cols,
            encoder.patch_size**2 * self.channels,
            width=self.decoder_width,
            depth=self.decoder_depth,
            num_heads=self.decoder_num_heads,
            mlp_ratio=self.decoder_mlp_ratio,
            num_prefix_tokens=encoder.num_prefix_tokens,
            position_embedding=encoder.position_embedding,
            name="decoder",
        )
        self.seed_generator = keras.random.SeedGenerator(name="mask_seed")
        self.reconstruction_loss = MaskedPatchMSELoss(self.norm_pix_loss)

    # -- training ------------------------------------------------------------------
    def call(self, x, training=False):
        images = self.views(x, 1, training=training)[0]
        predicted, mask = self._reconstruct_patches(images, self.seed_generator if training else EVAL_SEED, training)
        return predicted, patchify(images, self.encoder.patch_size), mask

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        predicted, target, mask = y_pred
        loss = self.reconstruction_loss(target, predicted, sample_weight=mask)
        return with_model_losses(self, loss)

    def _reconstruct_patches(self, images, seed, training):
        tokens = self.encoder.embed_patches(images, training=training)
        visible, mask, ids_restore = random_masking(tokens, self.num_masked, seed)
        encoded = self.encoder.encode_tokens(visible, training=training)
        return self.decoder(encoded, ids_restore, training=training), mask

    # -- pictures ----------------------------------------------------------------------
    def reconstruct(self, x, seed: int = EVAL_SEED, batch_size: int = 64):
        """``(masked, reconstructed)`` images (numpy, shaped like ``x``) for the images ``x``.

        ``masked``: the masked patches set to 0.5 grey; ``reconstructed``: the visible
        patches as in ``x``, the masked ones as predicted (de-normalised with each patch's
        own mean and spread when the model predicts normalised pixels). ``seed`` fixes the
        masks (the same per position within a batch).
        """
        x = np.asarray(x, dtype="float32")
        p, (rows, cols) = self.encoder.patch_size, self.encoder.grid_size

        def images(batch):
            batch = ops.convert_to_tensor(batch)
            predicted, mask = self._reconstruct_patches(batch, seed, False)
            target = patchify(batch, p)
            predicted = ops.cast(predicted, "float32")
            if self.norm_pix_loss:
                mean, var = ops.mean(target, axis=-1, keepdims=True), ops.var(target, axis=-1, keepdims=True)
                predicted = predicted * ops.sqrt(var + EPSILON) + mean
            mask = mask[..., None]
            masked = target * (1.0 - mask) + 0.5 * mask
            filled = target * (1.0 - mask) + predicted * mask
            return tuple(unpatchify(t, p, rows, cols, self.channels) for t in (masked, filled))

        return map_batches(images, x, batch_size, empty_shape=(0, *x.shape[1:]))

    def write_artifacts(self, run_dir, data=None, n: int = 16) -> list:
        """``mae_reconstructions.png`` and its TensorBoard image (:mod:`kssl.viz.mae_pictures`) for ``n`` held-out images."""
        from kssl.viz.mae_pictures import write_mae_pictures

        if data is None:
            return []
        x = data.x_test if getattr(data, "x_test", None) is not None and len(data.x_test) else data.x_train
        x = np.asarray(x[:n], dtype="float32")
        masked, reconstructed = self.reconstruct(x)
        return write_mae_pictures(run_dir, x, masked, reconstructed)

    # -- serialisation -------------------------------------------------------------------
    def get_config(self):
        return {
            **super().get_config(),
            "mask_ratio": self.mask_ratio,
            "decoder_width": self.decoder_width,
            "decoder_depth": self.decoder_depth,
            "decoder_num_heads": self.decoder_num_heads,
            "decoder_mlp_ratio": self.decoder_mlp_ratio,
            "norm_pix_loss": self.norm_pix_loss,
        }
