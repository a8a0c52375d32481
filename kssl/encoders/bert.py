"""A BERT encoder: keras-hub's ``BertBackbone``, from scratch or from a local preset folder."""

from __future__ import annotations

from pathlib import Path

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError

DEFAULT_SIZES = {"num_layers": 2, "num_heads": 2, "hidden_dim": 128, "intermediate_dim": 512}


def bert(
    vocabulary_size: int,
    sequence_length: int = 128,
    num_layers: int | None = None,
    num_heads: int | None = None,
    hidden_dim: int | None = None,
    intermediate_dim: int | None = None,
    dropout: float = 0.1,
    preset: str | None = None,
):
    """A ``keras_hub.models.BertBackbone`` (Devlin et al., NAACL 2019).

    Inputs are a dict of ``token_ids``, ``segment_ids`` and ``padding_mask``
    (N, L); outputs a dict of ``sequence_output`` (N, L, hidden_dim) and
    ``pooled_output`` (N, hidden_dim). The text datasets fill in
    ``vocabulary_size`` and ``sequence_length`` (the number of position
    embeddings). Built from scratch with the given sizes (defaults 2 layers,
    2 heads, hidden 128, intermediate 512), or, with ``preset``, loaded from a
    keras-hub preset folder on disk (e.g. one saved with ``backbone.save_to_preset``),
    whose sizes are then fixed: the size arguments must be left out, and the
    data's vocabulary must be the preset's (``data.vocabulary: <preset folder>``).

    Reloading a saved encoder needs ``import keras_hub`` first (it registers
    ``BertBackbone`` with Keras).

    Args:
        vocabulary_size: number of token ids.
        sequence_length: the longest sequence (position embeddings).
        num_layers: transformer layers.
        num_heads: attention heads; must divide ``hidden_dim``.
        hidden_dim: width of the token representations.
        intermediate_dim: width of each feed-forward block.
        dropout: dropout rate in the transformer.
        preset: a local keras-hub preset folder to load instead.
    """
    vocabulary_size = check_int("vocabulary_size", vocabulary_size, low=1)
    sequence_length = check_int("sequence_length", sequence_length, low=1)
    dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    sizes = {"num_layers": num_layers, "num_heads": num_heads, "hidden_dim": hidden_dim, "intermediate_dim": intermediate_dim}
    if preset is not None:
        return _from_preset(preset, sizes, vocabulary_size, sequence_length)
    sizes = {k: DEFAULT_SIZES[k] if v is None else check_int(k, v, low=1) for k, v in sizes.items()}
    if sizes["hidden_dim"] % sizes["num_heads"]:
        raise ArgumentError("num_heads", f"must divide hidden_dim ({sizes['hidden_dim']}) evenly, got {sizes['num_heads']}.")
    import keras_hub

    return keras_hub.models.BertBackbone(
        vocabulary_size=vocabulary_size,
        max_sequence_length=sequence_length,
        dropout=dropout,
        name="bert",
        **sizes,
    )


def _from_preset(preset, sizes: dict, vocabulary_size: int, sequence_length: int):
    given = [k for k, v in sizes.items() if v is not None]
    if given:
        raise ArgumentError(given[0], f"a preset fixes the model size: remove {', '.join(given)} (or remove preset to build from scratch).")
    folder = Path(str(preset)).expanduser()
    if not (folder / "config.json").is_file():
        raise ArgumentError(
            "preset",
            f"{str(folder)!r} is not a keras-hub preset folder (no config.json). Give a folder saved with "
            "`backbone.save_to_preset(folder)` or downloaded from Kaggle/Hugging Face (nothing is fetched online).",
        )
    import keras_hub

    try:
        backbone = keras_hub.models.BertBackbone.from_preset(str(folder))
    except Exception as exc:  # a foreign or broken preset
        raise ArgumentError("preset", f"cannot load a BertBackbone from {str(folder)!r}: {type(exc).__name__}: {exc}") from None
    if backbone.vocabulary_size != vocabulary_size:
        raise ArgumentError(
            "preset",
            f"the preset has {backbone.vocabulary_size} token ids but the data's vocabulary has {vocabulary_size}. "
            f"Use the preset's vocabulary: data.vocabulary: {str(folder)!r}.",
        )
    if backbone.max_sequence_length < sequence_length:
        raise ArgumentError(
            "preset",
            f"the preset handles sequences of up to {backbone.max_sequence_length} tokens, but data.sequence_length is {sequence_length}; lower it.",
        )
    return backbone
