"""Every registered component, driven by the registry: a new pretext task or evaluator is covered without a new test.

Each pretext task builds around a tiny encoder, trains one step (finite loss, weights change), embeds, and
round-trips through ``.keras`` (kssl.testing.check_pretext). A task that cannot run with its defaults on
eight 16x16 grayscale images names what it needs in ``INPUTS``.
"""

import numpy as np
import pytest

from kssl.plugins import get_registry

REGISTRY = get_registry()
SENTENCES = ["the cat sat on the mat.", "a dog ran to the park.", "the bird sang in the tree.", "a cat and a dog ran."] * 2
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
    "bird",
    "sang",
    "in",
    "tree",
    "and",
]


def _text_inputs():
    from kssl.encoders.bert import bert

    encoder = bert(vocabulary_size=len(TOKENS), sequence_length=12, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16)
    return {"args": {"vocabulary": TOKENS, "sequence_length": 12}, "x": np.array(SENTENCES), "encoder": encoder}


INPUTS = {
    "masked_lm": _text_inputs,
    "dec": lambda: {"args": {"n_clusters": 2, "pretrain_epochs": 0, "kmeans_restarts": 1}},
}


@pytest.mark.parametrize("name", REGISTRY.names("pretext"))
def test_every_registered_pretext_task_builds_trains_embeds_and_round_trips(name, tmp_path):
    import keras

    from kssl.testing import check_pretext

    keras.utils.set_random_seed(0)
    inputs = INPUTS.get(name, dict)()
    model = check_pretext(REGISTRY.get("pretext", name), inputs.get("args"), x=inputs.get("x"), encoder=inputs.get("encoder"), tmp_path=tmp_path)
    assert model.n_clusters is None or model.n_clusters >= 1


@pytest.mark.parametrize("name", REGISTRY.names("evaluator"))
def test_every_registered_evaluator_is_an_evaluator_and_its_config_rebuilds_it(name):
    from kssl.eval.evaluator import Evaluator

    evaluator = REGISTRY.get("evaluator", name)()
    assert isinstance(evaluator, Evaluator)
    again = type(evaluator)(**evaluator.get_config())
    assert again.get_config() == evaluator.get_config()
