"""Progress lines on stderr, prefixed ``kssl:``; stdout stays for what a command prints."""

from __future__ import annotations

import contextlib
import sys
import time


def say(message: str) -> None:
    """A progress line on stderr, prefixed ``kssl:`` (stdout stays for what a command prints)."""
    print(f"kssl: {message}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def timed(what: str):
    """Say ``what`` when the block starts and ``what: done in S s`` when it ends; yields a dict whose ``seconds`` is set at the end."""
    took = {}
    say(f"{what} ...")
    started = time.perf_counter()
    try:
        yield took
    finally:
        took["seconds"] = time.perf_counter() - started
    say(f"{what}: done in {took['seconds']:.1f} s")
