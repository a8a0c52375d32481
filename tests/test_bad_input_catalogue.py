"""A catalogue of bad inputs (issue #20): each is refused with the documented exit code, a message that names it, no
traceback, and nothing written.

Every case runs in-process (the CLI through click's CliRunner on ``kssl.cli.main``; the Python API directly) in a
fresh temporary folder that is also the working directory, so any file a failing command leaves behind (a half run
directory under the default ``runs/``, say) fails the case. Most cases fail before Keras builds anything.

Groups and the items of issue #20 they cover:
- recipe text (YAML syntax, tags, duplicate keys): item 7 (duplicate keys), structural checks of kssl/recipe.py;
- recipe values (unknown keys, wrong types, NaN/Inf, out of range, bounds, tolerances): items 3 and 4;
- silent wrong results (augmenter: null for view-based methods, 1 sample, a single class): item 7;
- data files (.npz with NaN/Inf or pixels far outside [0, 1], wrong shape, empty; image folder; text file): item 3;
- CLI arguments (missing RECIPE, --set syntax, unknown backend, missing run directory): exit code 2 for usage errors;
- Python API (kssl.build(123), overrides given as a string): item 10;
- plugins (a factory raising RuntimeError/KeyError: exit code 1, naming the section and the plugin): item 5;
- run directories (fill-mask on a SimCLR run, eval on a folder that is not a run): item 6.

Adding a case is one line in CASES: ``Case(id, how, words..., code=2)`` where ``how`` is one of the builders below
(``sets``, ``change``, ``text``, ``npz``, ``images``, ``textfile``, ``cli``, ``api``, ``run_dir``) and ``words`` must
all appear in the message.
"""

from __future__ import annotations

import copy
import types
from dataclasses import dataclass

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

import kssl
import kssl.plugins
from kssl.cli import main
from kssl.errors import KsslError, PluginError
from kssl.plugins import get_plugin_manager

BASE = {
    "name": "bad",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 16, "limit": 32},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [8]},
    "pretext": {"type": "simclr", "projection_dim": 4, "projection_hidden_dims": [8]},
    "train": {"epochs": 1, "log_images": 0, "verbose": 0},
    "eval": [],
}


# -- how a case is run: each builder returns a function of the case's folder -> ("cli", args) or ("api", callable)
def _write(folder, recipe, name="recipe.yaml"):
    path = folder / name
    path.write_text(recipe if isinstance(recipe, str) else yaml.safe_dump(recipe, sort_keys=False), encoding="utf-8")
    return path


def _train(folder, recipe, *extra):
    return "cli", ["train", str(_write(folder, recipe)), "--output-dir", str(folder / "runs"), *extra]


def sets(*overrides):
    """The base recipe trained with ``--set`` overrides."""
    return lambda folder: _train(folder, BASE, *[a for o in overrides for a in ("--set", o)])


def change(**sections):
    """The base recipe with whole sections replaced (None deletes a section)."""

    def build(folder):
        recipe = copy.deepcopy(BASE)
        for key, value in sections.items():
            if value is None:
                recipe.pop(key, None)
            else:
                recipe[key] = value
        return _train(folder, recipe)

    return build


def text(yaml_text):
    """A recipe file with exactly this text."""
    return lambda folder: _train(folder, yaml_text)


def npz(**arrays):
    """The base recipe on an .npz of ``arrays`` (``labels=False`` is not needed: give no ``y``)."""

    def build(folder):
        np.savez(folder / "data.npz", **arrays)
        return _train(folder, {**BASE, "data": {"type": "numpy", "path": str(folder / "data.npz"), "batch_size": 8}})

    return build


def raw_file(content: bytes, name="data.npz"):
    """The base recipe on a numpy file with these bytes."""

    def build(folder):
        (folder / name).write_bytes(content)
        return _train(folder, {**BASE, "data": {"type": "numpy", "path": str(folder / name)}})

    return build


