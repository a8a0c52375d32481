"""``kssl embed`` / ``kssl.export_embeddings``: features of image folders, arrays and texts from a finished run."""

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from kssl.cli import main

IMAGE_RECIPE = {
    "name": "tiny-embed",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "channels": 1, "batch_size": 16, "limit": 32},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [8]},
    "pretext": {"type": "simclr", "projection_dim": 4, "projection_hidden_dims": [8]},
    "train": {"epochs": 1, "log_images": 0, "verbose": 0},
    "eval": [],
}
SENTENCES = ["the cat sat on the mat.", "a dog ran to the park and the bird sang.", "the bird sang in the tree while the cat sat."]
TEXT_RECIPE = {
    "name": "tiny-embed-text",
    "seed": 0,
    "data": {"type": "text_files", "paths": None, "vocabulary_size": 40, "sequence_length": 16, "batch_size": 4},
    "encoder": {"type": "bert", "num_layers": 1, "num_heads": 2, "hidden_dim": 8, "intermediate_dim": 16, "dropout": 0.0},
    "pretext": {"type": "masked_lm"},
    "train": {"epochs": 1, "verbose": 0},
    "eval": [],
}


def _embed(*args):
    return CliRunner().invoke(main, ["embed", *map(str, args)], catch_exceptions=False)


