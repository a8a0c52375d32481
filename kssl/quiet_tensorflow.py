"""TensorFlow's start-up log lines, left out of the command line's stderr.

``import tensorflow`` prints, through absl's C++ logging, lines such as::

    WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
    I0000 00:00:1796183824.499486   20545 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.

even when ``TF_CPP_MIN_LOG_LEVEL=3`` (TensorFlow 2.21 logs them before it reads the
variable). :func:`install` makes the next ``import tensorflow`` (by Keras, or later by
TensorBoard under JAX) run with the process's stderr file descriptor captured; when the
import is over, every captured line is written back except the log lines below
``TF_CPP_MIN_LOG_LEVEL``, read as TensorFlow documents it (0 shows everything, 1 hides
INFO, 2 also WARNING, 3 also ERROR; kssl's command line sets 2 unless the variable is
set). So ``TF_CPP_MIN_LOG_LEVEL=0 kssl ...`` shows them all again, and whatever else the
import prints (a Python warning, an error) still reaches stderr.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import re
import sys
import tempfile

__all__ = ["install", "keep_line", "quiet_stderr"]

# absl/glog's prefix: severity letter, MMDD, time (before absl is initialised, "00:00:<epoch seconds>"), thread id, file:line]
_LOG_LINE = re.compile(rb"^([IWEF])\d{4} [\d:.]+ +\d+ [^\]\s]+:\d+\] ")
_BANNER = b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
_SEVERITY = {b"I": 0, b"W": 1, b"E": 2, b"F": 3}


def min_log_level(environ=os.environ) -> int:
    """``TF_CPP_MIN_LOG_LEVEL`` as a number (0 when unset or not a number, as TensorFlow reads it)."""
    try:
        return int(environ.get("TF_CPP_MIN_LOG_LEVEL", "0"))
    except ValueError:
        return 0


def keep_line(line: bytes, level: int) -> bool:
    """Whether a captured stderr ``line`` is shown at ``TF_CPP_MIN_LOG_LEVEL=level`` (only absl/glog lines are ever dropped)."""
    if line.rstrip(b"\r\n") == _BANNER:
        return level < 1  # absl's notice that it logs before being initialised: an INFO-level remark
    found = _LOG_LINE.match(line)
    return found is None or found.group(1) == b"F" or _SEVERITY[found.group(1)] >= level


@contextlib.contextmanager
def quiet_stderr(level: int):
    """Capture file descriptor 2 during the block; then write back the lines :func:`keep_line` keeps."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to capture
        yield
        return
    with tempfile.TemporaryFile() as captured:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = b"".join(line for line in captured.readlines() if keep_line(line, level))
            if kept:
                os.write(2, kept)


class _QuietLoader(importlib.abc.Loader):
    """Runs the real loader of ``tensorflow`` inside :func:`quiet_stderr`, then steps aside."""

    def __init__(self, loader, level: int):
        self._loader = loader
        self._level = level

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = module.__spec__.loader = self._loader  # the package keeps its own loader (resources, reloads)
        with quiet_stderr(self._level):
            self._loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as the other finders do, with its loader wrapped; removes itself after one use."""

    def __init__(self, level: int):
        self.level = level

    def find_spec(self, fullname, path=None, target=None):
        if fullname != "tensorflow":
            return None
        sys.meta_path.remove(self)
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _QuietLoader(spec.loader, self.level)
                return spec
        return None


def install(environ=os.environ) -> None:
    """Quiet the next ``import tensorflow`` at the current ``TF_CPP_MIN_LOG_LEVEL`` (nothing to do when it is imported already)."""
    level = min_log_level(environ)
    if "tensorflow" in sys.modules or level < 1 or any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietFinder(level))
