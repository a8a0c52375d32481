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


# -- issue #20: duplicate keys, bounds, tolerances, the Python-API arguments ----------------------------------------


def test_a_key_given_twice_is_refused_with_both_lines(write_recipe):
    path = write_recipe("name: a\nseed: 1\ndata: {type: digits}\nencoder: {type: mlp}\npretext: {type: simclr}\nseed: 2\n")
    with pytest.raises(RecipeError, match=r"the key 'seed' appears twice in one mapping \(lines 2 and 6\)"):
        load_recipe(path)


def test_yaml_merge_keys_are_not_duplicates():
    from kssl.recipe_yaml import parse_yaml

    # a key next to a merge (`<<`) overrides the merged one: YAML's intent, not a duplicate
    assert parse_yaml("a: &b {x: 1}\nc:\n  <<: *b\n  x: 2\n", "r.yaml") == {"a": {"x": 1}, "c": {"x": 2}}


@pytest.mark.parametrize(
    "key, largest",
    [("seed", 2**32 - 1), ("train.epochs", 100_000), ("train.steps_per_epoch", 100_000_000), ("train.log_images", 1_000)],
)
def test_integer_bounds_accept_the_largest_value_and_refuse_the_next(tiny_recipe, key, largest):
    assert load_recipe(tiny_recipe, [(key, largest)]) is not None
    with pytest.raises(RecipeError, match=rf"^{key}: expected an integer <= {largest:,}, got {largest + 1:,}"):
        load_recipe(tiny_recipe, [(key, largest + 1)])


def test_text_bounds(tiny_recipe):
    assert load_recipe({**tiny_recipe, "name": "n" * 100, "description": "d" * 10_000})["name"] == "n" * 100
    with pytest.raises(RecipeError, match=r"^name: expected at most 100 characters, got 101"):
        load_recipe({**tiny_recipe, "name": "n" * 101})
    with pytest.raises(RecipeError, match=r"^description: expected at most 10,000 characters, got 1,000,000"):
        load_recipe({**tiny_recipe, "description": "d" * 10**6})


def test_a_yaml_alias_bomb_is_refused_before_anything_walks_it(write_recipe, tiny_recipe):
    # nine levels of nine aliases: 9**9 = 387,420,489 values that PyYAML shares but any walk over them expands
    levels = ["  - &l0 [x, x, x, x, x, x, x, x, x]"] + [f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 9)]
    import yaml

    path = write_recipe(yaml.safe_dump(tiny_recipe) + "description:\n" + "\n".join(levels) + "\n")
    with pytest.raises(RecipeError, match=r"^description: holds more than 100,000 values \(YAML aliases"):
        load_recipe(path)
    small = [["x"] * 9] * 9  # shared lists below the bound are fine (then refused as a description for not being text)
    with pytest.raises(RecipeError, match=r"^description: expected a string"):
        load_recipe({**tiny_recipe, "description": small})


def test_tolerances_name_recorded_results_with_positive_finite_values(tiny_recipe):
    recipe = {**tiny_recipe, "results": {"knn_accuracy": 0.9, "linear_probe_accuracy": 0.8}}
    ok = load_recipe({**recipe, "tolerances": {"knn_accuracy": 0.02, "default": 0.05}})
    assert ok["tolerances"] == {"knn_accuracy": 0.02, "default": 0.05}
    for tolerances, path, message in [
        ([0.1], "tolerances", "expected a mapping"),
        ({"knn_acuracy": 0.1}, "tolerances.knn_acuracy", "not a metric recorded in `results`. Did you mean 'knn_accuracy'?"),
        ({"default": 0}, "tolerances.default", "positive, finite"),
        ({"default": float("inf")}, "tolerances.default", "got inf"),
        ({"default": "0.1"}, "tolerances.default", "got '0.1'"),
    ]:
        with pytest.raises(RecipeError) as info:
            load_recipe({**recipe, "tolerances": tolerances})
        assert info.value.path == path and message in info.value.message


@pytest.mark.parametrize(
    "source, overrides, message",
    [
        (123, (), "source: expected a recipe path, a zoo recipe name or a recipe mapping (dict), got int 123."),
        (None, (), "source: expected a recipe path"),
        ("simclr", "train.epochs=5", "overrides: expected a list of 'KEY.PATH=VALUE' strings, got the single string 'train.epochs=5'"),
        ("simclr", 5, "overrides: expected a list"),
        ("simclr", ["train.epochs=5", 7], "overrides[1]: expected a 'KEY.PATH=VALUE' string or a (key, value) pair, got 7"),
    ],
)
def test_python_api_arguments_are_named(source, overrides, message):
    with pytest.raises(KsslError) as info:
        load_recipe(source, overrides)
    assert str(info.value).startswith(message)


def test_overrides_as_pairs_and_paths_still_work(tiny_recipe, write_recipe):
    path = write_recipe(tiny_recipe)
    assert load_recipe(path, [("train.epochs", 3), ["seed", 4]])["train"]["epochs"] == 3
    assert load_recipe(str(path), ("seed=5",))["seed"] == 5
