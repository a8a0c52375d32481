"""Every registered component, driven by the registry: a new pretext task or evaluator is covered without a new test.

Each pretext task builds around a tiny encoder, trains one step (finite loss, weights change), embeds, and
round-trips through ``.keras`` (kssl.testing.check_pretext). A task that cannot run with its defaults on
eight 16x16 grayscale images names what it needs in ``INPUTS``.
"""

import numpy as np
import pytest
from test_bert_mlm import SENTENCES, TOKENS, tiny_model  # the masked-LM tests' tiny corpus and model
from test_causal_lm import tiny_model as causal_tiny_model  # the causal-LM tests' tiny GPT
from test_cola import noisy_tones, tiny_audio_encoder  # the COLA tests' synthetic clips and tiny audio encoder

from kssl.encoders.vit import vit
from kssl.plugins import get_registry

REGISTRY = get_registry()


def _text_inputs():
    return {"args": {"vocabulary": TOKENS, "sequence_length": 16}, "x": np.array(SENTENCES), "encoder": tiny_model().encoder}


INPUTS = {
    # COLA crops segments of waveforms (N, T, 1): it needs audio and an encoder that takes any clip length.
    "cola": lambda: {
        "x": noisy_tones(8, samples=2000)[0],
        "encoder": tiny_audio_encoder(),
        "args": {"segment_seconds": 0.1, "sample_rate": 8000, "projection_dim": 8},
    },
    "masked_lm": _text_inputs,
    "causal_lm": lambda: {
        "args": {"vocabulary": TOKENS, "sequence_length": 16},
        "x": np.array(SENTENCES),
        "encoder": causal_tiny_model().encoder,
    },
    "dec": lambda: {"args": {"n_clusters": 2, "pretrain_epochs": 0, "kmeans_restarts": 1}},
    # CLIP pairs each of the eight images with its captions (a dataset's train_captions) and learns a vocabulary from them.
    "clip": lambda: {
        "args": {
            "train_captions": [[f"a {c} circle number {i}", f"one {c} shape"] for i, c in enumerate(["red", "blue"] * 4)],
            "vocabulary_size": 40,
            "text_encoder": {"type": "text_transformer", "width": 8, "depth": 1, "num_heads": 2},
            "projection_dim": 8,
        }
    },
    # MAE encodes only the visible patches: it needs the vit encoder (it refuses any other).
    "mae": lambda: {
        "encoder": vit(input_shape=(16, 16, 1), patch_size=4, width=16, depth=1, num_heads=2),
        "args": {"decoder_width": 16, "decoder_depth": 1, "decoder_num_heads": 2},
    },
}


@pytest.mark.parametrize("name", REGISTRY.names("pretext"))
def test_every_registered_pretext_task_builds_trains_embeds_and_round_trips(name, tmp_path):
    import keras

    from kssl.pretext.pretext_task import PretextTask
    from kssl.testing import check_pretext

    keras.utils.set_random_seed(0)
    inputs = INPUTS.get(name, dict)()
    factory = REGISTRY.get("pretext", name)
    # A method that compares augmented views rejects augmenter=None (PretextTask.needs_augmenter).
    needs = isinstance(factory, type) and issubclass(factory, PretextTask) and factory.needs_augmenter
    augmenter = REGISTRY.get("augmenter", "simclr")(blur_probability=0.0, seed=0) if needs else None
    model = check_pretext(factory, inputs.get("args"), x=inputs.get("x"), encoder=inputs.get("encoder"), augmenter=augmenter, tmp_path=tmp_path)
    assert model.n_clusters is None or model.n_clusters >= 1


@pytest.mark.parametrize("name", REGISTRY.names("evaluator"))
def test_every_registered_evaluator_is_an_evaluator_and_its_config_rebuilds_it(name):
    from kssl.eval.evaluator import Evaluator

    evaluator = REGISTRY.get("evaluator", name)()
    assert isinstance(evaluator, Evaluator)
    again = type(evaluator)(**evaluator.get_config())
    assert again.get_config() == evaluator.get_config()
