"""README's Python example runs as written (one epoch instead of five) and its model reloads in a fresh process."""

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs_and_the_saved_model_reloads(tmp_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "kssl.build(" in b)
    assert "epochs=5" in example
    script = example.replace("epochs=5", "epochs=1").replace('kssl.build("zoo/simclr.yaml")', f"kssl.build({str(README.parent / 'zoo/simclr.yaml')!r})")
    script += "\nassert features.shape[0] == len(x) and features.ndim == 2\nprint('FEATURES', features.shape[1])\n"
    reload = (
        "import keras, kssl, numpy as np\n"
        "m = keras.models.load_model('simclr.keras')\n"
        "print('RELOADED', m.encoder.predict(np.zeros((2, 16, 16, 1), 'float32'), verbose=0).shape[1])\n"
    )
    env = {"KERAS_BACKEND": "tensorflow", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TF_CPP_MIN_LOG_LEVEL": "3"}
    first = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    second = subprocess.run([sys.executable, "-c", reload], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    assert second.returncode == 0, second.stderr[-3000:]
    width = first.stdout.split("FEATURES")[-1].split()[0]
    assert second.stdout.split("RELOADED")[-1].split()[0] == width


def _quickstart_recipe():
    from kssl.recipe import load_recipe

    return load_recipe(README.parent / "zoo" / "simclr.yaml")


def test_readme_quotes_the_quickstart_recipes_recorded_knn_accuracy():
    """The kNN numbers next to the first command are the ones zoo/simclr.yaml records (and benchmarks/zoo_check.py checks)."""
    text = " ".join(README.read_text().split())
    found = re.search(r"for this recipe kNN (\d\.\d+) against (\d\.\d+)", text)
    assert found, "README: the first command's paragraph should quote the recipe's kNN accuracy, trained against random init."
    results = _quickstart_recipe()["results"]
    assert (float(found[1]), float(found[2])) == (results["knn_accuracy"], results["random_init.knn_accuracy"])
    assert results["knn_accuracy"] >= 0.97
    encoder = _quickstart_recipe()["encoder"]
    assert f"ResNet-{encoder['depth']} for {_quickstart_recipe()['train']['epochs']} epochs" in text, "README names the recipe's encoder and epochs."
    assert f"quickstart recipe's ResNet-{encoder['depth']}" in text


def test_readme_says_which_evaluators_the_quickstart_runs():
    text = " ".join(README.read_text().split())
    evaluators = [spec["type"] for spec in _quickstart_recipe()["eval"]]
    assert "quickstart `simclr` recipe leaves `label_efficiency` out" in text
    assert "label_efficiency" not in evaluators and "few_shot" in evaluators
