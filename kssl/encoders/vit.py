"""A Vision Transformer encoder (Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021), small enough to train from scratch."""

from __future__ import annotations

import random

import keras
from keras import ops

from kssl.checks import check_bool, check_choice, check_int, check_number
from kssl.encoders._shape import check_image_input
from kssl.encoders.patch_embedding import PatchEmbedding
from kssl.encoders.position_embedding import KINDS as POSITION_EMBEDDINGS
from kssl.encoders.transformer_encoder import TransformerEncoder
from kssl.errors import ArgumentError

POOLINGS = ("cls", "mean")


@keras.saving.register_keras_serializable(package="kssl")
class VisionTransformer(keras.Model):
    """Images (B, H, W, C) -> features (B, width): patch tokens, pre-norm transformer blocks, pooling.

    A functional ``keras.Model`` (it has ``inputs`` and ``outputs`` like kssl's other
    encoders) built from Keras layers: :class:`~kssl.encoders.patch_embedding.PatchEmbedding`
    (a strided ``Conv2D`` plus learned or fixed sin-cos positions),
    :class:`~kssl.encoders.transformer_encoder.TransformerEncoder` (an optional class token,
    ``depth`` :class:`~kssl.encoders.transformer_block.TransformerBlock` s of
    ``keras.layers.MultiHeadAttention`` and a GELU MLP, a final ``LayerNormalization``), then
    the class token's output (``pooling="cls"``) or the mean of the patch tokens (``"mean"``;
    no class token is made).

    keras-hub's ``ViTBackbone`` runs its transformer on every patch; masked image modelling
    (MAE) must encode only the visible ones, so this encoder exposes its stages as methods:
    :meth:`embed_patches` (images -> (B, N, width) tokens with positions),
    :meth:`encode_tokens` (any subset of tokens -> (B, n [+1], width), class token first),
    :meth:`pool` (encoded tokens -> (B, width)); ``call(images)`` is the three in a row.
    ``num_patches``, ``patch_size``, ``grid_size`` and ``num_prefix_tokens`` (1 with a class
    token, else 0) describe the token layout.

    Args:
        image_shape: (height, width, channels) of the input images.
        patch_size: side of the square patches; must divide height and width.
        width: token (hidden) width, also the feature width.
        depth: transformer blocks.
        num_heads: attention heads per block; must divide ``width``.
        mlp_ratio: hidden units of each block's MLP per token channel.
        pooling: ``cls`` or ``mean``.
        position_embedding: ``learned`` or ``sincos`` (fixed; needs a width divisible by 4).
        freeze_patch_embedding: keep the patch projection at its random weights (MoCo v3).
        dropout: dropout rate inside the blocks.
        patch_embedding_seed: seed of the patch projection's initial weights. None: with
            ``freeze_patch_embedding`` one is drawn (from Python's ``random``, which kssl seeds
            with the recipe's seed) and kept in the config, so that a copy of the encoder made
            from its config (MoCo v3's momentum encoder) has the same frozen projection.
    """

    def __init__(
        self,
        image_shape,
        patch_size: int = 4,
        width: int = 64,
        depth: int = 4,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        pooling: str = "mean",
        position_embedding: str = "learned",
        freeze_patch_embedding: bool = False,
        dropout: float = 0.0,
        patch_embedding_seed=None,
        **kwargs,
    ):
        shape = check_image_input("vit", image_shape, 1)
        patch_size = check_int("patch_size", patch_size, low=1)
        _check_patches(patch_size, shape)
        width = check_int("width", width, low=1)
        depth = check_int("depth", depth, low=1)
        num_heads = check_int("num_heads", num_heads, low=1)
        mlp_ratio = check_number("mlp_ratio", mlp_ratio, low=0.0, low_inclusive=False)
        pooling = check_choice("pooling", pooling, POOLINGS)
        position_embedding = check_choice("position_embedding", position_embedding, POSITION_EMBEDDINGS)
        if position_embedding == "sincos" and width % 4:
            hint = f"use e.g. {width + 4 - width % 4} or position_embedding: learned"
            raise ArgumentError("width", f"position_embedding: sincos needs a width divisible by 4, got {width}; {hint}.")
        freeze_patch_embedding = check_bool("freeze_patch_embedding", freeze_patch_embedding)
        dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        if patch_embedding_seed is None and freeze_patch_embedding:
            patch_embedding_seed = random.randrange(2**31 - 1)
        grid = (shape[0] // patch_size, shape[1] // patch_size)
        mlp_width = max(1, round(width * mlp_ratio))

        patches = PatchEmbedding(patch_size, width, grid[0], grid[1], position_embedding, freeze_patch_embedding, patch_embedding_seed, name="patch_embedding")
        transformer = TransformerEncoder(width, depth, num_heads, mlp_width, class_token=pooling == "cls", dropout=dropout, name="transformer")
        inputs = keras.Input(shape, name="images")
        features = _pool(transformer(patches(inputs)), pooling)
        kwargs.setdefault("name", "vit")
        super().__init__(inputs, features, **kwargs)

        self.image_shape = shape
        self._patch_size = patch_size
        self.width = width
        self.depth = depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.pooling = pooling
        self.position_embedding = position_embedding
        self.freeze_patch_embedding = freeze_patch_embedding
        self.dropout = dropout
        self.patch_embedding_seed = patches.projection_seed
        self.patch_embedding = patches
        self.transformer = transformer

    # -- the token layout ---------------------------------------------------------------
    @property
    def patch_size(self) -> int:
        return self._patch_size

    @property
    def grid_size(self) -> tuple:
        """(patch rows, patch columns)."""
        return (self.image_shape[0] // self._patch_size, self.image_shape[1] // self._patch_size)

    @property
    def num_patches(self) -> int:
        rows, cols = self.grid_size
        return rows * cols

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens :meth:`encode_tokens` puts before the patch tokens (the class token)."""
        return int(self.pooling == "cls")

    # -- the stages, for methods that encode a subset of the patches (MAE) ---------------
    def embed_patches(self, images, training=None):
        """(B, H, W, C) images -> (B, num_patches, width) patch tokens, positions added."""
        return self.patch_embedding(images, training=training)

    def encode_tokens(self, tokens, training=None):
        """(B, n, width) tokens (any n, e.g. the visible patches) -> (B, n + num_prefix_tokens, width), normalised."""
        return self.transformer(tokens, training=training)

    def pool(self, encoded):
        """(B, n [+1], width) encoded tokens -> (B, width) features: the class token's, or the mean of the patches'."""
        return _pool(encoded, self.pooling)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_shape": list(self.image_shape),
            "patch_size": self._patch_size,
            "width": self.width,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "pooling": self.pooling,
            "position_embedding": self.position_embedding,
            "freeze_patch_embedding": self.freeze_patch_embedding,
            "dropout": self.dropout,
            "patch_embedding_seed": self.patch_embedding_seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _pool(encoded, pooling: str):
    return encoded[:, 0] if pooling == "cls" else ops.mean(encoded, axis=1)


def _check_patches(patch_size: int, shape: tuple) -> None:
    h, w = shape[:2]
    if h % patch_size or w % patch_size:
        divisors = [d for d in range(2, min(h, w) + 1) if h % d == 0 and w % d == 0 and d <= 8]
        hint = f"use one that divides both, e.g. {', '.join(map(str, divisors))}, " if divisors else ""
        hint += f"or change data.image_size to a multiple of {patch_size}"
        raise ArgumentError("patch_size", f"{patch_size} does not divide the {h}x{w} images into whole patches; {hint}.")


def vit(
    input_shape,
    patch_size: int = 4,
    width: int = 64,
    depth: int = 4,
    num_heads: int = 4,
    mlp_ratio: float = 2.0,
    pooling: str = "mean",
    position_embedding: str = "learned",
    freeze_patch_embedding: bool = False,
    dropout: float = 0.0,
    patch_embedding_seed: int | None = None,
) -> VisionTransformer:
    """A Vision Transformer for small images, from scratch: square patches, pre-norm transformer blocks, class-token or mean pooling.

    Returns a :class:`VisionTransformer` from (N, H, W, C) images to (N, ``width``) features;
    ``patch_size`` must divide H and W, ``num_heads`` must divide ``width``. The arguments
    are the class's (``freeze_patch_embedding``: MoCo v3's fixed random patch projection).
    MAE needs this encoder: it can encode the visible patches alone.
    """
    return VisionTransformer(
        input_shape,
        patch_size=patch_size,
        width=width,
        depth=depth,
        num_heads=num_heads,
        mlp_ratio=mlp_ratio,
        pooling=pooling,
        position_embedding=position_embedding,
        freeze_patch_embedding=freeze_patch_embedding,
        dropout=dropout,
        patch_embedding_seed=patch_embedding_seed,
    )
