"""A run directory checked before Keras is imported, so that a wrong RUN_DIR is reported in well under a second."""

from __future__ import annotations

from pathlib import Path

from kssl.errors import KsslError

__all__ = ["check_run_dir"]


def check_run_dir(run_dir, needs: tuple[str, ...] = ("model.keras",), then: str = "", option: str = "") -> Path:
    """``run_dir`` as a Path, or a :class:`KsslError` saying what is missing.

    A run directory is a folder with ``recipe.yaml``; ``needs`` names the files the command
    reads (``model.keras``, ``encoder.keras``; empty: only the recipe), missing while a run
    has not finished. ``then`` ends the resume hint ("then embed"); ``option`` prefixes
    the message (``--resume``).
    """
    run_dir = Path(run_dir)
    where = f"{option} {str(run_dir)!r}" if option else repr(str(run_dir))
    if not run_dir.is_dir():
        raise KsslError(f"{where}: not a kssl run directory (no such run directory). Give the folder `kssl train` printed.")
    if not (run_dir / "recipe.yaml").is_file():
        raise KsslError(f"{where}: not a kssl run directory (no recipe.yaml). Give the folder `kssl train` printed.")
    for name in needs:
        if not (run_dir / name).is_file():
            after = f", then {then}" if then else ""
            raise KsslError(f"{where}: has no {name}: the run did not finish. Resume it with `kssl train --resume {run_dir}`{after}.")
    return run_dir
