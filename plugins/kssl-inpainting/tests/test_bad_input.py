"""Bad recipes through the CLI: exit code 2, one paragraph naming the key, no traceback, nothing written."""

import numpy as np
import pytest
from click.testing import CliRunner

from kssl.cli import main


def _validate(tmp_path, monkeypatch, *overrides):
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    args = ["validate", "inpainting"]
    for override in ("data.limit=64", "encoder.width=4", "eval=[]", *overrides):
        args += ["--set", override]
    result = CliRunner().invoke(main, args)
    assert sorted(tmp_path.rglob("*")) == before, "validate wrote files"
    return result


def _assert_bad(result, key, *phrases):
    message = result.output.strip()
    assert result.exit_code == 2, (result.exit_code, message, result.exception)
    assert "Traceback" not in message and len(message.splitlines()) == 1, message
    assert key in message, message
    for phrase in phrases:
        assert phrase in message, message


@pytest.mark.parametrize(
    "override, phrases",
    [
        ("pretext.region_size=0", ["expected a number > 0.0, got 0"]),
        ("pretext.region_size=1", ["expected a number < 1.0, got 1"]),
        ("pretext.region_size=1.5", ["expected a number < 1.0"]),
        ("pretext.region_size=.nan", ["NaN"]),
        ("pretext.region_size=half", ["expected a number"]),
        ("pretext.region_size=0.02", ["smaller than one pixel", "16x16"]),
        ("pretext.region_size=0.97", ["leaves no context", "15x15"]),
        ("pretext.region=everywhere", ["expected one of 'center', 'random'"]),
        ("pretext.fill=median", ["expected 'mean'"]),
        ("pretext.context_weight=-0.5", ["expected a number >= 0.0"]),
    ],
)
def test_bad_pretext_arguments(override, phrases, tmp_path, monkeypatch):
    key = override.split("=")[0]
    _assert_bad(_validate(tmp_path, monkeypatch, override), f"{key}:", *phrases)


def test_a_non_image_dataset_is_refused(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "flat.npz", x=rng.uniform(size=(60, 64)).astype("float32"), y=np.arange(60) % 3)
    result = _validate(tmp_path, monkeypatch, f"data={{type: numpy, path: {tmp_path / 'flat.npz'}}}", "encoder={type: mlp, hidden_units: [8]}")
    _assert_bad(result, "pretext.input_shape:", "needs image data", "(64,)", "data section")


def test_the_recipe_itself_validates(tmp_path, monkeypatch):
    result = _validate(tmp_path, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "ok: inpainting-digits: inpainting on digits" in result.output, result.output
