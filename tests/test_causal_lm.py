"""GPT-style causal language modelling: packing and shifting, causality, the loss, learning, features, saving."""

import math

import numpy as np
import pytest
from test_bert_mlm import SENTENCES, TOKENS  # the masked-LM tests' tiny corpus and vocabulary: one tokenisation

from kssl.errors import ArgumentError, KsslError

TINY_DECODER = {"num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "dropout": 0.0}


def tiny_model(sequence_length=16, **decoder):
    from kssl.encoders.gpt import gpt
    from kssl.pretext.causal_lm import CausalLanguageModel

    encoder = gpt(vocabulary_size=len(TOKENS), sequence_length=sequence_length, **{**TINY_DECODER, **decoder})
    return CausalLanguageModel(encoder, vocabulary=TOKENS, sequence_length=sequence_length)


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return tiny_model()


def test_texts_are_packed_with_start_and_end_and_shifted_by_one(model):
    packed = model.tokenize(["the cat sat."])
    ids, mask = packed["token_ids"][0], packed["padding_mask"][0]
    assert ids.shape == (17,) and mask.sum() == 6
    assert [TOKENS[i] for i in ids[:6]] == ["[CLS]", "the", "cat", "sat", ".", "[SEP]"] and (ids[6:] == 0).all()
    inputs, labels, weights = next(iter(model.make_dataset(["the cat sat.", SENTENCES[1]], batch_size=2, shuffle=False)))
    np.testing.assert_array_equal(inputs["token_ids"][0], ids[:-1])
    np.testing.assert_array_equal(labels[0], ids[1:])
    np.testing.assert_array_equal(weights[0], mask[1:].astype("float32"))
    assert inputs["token_ids"].shape == (2, 16)


def test_a_later_token_does_not_change_earlier_predictions(model):
    packed = model.tokenize(["the cat sat on the mat.", "the cat sat on a dog."])
    inputs = {k: v[:, :-1] for k, v in packed.items()}
    logits = np.asarray(model(inputs))
    assert logits.shape == (2, 16, len(TOKENS))
    # the texts agree on their first 5 ids ([CLS] the cat sat on): so do the logits there, and only there
    np.testing.assert_allclose(logits[0, :5], logits[1, :5], atol=1e-5)
    assert not np.allclose(logits[0, 5], logits[1, 5], atol=1e-5)


def test_the_loss_is_the_mean_next_token_cross_entropy_over_real_tokens(model):
    inputs, labels, weights = next(iter(model.make_dataset(SENTENCES, batch_size=8, shuffle=False)))
    logits = np.asarray(model(inputs), dtype=np.float64)
    labels, weights = np.asarray(labels), np.asarray(weights)
    log_p = logits - logits.max(-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(-1, keepdims=True))
    nll = -np.take_along_axis(log_p, labels[..., None], axis=-1)[..., 0]
    expected = (nll * weights).sum() / weights.sum()
    loss = float(model.compute_loss(y=labels, y_pred=model(inputs), sample_weight=weights))
    assert loss == pytest.approx(expected, rel=1e-5)
    # padding targets do not count: other logits there change nothing
    assert weights.min() == 0.0 and weights.sum() < weights.size


@pytest.mark.slow
def test_it_learns_a_repetitive_corpus_well_below_uniform_and_beats_the_unigram():
    import keras

    from kssl.data.splits import DataSplits
    from kssl.eval.perplexity import PerplexityEvaluator

    keras.utils.set_random_seed(0)
    lm = tiny_model(hidden_dim=32, intermediate_dim=64)
    lm.compile(optimizer=keras.optimizers.Adam(1e-2))
    corpus = ["the cat sat on the mat.", "a dog ran to the park."] * 16
    history = lm.fit(corpus, batch_size=8, epochs=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.25 * math.log(len(TOKENS)) and losses[-1] < losses[0] / 3
    data = DataSplits(np.array(corpus), None, np.array(corpus[:4]), None, batch_size=8)
    scores = PerplexityEvaluator(batch_size=8).evaluate(lm, data)
    assert scores["perplexity"] < scores["unigram_perplexity"] / 3
    assert scores["next_token_accuracy"] > 0.7


def test_embed_pools_real_tokens_and_refuses_cls_pooling(model):
    mean = model.embed(SENTENCES, batch_size=3)
    last = model.embed(SENTENCES, batch_size=3, pooling="last")
    assert mean.shape == last.shape == (len(SENTENCES), 16) and np.isfinite(mean).all()
    packed = model.tokenize(SENTENCES[:1])
    hidden = np.asarray(model.hidden_states({k: v[:, :-1] for k, v in packed.items()}))[0]
    real = packed["padding_mask"][0, :-1]
    np.testing.assert_allclose(mean[0], hidden[real].mean(axis=0), atol=1e-5)  # [CLS] and the text's tokens, no padding
    np.testing.assert_allclose(last[0], hidden[real.sum() - 1], atol=1e-5)  # [SEP] is a target, never an input
    with pytest.raises(ArgumentError, match="pooling"):
        model.embed(SENTENCES, pooling="cls")


def test_save_and_load_round_trip(model, tmp_path):
    import keras

    path = tmp_path / "lm.keras"
    model.save(path)
    again = keras.models.load_model(path)
    assert type(again) is type(model) and again.get_config() == model.get_config()
    inputs = {k: v[:, :-1] for k, v in model.tokenize(SENTENCES).items()}
    np.testing.assert_allclose(np.asarray(again(inputs)), np.asarray(model(inputs)), atol=1e-5)
    paths = model.write_artifacts(tmp_path)
    assert paths[0].read_text(encoding="utf-8").split("\n")[:-1] == TOKENS


def test_bad_arguments_name_the_key(model):
    from kssl.encoders.bert import bert
    from kssl.encoders.gpt import gpt
    from kssl.pretext.causal_lm import CausalLanguageModel

    with pytest.raises(ArgumentError, match="encoder: the causal-LM task needs a GPT-style decoder"):
        CausalLanguageModel(
            bert(vocabulary_size=len(TOKENS), sequence_length=16, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=8), vocabulary=TOKENS
        )
    small = gpt(vocabulary_size=len(TOKENS) + 1, sequence_length=8, **TINY_DECODER)
    with pytest.raises(ArgumentError, match="vocabulary"):
        CausalLanguageModel(small, vocabulary=TOKENS, sequence_length=8)
    with pytest.raises(ArgumentError, match="sequence_length"):
        CausalLanguageModel(model.encoder, vocabulary=TOKENS, sequence_length=32)
    with pytest.raises(ArgumentError, match="num_heads"):
        gpt(vocabulary_size=10, num_heads=3, hidden_dim=16)
    with pytest.raises(KsslError, match="a causal language model trains on raw text"):
        model.make_dataset(np.zeros((4, 3)))
    with pytest.raises(KsslError, match="y=None"):
        model.fit(SENTENCES, y=np.zeros(len(SENTENCES)))


def test_text_probe_accepts_a_causal_lm_but_not_cls_pooling(model):
    from kssl.eval.text_probe import TextProbeEvaluator

    TextProbeEvaluator().check_model(model)
    with pytest.raises(KsslError, match="pooling: mean"):
        TextProbeEvaluator(pooling="cls").check_model(model)


@pytest.mark.slow
def test_it_trains_saves_and_generates_on_jax(tmp_path):
    """The same tiny model on JAX, in a fresh process (the backend is fixed before Keras loads)."""
    import json
    import os
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    script = textwrap.dedent(
        """
        import json, sys
        import keras
        sys.path.insert(0, sys.argv[1])
        from test_causal_lm import SENTENCES, tiny_model
        from kssl.text.generation import generate
        keras.utils.set_random_seed(0)
        model = tiny_model()
        model.compile(optimizer=keras.optimizers.Adam(1e-2))
        losses = model.fit(SENTENCES * 4, batch_size=8, epochs=3, verbose=0).history["loss"]
        model.save(sys.argv[2])
        again = keras.models.load_model(sys.argv[2])
        same = float(abs(again.embed(SENTENCES) - model.embed(SENTENCES)).max())
        print("RESULT", json.dumps({"backend": keras.backend.backend(), "losses": losses, "same": same,
                                    "text": generate(again, "the cat", max_tokens=4, top_k=1)["text"]}))
        """
    )
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    tests = str(Path(__file__).resolve().parent)
    out = subprocess.run([sys.executable, "-c", script, tests, str(tmp_path / "lm.keras")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.split("RESULT", 1)[1])
    assert result["backend"] == "jax" and result["losses"][-1] < result["losses"][0] and result["same"] < 1e-5
    assert result["text"].startswith("the cat")
