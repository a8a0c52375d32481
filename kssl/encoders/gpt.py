"""A GPT decoder: keras-hub's ``GPT2Backbone`` at a small, from-scratch size."""

from __future__ import annotations

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError


def gpt(
    vocabulary_size: int,
    sequence_length: int = 128,
    num_layers: int = 2,
    num_heads: int = 2,
    hidden_dim: int = 128,
    intermediate_dim: int = 512,
    dropout: float = 0.1,
):
    """A causal transformer decoder, ``keras_hub.models.GPT2Backbone`` (Radford et al., 2019).

    Pre-norm decoder blocks whose self-attention is causal (each position sees only itself
    and earlier ones) and also ignores padding. Inputs are a dict of ``token_ids`` and
    ``padding_mask`` (N, L); the output is the last hidden states (N, L, hidden_dim). The
    token embedding (``.token_embedding``, a ``ReversibleEmbedding``) is shared with the
    output layer of the ``causal_lm`` pretext task (weight tying, as GPT-2). The text
    datasets fill in ``vocabulary_size`` and ``sequence_length`` (the number of position
    embeddings, i.e. the model's context).

    keras-hub's backbone is used rather than a decoder built on kssl's ViT blocks because it
    already combines the causal and padding masks and runs on TensorFlow, JAX and torch;
    reloading a saved encoder needs ``import keras_hub`` first (it registers ``GPT2Backbone``).

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest input (position embeddings): the model's context.
        num_layers: decoder blocks.
        num_heads: attention heads; must divide ``hidden_dim``.
        hidden_dim: width of the token representations.
        intermediate_dim: width of each feed-forward block.
        dropout: dropout rate in the decoder.
    """
    vocabulary_size = check_int("vocabulary_size", vocabulary_size, low=1)
    sequence_length = check_int("sequence_length", sequence_length, low=1)
    num_layers = check_int("num_layers", num_layers, low=1)
    num_heads = check_int("num_heads", num_heads, low=1)
    hidden_dim = check_int("hidden_dim", hidden_dim, low=1)
    intermediate_dim = check_int("intermediate_dim", intermediate_dim, low=1)
    dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    if hidden_dim % num_heads:
        raise ArgumentError("num_heads", f"must divide hidden_dim ({hidden_dim}) evenly, got {num_heads}.")
    import keras_hub  # heavy (imports TensorFlow Text): only when a GPT is built

    return keras_hub.models.GPT2Backbone(
        vocabulary_size=vocabulary_size,
        num_layers=num_layers,
        num_heads=num_heads,
        hidden_dim=hidden_dim,
        intermediate_dim=intermediate_dim,
        dropout=dropout,
        max_sequence_length=sequence_length,
        name="gpt",
    )
