"""MAE's per-sample random patch masking (He et al., "Masked Autoencoders Are Scalable Vision Learners", CVPR 2022, §3).

Every sample gets its own random subset of exactly ``num_masked`` masked patches: the
patches are ranked by uniform noise (``argsort``), the first ``N - num_masked`` of the
ranking are kept (visible), the rest are masked. ``ids_restore`` (the inverse ranking)
puts a sequence in ranking order back in patch order, which is how the decoder places
its mask tokens.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from kssl.errors import ArgumentError


def num_masked_patches(num_patches: int, mask_ratio: float, key: str = "mask_ratio") -> int:
    """``round(mask_ratio * num_patches)`` (halves round up), checked to leave at least one patch masked and one visible."""
    masked = int(math.floor(mask_ratio * num_patches + 0.5))
    if masked >= num_patches:
        raise ArgumentError(
            key,
            f"{mask_ratio} masks all {num_patches} patches of an image, leaving the encoder none to see; "
            f"use at most {(num_patches - 1) / num_patches:.3f} ({num_patches - 1} of {num_patches} patches masked) or a smaller patch_size.",
        )
    if masked < 1:
        raise ArgumentError(
            key,
            f"{mask_ratio} masks no patch of the {num_patches} an image has (round({mask_ratio} * {num_patches}) = 0), so there is "
            f"nothing to reconstruct; use at least {0.5 / num_patches:.3f} (MAE uses 0.75).",
        )
    return masked


def mask_from_noise(tokens, noise, num_masked: int):
    """Split ``tokens`` (B, N, D) by ``noise`` (B, N): the patches of the ``N - num_masked`` smallest noise values stay visible.

    Returns ``(visible, mask, ids_restore)``:

    - ``visible`` (B, N - num_masked, D): the kept tokens, in order of increasing noise;
    - ``mask`` (B, N) float: 1 for a masked patch, 0 for a visible one, in patch order;
    - ``ids_restore`` (B, N) int32: ``take_along_axis(x_in_ranking_order, ids_restore)`` puts
      a sequence in ranking order (visible tokens first, then mask tokens) back in patch order.
    """
    n = int(tokens.shape[1])
    keep = n - int(num_masked)
    ids_shuffle = ops.cast(ops.argsort(noise, axis=1), "int32")
    ids_restore = ops.cast(ops.argsort(ids_shuffle, axis=1), "int32")
    ids_keep = ids_shuffle[:, :keep]
    visible = ops.take_along_axis(tokens, gather_indices(ids_keep, int(tokens.shape[-1])), axis=1)
    ranking = ops.concatenate([ops.zeros_like(ids_keep), ops.ones_like(ids_shuffle[:, keep:])], axis=1)
    mask = ops.cast(ops.take_along_axis(ranking, ids_restore, axis=1), "float32")
    return visible, mask, ids_restore


def random_masking(tokens, num_masked: int, seed):
    """:func:`mask_from_noise` with uniform noise drawn from ``seed`` (a ``keras.random.SeedGenerator`` or an int)."""
    noise = keras.random.uniform(ops.shape(tokens)[:2], seed=seed)
    return mask_from_noise(tokens, noise, num_masked)


def gather_indices(ids, depth: int):
    """(B, n) token indices broadcast to (B, n, depth), for ``take_along_axis`` over axis 1 of (B, N, depth) tokens."""
    return ops.repeat(ops.expand_dims(ids, -1), depth, axis=-1)
