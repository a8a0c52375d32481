"""BERT masked-language modelling: masking, the loss, a tiny training run, fill-mask, evaluators, the zoo recipe."""

import json
import math
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kssl.errors import ArgumentError, KsslError, RecipeError

SENTENCES = [
    "the cat sat on the mat.",
    "a dog ran to the park and the bird sang.",
    "the bird sang in the tree while the cat sat.",
    "a dog and a cat ran in the park.",
    "the tree in the park.",
    "the dog sat on a mat in the park.",
    "a bird ran to the tree.",
    "the cat and the dog sang.",
]
TOKENS = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    ".",
    "the",
    "a",
    "cat",
    "sat",
    "on",
    "mat",
    "dog",
    "ran",
    "to",
    "park",
    "and",
    "bird",
    "sang",
    "in",
    "tree",
    "while",
    "##s",
]
TINY_ENCODER = {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "dropout": 0.0}


def tiny_model(sequence_length=16, **pretext_args):
    from kssl.encoders.bert import bert
    from kssl.pretext.masked_lm import MaskedLanguageModel

    encoder = bert(vocabulary_size=len(TOKENS), sequence_length=sequence_length, **TINY_ENCODER)
    return MaskedLanguageModel(encoder, vocabulary=TOKENS, sequence_length=sequence_length, **pretext_args)


@pytest.fixture(scope="module")
def trained():
    """A tiny model after one epoch of fit on raw strings."""
    import keras

    keras.utils.set_random_seed(0)
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [np.array(v) for v in model.trainable_variables]
    history = model.fit(SENTENCES, batch_size=4, epochs=1, verbose=0)
    return model, before, history


# -- masking -------------------------------------------------------------------------------------
def test_dynamic_masking_rate_labels_and_weights():
    model = tiny_model(mask_rate=0.3, mask_token_rate=1.0, random_token_rate=0.0)
    clean = model.tokenize(SENTENCES)
    special = model.special_token_ids
    ds = model.make_dataset(SENTENCES, batch_size=len(SENTENCES), shuffle=False)
    epochs = []
    stream = ds.repeat().as_numpy_iterator()  # one iterator for every epoch, as MaskedLM.fit feeds Keras
    for _ in range(2):
        x, y, w = next(stream)
        eligible = clean["padding_mask"] & ~np.isin(clean["token_ids"], special)
        for i in range(len(SENTENCES)):
            n = int(w[i].sum())
            assert n == math.ceil(0.3 * eligible[i].sum())  # the mask rate, per sequence
            assert set(np.unique(w[i])) <= {0.0, 1.0} and w[i, :n].all() and not w[i, n:].any()
            positions = x["mask_positions"][i, :n]
            assert eligible[i, positions].all()  # never [CLS], [SEP] or padding
            np.testing.assert_array_equal(y[i, :n], clean["token_ids"][i, positions])  # labels: the original tokens
            assert (x["token_ids"][i, positions] == model.mask_token_id).all()
            unmasked = np.setdiff1d(np.arange(model.sequence_length), positions)
            np.testing.assert_array_equal(x["token_ids"][i, unmasked], clean["token_ids"][i, unmasked])
        epochs.append(x["mask_positions"].copy())
    assert not np.array_equal(epochs[0], epochs[1])  # new masks every pass over the data
    assert model.mask_selection_length == math.ceil(14 * 0.3)


def test_masked_lm_loss_matches_numpy_and_ignores_unmasked_positions():
    import keras
    import tensorflow as tf

    from kssl.losses.masked_lm import MaskedLMLoss, masked_lm_loss

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 7)).astype("float32")
    labels = rng.integers(0, 7, size=(3, 4))
    weights = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]], "float32")
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, labels[..., None], -1)[..., 0]
    expected = (nll * weights).sum() / weights.sum()
    assert float(masked_lm_loss(labels, logits, weights)) == pytest.approx(expected, rel=1e-5)
    assert float(MaskedLMLoss()(labels, logits, sample_weight=weights)) == pytest.approx(expected, rel=1e-5)
    changed = logits.copy()
    changed[weights == 0] = 50.0  # anything at the unmasked positions
    assert float(masked_lm_loss(labels, changed, weights)) == pytest.approx(expected, rel=1e-5)
    variable = tf.Variable(logits)
    with tf.GradientTape() as tape:
        loss = masked_lm_loss(labels, variable, weights)
    grad = tape.gradient(loss, variable).numpy()
    assert np.all(grad[weights == 0] == 0) and np.all(np.abs(grad[weights == 1]).sum(-1) > 0)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(MaskedLMLoss()))
    assert type(restored) is MaskedLMLoss and restored.get_config() == MaskedLMLoss().get_config()


