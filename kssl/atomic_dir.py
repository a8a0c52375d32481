"""An output folder written all at once: filled in a hidden temporary folder beside it, renamed into place at the end.

Used by ``kssl data pack``. An error or Ctrl-C deletes the temporary folder, so nothing
half-written is left and an existing folder being replaced (``overwrite``) stays as it was.
Imports nothing heavy: the command line checks OUTPUT_DIR before TensorFlow loads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from kssl.errors import KsslError

__all__ = ["check_new_dir", "staged_dir"]


def check_new_dir(output, sources=(), overwrite: bool = False, option: str = "OUTPUT_DIR") -> Path:
    """Refuse an ``output`` that is a file, holds one of ``sources``, exists non-empty (without ``overwrite``), or cannot be created."""
    output = Path(output)
    resolved = output.resolve()
    for src in sources:
        src = Path(src).resolve()
        if resolved == src or resolved in src.parents:
            raise KsslError(f"{option}: {str(output)!r} contains the images to pack ({str(src)!r}); write the shards to another folder.")
    if output.exists() and not output.is_dir():
        raise KsslError(f"{option}: {str(output)!r} is a file; give a folder.")
    if output.is_dir() and any(output.iterdir()) and not overwrite:
        raise KsslError(f"{option}: {str(output)!r} already exists and is not empty; choose a new folder or pass --overwrite to replace it.")
    parent = output.parent
    if not parent.is_dir():
        raise KsslError(f"{option}: the folder {str(parent)!r} does not exist. Create it first or write elsewhere.")
    if not os.access(parent, os.W_OK):
        raise KsslError(f"{option}: {str(parent)!r} cannot be written (no permission). Choose a folder you can write to.")
    return output


@contextlib.contextmanager
def staged_dir(output):
    """Yield a new temporary folder beside ``output``; when the block ends without error it becomes ``output``.

    An existing ``output`` is replaced only then (renamed away, the new folder renamed in,
    the old one deleted). On any exception, KeyboardInterrupt included, the temporary folder
    is deleted and ``output`` is left untouched.
    """
    output = Path(output)
    tmp = Path(tempfile.mkdtemp(prefix=f".{output.name}.partial-", dir=output.parent))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result gets the usual permissions
        yield tmp
        if output.is_dir() and any(output.iterdir()):
            old = output.with_name(f".{output.name}.old-{os.getpid()}")
            output.rename(old)
            tmp.rename(output)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, output)  # also replaces an empty folder
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
