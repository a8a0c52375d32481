"""Bad input through the CLI (`kssl validate` / `kssl train`): exit code 2, one paragraph naming the key, nothing written."""

import pytest
import yaml
from click.testing import CliRunner

from kssl.cli import main

RECIPE = {
    "name": "tiny-colorization",
    "seed": 0,
    "data": {"type": "colour_tiles", "sources": ["china", "flower"], "tile_size": 64, "image_size": 16, "batch_size": 32},
    "encoder": {"type": "cnn"},
    "pretext": {"type": "colorization", "target_size": 4, "head_width": 8},
    "train": {"epochs": 1, "verbose": 0},
    "eval": [],
}


def _files(folder):
    return sorted(p.relative_to(folder) for p in folder.rglob("*"))


@pytest.fixture
def invoke(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def run(command, recipe, *overrides):
        path = tmp_path / "recipe.yaml"
        path.write_text(yaml.safe_dump(recipe))
        before = _files(tmp_path)
        args = [command, str(path)] + [a for o in overrides for a in ("--set", o)]
        if command == "train":
            args += ["--output-dir", str(tmp_path / "runs")]
        result = CliRunner().invoke(main, args)
        written = sorted(set(_files(tmp_path)) - set(before))
        return result, " ".join(result.output.split()), written

    return run


def test_the_tiny_recipe_validates(invoke):
    result, text, _ = invoke("validate", RECIPE)
    assert result.exit_code == 0, text
    assert "ok: tiny-colorization: colorization on colour_tiles (96 training samples, input (16, 16, 3))" in text


@pytest.mark.parametrize(
    "recipe, overrides, words",
    [
        (
            {**RECIPE, "data": {"type": "digits", "image_size": 16, "channels": 1}},
            [],
            ["encoder: colorization needs colour images, got 1 channel", "data: {type: colour_tiles}"],
        ),
        (RECIPE, ["data.tile_size=500"], ["data.tile_size: 500 is larger than the photograph(s) china (427x640), flower (427x640)", "at most 427"]),
        (RECIPE, ["pretext.target_size=3"], ["pretext.target_size: the predicted ab grid must evenly divide the 16x16 images, got 3"]),
        (RECIPE, ["data.sources=[china, flowers]"], ["data.sources:", "got 'flowers'", "Did you mean 'flower'?"]),
        (RECIPE, ["pretext.sigma=.nan"], ["pretext.sigma: expected a positive number", "NaN"]),
    ],
)
def test_validate_refuses_bad_input(invoke, recipe, overrides, words):
    result, text, written = invoke("validate", recipe, *overrides)
    assert result.exit_code == 2, text
    assert "Traceback" not in result.output and "Error:" in text
    for word in words:
        assert word in text, f"{word!r} not in: {text}"
    assert written == []


def test_train_refuses_gray_images_in_three_channels_and_writes_nothing(invoke):
    recipe = {**RECIPE, "data": {"type": "digits", "image_size": 16, "channels": 3, "limit": 64}}
    result, text, written = invoke("train", recipe)
    assert result.exit_code == 2, text
    assert "data: colorization needs colour images, but the first 64 training images are gray" in text
    assert [str(p) for p in written] in ([], ["runs"])  # at most the empty --output-dir