# -- training, features, saving ---------------------------------------------------------------------
@pytest.mark.slow
def test_one_epoch_on_raw_strings_trains_and_round_trips(trained, tmp_path):
    import keras

    from kssl.testing import assert_round_trip

    model, before, history = trained
    assert len(history.history["loss"]) == 1 and np.isfinite(history.history["loss"][0])
    assert 0.0 <= history.history["masked_accuracy"][0] <= 1.0
    assert any(not np.array_equal(b, np.array(a)) for b, a in zip(before, model.trainable_variables))
    features = model.embed(SENTENCES, batch_size=3)
    assert features.shape == (len(SENTENCES), 16) and np.all(np.isfinite(features))
    assert not np.allclose(features, model.embed(SENTENCES, pooling="cls"))
    inputs = dict(model.tokenize(SENTENCES[:2]), mask_positions=np.array([[1, 2], [2, 3]], "int32"))
    reloaded = assert_round_trip(model, x=inputs, tmp_path=tmp_path)
    assert reloaded.vocabulary == TOKENS and reloaded.sequence_length == 16
    np.testing.assert_allclose(reloaded.embed(SENTENCES), features, atol=1e-5)
    assert model.write_artifacts(tmp_path) == [tmp_path / "vocabulary.txt"]
    assert (tmp_path / "vocabulary.txt").read_text(encoding="utf-8").split("\n")[:-1] == TOKENS
    import tensorflow as tf

    logs = model.fit(tf.data.Dataset.from_tensor_slices(SENTENCES), batch_size=4, epochs=1, verbose=0)  # a dataset of strings
    assert np.isfinite(logs.history["loss"][0])
    with pytest.raises(KsslError, match="raw text"):
        model.fit(np.zeros((4, 3)), epochs=1, verbose=0)
    for method in (model.fit, model.evaluate):
        with pytest.raises(KsslError, match=r"y=None"):
            method(SENTENCES, np.zeros(len(SENTENCES)), verbose=0)
    assert keras.models.load_model(tmp_path / "maskedlanguagemodel_round_trip.keras").encoder.name == "bert"


def test_fill_mask_output_shape_and_order(trained):
    from kssl.text.fill_mask import fill_mask, format_predictions

    model, _, _ = trained
    results = fill_mask(model, "the [MASK] sat on the [MASK].", top_k=3)
    assert len(results) == 2 and all(len(row) == 3 for row in results)
    for row in results:
        probs = [p for _, p in row]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert all(token in TOKENS and not token.startswith("[") for token, _ in row)
    assert format_predictions(results).count("\n") == 1
    with pytest.raises(KsslError, match=r"at least one \[MASK\]"):
        fill_mask(model, "no mask here")
    with pytest.raises(KsslError, match="at most 16"):
        fill_mask(model, "the cat " * 20 + "[MASK]")


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, argument, fragment",
    [
        ({"mask_rate": 1.5}, "mask_rate", "expected a number <= 1.0, got 1.5"),
        ({"mask_rate": 0}, "mask_rate", "> 0.0"),
        ({"sequence_length": 0}, "sequence_length", "expected an integer >= 3, got 0"),
        ({"mask_token_rate": 0.9, "random_token_rate": 0.2}, "random_token_rate", "at most 1"),
        ({"vocabulary": ["a", "b"]}, "vocabulary", "lacks the special token"),
    ],
)
def test_pretext_bad_arguments(args, argument, fragment):
    from kssl.encoders.bert import bert
    from kssl.pretext.masked_lm import MaskedLanguageModel

    encoder = bert(vocabulary_size=len(TOKENS), sequence_length=16, **TINY_ENCODER)
    kwargs = {"encoder": encoder, "vocabulary": TOKENS, "sequence_length": 16, **args}
    with pytest.raises(ArgumentError) as info:
        MaskedLanguageModel(**kwargs)
    assert info.value.argument == argument and fragment in info.value.message


def test_an_augmenter_is_refused():
    import keras

    from kssl.encoders.bert import bert
    from kssl.pretext.masked_lm import MaskedLanguageModel

    encoder = bert(vocabulary_size=len(TOKENS), sequence_length=16, **TINY_ENCODER)
    with pytest.raises(ArgumentError) as info:
        MaskedLanguageModel(encoder, keras.layers.Identity(), vocabulary=TOKENS, sequence_length=16)
    assert info.value.argument == "augmenter" and "does not use an augmenter" in info.value.message


