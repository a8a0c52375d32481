"""The files every ``kssl new-plugin`` skeleton shares, and what each kind adds to them.

Every text is a :class:`string.Template`. The shared files use the names of the
plugin (``$name``, ``$dist``, ``$package``, ``$cls``, ``$title``, ``$kind``,
``$symbol``, ``$kssl_version``) and the snippets a :class:`Scaffold` gives
(``$summary``, ``$usage``, ...), which are themselves templates over the names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scaffold:
    """What one kind of component puts into the shared skeleton.

    Attributes:
        kind: the registry kind (``pretext``, ``augmenter``, ...).
        is_class: the component is the class ``$cls`` (else the factory function ``$name``).
        summary: what the component is, for the README (one clause).
        usage: the component's recipe section, for the README.
        develop: how to replace the example, for the README.
        recipe: ``src/$package/zoo/$name.yaml``, a zoo recipe that uses the component.
        smoke_overrides: ``--set`` strings that shrink the recipe to a seconds-long smoke test.
        smoke_check: a Python expression over ``recipe`` (the run's recipe.yaml) and ``metrics``
            (its metrics.json) that is true when the run used the component.
        component: ``src/$package/$name.py``.
        tests: ``tests/test_$name.py``: the component's contract and its numbers.
    """

    kind: str
    is_class: bool
    summary: str
    usage: str
    develop: str
    recipe: str
    smoke_overrides: tuple
    smoke_check: str
    component: str
    tests: str


# The sections of the skeletons' zoo recipes: SimCLR with a small CNN on the scikit-learn digits
# (offline, CPU minutes); each kind puts its component in one of them.
RECIPE_SECTIONS = {
    "data": "{type: digits, image_size: 32, channels: 1, batch_size: 128}",
    "augmenter": "{type: simclr, crop_scale: [0.4, 1.0], flip_probability: 0.0, jitter_strength: 0.5, blur_probability: 0.0}",
    "encoder": "{type: cnn, filters: [16, 32]}",
    "pretext": "{type: simclr, projection_dim: 32, projection_hidden_dims: [64], temperature: 0.2}",
    "optimizer": "{type: adamw, learning_rate: 2.0e-3}",
    "train": "{epochs: 5}",
    "eval": ["{type: knn, k: 20}"],
}


def recipe(description: str, name: str = "$name-digits", **sections) -> str:
    """A zoo recipe template: :data:`RECIPE_SECTIONS` with ``sections`` replaced (YAML flow text; ``eval`` a list)."""
    lines = [f"name: {name}", f"description: {description}", "seed: 0"]
    for key, value in {**RECIPE_SECTIONS, **sections}.items():
        if isinstance(value, list):
            lines += [f"{key}:", *(f"  - {item}" for item in value)]
        else:
            lines.append(f"{key + ':':<10} {value}")
    return "\n".join(lines) + "\n"


PYPROJECT = """\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "$title: a $kind for kssl"
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
"""

README = """\
# $dist

A [kssl](https://pypi.org/project/kssl/) plugin. It adds the $kind `$name` ($summary) and
the zoo recipe `$name`, which uses it.

```bash
pip install -e ".[test]"     # or: pip install $dist
kssl plugins                 # lists `$name` among the ${kind}s, provided by $dist
pytest                       # the component, its registration, and a one-step recipe run
# the recipe shipped with the plugin:
kssl train $name
```

In a recipe:

```yaml
$usage
```

## Developing

- `src/$package/$name.py` is the component: $develop
- `src/$package/__init__.py` registers it: `registry.add("$kind", "$name", "$package.$name:$symbol")`
  (a lazy reference: imported when a recipe uses it).
- `src/$package/zoo/$name.yaml` is the zoo recipe; record what a full `kssl train $name`
  measured under a `results:` key.
- `tests/test_$name.py` checks the component with `kssl.testing` and its numbers against
  numpy; `tests/test_plugin.py` checks the hook, the installed distribution and a one-step
  run of the recipe.

## Publishing

```bash
python -m pip install build twine
python -m build              # dist/$package-0.1.0.tar.gz and the wheel
twine upload dist/*
```
"""

HOOK = '''\
"""$dist: a kssl plugin.

kssl imports this module through the ``kssl`` entry point and calls
``kssl_register``. The component is registered by name, as a lazy reference
``"module:attribute"``: kssl imports it (and Keras) only when a recipe uses it, so
`kssl plugins` and recipe checks stay fast and kssl can choose the Keras backend first.
"""

import kssl

__version__ = "0.1.0"
__all__ = ["kssl_register"]


@kssl.hookimpl
def kssl_register(registry):
    registry.add("$kind", "$name", "$package.$name:$symbol")
'''

CONFTEST = """\
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
"""

PLUGIN_TESTS = '''\
"""$dist as kssl sees it: the hook, the installed distribution, and the zoo recipe.

The first test needs only the package to be importable; the other two need the
distribution installed (pip install -e ".[test]"), as users get it.
"""

import yaml
from kssl.testing import check_registered, smoke_test_recipe

import $package

RECIPE = "$name"  # the zoo recipe, by name
SMOKE_OVERRIDES = $smoke_overrides  # a seconds-long run


def test_the_hook_registers_the_$kind():
    entry = check_registered("$kind", "$name", module=$package)
    assert entry.factory.__name__ == "$symbol"


def test_the_installed_distribution_registers_the_$kind():
    check_registered("$kind", "$name", distribution="$dist")


def test_the_zoo_recipe_trains_one_step(tmp_path):
    run_dir, metrics = smoke_test_recipe(RECIPE, SMOKE_OVERRIDES, output_dir=tmp_path)
    recipe = yaml.safe_load((run_dir / "recipe.yaml").read_text(encoding="utf-8"))
    assert $smoke_check, f"the run did not use the $kind '$name': {recipe}, {metrics}"
'''

# relative path (a template) -> text: the files every kind writes; the kind adds the rest
SHARED_FILES = {
    "pyproject.toml": PYPROJECT,
    "README.md": README,
    "src/$package/__init__.py": HOOK,
    "tests/conftest.py": CONFTEST,
    "tests/test_plugin.py": PLUGIN_TESTS,
}
