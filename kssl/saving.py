"""``kssl.load_model``: reload a saved kssl model with a clear error for a missing or damaged file."""

from __future__ import annotations

from pathlib import Path

from kssl.errors import KsslError


def load_model(path, compile: bool = True):
    """``keras.models.load_model(path)`` for a ``.keras`` file written by kssl (or a plugin).

    kssl's component classes (and those of installed plugins) are registered when kssl
    is imported, so no ``custom_objects`` are needed. A missing, truncated or otherwise
    unreadable file raises :class:`kssl.KsslError` naming the file, instead of the
    deserialiser's traceback.
    """
    import keras

    from kssl.plugins import get_registry

    get_registry()  # every installed plugin's classes are registered before deserialising
    path = Path(path)
    if not path.is_file():
        raise KsslError(f"{str(path)!r}: no such model file. Give the path of a .keras file that kssl wrote (model.keras, encoder.keras).")
    try:
        return keras.models.load_model(path, compile=compile)
    except (OSError, ValueError, KeyError, EOFError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise KsslError(
            f"{str(path)!r}: cannot be loaded as a Keras model ({reason}). The file may be truncated or damaged; use another checkpoint, or retrain."
        ) from None
