"""Run directories, write checks and atomic file writes (a full disk leaves no temporary file behind)."""

from __future__ import annotations

import errno
import json
import os
import re
import tempfile
import time
from pathlib import Path

from kssl.errors import KsslError, TrainingError

_FULL = (errno.ENOSPC, errno.EDQUOT)
TEMPORARY = (".tmp-*", ".*.tmp")  # the names atomic writes use before their rename


class DiskFullError(TrainingError):
    """A write failed because the disk (or the user's quota) is full; ``path`` is the file being written."""

    def __init__(self, path, message: str | None = None):
        self.path = Path(path)
        super().__init__(message or f"no space left on the device while writing {self.path}. Free some space, then retry.")


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or the error it wraps) is the operating system's 'no space left' / 'quota exceeded'."""
    while exc is not None:
        if isinstance(exc, DiskFullError) or (isinstance(exc, OSError) and exc.errno in _FULL):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def check_writable_dir(path, option: str) -> Path:
    """Fail early, with :class:`kssl.KsslError`, unless ``path`` is (or can become) a folder kssl can write files in.

    Creates the missing folders and a probe file, then removes what it created: nothing is left
    behind either way. ``option`` names the argument in the message (e.g. ``--output-dir``).
    """
    path = Path(path).expanduser()
    created = []
    where = path
    try:
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "a file, not a folder", str(path))
        for folder in reversed([p for p in (path, *path.parents) if not p.exists()]):  # the outermost first
            where = folder
            folder.mkdir()
            created.append(folder)
        where = path
        with tempfile.NamedTemporaryFile(dir=path, prefix=".kssl-write-check-") as probe:
            probe.write(b"kssl")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        full = " The disk is full: free some space." if is_disk_full(exc) else ""
        raise KsslError(
            f"{option} {str(path)!r}: cannot write there ({reason}: {where}).{full} "
            "Expected a folder that can be created and written to; give another path (a writable disk, not below a file)."
        ) from None
    finally:
        for folder in reversed(created):
            try:
                folder.rmdir()
            except OSError:
                pass
    return path


def new_run_dir(output_dir, name: str) -> Path:
    """Create ``<output_dir>/<name>-<UTC timestamp>`` without ever reusing an existing folder."""
    root = Path(output_dir)
    root.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "run"
    for i in range(1000):
        path = root / (f"{safe}-{stamp}" if i == 0 else f"{safe}-{stamp}-{i}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new run directory under {root}")


def remove_temporary_files(folder) -> list[Path]:
    """Delete the temporary files that interrupted atomic writes left anywhere under ``folder``; returns them."""
    found = [p for pattern in TEMPORARY for p in Path(folder).rglob(pattern) if p.is_file()]
    for p in found:
        p.unlink(missing_ok=True)
    return found


def _replace_atomically(path: Path, tmp: Path, write) -> None:
    """``write(tmp)``, fsync it, rename it over ``path``; on any failure the temporary file is removed."""
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise


def atomic_write_text(path, text: str) -> None:
    path = Path(path)

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _replace_atomically(path, path.with_name(f".{path.name}.tmp"), write)


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=float) + "\n")


def atomic_save_model(model, path) -> None:
    """``model.save`` to a temporary ``.keras`` file in the same folder, then rename over ``path``."""
    path = Path(path)
    _replace_atomically(path, path.with_name(f".tmp-{path.name}"), model.save)
