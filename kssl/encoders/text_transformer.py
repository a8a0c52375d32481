"""A small text transformer: token ids -> one feature vector per text (the text tower of CLIP/SigLIP)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_choice, check_int, check_number
from kssl.errors import ArgumentError

POOLINGS = ("mean", "cls")


@keras.saving.register_keras_serializable(package="kssl")
class TextTransformer(keras.Model):
    """Token ids (B, L) -> features (B, width): token + learned position embeddings, pre-norm transformer blocks, pooling.

    A functional ``keras.Model`` of keras-hub layers: ``TokenAndPositionEmbedding``, ``depth``
    ``TransformerEncoder`` blocks (pre-norm, GELU MLP) that attend only to the real tokens (the
    padding mask is ``token_ids != padding_id``), a final ``LayerNormalization``, then the mean of
    the real tokens (``pooling="mean"``) or the first token's output (``"cls"``: the ``[CLS]`` that
    kssl's packing puts first). Texts are tokenised data-side with a WordPiece vocabulary
    (:mod:`kssl.text.vocabulary`), packed as ``[CLS] tokens [SEP]`` and padded to ``sequence_length``.

    Args:
        vocabulary_size: number of token ids.
        sequence_length: tokens per packed text (the position embeddings).
        width: token width, also the feature width.
        depth: transformer blocks.
        num_heads: attention heads per block; must divide ``width``.
        mlp_ratio: hidden units of each block's MLP per token channel.
        pooling: ``mean`` (over the real tokens) or ``cls``.
        dropout: dropout rate inside the blocks.
        padding_id: the id of the padding token (``[PAD]``, 0 in kssl's learned vocabularies).
    """

    def __init__(
        self,
        vocabulary_size: int,
        sequence_length: int = 32,
        width: int = 64,
        depth: int = 2,
        num_heads: int = 4,
        mlp_ratio: float = 2.0,
        pooling: str = "mean",
        dropout: float = 0.0,
        padding_id: int = 0,
        **kwargs,
    ):
        vocabulary_size = check_int("vocabulary_size", vocabulary_size, low=2)
        sequence_length = check_int("sequence_length", sequence_length, low=1)
        width = check_int("width", width, low=1)
        depth = check_int("depth", depth, low=1)
        num_heads = check_int("num_heads", num_heads, low=1)
        if width % num_heads:
            raise ArgumentError("num_heads", f"{num_heads} heads do not divide width {width} evenly; use a divisor of {width}.")
        mlp_ratio = check_number("mlp_ratio", mlp_ratio, low=0.0, low_inclusive=False)
        pooling = check_choice("pooling", pooling, POOLINGS)
        dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
        padding_id = check_int("padding_id", padding_id, low=0, high=vocabulary_size - 1)
        # keras-hub imports TensorFlow Text (seconds): imported when a text tower is built, not with kssl.
        import keras_hub

        token_ids = keras.Input((sequence_length,), dtype="int32", name="token_ids")
        mask = ops.not_equal(token_ids, padding_id)
        x = keras_hub.layers.TokenAndPositionEmbedding(
            vocabulary_size, sequence_length, width, embeddings_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="embedding"
        )(token_ids)
        for i in range(depth):
            x = keras_hub.layers.TransformerEncoder(
                max(1, round(width * mlp_ratio)),
                num_heads,
                dropout=dropout,
                activation="gelu",
                layer_norm_epsilon=1e-6,
                normalize_first=True,
                name=f"block{i + 1}",
            )(x, padding_mask=mask)
        x = keras.layers.LayerNormalization(epsilon=1e-6, name="norm")(x)
        if pooling == "cls":
            features = x[:, 0]
        else:
            weights = ops.expand_dims(ops.cast(mask, x.dtype), -1)
            features = ops.sum(x * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)
        kwargs.setdefault("name", "text_transformer")
        super().__init__(token_ids, features, **kwargs)
        self.vocabulary_size = vocabulary_size
        self.sequence_length = sequence_length
        self.width = width
        self.depth = depth
        self.num_heads = num_heads
        self.mlp_ratio = mlp_ratio
        self.pooling = pooling
        self.dropout = dropout
        self.padding_id = padding_id

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "vocabulary_size": self.vocabulary_size,
            "sequence_length": self.sequence_length,
            "width": self.width,
            "depth": self.depth,
            "num_heads": self.num_heads,
            "mlp_ratio": self.mlp_ratio,
            "pooling": self.pooling,
            "dropout": self.dropout,
            "padding_id": self.padding_id,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def text_transformer(
    vocabulary_size: int,
    sequence_length: int = 32,
    width: int = 64,
    depth: int = 2,
    num_heads: int = 4,
    mlp_ratio: float = 2.0,
    pooling: str = "mean",
    dropout: float = 0.0,
    padding_id: int = 0,
) -> TextTransformer:
    """A small transformer from token ids (N, ``sequence_length``) to (N, ``width``) text features (see :class:`TextTransformer`).

    The CLIP pretext task builds it as its text tower (``pretext.text_encoder``) and fills in
    ``vocabulary_size``, ``sequence_length`` and ``padding_id`` from its vocabulary.
    """
    return TextTransformer(vocabulary_size, sequence_length, width, depth, num_heads, mlp_ratio, pooling, dropout, padding_id)
