"""``kssl.load_model``: reload a saved kssl model with a clear error for a missing or damaged file."""

from __future__ import annotations

import zipfile
from pathlib import Path

from kssl.errors import KsslError

__all__ = ["ModelFileError", "check_model_file", "load_model"]

_DAMAGED_HINT = (
    "The file is truncated or damaged (a full disk, a killed copy or a crash can do this). "
    "Restore it from a copy or train again; `kssl train --resume RUN_DIR` continues an unfinished run "
    "from its newest readable checkpoint."
)

_MISSING_HINT = "Give the path of a .keras file that kssl wrote (model.keras, encoder.keras)."


class ModelFileError(KsslError):
    """A ``.keras`` file that is missing, or cannot be read back (``path``: the file; ``reason``: why)."""

    def __init__(self, path, reason: str, hint: str = _DAMAGED_HINT):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{str(self.path)!r}: cannot be loaded as a Keras model ({reason}). {hint}")


def check_model_file(path) -> None:
    """Raise :class:`ModelFileError` unless ``path`` is a complete ``.keras`` archive (every member's checksum intact).

    Reads the whole file but deserialises nothing: cheap next to building the model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(path, "no such file", _MISSING_HINT)
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        raise ModelFileError(path, f"not a complete .keras (zip) archive: {_first_line(exc)}") from None
    if bad is not None:
        raise ModelFileError(path, f"the archive member {bad!r} fails its checksum")


def load_model(path, compile: bool = True):
    """``keras.models.load_model(path)`` for a ``.keras`` file written by kssl (or a plugin).

    kssl's component classes (and those of installed plugins) are registered when kssl
    is imported, so no ``custom_objects`` are needed. A missing, truncated or otherwise
    unreadable file raises :class:`ModelFileError` (a :class:`kssl.KsslError`) naming the
    file and what to do, instead of the deserialiser's traceback.
    """
    import keras

    from kssl.plugins import get_registry

    get_registry()  # every installed plugin's classes are registered before deserialising
    path = Path(path)
    if path.suffix == ".keras":  # a zip archive; other formats (e.g. .h5) go straight to Keras
        check_model_file(path)
    elif not path.is_file():
        raise ModelFileError(path, "no such file", _MISSING_HINT)
    try:
        return keras.models.load_model(path, compile=compile)
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelFileError(path, _first_line(exc)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
