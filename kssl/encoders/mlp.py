"""A multi-layer perceptron encoder for flat (or flattened) inputs."""

from __future__ import annotations

import keras

from kssl.checks import check_int, check_number
from kssl.errors import ArgumentError


def mlp(input_shape, hidden_units=(256, 256), activation: str = "relu", dropout: float = 0.0) -> keras.Model:
    """Flatten, then Dense layers (a functional ``keras.Model`` to (N, hidden_units[-1]) features).

    Args:
        input_shape: any shape; it is flattened.
        hidden_units: widths of the Dense layers; the last is the feature width.
        activation: a Keras activation name.
        dropout: dropout rate after each hidden layer.
    """
    if not isinstance(hidden_units, (list, tuple)) or not hidden_units:
        raise ArgumentError("hidden_units", f"expected a non-empty list of widths such as [256, 256], got {hidden_units!r}.")
    units = [check_int("hidden_units", u, low=1) for u in hidden_units]
    dropout = check_number("dropout", dropout, low=0.0, high=1.0, high_inclusive=False)
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ArgumentError("activation", f"unknown activation {activation!r}; use a Keras name such as relu or gelu.") from None
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise ArgumentError("input_shape", f"expected a shape such as [64] or [8, 8, 1], got {input_shape!r}.") from None
    if not shape or min(shape) < 1:
        raise ArgumentError("input_shape", f"expected a non-empty shape of positive sizes, got {input_shape!r}.")
    inputs = keras.Input(shape)
    x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
    for i, u in enumerate(units):
        x = keras.layers.Dense(u, activation=activation, name=f"dense{i + 1}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout{i + 1}")(x)
    return keras.Model(inputs, x, name="mlp")
