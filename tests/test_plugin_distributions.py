"""Plugins as real distributions: built in a temporary folder, pip-installed, found through entry points.

Each test writes small distributions (pyproject.toml + a module), installs them
with pip and runs ``kssl`` as a subprocess, so entry-point discovery, distribution
names and failure isolation are exercised exactly as a user meets them.

Where they are installed: by default into a temporary ``--target`` folder that the
``kssl`` subprocesses see on ``PYTHONPATH`` (hermetic: nothing outside the test's
tmp dir changes, so other test runs sharing this environment are not affected).
With ``KSSL_PLUGIN_TEST_INSTALL=venv`` (what ``.ci/plugins`` sets) they are
installed into this very environment with ``pip install`` and uninstalled after.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

KSSL = str(Path(sys.executable).with_name("kssl"))
INSTALL_MODE = os.environ.get("KSSL_PLUGIN_TEST_INSTALL", "target")

TINY = {
    "name": "tiny",
    "data": {"type": "digits", "image_size": 16, "batch_size": 32, "limit": 64},
    "augmenter": {"type": "simclr", "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [16]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [8]},
}


def make_distribution(root: Path, dist: str, module: str, source: str, entry_point: str | None = None, extra_files=None) -> Path:
    """A minimal plugin distribution ``dist`` whose ``kssl`` entry point is ``module``; returns its folder."""
    folder = root / dist
    (folder / module).mkdir(parents=True)
    (folder / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["setuptools>=61"]
            build-backend = "setuptools.build_meta"

            [project]
            name = "{dist}"
            version = "0.0.1"
            dependencies = ["kssl"]

            [project.entry-points.kssl]
            {entry_point or module} = "{module}"

            [tool.setuptools]
            packages = ["{module}"]
            """
        )
    )
    (folder / module / "__init__.py").write_text(textwrap.dedent(source))
    for name, text in (extra_files or {}).items():
        (folder / module / name).write_text(text)
    return folder