def _train(recipe, out):
    from kssl.training import train

    return train(recipe, output_dir=out)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A finished tiny SimCLR run on 8x8 grayscale digits, and its reloaded model."""
    from kssl.saving import load_model

    run_dir = _train(IMAGE_RECIPE, tmp_path_factory.mktemp("runs"))
    return run_dir, load_model(run_dir / "model.keras", compile=False)


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """A finished tiny masked-LM run on a few sentences, and its reloaded model."""
    from kssl.saving import load_model

    corpus = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    corpus.write_text("\n".join(SENTENCES * 4), encoding="utf-8")
    recipe = {**TEXT_RECIPE, "data": {**TEXT_RECIPE["data"], "paths": str(corpus)}}
    run_dir = _train(recipe, tmp_path_factory.mktemp("runs"))
    return run_dir, load_model(run_dir / "model.keras", compile=False)


def _png_folder(root, sizes):
    """PNG files under ``root``: RGB images of the given sizes in two class folders and one loose image."""
    from PIL import Image

    rng = np.random.default_rng(0)
    names = []
    for i, size in enumerate(sizes):
        name = ["a/", "b/", ""][i % 3] + f"img{i}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(root / name)
        names.append(name)
    return sorted(names)


def _reference_images(root, names, size=8):
    """Decoded independently of kssl: PIL luma, bilinear resize, scaled to [0, 1]."""
    from PIL import Image

    return np.stack([np.asarray(Image.open(root / n).convert("L").resize((size, size), Image.BILINEAR), "float32")[..., None] / 255.0 for n in names])


def _assert_nothing_written(folder, allowed=()):
    left = sorted(p.name for p in folder.iterdir() if p.name not in allowed) if folder.exists() else []
    assert not left, f"files left behind: {left}"


def test_image_folder_features_equal_model_embed_in_chunks(image_run, tmp_path):
    run_dir, model = image_run
    images = tmp_path / "images"
    names = _png_folder(images, [8, 12, 20, 8, 5])
    out = tmp_path / "out" / "features.npy"
    result = _embed(run_dir, images, "--output", out, "--batch-size", 2)  # 3 chunks of 2, 2, 1
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    features = np.load(out)
    assert features.dtype == np.float32 and features.shape == (5, model.embed(np.zeros((1, 8, 8, 1), "float32")).shape[1])
    assert (tmp_path / "out" / "features.ids.txt").read_text().splitlines() == names
    np.testing.assert_allclose(features, model.embed(_reference_images(images, names)), atol=1e-5)
    for fragment in ("kssl: found 5 images", "batches of 2", "embedded 2/5 inputs (1/3 batches)", "embedded 5/5 inputs (3/3 batches)", "wrote 5 x"):
        assert fragment in result.stderr, result.stderr
    _assert_nothing_written(tmp_path / "out", allowed=("features.npy", "features.ids.txt"))


def test_npz_with_ids_and_uint8_npy_through_the_python_function(image_run, tmp_path):
    import kssl

    run_dir, model = image_run
    x = np.random.default_rng(1).random((7, 8, 8, 1)).astype("float32")
    ids = np.array([f"sample-{i}" for i in range(7)])
    np.savez(tmp_path / "data.npz", x=x, ids=ids)
    path = kssl.export_embeddings(run_dir, tmp_path / "data.npz", tmp_path / "f.npy", batch_size=3)
    assert path == tmp_path / "f.npy"
    np.testing.assert_allclose(np.load(path), model.embed(x), atol=1e-5)
    assert (tmp_path / "f.ids.txt").read_text().splitlines() == list(ids)

    raw = np.random.default_rng(2).integers(0, 256, (4, 8, 8), dtype=np.uint8)  # (N, H, W) uint8: scaled, channel axis added
    np.save(tmp_path / "raw.npy", raw)
    kssl.export_embeddings(run_dir, tmp_path / "raw.npy", tmp_path / "g.npy")
    np.testing.assert_allclose(np.load(tmp_path / "g.npy"), model.embed(raw[..., None].astype("float32") / 255.0), atol=1e-5)
    assert (tmp_path / "g.ids.txt").read_text().splitlines() == ["0", "1", "2", "3"]


def test_existing_output_is_kept_unless_overwrite(image_run, tmp_path):
    run_dir, model = image_run
    np.savez(tmp_path / "data.npz", x=np.zeros((2, 8, 8, 1), "float32"))
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.ids.txt").write_text("old\n")
    result = _embed(run_dir, tmp_path / "data.npz", "--output", out / "f.npy")
    assert result.exit_code == 2 and "already exist" in result.output and "--overwrite" in result.output
    assert (out / "f.ids.txt").read_text() == "old\n" and not (out / "f.npy").exists()
    result = _embed(run_dir, tmp_path / "data.npz", "--output", out / "f.npy", "--overwrite")
    assert result.exit_code == 0, result.output
    assert np.load(out / "f.npy").shape[0] == 2 and (out / "f.ids.txt").read_text() == "0\n1\n"


def _bad_inputs(tmp_path, run_dir):
    """name -> (RUN_DIR, INPUT, fragments of the message)."""
    nan = np.zeros((3, 8, 8, 1), "float32")
    nan[1, 2, 3, 0] = np.nan
    np.savez(tmp_path / "nan.npz", x=nan)
    np.savez(tmp_path / "shape.npz", x=np.zeros((3, 9, 9, 1), "float32"))
    np.savez(tmp_path / "ids.npz", x=np.zeros((3, 8, 8, 1), "float32"), ids=np.array(["a", "b"]))
    np.savez(tmp_path / "two.npz", a=np.zeros((3, 8, 8, 1)), b=np.zeros((3, 8, 8, 1)))
    (tmp_path / "empty").mkdir()
    (tmp_path / "data.csv").write_text("1,2\n")
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "a.txt").write_text("some text\n")
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(run_dir / "recipe.yaml", unfinished / "recipe.yaml")
    good = tmp_path / "nan.npz"
    return {
        "not a run": (tmp_path / "nowhere", good, ["nowhere", "not a kssl run directory"]),
        "unfinished": (unfinished, good, ["no model.keras", "did not finish", "kssl train --resume"]),
        "shape": (run_dir, tmp_path / "shape.npz", ["shape (3, 9, 9, 1)", "per-sample shape (9, 9, 1)", "(N, 8, 8, 1)"]),
        "nan": (run_dir, good, ["1 sample(s) hold NaN or Inf", "row 1"]),
        "ids": (run_dir, tmp_path / "ids.npz", ["`ids` has 2 entries", "3 samples"]),
        "two arrays": (run_dir, tmp_path / "two.npz", ["expected an array named `x`", "a, b"]),
        "empty folder": (run_dir, tmp_path / "empty", ["no inputs found"]),
        "text for images": (run_dir, tmp_path / "texts" / "a.txt", ["received a text file", "images (8x8, 1 channel)"]),
        "text folder for images": (run_dir, tmp_path / "texts", ["received a folder of 1 .txt files", "images (8x8"]),
        "missing input": (run_dir, tmp_path / "missing.npz", ["missing.npz", "no such file or folder"]),
        "unknown suffix": (run_dir, tmp_path / "data.csv", ["cannot tell what the file holds", "'.csv'", ".npz or .npy"]),
    }


BAD = ("not a run", "unfinished", "shape", "nan", "ids", "two arrays", "empty folder", "text for images", "text folder for images", "missing input")


@pytest.mark.parametrize("case", [*BAD, "unknown suffix"])
def test_bad_inputs_exit_2_and_write_nothing(image_run, tmp_path, case):
    run_dir, input_path, fragments = _bad_inputs(tmp_path, image_run[0])[case]
    out = tmp_path / "out"
    result = _embed(run_dir, input_path, "--output", out / "f.npy")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, text
    _assert_nothing_written(out)


def test_output_must_be_npy_and_a_damaged_image_leaves_nothing(image_run, tmp_path):
    run_dir, _ = image_run
    images = tmp_path / "images"
    _png_folder(images, [8, 8, 8])
    (images / "zz-broken.png").write_bytes(b"not a png")  # sorted last: read in the second chunk, after the first was written
    result = _embed(run_dir, images, "--output", tmp_path / "f.csv")
    assert result.exit_code == 2 and "expected a .npy file name" in result.output
    out = tmp_path / "out"
    result = _embed(run_dir, images, "--output", out / "f.npy", "--batch-size", 2)
    assert result.exit_code == 2 and "zz-broken.png" in result.output and "cannot read image" in result.output
    assert "embedded 2/4" in result.stderr  # the first chunk was embedded ...
    _assert_nothing_written(out)  # ... but neither the features, their temporary file nor the ids remain


def test_text_run_embeds_lines_and_files_and_refuses_images(text_run, tmp_path):
    run_dir, model = text_run
    lines = tmp_path / "lines.txt"
    lines.write_text(f"{SENTENCES[0]}\n\n  {SENTENCES[1]}  \n{SENTENCES[2]}\n", encoding="utf-8")
    result = _embed(run_dir, lines, "--output", tmp_path / "lines.npy", "--batch-size", 2)
    assert result.exit_code == 0, result.output
    np.testing.assert_allclose(np.load(tmp_path / "lines.npy"), model.embed(SENTENCES, batch_size=2), atol=1e-5)
    assert (tmp_path / "lines.ids.txt").read_text().splitlines() == ["1", "3", "4"]  # line numbers; the blank line is skipped

    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "b.txt").write_text(SENTENCES[1] + "\n" + SENTENCES[2], encoding="utf-8")  # one text per file
    (docs / "sub" / "a.txt").write_text(SENTENCES[0], encoding="utf-8")
    result = _embed(run_dir, docs, "--output", tmp_path / "docs.npy")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "docs.ids.txt").read_text().splitlines() == ["b.txt", "sub/a.txt"]
    expected = model.embed([f"{SENTENCES[1]} {SENTENCES[2]}", SENTENCES[0]], batch_size=4)
    np.testing.assert_allclose(np.load(tmp_path / "docs.npy"), expected, atol=1e-5)

    images = tmp_path / "images"
    _png_folder(images, [8, 8])
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 8, 8, 1), "float32"))
    for bad, fragment in ((images, "received a folder of 2 image files"), (tmp_path / "x.npz", "received an array of shape (2, 8, 8, 1)")):
        result = _embed(run_dir, bad, "--output", tmp_path / "bad" / "f.npy")
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())
        assert fragment in text and "raw text" in text, text
        _assert_nothing_written(tmp_path / "bad")
