"""On a backend other than TensorFlow, naming a keras-cv augmenter fails clearly, before keras-cv is imported."""

import os
import subprocess
import sys
import textwrap

import pytest
import yaml

pytest.importorskip("jax", reason="JAX is not installed")

RECIPE = {
    "name": "keras-cv-on-jax",
    "data": {"type": "digits", "image_size": 16, "batch_size": 32, "limit": 64},
    "augmenter": {"type": "keras_cv_rand_augment"},
    "encoder": {"type": "cnn", "filters": [8]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [8]},
}


def test_the_factory_refuses_jax_before_importing_keras_cv():
    code = textwrap.dedent(
        """
        import sys
        from kssl.errors import RecipeError
        from kssl.testing import build_component
        from kssl_keras_cv.keras_cv_rand_augment import KerasCVRandAugment
        try:
            build_component("augmenter", KerasCVRandAugment, {})
        except RecipeError as exc:
            print("ERROR", exc)
        print("keras_cv imported:", "keras_cv" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "KERAS_BACKEND": "jax"}, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ERROR augmenter.type: 'keras_cv_rand_augment' wraps a keras-cv layer" in result.stdout
    assert "only on the TensorFlow backend; this run uses the jax backend" in result.stdout
    assert "keras_cv imported: False" in result.stdout


def test_kssl_validate_on_jax_exits_2_with_the_reason(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(RECIPE))
    result = subprocess.run(["kssl", "validate", str(path), "--backend", "jax"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2, result.stdout + result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    message = " ".join(result.stderr.split())
    assert "augmenter.type: 'keras_cv_rand_augment' wraps a keras-cv layer" in message
    assert "--backend tensorflow" in message