def test_encoder_bad_arguments(tmp_path):
    from kssl.encoders.bert import bert

    with pytest.raises(ArgumentError, match="must divide hidden_dim"):
        bert(vocabulary_size=10, num_heads=3, hidden_dim=16)
    with pytest.raises(ArgumentError, match="preset fixes the model size"):
        bert(vocabulary_size=10, preset=str(tmp_path), num_layers=2)
    with pytest.raises(ArgumentError, match="not a keras-hub preset folder"):
        bert(vocabulary_size=10, preset=str(tmp_path))


def test_encoder_loads_a_local_preset(tmp_path):
    from kssl.encoders.bert import bert

    source = bert(vocabulary_size=len(TOKENS), sequence_length=16, **TINY_ENCODER)
    source.save_to_preset(str(tmp_path / "preset"))
    loaded = bert(vocabulary_size=len(TOKENS), sequence_length=16, preset=str(tmp_path / "preset"))
    for a, b in zip(source.weights, loaded.weights):
        np.testing.assert_array_equal(np.array(a), np.array(b))
    with pytest.raises(ArgumentError, match="the preset has 23 token ids"):
        bert(vocabulary_size=99, preset=str(tmp_path / "preset"))


# -- evaluators -----------------------------------------------------------------------------------
def _uniform_model():
    """A stand-in masked-LM that predicts every token with equal probability.

    It subclasses MaskedLanguageModel (the evaluators accept only those) but skips its
    constructor: the evaluator calls only the attributes and methods defined here.
    """
    from kssl.pretext.masked_lm import MaskedLanguageModel

    class UniformModel(MaskedLanguageModel):
        vocabulary = TOKENS
        mask_rate = 0.5
        mask_token_id = 4
        special_token_ids = [0, 2, 3, 4]

        def __init__(self):
            pass

        def tokenize(self, texts, batch_size=256):
            ids = np.zeros((len(texts), 8), "int32")
            for i, t in enumerate(texts):
                row = [2] + [TOKENS.index(w) for w in t.split()] + [3]
                ids[i, : len(row)] = row
            return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids != 0}

        def predict_on_batch(self, batch):
            return np.zeros((*batch["mask_positions"].shape, len(TOKENS)), "float32")

    return UniformModel()


def test_masked_lm_evaluator_against_closed_forms():
    from kssl.data.splits import DataSplits
    from kssl.eval.masked_lm import MaskedLMEvaluator, select_positions

    data = DataSplits(np.array(["the cat the", "the dog"]), x_test=np.array(["the cat sat on", "a the"]))
    scores = MaskedLMEvaluator(mask_rate=1.0).evaluate(_uniform_model(), data)
    assert scores["masked_lm_masked_tokens"] == 6  # every non-special test token
    assert scores["masked_lm_perplexity"] == pytest.approx(len(TOKENS), rel=1e-6)  # uniform: perplexity = V
    assert scores["masked_lm_unigram_accuracy"] == pytest.approx(2 / 6)  # "the" is 2 of the 6 targets
    # add-one unigram over the 19 non-special tokens: the 3, cat 2, dog 2, others 1; 5 train tokens + 19
    p = {"the": 4 / 24, "cat": 2 / 24, "sat": 1 / 24, "on": 1 / 24, "a": 1 / 24}
    targets = ["the", "cat", "sat", "on", "a", "the"]
    assert scores["masked_lm_unigram_perplexity"] == pytest.approx(math.exp(-np.mean([math.log(p[t]) for t in targets])))
    positions, weights = select_positions(np.array([[0, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0]], bool), 0.5, seed=1)
    assert weights.sum(axis=1).tolist() == [2, 1] and set(positions[0][:2]) <= {1, 2, 3, 4} and positions[1, 0] == 1
    with pytest.raises(KsslError, match="masked language model"):
        MaskedLMEvaluator().evaluate(object(), data)


def test_masked_lm_and_text_probe_evaluators_on_a_trained_model(trained):
    from kssl.data.splits import DataSplits
    from kssl.eval.masked_lm import MaskedLMEvaluator
    from kssl.eval.text_probe import TextProbeEvaluator

    model, _, _ = trained
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    data = DataSplits(np.array(SENTENCES), labels, np.array(SENTENCES), labels)
    scores = MaskedLMEvaluator(batch_size=3).evaluate(model, data)
    assert 0 <= scores["masked_lm_accuracy"] <= 1 and scores["masked_lm_perplexity"] >= 1
    assert scores == pytest.approx(MaskedLMEvaluator(batch_size=5).evaluate(model, data), rel=1e-6)  # fixed masks
    probe = TextProbeEvaluator().evaluate(model, data)
    assert 0 <= probe["text_probe_accuracy"] <= 1 and probe["text_probe_majority_accuracy"] == 0.5
    with pytest.raises(ArgumentError, match="pooling"):
        TextProbeEvaluator(pooling="max")


