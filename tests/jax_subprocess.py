"""Run a test script in a fresh Python process on the JAX backend (the test process itself runs TensorFlow)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
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


def augmenter_fit_script(layer: str, channels: int) -> str:
    """Lines of a JAX script: fit a tiny model behind the augmenter ``layer`` (an expression) with jit_compile,
    assert a finite loss and that the layer's random streams advanced, then print JAX-OK.

    Expects ``np`` and ``keras`` imported and the layer's class in scope.
    """
    return textwrap.dedent(
        f"""
        x_fit = np.random.default_rng(0).random((8, 8, 8, {channels}), dtype=np.float32)
        inputs = keras.Input((8, 8, {channels}))
        y = {layer}(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(y)))
        model.compile(optimizer="sgd", loss="mse", jit_compile=True)
        before = [np.array(v) for v in model.get_layer("aug").non_trainable_variables]
        loss = model.fit(x_fit, np.zeros((8, 1), "float32"), batch_size=4, epochs=1, verbose=0).history["loss"][0]
        after = [np.array(v) for v in model.get_layer("aug").non_trainable_variables]
        assert np.isfinite(loss) and any(not np.array_equal(p, q) for p, q in zip(before, after))
        print("JAX-OK")
        """
    )
