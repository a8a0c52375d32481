"""Recipe loading, overrides and structural errors (no Keras needed)."""

import pytest

from kssl.errors import KsslError, RecipeError
from kssl.recipe import apply_override, load_recipe, parse_override, resolve_source


def test_zoo_names_and_paths_resolve(tmp_path, monkeypatch):
    assert resolve_source("simclr").name == "simclr.yaml"
    monkeypatch.chdir(tmp_path)  # `zoo/simclr.yaml` works from any folder
    assert resolve_source("zoo/simclr.yaml").name == "simclr.yaml"
    with pytest.raises(KsslError, match="Did you mean 'simclr'"):
        resolve_source("simclrr")


def test_defaults_are_filled(tiny_recipe):
    recipe = load_recipe(tiny_recipe)
    assert recipe["train"]["epochs"] == 1 and recipe["train"]["precision"] == "float32"
    assert recipe["optimizer"]["type"] == "adam" and recipe["distribution"]["strategy"] == "auto"
    assert tiny_recipe["train"] == {"epochs": 1, "log_images": 2}  # the input is not mutated


def test_overrides_parse_yaml_values(tiny_recipe):
    recipe = load_recipe(tiny_recipe, ["pretext.temperature=0.5", "eval.0.k=3", "train.epochs=4", "augmenter.crop_scale=[0.2, 1]"])
    assert recipe["pretext"]["temperature"] == 0.5
    assert recipe["eval"][0]["k"] == 3
    assert recipe["train"]["epochs"] == 4
    assert recipe["augmenter"]["crop_scale"] == [0.2, 1]


@pytest.mark.parametrize(
    "text, value", [("3e-3", 0.003), ("1.0e-3", 0.001), ("-2E+2", -200.0), ("1e5", 100000.0), ("[1e-3, 2]", [0.001, 2]), ("3", 3), ("e5", "e5")]
)
def test_exponent_floats_are_numbers(text, value):
    # YAML 1.1 (PyYAML's default) reads 3e-3 as a string; recipes read it as YAML 1.2 does
    assert parse_override(f"optimizer.learning_rate={text}")[1] == value


def test_exponent_float_in_a_recipe_file(write_recipe):
    recipe = load_recipe(
        write_recipe("name: t\ndata: {type: digits}\nencoder: {type: mlp}\npretext: {type: simclr}\noptimizer: {type: adam, learning_rate: 5e-4}\n")
    )
    assert recipe["optimizer"]["learning_rate"] == 5e-4


@pytest.mark.parametrize(
    "override, path",
    [("nosuch.key=1", "nosuch"), ("pretext.temperature.deeper=1", "pretext.temperature"), ("eval.7.k=1", "eval.7")],
)
def test_override_of_missing_path_names_it(tiny_recipe, override, path):
    with pytest.raises(RecipeError) as info:
        load_recipe(tiny_recipe, [override])
    assert info.value.path == path


def test_override_needs_equals():
    with pytest.raises(KsslError, match="KEY.PATH=VALUE"):
        parse_override("pretext.temperature")


@pytest.mark.parametrize(
    "text, message",
    [
        ("data: {type: digits\n", "malformed YAML at line"),
        ("!!python/object/apply:os.system ['echo hi']\n", "YAML tags such as python objects are not allowed"),
        ("- a\n- b\n", "must be a YAML mapping"),
        ("", "the recipe is empty"),
    ],
)
def test_bad_yaml_is_explained(write_recipe, text, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(write_recipe(text))


@pytest.mark.parametrize(
    "change, path, message",
    [
        ({"pretxt": {"type": "simclr"}}, "pretxt", "Did you mean 'pretext'"),
        ({"train": {"epochs": "ten"}}, "train.epochs", "expected an integer >= 1, got 'ten'"),
        ({"train": {"epochs": 0}}, "train.epochs", "expected an integer >= 1"),
        ({"train": {"epoch": 3}}, "train.epoch", "Did you mean 'epochs'"),
        ({"train": {"precision": "fp8"}}, "train.precision", "expected one of"),
        ({"backend": "tensorflw"}, "backend", "Did you mean 'tensorflow'"),
        ({"encoder": "resnet"}, "encoder", "expected a mapping with a 'type' key"),
        ({"encoder": {"depth": 18}}, "encoder.type", "missing"),
        ({"eval": {"type": "knn"}}, "eval", "expected a list of evaluators"),
        ({"seed": -1}, "seed", "expected an integer >= 0"),
        ({"distribution": {"strategy": "mirored"}}, "distribution.strategy", "Did you mean 'mirrored'"),
        ({"distribution": {"strategy": "auto", "gpus": 2}}, "distribution.gpus", "unknown key"),
        ({"distribution": {"strategy": "none", "devices": 2}}, "distribution.devices", "only the mirrored and data_parallel"),
        ({"distribution": {"strategy": "multi_worker", "num_processes": 0}}, "distribution.num_processes", "expected an integer >= 1"),
        ({"distribution": ["mirrored"]}, "distribution", "expected a mapping such as {strategy: auto} or a strategy name"),
    ],
)
def test_structural_errors_name_the_key(tiny_recipe, change, path, message):
    tiny_recipe.update(change)
    with pytest.raises(RecipeError, match=message) as info:
        load_recipe(tiny_recipe)
    assert info.value.path == path
    assert str(info.value).startswith(path)


def test_missing_required_section(tiny_recipe):
    del tiny_recipe["pretext"]
    with pytest.raises(RecipeError, match="missing") as info:
        load_recipe(tiny_recipe)
    assert info.value.path == "pretext"


def test_apply_override_sets_new_argument_in_existing_section():
    recipe = {"pretext": {"type": "simclr"}}
    apply_override(recipe, "pretext.temperature", 0.3)
    assert recipe["pretext"]["temperature"] == 0.3


def test_distribution_section_is_checked_and_completed_at_load_time(tiny_recipe):
    recipe = load_recipe(tiny_recipe, ["distribution.strategy=mirrored", "distribution.devices=2"])
    assert recipe["distribution"] == {"strategy": "mirrored", "devices": 2}
    tiny_recipe["distribution"] = "data_parallel"  # a strategy name stands for {strategy: data_parallel}
    assert load_recipe(tiny_recipe)["distribution"] == {"strategy": "data_parallel"}
    tiny_recipe["distribution"] = None
    assert load_recipe(tiny_recipe)["distribution"] == {"strategy": "auto"}
    tiny_recipe["distribution"] = {"strategy": "multi_worker"}
    with pytest.raises(RecipeError) as info:
        load_recipe(tiny_recipe, ["distribution.coordinator_address=nohost"])
    assert info.value.path == "distribution.coordinator_address"