def images(layout: dict):
    """The base recipe on an image folder; ``layout`` maps relative paths to bytes or a pixel value (a 6x6 PNG)."""

    def build(folder):
        from PIL import Image

        root = folder / "images"
        root.mkdir()
        for rel, content in layout.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                Image.fromarray(np.full((6, 6, 3), content, np.uint8)).save(path)
        return _train(folder, {**BASE, "data": {"type": "image_folder", "path": str(root), "image_size": 8, "batch_size": 4}})

    return build


def textfile(content: str, **data):
    """A masked-LM recipe on a text file with this content."""

    def build(folder):
        (folder / "corpus.txt").write_text(content, encoding="utf-8")
        recipe = {
            "name": "bad-text",
            "data": {"type": "text_files", "paths": str(folder / "corpus.txt"), "sequence_length": 16, "vocabulary_size": 50, **data},
            "encoder": {"type": "bert", "num_layers": 1, "num_heads": 1, "hidden_dim": 8, "intermediate_dim": 8},
            "pretext": {"type": "masked_lm"},
        }
        return _train(folder, recipe)

    return build


def cli(*args):
    """The CLI with these arguments (``{base}`` is the base recipe's path, ``{dir}`` the case's folder)."""

    def build(folder):
        base = _write(folder, BASE)
        return "cli", [a.format(base=base, dir=folder) for a in args]

    return build


def run_dir(recipe, *args, files=()):
    """A fake run directory: ``recipe`` as recipe.yaml (None: none) and ``files`` holding junk; ``args`` with ``{run}`` for its path."""

    def build(folder):
        run = folder / "run"
        run.mkdir()
        if recipe is not None:
            _write(run, recipe)
        for name in files:
            (run / name).write_bytes(b"not a keras file")
        return "cli", [a.format(run=run) for a in args]

    return build


def api(call):
    """A Python API call ``call(folder)`` that must raise a KsslError."""
    return lambda folder: ("api", lambda: call(folder))


@dataclass
class Case:
    id: str
    how: object
    words: tuple
    code: int = 2

    def __init__(self, id, how, *words, code=2):
        self.id, self.how, self.words, self.code = id, how, words, code


def _px(n=20, value=0.5, shape=(8, 8, 1)):
    return np.full((n, *shape), value, "float32")


def _nan_px():
    x = _px()
    x[3, 0, 0, 0] = x[7, 1, 1, 0] = np.nan
    return x


def _px_with(value, count=3):
    x = _px()
    x.reshape(-1)[:count] = value
    return x


_HUGE = "x" * 10_001
_BOMB = "results:\n  - &l0 [x, x, x, x, x, x, x, x, x]\n" + "".join(f"  - &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]\n" for i in range(1, 9))
_RESULTS = {"knn_accuracy": 0.9}
_TINY_BARLOW = {"type": "barlow_twins", "projection_dim": 4, "projection_hidden_dims": [8]}
_TINY_SWAV = {"type": "swav", "n_prototypes": 4, "projection_dim": 4, "projection_hidden_dims": [8], "n_small_crops": 0}
_PNG_BYTES = b"this is not a png"

