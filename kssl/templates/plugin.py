"""``kssl new-plugin NAME``: a working plugin distribution whose tests pass out of the box.

The skeleton registers one example augmenter (Gaussian noise, to be replaced by the
author's component) through the ``kssl`` entry point, ships a zoo recipe through the
``kssl.zoo`` entry point, and tests both with :mod:`kssl.testing`.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from kssl.errors import KsslError

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")

FILES = {
    "pyproject.toml": '''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$title for kssl"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["kssl>=$kssl_version"]

[project.optional-dependencies]
test = ["pytest>=7"]

# kssl finds the plugin here: this module's kssl_register hook adds the components.
[project.entry-points.kssl]
$name = "$package"

# Zoo recipes shipped with the plugin (every YAML file in the folder): `kssl train $name`.
[project.entry-points."kssl.zoo"]
$name = "$package.zoo"

[tool.setuptools.packages.find]
where = ["src"]

[tool.setuptools.package-data]
$package = ["zoo/*.yaml"]

[tool.pytest.ini_options]
testpaths = ["tests"]
filterwarnings = ["ignore::DeprecationWarning"]
''',
    "README.md": '''\
# $dist

A [kssl](https://pypi.org/project/kssl/) plugin. It adds the augmenter `$name` and the
zoo recipe `$name` (SimCLR on the scikit-learn digits with this augmenter).

```bash
pip install -e ".[test]"     # or: pip install $dist
kssl plugins                 # lists `$name` under augmenters, provided by $dist
kssl train $name             # the recipe shipped with the plugin
pytest                       # the component, its registration, and a one-step recipe run
```

In a recipe:

```yaml
augmenter: {type: $name, stddev: 0.1}
```

## Developing

- `src/$package/$name.py` is the component: replace the example with yours, keeping
  explicit keyword arguments stored under the same names and returned by `get_config`.
- `src/$package/__init__.py` registers it: `registry.add(kind, name, factory)`.
- `tests/` checks it with `kssl.testing` (build, random-when-training, `.keras` round trip,
  registration through the installed entry point, a recipe smoke test).

## Publishing

```bash
python -m pip install build twine
python -m build              # dist/$package-0.1.0.tar.gz and the wheel
twine upload dist/*
```
''',
    "src/$package/__init__.py": '''\
"""$dist: a kssl plugin.

kssl imports this module through the ``kssl`` entry point and calls
``kssl_register``; import Keras and your components inside the hook, so that
kssl can choose the Keras backend first.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    from $package.$name import $cls

    registry.add("augmenter", "$name", $cls)
''',
    "src/$package/$name.py": '''\
"""The $name augmenter (an example: replace it with your component)."""

from __future__ import annotations

import keras
from keras import ops

from kssl.checks import check_int, check_positive


@keras.saving.register_keras_serializable(package="$package")
class $cls(keras.layers.Layer):
    """Adds Gaussian noise of standard deviation ``stddev`` to images in [0, 1] (training only).

    Random when called with ``training=True``, the identity otherwise; the output
    has the input's shape and is clipped to [0, 1]. Pure ``keras.ops``, so it runs
    on every backend, eagerly, in tf.data and inside a jitted train step.

    Args:
        stddev: standard deviation of the noise, > 0.
        seed: seed of the random stream (None: random).
    """

    def __init__(self, stddev: float = 0.1, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = check_positive("stddev", stddev)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, x, training=False):
        if not training:
            return x
        noise = keras.random.normal(ops.shape(x), stddev=self.stddev, dtype=x.dtype, seed=self.seed_generator)
        return ops.clip(x + noise, 0.0, 1.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config
''',
    "src/$package/zoo/$name.yaml": '''\
name: $name-digits
description: SimCLR on the scikit-learn digits with the $name augmenter ($dist); offline, CPU minutes
seed: 0
data:      {type: digits, image_size: 32, channels: 1, batch_size: 128}
augmenter: {type: $name, stddev: 0.1}
encoder:   {type: cnn, filters: [16, 32]}
pretext:   {type: simclr, projection_dim: 32, projection_hidden_dims: [64], temperature: 0.2}
optimizer: {type: adamw, learning_rate: 2.0e-3}
train:     {epochs: 5}
eval:
  - {type: knn, k: 20}
''',
    "tests/conftest.py": '''\
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
''',
    "tests/test_$name.py": '''\
"""$dist: the component, its registration through the installed entry point, and its recipe.

Run after installing the distribution (pip install -e ".[test]"), then `pytest`.
"""

import pytest

from kssl.errors import RecipeError
from kssl.testing import build_component, check_augmenter, check_registered, smoke_test_recipe
from $package.$name import $cls


def test_component(tmp_path):
    check_augmenter($cls, {"stddev": 0.2, "seed": 0}, tmp_path=tmp_path)


def test_bad_argument_names_the_recipe_key():
    with pytest.raises(RecipeError, match="augmenter.stddev: expected a positive number"):
        build_component("augmenter", $cls, {"stddev": -1})


def test_registered_by_the_installed_distribution():
    check_registered("augmenter", "$name", distribution="$dist")


def test_zoo_recipe_trains_one_step(tmp_path):
    smoke_test_recipe("$name", ["data.limit=128", "data.image_size=16"], output_dir=tmp_path)
''',
}


def write_plugin_skeleton(name: str, output_dir=".") -> Path:
    """Write ``<output_dir>/kssl-<name>/`` and return its path.

    ``name`` is a lowercase identifier (``sharpen``, ``my_task``): the component and
    entry-point name. The distribution is ``kssl-<name>`` (underscores become
    dashes), the package ``kssl_<name>``.
    """
    from kssl import __version__

    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise KsslError(
            f"new-plugin NAME: expected a lowercase Python identifier such as 'sharpen' or 'my_task' "
            f"(letters, digits, underscores; starting with a letter), got {name!r}."
        )
    values = {
        "name": name,
        "dist": f"kssl-{name.replace('_', '-')}",
        "package": f"kssl_{name}",
        "cls": "".join(part.capitalize() for part in name.split("_")),
        "title": name.replace("_", " ").capitalize(),
        "kssl_version": __version__,
    }
    root = Path(output_dir) / values["dist"]
    if root.exists():
        raise KsslError(f"new-plugin: {str(root)!r} already exists; choose another NAME or --output-dir, or remove it first.")
    for relative, text in FILES.items():
        path = root / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values), encoding="utf-8")
    return root
