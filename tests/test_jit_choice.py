"""``train.jit_compile: auto``: one choice per backend, explicit settings honoured, the choice in the log."""

import pytest

from kssl.jit_choice import describe_jit_compile, resolve_jit_compile
from kssl.recipe import TRAIN_DEFAULTS, load_recipe


@pytest.mark.parametrize(
    ("setting", "backend", "expected"),
    [
        ("auto", "jax", True),
        ("auto", "tensorflow", False),
        ("auto", "torch", False),
        (True, "tensorflow", True),
        (False, "jax", False),
        (True, "torch", True),
    ],
)
def test_auto_picks_per_backend_and_explicit_settings_win(setting, backend, expected):
    assert resolve_jit_compile(setting, backend) is expected


def test_the_log_line_says_what_was_chosen_and_why():
    assert describe_jit_compile("auto", "jax") == "jit_compile auto -> true (jax)"
    assert describe_jit_compile("auto", "tensorflow") == "jit_compile auto -> false (tensorflow)"
    assert describe_jit_compile(True, "tensorflow") == "jit_compile true (set in the recipe; tensorflow)"


def test_auto_is_the_default_and_false_still_loads(tiny_recipe):
    assert TRAIN_DEFAULTS["jit_compile"] == "auto"
    assert load_recipe(tiny_recipe)["train"]["jit_compile"] == "auto"
    assert load_recipe({**tiny_recipe, "train": {"jit_compile": False}})["train"]["jit_compile"] is False


@pytest.mark.parametrize(("setting", "compiled"), [("auto", False), (True, True), (False, False)])
def test_the_builder_compiles_with_the_resolved_setting(tiny_recipe, capsys, setting, compiled):
    from kssl.builder import build_all

    tiny_recipe["train"]["jit_compile"] = setting
    model = build_all(tiny_recipe).model  # the test process runs TensorFlow
    assert model.jit_compile is compiled
    assert describe_jit_compile(setting, "tensorflow") in capsys.readouterr().err


def test_auto_compiles_with_xla_on_jax():
    from tests.jax_subprocess import run_on_jax

    run_on_jax(
        "import sys; sys.path.insert(0, 'tests')\n"
        "from conftest import TINY_SIMCLR\n"
        "from kssl.builder import build_all\n"
        "model = build_all({**TINY_SIMCLR, 'eval': []}).model\n"
        "assert model.jit_compile is True, model.jit_compile\n"
        "print('JAX-OK')\n",
        timeout=600,
    )
