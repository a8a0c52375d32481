"""Bad recipes for BYOL, SimSiam, MoCo v2 and v3 through the CLI: exit code 2, one message naming the key, nothing written."""

import pytest
from click.testing import CliRunner

from kssl.cli import main

SMALL = {"projection_dim": 8, "projection_hidden_dims": [16]}


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize(
    "pretext, augmenter, fragment",
    [
        ({"type": "byol", "base_momentum": 1.0}, True, "pretext.base_momentum: expected a momentum in [0, 1), got 1.0"),
        ({"type": "moco_v3", "base_momentum": -0.1}, True, "pretext.base_momentum: expected a momentum in [0, 1), got -0.1"),
        ({"type": "moco_v2", "queue_size": 96}, True, "pretext.queue_size: expected a multiple of the global batch size 64"),
        ({"type": "moco_v2", "queue_size": 32}, True, "pretext.queue_size: expected a multiple of the global batch size 64 (at least one batch), got 32"),
        ({"type": "simsiam"}, False, "augmenter: the SimSiam pretext task compares two augmented views and needs an augmenter"),
        ({"type": "byol"}, False, "augmenter: the BYOL pretext task"),
        ({"type": "moco_v2"}, False, "augmenter: the MoCoV2 pretext task"),
        ({"type": "moco_v3"}, False, "augmenter: the MoCoV3 pretext task"),
    ],
)
def test_bad_recipes_exit_2_naming_the_key_and_write_nothing(tiny_recipe, write_recipe, tmp_path, pretext, augmenter, fragment):
    tiny_recipe["pretext"] = {**pretext, **SMALL}
    if not augmenter:
        tiny_recipe["augmenter"] = None
    path = write_recipe(tiny_recipe)
    out = tmp_path / "runs"
    for result in (_run("validate", path), _run("train", path, "--output-dir", out)):
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert fragment in result.output.replace("\n", " "), result.output
    assert not out.exists() or not any(out.iterdir()), "a run directory was left behind"


def test_a_good_moco_v2_recipe_validates(tiny_recipe, write_recipe):
    tiny_recipe["pretext"] = {"type": "moco_v2", "queue_size": 128, **SMALL}
    result = _run("validate", write_recipe(tiny_recipe))
    assert result.exit_code == 0 and result.stdout.startswith("ok: tiny-simclr"), result.output