CASES = [
    # -- recipe text: YAML syntax, tags, duplicate keys (item 7)
    Case("yaml-unclosed-flow", text("data: {type: digits\nencoder: {type: mlp}\n"), "malformed YAML", "line"),
    Case("yaml-tab-indent", text("data:\n\ttype: digits\n"), "malformed YAML", "line 2"),
    Case("yaml-python-tag", text("data: !!python/object/apply:os.system [ls]\n"), "YAML tags", "not allowed"),
    Case("yaml-empty-file", text(""), "the recipe is empty"),
    Case("yaml-alias-bomb", text(yaml.safe_dump(BASE) + _BOMB), "results", "more than 100,000 values"),
    Case("yaml-top-level-list", text("- data\n- encoder\n"), "YAML mapping", "list"),
    Case("yaml-duplicate-top-key", text(yaml.safe_dump(BASE, sort_keys=False) + "seed: 3\n"), "'seed'", "appears twice", "lines 2 and"),
    Case("yaml-duplicate-nested-key", text("pretext: {type: simclr, temperature: 0.1, temperature: 0.5}\n"), "'temperature'", "appears twice", "line 1"),
    Case("set-duplicate-key", sets("pretext={type: simclr, type: simclr}"), "--set pretext", "'type'", "appears twice"),
    # -- recipe structure and types
    Case("unknown-top-level-key", change(pretxt={"type": "simclr"}), "pretxt", "unknown top-level key", "Did you mean 'pretext'"),
    Case("unknown-train-key", sets("train.epoch=3"), "train.epoch", "Did you mean 'epochs'"),
    Case("missing-encoder", change(encoder=None), "encoder", "missing"),
    Case("unknown-pretext-type", change(pretext={"type": "simclrr"}), "pretext.type", "Did you mean 'simclr'"),
    Case("unknown-pretext-argument", sets("pretext.temprature=0.1"), "pretext.temprature", "Did you mean 'temperature'"),
    Case("component-not-a-mapping", change(encoder="mlp"), "encoder", "mapping"),
    Case("temperature-a-string", sets("pretext.temperature=hot"), "pretext.temperature", "'hot'"),
    Case("eval-not-a-list", change(eval={"type": "knn"}), "eval", "list"),
    Case("eval-unknown-type", change(eval=[{"type": "knnn"}]), "eval.0.type", "Did you mean 'knn'"),
    Case("backend-misspelt", change(backend="tensorflw"), "backend", "Did you mean 'tensorflow'"),
    Case("precision-unknown", sets("train.precision=float8"), "train.precision", "float8"),
    Case("distribution-unknown", sets("distribution.strategy=everywhere"), "distribution.strategy", "everywhere"),
    Case("monitor-unknown-key", sets("train.monitors=[{type: collapse, evry: 2}]"), "train.monitors.0.evry", "Did you mean 'every'"),
    # -- NaN and infinity in every kind of numeric check (item 3)
    Case("temperature-nan", sets("pretext.temperature=.nan"), "pretext.temperature", "nan", "NaN and infinity are not allowed"),
    Case("temperature-inf", sets("pretext.temperature=.inf"), "pretext.temperature", "inf"),
    Case("temperature-minus-inf", sets("pretext.temperature=-.inf"), "pretext.temperature", "-inf"),
    Case("learning-rate-inf", sets("optimizer.learning_rate=.inf"), "optimizer.learning_rate", "inf"),
    Case("learning-rate-nan", sets("optimizer.learning_rate=.nan"), "optimizer.learning_rate", "nan"),
    Case("crop-scale-nan", sets("augmenter.crop_scale=[.nan, 1.0]"), "augmenter.crop_scale", "nan", "NaN and infinity"),
    Case("crop-scale-inf", sets("augmenter.crop_scale=[0.2, .inf]"), "augmenter.crop_scale", "inf"),
    Case("monitor-threshold-nan", sets("train.monitors=[{type: collapse, std_threshold: .nan}]"), "train.monitors.0.std_threshold", "nan"),
    Case("knn-temperature-nan", change(eval=[{"type": "knn", "temperature": float("nan")}]), "eval.0.temperature", "nan"),
    Case("test-fraction-nan", sets("data.test_fraction=.nan"), "data.test_fraction", "nan"),
    Case("tolerance-nan", change(results=_RESULTS, tolerances={"knn_accuracy": float("nan")}), "tolerances.knn_accuracy", "nan"),
    # -- out of range and absurd values (item 4)
    Case("seed-too-large", sets("seed=100000000000000000000000"), "seed", "<= 4,294,967,295"),
    Case("seed-negative", sets("seed=-1"), "seed", ">= 0"),
    Case("seed-a-string", sets("seed=abc"), "seed", "'abc'"),
    Case("epochs-absurd", sets("train.epochs=100000000000000000000"), "train.epochs", "<= 100,000"),
    Case("epochs-zero", sets("train.epochs=0"), "train.epochs", ">= 1"),
    Case("epochs-fractional", sets("train.epochs=1.5"), "train.epochs", "1.5"),
    Case("steps-absurd", sets("train.steps_per_epoch=1000000000000"), "train.steps_per_epoch", "<= 100,000,000"),
    Case("log-images-absurd", sets("train.log_images=1000000"), "train.log_images", "<= 1,000"),
    Case("batch-size-absurd", sets("data.batch_size=100000000000000000000"), "data.batch_size", "<= 1048576"),
    Case("batch-size-zero", sets("data.batch_size=0"), "data.batch_size", ">= 1"),
    Case("image-size-too-small", sets("data.image_size=2"), "data.image_size", ">= 8"),
    Case("image-size-absurd", sets("data.image_size=100000"), "data.image_size", "<= 4096"),
    Case("description-too-long", change(description=_HUGE), "description", "at most 10,000 characters", "10,001"),
    Case("description-not-text", change(description=["a", "b"]), "description", "string"),
    Case("name-too-long", change(name="n" * 101), "name", "at most 100 characters"),
    Case("name-with-slash", change(name="a/b"), "name", "without '/'"),
    Case("knn-k-zero", change(eval=[{"type": "knn", "k": 0}]), "eval.0.k", ">= 1"),
    # -- tolerances (the recorded results' absolute tolerances)
    Case("tolerances-not-a-mapping", change(results=_RESULTS, tolerances=0.1), "tolerances", "mapping"),
    Case("tolerances-unknown-metric", change(results=_RESULTS, tolerances={"knn_acuracy": 0.1}), "tolerances.knn_acuracy", "Did you mean 'knn_accuracy'"),
    Case("tolerances-negative", change(results=_RESULTS, tolerances={"default": -0.1}), "tolerances.default", "positive", "-0.1"),
    Case("tolerances-zero", change(results=_RESULTS, tolerances={"knn_accuracy": 0}), "tolerances.knn_accuracy", "positive"),
    Case("tolerances-a-bool", change(tolerances={"default": True}), "tolerances.default", "True"),
    Case("tolerances-without-results", change(tolerances={"knn_accuracy": 0.1}), "tolerances.knn_accuracy", "none recorded"),
    # -- silent wrong results (item 7): identical views, one sample, one class
    Case("simclr-without-augmenter", change(augmenter=None), "augmenter", "needs an augmenter"),
    Case("simclr-augmenter-null", sets("augmenter=null"), "augmenter", "needs an augmenter"),
    Case("barlow-twins-without-augmenter", change(augmenter=None, pretext=_TINY_BARLOW), "augmenter", "needs an augmenter"),
    Case("swav-without-augmenter", change(augmenter=None, pretext=_TINY_SWAV), "augmenter", "needs an augmenter"),
    Case("digits-one-sample", sets("data.limit=1"), "digits", "1 sample", "at least 2"),
    Case("npz-one-sample", npz(x=_px(1)), "data.npz", "1 sample", "at least 2"),
    Case("npz-single-class", npz(x=_px(20), y=np.zeros(20, int)), "data.npz", "`y`", "single class"),
    Case("npz-single-class-strings", npz(x=_px(20), y=np.array(["cat"] * 20)), "`y`", "single class", "'cat'"),
    Case("knn-on-a-single-class-plugin-dataset", change(data={"type": "one_class"}, eval=[{"type": "knn"}]), "eval.0", "two or more classes", "1.0"),
    Case("images-single-class", images({"cats/a.png": 10, "cats/b.png": 20, "cats/c.png": 30}), "data.path", "single class", "'cats'"),
    # -- data files (item 3): non-finite and far-out-of-range values, shapes, empty, unreadable
    Case("npz-nan-pixels", npz(x=_nan_px()), "data.npz", "2 of 1,280 values are NaN or infinite", "2 of 20 samples"),
    Case("npz-inf-pixels", npz(x=_px_with(np.inf)), "data.npz", "3 of 1,280 values are NaN or infinite"),
    Case("npz-nan-test-split", npz(x_train=_px(), x_test=_nan_px()), "`x_test`", "NaN or infinite"),
    Case("npz-1e30-pixels", npz(x=_px_with(1e30)), "data.npz", "3 of 1,280 values lie far outside [0, 1]", "1e+30"),
    Case("npz-0-255-float-pixels", npz(x=_px(value=200.0)), "data.npz", "far outside", "x / 255"),
    Case("npz-negative-1e30-pixels", npz(x=_px_with(-1e30, 1)), "1 of 1,280 values", "-1e+30"),
    Case("npz-flat-1e30-features", npz(x=np.full((20, 5), 1e30, "float32")), "data.npz", "100 of 100 values exceed", "Standardise"),
    Case("npz-flat-nan-features", npz(x=np.full((20, 5), np.nan, "float32")), "100 of 100 values are NaN"),
    Case("npz-one-dimensional", npz(x=np.zeros(20, "float32")), "data.npz", "`x`", "shape (20,)"),
    Case("npz-empty", npz(x=np.zeros((0, 8, 8, 1), "float32")), "data.npz", "empty"),
    Case("npz-no-x-array", npz(images=_px()), "data.npz", "expected an array named `x`", "images"),
    Case("npz-x-y-length-mismatch", npz(x=_px(20), y=np.arange(19) % 2), "`x` has 20 samples but `y` has 19"),
    Case("npz-string-samples", npz(x=np.array([["a", "b"]] * 20)), "data.npz", "numeric"),
    Case("npz-not-a-numpy-file", raw_file(b"hello, not numpy"), "data.path", "not a readable .npz"),
    Case("npz-missing-file", change(data={"type": "numpy", "path": "nowhere/x.npz"}), "data.path", "nowhere/x.npz"),
    Case("images-not-an-image", images({"a/one.png": 10, "a/two.png": _PNG_BYTES, "b/three.png": 30}), "cannot read image", "two.png"),
    Case("images-empty-folder", images({"notes.txt": b"no images here"}), "no images found"),
    Case("text-file-empty", textfile("   \n"), "data.paths", "corpus.txt", "is empty"),
    Case("text-file-single-class", textfile("one line\nanother line\n", labels="file"), "data.labels", "single class"),
    # -- CLI arguments
    Case("cli-train-without-recipe", cli("train"), "missing RECIPE"),
    Case("cli-no-such-recipe", cli("train", "{dir}/nosuch.yaml"), "nosuch.yaml", "no such file"),
    Case("cli-zoo-name-misspelt", cli("validate", "simclrr"), "simclrr", "Did you mean 'simclr'"),
    Case("cli-set-without-equals", cli("train", "{base}", "--set", "pretext.temperature"), "--set", "KEY.PATH=VALUE"),
    Case("cli-set-empty-key", cli("train", "{base}", "--set", "=3"), "--set", "key path is empty"),
    Case("cli-set-missing-section", cli("train", "{base}", "--set", "pretext.head.width=3"), "pretext.head", "no 'pretext.head'"),
    Case("cli-set-malformed-value", cli("train", "{base}", "--set", "pretext.temperature=[0.1"), "--set pretext.temperature", "malformed YAML"),
    Case("cli-unknown-backend", cli("train", "{base}", "--backend", "tensorflw"), "--backend", "unknown backend", "Did you mean 'tensorflow'"),
    Case("cli-epochs-zero", cli("train", "{base}", "--epochs", "0"), "--epochs", "0"),
    Case("cli-resume-with-recipe", cli("train", "{base}", "--resume", "{dir}"), "--resume", "do not pass RECIPE"),
    Case("cli-eval-missing-run-dir", cli("eval", "{dir}/no-such-run"), "no-such-run", "not a kssl run directory"),
    Case("cli-unknown-command", cli("trian"), "No such command", "trian"),
    # -- run directories (item 6)
    Case("eval-folder-not-a-run", run_dir(None, "eval", "{run}"), "not a kssl run directory", "recipe.yaml"),
    Case("eval-run-without-model", run_dir(BASE, "eval", "{run}"), "no model.keras"),
    Case(
        "fill-mask-on-a-simclr-run",
        run_dir(BASE, "fill-mask", "{run}", "the [MASK] cat", files=["model.keras", "encoder.keras"]),
        "'simclr' run",
        "not a masked-LM run",
    ),
    Case("fill-mask-missing-run-dir", cli("fill-mask", "{dir}/none", "the [MASK] cat"), "no such run directory"),
    # -- Python API (item 10)
    Case("api-build-an-int", api(lambda d: kssl.build(123)), "source", "int 123"),
    Case("api-build-none", api(lambda d: kssl.build(None)), "source", "NoneType"),
    Case("api-overrides-a-string", api(lambda d: kssl.build(BASE, overrides="train.epochs=5")), "overrides", "single string", "['train.epochs=5']"),
    Case("api-overrides-a-string-with-distribution", api(lambda d: kssl.build(BASE, "seed=1", distribution="none")), "overrides", "single string"),
    Case("api-overrides-an-int-item", api(lambda d: kssl.load_recipe(BASE, overrides=[42])), "overrides[0]", "42"),
    Case("api-overrides-a-mapping", api(lambda d: kssl.load_recipe(BASE, overrides={"train.epochs": 5})), "overrides", "dict"),
    Case("api-recipe-nan", api(lambda d: kssl.load_recipe({**BASE, "seed": float("nan")})), "seed", "nan"),
    # -- plugins (item 5): a bug in a factory names the section and the plugin; a bad argument is still exit 2
    Case("plugin-pretext-raises-runtime-error", change(pretext={"type": "crashing"}), "pretext", "'kssl-crash'", "RuntimeError", "boom", code=1),
    Case("plugin-dataset-raises-key-error", change(data={"type": "crashing_data"}), "data", "'kssl-crash'", "KeyError", code=1),
    Case("plugin-augmenter-raises-value-error", change(augmenter={"type": "picky"}), "augmenter", "kssl-crash", "could not build", "width must be odd"),
    Case("plugin-api-runtime-error", api(lambda d: kssl.build({**BASE, "pretext": {"type": "crashing"}})), "pretext", "kssl-crash", "RuntimeError", code=1),
]


