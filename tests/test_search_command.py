"""``kssl search``: a text query ranks a CLIP run's test images (or a folder of images); bad input exits 2 and writes nothing."""

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from fake_clip import fake_clip, image_only, text_vectors
from test_cli_fast_paths import _run_cli_in_fresh_process

from kssl.cli import main

WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "a", "digit"]
RECIPE = {
    "name": "fake-clip",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "channels": 1, "batch_size": 16, "limit": 32},
    "encoder": {"type": "mlp"},
    "pretext": {"type": "fake_clip"},
    "eval": [],
}


def _write_run(folder, model):
    folder.mkdir()
    (folder / "recipe.yaml").write_text(yaml.safe_dump(RECIPE), encoding="utf-8")
    model.save(folder / "model.keras")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A finished run of the fake CLIP model, a run of an image-only model and an unfinished run (no model.keras)."""
    root = tmp_path_factory.mktemp("runs")
    clip = fake_clip((8, 8, 1), WORDS, dim=16, context_length=8)
    unfinished = root / "unfinished"
    unfinished.mkdir()
    (unfinished / "recipe.yaml").write_text(yaml.safe_dump(RECIPE), encoding="utf-8")
    return {"clip": _write_run(root / "clip", clip), "image_only": _write_run(root / "image-only", image_only((8, 8, 1))), "unfinished": unfinished}, clip


def _search(*args):
    return CliRunner().invoke(main, ["search", *map(str, args)], catch_exceptions=False)


def _expected_scores(model, x, query):
    """Independent numpy: the fake's Dense layer on the flattened pixels, normalised, dotted with the query's word vectors."""
    kernel, bias = (np.asarray(w) for w in model.encoder.get_weights())
    images = x.reshape(len(x), -1) @ kernel + bias
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    return images @ text_vectors([query], WORDS, 16)[0]


def _matches(stdout):
    lines = stdout.strip().splitlines()
    return [line.split("\t") for line in lines[:-1]], lines[-1]


def test_ranks_the_runs_test_split_and_writes_a_grid_with_scores(runs, tmp_path):
    from PIL import Image

    from kssl.data.digits import digits

    dirs, model = runs
    output = tmp_path / "hits.png"
    result = _search(dirs["clip"], "  a  seven ", "--top", 5, "--output", output)
    assert result.exit_code == 0, result.output
    matches, path = _matches(result.stdout)
    assert path == str(output)
    data = digits(image_size=8, channels=1, limit=32)
    scores = _expected_scores(model, data.x_test, "a seven")
    best = np.argsort(-scores)[:5]
    assert [m[0] for m in matches] == ["1", "2", "3", "4", "5"]
    assert [m[2] for m in matches] == [f"test/{i}" for i in best]
    assert [float(m[1]) for m in matches] == pytest.approx(scores[best], abs=1e-4)
    assert [m[3] for m in matches] == [f"class {data.y_test[i]}" for i in best]
    picture = np.asarray(Image.open(output))
    assert picture.shape == (2 + 96 + 14 + 2, 2 + 5 * (96 + 2))  # one row of five 96-pixel tiles (8x8 x 12), each over a score strip
    strip = picture[2 + 96 : 2 + 96 + 14, 2:98]
    assert strip.min() < 100 and strip.max() == 255  # dark text on a white strip
    tile = picture[2 : 2 + 96 : 12, 2:98:12]
    assert np.abs(tile / 255.0 - data.x_test[best[0], ..., 0]).max() < 1 / 255 + 1e-6  # the best image, enlarged


def test_images_option_searches_a_folder(runs, tmp_path):
    from PIL import Image

    dirs, model = runs
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 8, 8), dtype=np.uint8)
    (tmp_path / "pics" / "sub").mkdir(parents=True)
    names = [f"{'sub/' if i % 2 else ''}p{i}.png" for i in range(6)]
    for name, p in zip(names, pixels, strict=True):
        Image.fromarray(p, mode="L").save(tmp_path / "pics" / name)
    result = _search(dirs["clip"], "three", "--images", tmp_path / "pics", "--top", 3, "-o", tmp_path / "s.png")
    assert result.exit_code == 0, result.output
    matches, _ = _matches(result.stdout)
    ordered = sorted(names)
    scores = _expected_scores(model, np.stack([pixels[names.index(n)] for n in ordered])[..., None] / 255.0, "three")
    assert [m[2] for m in matches] == [ordered[i] for i in np.argsort(-scores)[:3]]
    assert [float(m[1]) for m in matches] == pytest.approx(np.sort(scores)[::-1][:3], abs=1e-4)


@pytest.mark.parametrize(
    "run, query, extra, fragment",
    [
        ("missing", "a seven", [], "no such run directory"),
        ("unfinished", "a seven", [], "has no model.keras"),
        ("image_only", "a seven", [], "needs an image-text model with a text tower"),
        ("clip", "", [], "QUERY: the query is empty"),
        ("clip", "   ", [], "QUERY: the query is empty"),
        ("clip", "zebra giraffe", [], "QUERY: the query 'zebra giraffe' cannot be embedded: none of the words"),
        ("clip", "one two three four five six seven eight nine", [], "more than the text tower's context of 8"),
        ("clip", "a seven", ["--images", "no/such/folder"], "--images 'no/such/folder': no such folder"),
        ("clip", "a seven", ["--output", "hits.jpg"], "--output: expected a .png file"),
    ],
)
def test_bad_input_exits_2_with_one_message_and_writes_nothing(runs, tmp_path, monkeypatch, run, query, extra, fragment):
    dirs, _ = runs
    monkeypatch.chdir(tmp_path)
    run_dir = dirs.get(run, tmp_path / "no-such-run")
    result = _search(run_dir, query, *extra)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # no search.png, nothing else


def test_bad_input_is_reported_before_keras_is_imported(runs, tmp_path):
    dirs, _ = runs
    cases = [["search", "not/a/run", "a seven"], ["search", str(dirs["clip"]), " "], ["search", "--help"]]
    results = _run_cli_in_fresh_process(cases, tmp_path)
    assert [r["code"] for r in results] == [2, 2, 0]
    assert all(r["loaded"] == [] for r in results), results
    assert "--images" in results[2]["stdout"] and "--top" in results[2]["stdout"]


TINY_CLIP = {
    "name": "tiny-clip",
    "seed": 0,
    "data": {"type": "shape_scenes", "num_train": 96, "num_test": 32, "image_size": 16, "captions_per_image": 2, "batch_size": 32},
    "encoder": {"type": "cnn", "filters": [4, 8]},
    "pretext": {
        "type": "clip",
        "vocabulary_size": 200,
        "sequence_length": 24,
        "projection_dim": 8,
        "text_encoder": {"type": "text_transformer", "width": 8, "depth": 1, "num_heads": 2},
    },
    "train": {"epochs": 1, "verbose": 0, "log_images": 0},
    "eval": [{"type": "zero_shot", "templates": ["a {}"]}, {"type": "retrieval", "ks": [1, 5]}],
}


@pytest.mark.slow  # a real CLIP run on shape_scenes: trains an epoch, scores both models, then searches it
def test_a_trained_clip_run_is_scored_with_its_baseline_and_searched(tmp_path, monkeypatch):
    import json

    from kssl.training import train

    run_dir = train(TINY_CLIP, output_dir=tmp_path / "runs")
    metrics = json.loads((run_dir / "metrics.json").read_text())["metrics"]
    names = ["zero_shot_accuracy", "zero_shot_heldout_accuracy", "retrieval_i2t_r1", "retrieval_t2i_r5", "retrieval_heldout_t2i_r1"]
    for name in names:
        assert 0.0 <= metrics[name] <= 1.0 and 0.0 <= metrics[f"random_init.{name}"] <= 1.0, name
    monkeypatch.chdir(tmp_path)
    result = _search(run_dir, "a small red circle", "--top", 4)
    assert result.exit_code == 0, result.output
    matches, path = _matches(result.stdout)
    assert path == "search.png" and (tmp_path / "search.png").is_file() and len(matches) == 4
    assert [float(m[1]) for m in matches] == sorted((float(m[1]) for m in matches), reverse=True)
    assert all(m[2].startswith("test/") and m[3] for m in matches)  # each with its first caption
    for query, fragment in (
        (" ".join(["a small red circle to the left of a big blue square"] * 3), "tokens, more than the 22 the model reads"),
        ("§§§", "QUERY: the query '§§§' cannot be embedded: texts: unknown token-only prompt"),
    ):
        bad = _search(run_dir, query, "-o", "bad.png")
        assert bad.exit_code == 2 and fragment in bad.stderr, bad.stderr
        assert not (tmp_path / "bad.png").exists()
