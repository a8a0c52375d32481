import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import copy  # noqa: E402

import pytest  # noqa: E402

# Under CI=true a skip not allowed in pyproject.toml (kssl_allowed_skips) fails the run.
pytest_plugins = ["kssl_skip_policy"]

TINY_SIMCLR = {
    "name": "tiny-simclr",
    "seed": 0,
    "data": {"type": "digits", "image_size": 16, "batch_size": 64, "limit": 256},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "cnn", "filters": [8, 16]},
    "pretext": {"type": "simclr", "projection_dim": 16, "projection_hidden_dims": [32], "temperature": 0.2},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-3},
    "train": {"epochs": 1, "log_images": 2},
    "eval": [{"type": "knn", "k": 5}, {"type": "linear_probe"}],
}


@pytest.fixture
def tiny_recipe():
    """A SimCLR recipe small enough to train an epoch in seconds."""
    return copy.deepcopy(TINY_SIMCLR)


@pytest.fixture
def write_recipe(tmp_path):
    """Write a recipe mapping (or raw text) to a YAML file and return its path."""
    import yaml

    def _write(recipe, name="recipe.yaml"):
        path = tmp_path / name
        path.write_text(recipe if isinstance(recipe, str) else yaml.safe_dump(recipe), encoding="utf-8")
        return path

    return _write
