"""``kssl new-plugin NAME --kind KIND``: every kind's skeleton is generated and its own tests pass.

The skeleton's tests run here in this process, without pip: its ``src/`` goes on
``sys.path``, the hook is checked through an explicit registry (``check_registered(...,
module=...)``), and the zoo recipe is built from its file with a registry that holds the
plugin, as its installed entry point would provide. The two tests that need the installed
distribution (its registration, and a one-step run of the recipe by its zoo name) are left
out; tests/test_plugin_distributions.py runs the whole generated suite after a real
``pip install`` (slow).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys

import pytest
from click.testing import CliRunner

from kssl.builder import build_all
from kssl.cli import main, new_plugin
from kssl.registry import KINDS
from kssl.templates.plugin import write_plugin_skeleton

NAMES = {kind: f"scaffold_{kind}" for kind in KINDS}  # one package per kind: their Keras classes never collide
FILES = ("pyproject.toml", "README.md", "src/kssl_{n}/__init__.py", "src/kssl_{n}/{n}.py", "src/kssl_{n}/zoo/{n}.yaml",
         "tests/conftest.py", "tests/test_plugin.py", "tests/test_{n}.py")  # fmt: skip
INSTALLED_ONLY = {"test_the_zoo_recipe_trains_one_step"}  # the recipe by its zoo name, and training: the slow path


def _import_file(path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run_tests(module, tmp_path, skip=()) -> list[str]:
    """Call every ``test_*`` function of ``module`` (the generated tests use no fixture but ``tmp_path``)."""
    ran = []
    for name, test in vars(module).items():
        if not name.startswith("test_") or not callable(test) or name in skip:
            continue
        parameters = set(inspect.signature(test).parameters)
        assert parameters <= {"tmp_path"}, f"{module.__name__}.{name} uses fixtures {parameters - {'tmp_path'}}; the skeleton's tests use only tmp_path"
        folder = tmp_path / name
        folder.mkdir(parents=True)
        test(**({"tmp_path": folder} if parameters else {}))
        ran.append(name)
    return ran


@pytest.mark.parametrize("kind", KINDS)
def test_the_skeleton_of_each_kind_passes_its_own_tests(kind, tmp_path, monkeypatch):
    import kssl.plugins

    name = NAMES[kind]
    root = write_plugin_skeleton(name, tmp_path, kind, registry=kssl.plugins.get_registry())
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == sorted(f.format(n=name) for f in FILES)
    pyproject = (root / "pyproject.toml").read_text()
    assert f'[project.entry-points.kssl]\n{name} = "kssl_{name}"' in pyproject
    assert f'[project.entry-points."kssl.zoo"]\n{name} = "kssl_{name}.zoo"' in pyproject
    assert f'registry.add("{kind}", "{name}", ' in (root / f"src/kssl_{name}/__init__.py").read_text()
    for path in root.rglob("*"):
        assert path.is_dir() or "$" not in path.read_text(), f"{path}: a template placeholder was left unfilled"

    monkeypatch.syspath_prepend(str(root / "src"))
    try:
        package = importlib.import_module(f"kssl_{name}")
        _, registry = kssl.plugins.get_plugin_manager([package], entry_points=False)
        assert registry.entry(kind, name).lazy and f"kssl_{name}.{name}" not in sys.modules  # registered by name, imported on use
        monkeypatch.setattr(kssl.plugins, "_REGISTRY", registry)  # what the installed entry point would add
        component_tests = _import_file(root / "tests" / f"test_{name}.py", f"generated_test_{name}")
        plugin_tests = _import_file(root / "tests" / "test_plugin.py", f"generated_test_plugin_{name}")
        ran_component = _run_tests(component_tests, tmp_path / "component")
        ran_plugin = _run_tests(plugin_tests, tmp_path / "plugin", skip=INSTALLED_ONLY | {f"test_the_installed_distribution_registers_the_{kind}"})
        # The recipe, built (data, model, evaluators) from its file; training it is the slow path's one-step run.
        built = build_all(root / "src" / f"kssl_{name}" / "zoo" / f"{name}.yaml", plugin_tests.SMOKE_OVERRIDES)
    finally:
        for module in [m for m in sys.modules if m.split(".")[0] in (f"kssl_{name}", component_tests.__name__, plugin_tests.__name__)]:
            del sys.modules[module]
    assert len(ran_component) >= 3, ran_component  # the contract, numbers against numpy, a bad argument
    assert ran_plugin == [f"test_the_hook_registers_the_{kind}"]
    if kind == "evaluator":
        assert type(built.evaluators[-1]).__name__ == "ScaffoldEvaluator"
    else:
        assert built.recipe["data" if kind == "dataset" else kind]["type"] == name


@pytest.fixture
def cli(tmp_path):
    def _run(*args):
        result = CliRunner().invoke(main, ["new-plugin", *map(str, args), "--output-dir", str(tmp_path)], catch_exceptions=False)
        result.text = " ".join(result.output.split())  # one line: wrapped messages match
        return result

    return _run


def test_the_command_writes_an_augmenter_by_default(cli, tmp_path):
    result = cli("sharpen")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "kssl-sharpen")
    assert 'registry.add("augmenter", "sharpen", "kssl_sharpen.sharpen:Sharpen")' in (tmp_path / "kssl-sharpen/src/kssl_sharpen/__init__.py").read_text()
    again = cli("sharpen")
    assert again.exit_code == 2 and "already exists" in again.text


def test_the_command_offers_every_registry_kind():
    [kind] = [p for p in new_plugin.params if p.name == "kind"]
    assert sorted(kind.type.choices) == sorted(KINDS)


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["sharpen", "--kind", "callback"], ["Invalid value for '--kind'", "'callback' is not one of", "'pretext'", "'evaluator'"]),
        (["Sharp-En!"], ["new-plugin NAME: expected a lowercase Python identifier", "'Sharp-En!'"]),
        (["class"], ["not a Python keyword", "'class'"]),
        (["keras", "--kind", "encoder"], ["uses the name 'keras' itself", "choose another NAME"]),
        (["knn", "--kind", "evaluator"], ["kssl already provides the evaluator 'knn'", "choose another NAME"]),
        (["simclr", "--kind", "encoder"], ["a zoo recipe named 'simclr' already exists", "choose another NAME"]),
    ],
)
def test_bad_input_is_refused_with_exit_code_2_and_nothing_written(cli, tmp_path, args, fragments):
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.text, result.text
    assert not any(tmp_path.iterdir()), "a partial skeleton was left behind"
