"""Run a test script in a fresh Python process on the JAX backend (the test process itself runs TensorFlow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_on_jax(script: str, marker: str = "JAX-OK", timeout: int = 120) -> str:
    """Run ``script`` with KERAS_BACKEND=jax on the CPU; assert it exits 0 and prints ``marker``; return its stdout."""
    pytest.importorskip("jax")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0 and marker in result.stdout, result.stderr[-3000:]
    return result.stdout