# -- the plugin the plugin cases use, registered in-process (as tests/test_registry.py does)
def _crashing_pretext(encoder, augmenter=None):
    raise RuntimeError("boom")


def _crashing_data():
    return {}["x_train"]


def _picky_augmenter():
    raise ValueError("width must be odd")


def _one_class_data():
    from kssl.data.splits import DataSplits

    x = np.full((8, 8, 8, 1), 0.5, "float32")
    return DataSplits(x, np.zeros(8, int), x, np.zeros(8, int), batch_size=4)


def _register(registry):
    registry.add("dataset", "one_class", _one_class_data)
    registry.add("pretext", "crashing", _crashing_pretext)
    registry.add("dataset", "crashing_data", _crashing_data)
    registry.add("augmenter", "picky", _picky_augmenter)


@pytest.fixture(scope="module")
def registry():
    plugin = types.ModuleType("kssl_crash")
    plugin.kssl_register = kssl.hookimpl(_register)
    plugin.__kssl_provider__ = "kssl-crash"
    return get_plugin_manager([plugin], entry_points=False)[1]


def _no_training(*args, **kwargs):
    raise AssertionError("training started: this bad input was accepted")


def _files(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_the_catalogue_has_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_clearly(case, tmp_path, monkeypatch, registry):
    import keras

    monkeypatch.setattr(kssl.plugins, "_REGISTRY", registry)
    monkeypatch.setattr(keras.Model, "fit", _no_training)  # an accepted case fails at once instead of training
    monkeypatch.chdir(tmp_path)
    kind, target = case.how(tmp_path)
    before = _files(tmp_path)
    if kind == "cli":
        result = CliRunner().invoke(main, target)
        message = result.output
        assert isinstance(result.exception, SystemExit), f"{case.id}: {result.exception!r} escaped\n{message}"
        assert result.exit_code == case.code, f"{case.id}: exit code {result.exit_code}, expected {case.code}\n{message}"
        assert "Error:" in message
    else:
        with pytest.raises(KsslError) as info:
            target()
        message = str(info.value)
        assert info.value.exit_code == case.code, f"{case.id}: {type(info.value).__name__} has exit code {info.value.exit_code}"
        if case.code == 1:
            assert isinstance(info.value, PluginError)
    assert "Traceback" not in message
    text = " ".join(message.split())
    for word in case.words:
        assert word in text, f"{case.id}: {word!r} not in the message: {text}"
    assert _files(tmp_path) == before, f"{case.id}: files were written: {sorted(set(_files(tmp_path)) - set(before))}"
