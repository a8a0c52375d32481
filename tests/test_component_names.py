"""kssl.component_names: a recipe's ``type`` names checked against the registry's names alone."""

import pytest

from kssl.component_names import check_component_names
from kssl.errors import RecipeError
from kssl.registry import Registry


def _registry():
    registry = Registry()
    for kind, name in [("dataset", "digits"), ("augmenter", "simclr"), ("encoder", "cnn"), ("pretext", "simclr"), ("evaluator", "knn")]:
        registry.add(kind, name, "kssl_never_imported_xyz:factory")  # a reference that would fail if anything imported it
    return registry


RECIPE = {
    "data": {"type": "digits"},
    "augmenter": {"type": "simclr"},
    "encoder": {"type": "cnn"},
    "pretext": {"type": "simclr"},
    "eval": [{"type": "knn"}, {"type": "knn", "k": 3}],
}


def test_known_names_pass_without_importing_any_factory():
    check_component_names(RECIPE, _registry())
    check_component_names({**RECIPE, "augmenter": None}, _registry())  # an optional section left out


@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("pretext", {"type": "simclrr"}, "pretext.type: unknown pretext 'simclrr'. Did you mean 'simclr'?"),
        ("data", {"type": "digit"}, "data.type: unknown dataset 'digit'. Did you mean 'digits'?"),
        ("encoder", {"type": "resnet"}, "encoder.type: unknown encoder 'resnet'. Registered encoders: cnn."),
        ("eval", [{"type": "knn"}, {"type": "knnn"}], "eval.1.type: unknown evaluator 'knnn'. Did you mean 'knn'?"),
    ],
)
def test_an_unknown_name_names_its_key_path_and_the_close_one(section, value, message):
    with pytest.raises(RecipeError) as info:
        check_component_names({**RECIPE, section: value}, _registry())
    assert str(info.value).startswith(message), str(info.value)


def test_the_process_registry_is_used_by_default():
    check_component_names(RECIPE)
    with pytest.raises(RecipeError, match="pretext.type: unknown pretext 'simclrr'"):
        check_component_names({**RECIPE, "pretext": {"type": "simclrr"}})
