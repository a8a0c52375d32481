"""Run directories and atomic file writes."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path


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


def atomic_write_text(path, text: str) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def atomic_write_json(path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=float) + "\n")


def atomic_save_model(model, path) -> None:
    """``model.save`` to a temporary ``.keras`` file in the same folder, then rename over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    model.save(tmp)
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
