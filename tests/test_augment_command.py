"""`kssl augment`: a PNG grid of originals and their augmented views, exit code 2 and nothing written on bad input."""

import os

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kssl.cli import main
from kssl.viz.grid import image_grid

PAD = 2


@pytest.fixture
def recipe(tiny_recipe, write_recipe):
    tiny_recipe["data"] = {"type": "coloured_digits", "image_size": 8, "limit": 64}
    tiny_recipe["augmenter"] = {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0, "seed": 3}
    return write_recipe(tiny_recipe)


def _run(*args):
    return CliRunner().invoke(main, ["augment", *[str(a) for a in args]], catch_exceptions=False)


def _tiles(path, rows, cols, side):
    """The grid's tiles as (rows, cols, side, side, 3) uint8 (the PNG read back)."""
    grid = np.asarray(Image.open(path))
    assert grid.shape == (rows * (side + PAD) + PAD, cols * (side + PAD) + PAD, 3)
    return np.stack([[grid[PAD + r * (side + PAD) :][:side, PAD + c * (side + PAD) :][:, :side] for c in range(cols)] for r in range(rows)])


def test_grid_shows_each_original_then_its_views_and_is_reproducible(recipe, tmp_path):
    from kssl.data.coloured_digits import coloured_digits

    out = tmp_path / "grid.png"
    result = _run(recipe, "--n", 3, "--views", 4, "--output", out)
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(str(out))
    tiles = _tiles(out, rows=3, cols=5, side=64)  # 8x8 images enlarged 8x
    originals = coloured_digits(image_size=8, limit=64).x_train[:3]
    expected = image_grid(originals, ncols=1, padding=0, scale=8).reshape(3, 64, 64, 3)
    np.testing.assert_array_equal(tiles[:, 0], expected)  # first column: the training images themselves
    for r in range(3):
        views = tiles[r, 1:].astype(int)
        assert all(np.abs(v - tiles[r, 0]).mean() > 1.0 for v in views)  # each view is augmented ...
        assert len({v.tobytes() for v in views}) == 4  # ... and each differently
    again = tmp_path / "again.png"
    assert _run(recipe, "--n", 3, "--views", 4, "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()  # seeded by the recipe's seed
    other = tmp_path / "other.png"
    assert _run(recipe, "--n", 3, "--views", 4, "-o", other, "--set", "seed=1", "--set", "augmenter.seed=4").exit_code == 0
    assert other.read_bytes() != out.read_bytes()


def test_logdir_gets_the_same_grid_as_a_tensorboard_image(recipe, tmp_path):
    out, logs = tmp_path / "grid.png", tmp_path / "tb"
    assert _run(recipe, "--n", 2, "--views", 2, "-o", out, "--logdir", logs).exit_code == 0
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(logs), size_guidance={"tensors": 0})
    events.Reload()
    (tag,) = events.Tags()["tensors"]
    assert tag == "augment/tiny-simclr"
    import tensorflow as tf

    encoded = tf.make_ndarray(events.Tensors(tag)[0].tensor_proto)[2]  # width, height, PNG bytes
    np.testing.assert_array_equal(tf.io.decode_png(encoded).numpy(), np.asarray(Image.open(out)))


def test_default_output_is_named_after_the_recipe(recipe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert _run(recipe, "--n", 1, "--views", 1).exit_code == 0
    assert (tmp_path / "tiny-simclr-augment.png").is_file()


def _assert_bad(result, *fragments):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = result.output.replace("\n", " ")
    for fragment in fragments:
        assert fragment in text, text


def test_bad_input_exits_2_and_writes_nothing(recipe, tmp_path, tiny_recipe, write_recipe):
    out = tmp_path / "out"
    out.mkdir()
    png = out / "grid.png"
    tiny_recipe["augmenter"] = None
    tiny_recipe["pretext"] = {"type": "simclr"}
    no_augmenter = write_recipe(tiny_recipe, "none.yaml")
    cases = [
        ((no_augmenter, "-o", png), ["has no augmenter", "augmenter: {type: simclr}"]),
        ((recipe, "--n", 0, "-o", png), ["--n", "0 is not in the range"]),
        ((recipe, "--n", 65, "-o", png), ["--n"]),
        ((recipe, "--views", 0, "-o", png), ["--views"]),
        ((recipe, "--views", 17, "-o", png), ["--views"]),
        ((recipe, "--n", 60, "-o", png, "--set", "data.limit=10"), ["--n", "holds 10 image(s)"]),
        ((recipe, "-o", out / "missing" / "grid.png"), ["--output", "does not exist"]),
        ((recipe, "-o", out / "grid.jpg"), ["--output", "expected a .png"]),
        ((recipe, "-o", png, "--logdir", recipe), ["--logdir", "is a file"]),
        ((recipe, "-o", png, "--set", "augmenter.crop_scale=[0.5, 2]"), ["augmenter.crop_scale"]),
        ((recipe, "-o", png, "--set", "data.type=coloured_digit"), ["data.type", "Did you mean 'coloured_digits'"]),
        ((recipe, "-o", png, "--backend", "tensorfloww"), ["--backend"]),
    ]
    for args, fragments in cases:
        _assert_bad(_run(*args), *fragments)
    assert list(out.iterdir()) == []


def test_an_unwritable_folder_is_refused_before_loading(recipe, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(locked) else real(path, mode))  # root may write anywhere
    _assert_bad(_run(recipe, "-o", locked / "grid.png"), "--output", "cannot be written")
    _assert_bad(_run(recipe, "-o", tmp_path / "grid.png", "--logdir", locked / "tb"), "--logdir", "cannot be written")
    assert list(locked.iterdir()) == [] and not (tmp_path / "grid.png").exists()