class Installed:
    """Distributions installed for one test, and the environment ``kssl`` runs in."""

    def __init__(self, tmp_path: Path):
        self.target = tmp_path / "site"
        self.names: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if k not in ("KSSL_DISABLE_PLUGINS", "PYTHONPATH")}
        self.env.update(TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
        if INSTALL_MODE != "venv":
            self.env["PYTHONPATH"] = str(self.target)

    def install(self, *folders: Path) -> None:
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
        if importlib.util.find_spec("setuptools") is not None:
            command += ["--no-build-isolation", "--no-index"]  # build with the installed setuptools: no download, faster
        if INSTALL_MODE != "venv":
            command += ["--target", str(self.target)]
        result = subprocess.run([*command, *map(str, folders)], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"pip install failed:\n{result.stdout}\n{result.stderr}"
        self.names += [f.name for f in folders]

    def uninstall(self) -> None:
        if INSTALL_MODE == "venv" and self.names:
            subprocess.run([sys.executable, "-m", "pip", "uninstall", "--yes", "--quiet", *self.names], capture_output=True, timeout=300)

    def kssl(self, *args, **env) -> subprocess.CompletedProcess:
        result = subprocess.run([KSSL, *map(str, args)], capture_output=True, text=True, timeout=600, env={**self.env, **env})
        result.text = " ".join((result.stdout + " " + result.stderr).split())  # one line: wrapped messages match
        return result


@pytest.fixture
def installed(tmp_path):
    env = Installed(tmp_path)
    yield env
    env.uninstall()


def _plugins_listing(result) -> dict:
    """``kssl plugins`` output -> {name: rest of the line} for components and broken plugins."""
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {}
    for line in result.stdout.splitlines():
        if line.startswith("  "):
            name, _, rest = line.strip().partition(" ")
            rows.setdefault(name, rest.strip())
    return rows


GOOD = """
    import kssl


    @kssl.hookimpl
    def kssl_register(registry):
        from kssl_test_good.invert import Invert

        registry.add("augmenter", "test_invert", Invert)
"""

INVERT = '''
import keras


@keras.saving.register_keras_serializable(package="kssl_test_good")
class Invert(keras.layers.Layer):
    """1 - x with probability ``probability`` per batch (training only)."""

    def __init__(self, probability: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.probability = probability

    def call(self, x, training=False):
        return 1.0 - x if training and self.probability > 0 else x

    def get_config(self):
        return {**super().get_config(), "probability": self.probability}
'''

IMPORT_FAILS = """
    import kssl_test_no_such_dependency  # the dependency the author forgot to declare
"""


def test_an_installed_plugin_is_usable_at_once_and_an_import_failure_is_isolated(installed, tmp_path, write_recipe):
    root = tmp_path / "src"
    installed.install(
        make_distribution(root, "kssl-test-good", "kssl_test_good", GOOD, extra_files={"invert.py": INVERT}),
        make_distribution(root, "kssl-test-importfail", "kssl_test_importfail", IMPORT_FAILS, entry_point="importfail"),
    )
    rows = _plugins_listing(installed.kssl("plugins"))
    assert rows["test_invert"] == "kssl-test-good"
    assert rows["simclr"] == "kssl"
    assert rows["importfail"] == "kssl-test-importfail: failed to import: ModuleNotFoundError: No module named 'kssl_test_no_such_dependency'"

    recipe = {**TINY, "augmenter": {"type": "test_invert", "probability": 0.5}}
    result = installed.kssl("validate", write_recipe(recipe))
    assert result.returncode == 0 and "ok: tiny: simclr" in result.stdout, result.text[-3000:]


HOOK_RAISES = """
    import kssl


    class Task:
        pass


    @kssl.hookimpl
    def kssl_register(registry):
        registry.add("pretext", "raiser_task", Task)
        raise RuntimeError("cannot find the weights file raiser.bin")
"""

DUPLICATE = """
    import kssl


    def cnn(input_shape, filters=(8,)):
        raise AssertionError("never called: the name is ambiguous")


    @kssl.hookimpl
    def kssl_register(registry):
        registry.add("encoder", "cnn", cnn)
"""

NON_CALLABLE = """
    import kssl


    @kssl.hookimpl
    def kssl_register(registry):
        registry.add("encoder", "not_a_factory", 42)
"""

WRONG_KIND = """
    import kssl


    class Widget:
        pass


    @kssl.hookimpl
    def kssl_register(registry):
        registry.add("gadget", "widget", Widget)
"""


@pytest.mark.slow
def test_broken_plugins_are_reported_and_isolated(installed, tmp_path, write_recipe):
    root = tmp_path / "src"
    installed.install(
        make_distribution(root, "kssl-test-importfail", "kssl_test_importfail", IMPORT_FAILS, entry_point="importfail"),
        make_distribution(root, "kssl-test-hookraises", "kssl_test_hookraises", HOOK_RAISES, entry_point="hookraises"),
        make_distribution(root, "kssl-test-duplicate", "kssl_test_duplicate", DUPLICATE, entry_point="duplicate"),
        make_distribution(root, "kssl-test-noncallable", "kssl_test_noncallable", NON_CALLABLE, entry_point="noncallable"),
        make_distribution(root, "kssl-test-wrongkind", "kssl_test_wrongkind", WRONG_KIND, entry_point="wrongkind"),
    )

    # `kssl plugins`: every problem with its distribution name and reason; the built-ins are intact.
    rows = _plugins_listing(installed.kssl("plugins"))
    assert rows["importfail"].startswith("kssl-test-importfail: failed to import: ModuleNotFoundError")
    assert rows["hookraises"] == "kssl-test-hookraises: kssl_register raised RuntimeError: cannot find the weights file raiser.bin"
    assert rows["noncallable"].startswith(
        "kssl-test-noncallable: kssl_register raised RegistryError: registry.add('encoder', 'not_a_factory', ...): the factory must be callable"
    )
    assert rows["wrongkind"].startswith("kssl-test-wrongkind: kssl_register raised RegistryError: registry.add: unknown kind 'gadget'")
    assert rows["cnn"] == "kssl  CONFLICT: also registered by kssl-test-duplicate"
    assert "raiser_task" not in rows and "not_a_factory" not in rows and "widget" not in rows  # rolled back
    for name in ("simclr", "mlp", "resnet", "digits", "knn"):
        assert rows[name] == "kssl"

    # A recipe that uses none of the affected names still validates.
    ok = installed.kssl("validate", write_recipe(TINY, "ok.yaml"))
    assert ok.returncode == 0 and "ok: tiny" in ok.stdout, ok.text[-3000:]

    # A name two distributions provide: a clear error naming both, no traceback.
    ambiguous = installed.kssl("validate", write_recipe({**TINY, "encoder": {"type": "cnn", "filters": [8]}}, "cnn.yaml"))
    assert ambiguous.returncode == 2 and "Traceback" not in ambiguous.stderr
    assert "encoder.type: encoder 'cnn' is registered by more than one plugin: 'kssl' and 'kssl-test-duplicate'" in ambiguous.text

    # A name a broken plugin would have provided: the error says which plugins failed and why.
    missing = installed.kssl("validate", write_recipe({**TINY, "pretext": {"type": "raiser_task"}}, "raiser.yaml"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert "pretext.type: unknown pretext 'raiser_task'" in missing.text
    assert "kssl-test-hookraises (kssl_register raised RuntimeError: cannot find the weights file raiser.bin)" in missing.text
    assert "kssl-test-importfail (failed to import: ModuleNotFoundError" in missing.text

    # KSSL_DISABLE_PLUGINS: by distribution name it lifts the conflict; "1" skips every entry point.
    lifted = installed.kssl(
        "validate", write_recipe({**TINY, "encoder": {"type": "cnn", "filters": [8]}}, "cnn2.yaml"), KSSL_DISABLE_PLUGINS="kssl-test-duplicate"
    )
    assert lifted.returncode == 0, lifted.text[-3000:]
    hermetic = installed.kssl("plugins", KSSL_DISABLE_PLUGINS="1")
    assert "broken plugins" not in hermetic.stdout and "CONFLICT" not in hermetic.stdout and "simclr" in hermetic.stdout


ZOO_PLUGIN = """
    import kssl


    @kssl.hookimpl
    def kssl_register(registry):
        pass
"""


@pytest.mark.slow
def test_zoo_recipes_shipped_by_a_plugin_are_found_by_name(installed, tmp_path):
    folder = make_distribution(tmp_path / "src", "kssl-test-zoo", "kssl_test_zoo", ZOO_PLUGIN)
    (folder / "kssl_test_zoo" / "zoo").mkdir()
    (folder / "kssl_test_zoo" / "zoo" / "tiny-plugin-recipe.yaml").write_text(yaml.safe_dump({**TINY, "description": "a plugin's recipe"}))
    text = (folder / "pyproject.toml").read_text()
    text = text.replace("[tool.setuptools]", '[project.entry-points."kssl.zoo"]\nkssl_test_zoo = "kssl_test_zoo.zoo"\n\n[tool.setuptools]')
    (folder / "pyproject.toml").write_text(text + '\n[tool.setuptools.package-data]\nkssl_test_zoo = ["zoo/*.yaml"]\n')
    installed.install(folder)
    zoo = installed.kssl("zoo")
    assert "tiny-plugin-recipe" in zoo.stdout and "a plugin's recipe" in zoo.stdout, zoo.text[-2000:]
    ok = installed.kssl("validate", "tiny-plugin-recipe")
    assert ok.returncode == 0 and "ok: tiny" in ok.stdout, ok.text[-3000:]
    hidden = installed.kssl("validate", "tiny-plugin-recipe", KSSL_DISABLE_PLUGINS="kssl-test-zoo")
    assert hidden.returncode == 2 and "no zoo recipe of that name" in hidden.text


# One name per kind: in KSSL_PLUGIN_TEST_INSTALL=venv mode the distributions share this environment.
SKELETONS = {"pretext": "my_task", "augmenter": "sharpen", "encoder": "patches", "dataset": "lines_demo", "evaluator": "ncm"}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(SKELETONS))
def test_the_new_plugin_skeleton_installs_and_its_tests_pass(installed, tmp_path, kind):
    """``kssl new-plugin NAME --kind KIND``, pip install, then the skeleton's own pytest (tests/test_new_plugin.py: without pip)."""
    name = SKELETONS[kind]
    made = installed.kssl("new-plugin", name, "--kind", kind, "--output-dir", tmp_path)
    assert made.returncode == 0, made.text[-3000:]
    root = tmp_path / f"kssl-{name.replace('_', '-')}"
    installed.install(root)
    rows = _plugins_listing(installed.kssl("plugins"))
    assert rows[name] == root.name
    env = {**installed.env, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root, capture_output=True, text=True, timeout=900, env=env
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout and "deselected" not in result.stdout