# -- recipes, the zoo, the CLI, JAX -------------------------------------------------------------------
TINY_RECIPE = {
    "name": "tiny-bert",
    "seed": 0,
    "data": {"type": "python_docs", "modules": ["json", "argparse"], "limit": 24, "vocabulary_size": 300, "sequence_length": 32, "batch_size": 8},
    "encoder": {"type": "bert", **TINY_ENCODER},
    "pretext": {"type": "masked_lm", "mask_rate": 0.15},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-3},
    "train": {"epochs": 1},
    "eval": [{"type": "masked_lm"}, {"type": "text_probe"}],
}


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("pretext.mask_rate", 1.5, "pretext.mask_rate: expected a number <= 1.0, got 1.5"),
        ("data.sequence_length", 0, "data.sequence_length: expected an integer >= 3, got 0"),
    ],
)
def test_bad_recipe_values_name_the_key(key, value, fragment):
    from kssl.builder import build_all

    with pytest.raises(RecipeError) as info:
        build_all(TINY_RECIPE, [(key, value)])
    assert fragment in str(info.value)


@pytest.fixture(scope="module")
def zoo_run(tmp_path_factory):
    from kssl.testing import smoke_test_recipe

    return smoke_test_recipe("bert_mlm", ["data.limit=32"], output_dir=tmp_path_factory.mktemp("runs"))


@pytest.mark.slow
def test_zoo_recipe_trains_one_step_and_writes_its_vocabulary(zoo_run):
    run_dir, metrics = zoo_run
    scores = metrics["metrics"]
    for key in (
        "masked_lm_accuracy",
        "masked_lm_perplexity",
        "masked_lm_unigram_accuracy",
        "text_probe_accuracy",
        "random_init.masked_lm_accuracy",
        "random_init.text_probe_accuracy",
    ):
        assert key in scores
    vocabulary = (run_dir / "vocabulary.txt").read_text(encoding="utf-8").split("\n")
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def test_cli_fill_mask(zoo_run, tmp_path):
    from click.testing import CliRunner

    from kssl.cli import main

    run_dir, _ = zoo_run
    result = CliRunner().invoke(main, ["fill-mask", str(run_dir), "return the [MASK] of the [MASK].", "--top-k", "4"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    # four "token (p)" pairs per line; a predicted token may itself be "(", so count the probabilities
    assert len(lines) == 2 and lines[0].startswith("[MASK] 1: ") and len(re.findall(r"\(\d\.\d{3}\)", lines[1])) == 4
    bad = CliRunner().invoke(main, ["fill-mask", str(run_dir), "no mask"])
    assert bad.exit_code == 2 and "[MASK]" in bad.output
    missing = CliRunner().invoke(main, ["fill-mask", str(tmp_path / "nowhere"), "a [MASK]"])
    assert missing.exit_code == 2 and "no such run directory" in missing.output


def test_build_gives_a_compiled_model_that_fits_raw_strings():
    import kssl

    model = kssl.build(TINY_RECIPE)
    assert model.compiled and model.encoder.name == "bert"
    history = model.fit(SENTENCES, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.slow
def test_the_recipe_trains_on_jax(tmp_path):
    script = textwrap.dedent(
        """
        import json, sys
        from kssl.testing import smoke_test_recipe
        recipe = json.loads(sys.argv[1])
        run_dir, metrics = smoke_test_recipe(recipe, output_dir=sys.argv[2], steps=2)
        print("RESULT", json.dumps(metrics))
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", script, json.dumps(TINY_RECIPE), str(tmp_path)], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    metrics = json.loads(out.stdout.split("RESULT", 1)[1])
    assert metrics["backend"] == "jax" and np.isfinite(metrics["metrics"]["masked_lm_accuracy"])


def test_fit_feeds_one_stream_for_every_epoch():
    """MaskedLM.fit repeats a finite pipeline and counts one pass as an epoch: Keras keeps one iterator, masks go on changing."""
    import tensorflow as tf

    from kssl.pretext.masked_lm import _one_stream

    ds = tf.data.Dataset.range(10).batch(4)
    stream, kwargs = _one_stream(ds, {"epochs": 2})
    assert kwargs == {"epochs": 2, "steps_per_epoch": 3} and int(stream.cardinality()) == tf.data.INFINITE_CARDINALITY
    assert _one_stream(ds, {"steps_per_epoch": 5}) == (ds, {"steps_per_epoch": 5})  # the caller's count (kssl train's) stands
    import keras

    model = tiny_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(SENTENCES, batch_size=4, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and model.optimizer.iterations.numpy() == 2 * math.ceil(len(SENTENCES) / 4)
