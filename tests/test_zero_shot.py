"""The ``zero_shot`` evaluator: prompt-ensembled class embeddings, accuracy on the test split and on held-out compositions."""

import numpy as np
import pytest
from fake_clip import ArrayCLIP, text_vectors

from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.eval.zero_shot import ZeroShotEvaluator

DIM = 24
VOCABULARY = ["a", "photo", "of", "red", "green", "blue", "circle", "square", "triangle"]
CLASSES = ["red_circle", "green_square", "blue_triangle", "red_square"]
TEMPLATES = ["a {}", "a photo of a {}"]


def _unit(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def _data(n=120, noise=0.6, seed=0, heldout=True, **overrides):
    """Test images near their class's caption embedding; the last third (the held-out ones) noisier."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    centres = text_vectors([c.replace("_", " ") for c in CLASSES], VOCABULARY, DIM)
    scale = np.where(np.arange(n) >= 2 * n // 3, 3.0, 1.0)[:, None] * noise
    x = (centres[y] + scale * rng.normal(size=(n, DIM)) / np.sqrt(DIM)).astype("float32")
    context = {"heldout_test": np.arange(n) >= 2 * n // 3} if heldout else {}
    fields = {"x_train": x[:8], "y_train": y[:8], "x_test": x, "y_test": y, "batch_size": 32, "class_names": list(CLASSES), "context": context}
    fields.update(overrides)
    return DataSplits(**fields)


def _reference_predictions(x, templates, wordings):
    """Independent numpy: per class the mean of its prompts' text vectors, normalised; argmax of cosine similarity."""
    classes = []
    for words in wordings:
        prompts = [t.format(w) for w in words for t in templates]
        classes.append(text_vectors(prompts, VOCABULARY, DIM).mean(axis=0))
    return (_unit(x) @ _unit(np.stack(classes)).T).argmax(axis=1)


def test_accuracy_and_heldout_accuracy_match_an_independent_computation():
    data, model = _data(), ArrayCLIP(VOCABULARY, DIM)
    scores = ZeroShotEvaluator(templates=TEMPLATES).evaluate(model, data)
    expected = _reference_predictions(data.x_test, TEMPLATES, [[c.replace("_", " ")] for c in CLASSES]) == data.y_test
    held = data.context["heldout_test"]
    assert scores == {
        "zero_shot_accuracy": pytest.approx(expected.mean()),
        "zero_shot_heldout_accuracy": pytest.approx(expected[held].mean()),
    }
    assert 0.6 < scores["zero_shot_accuracy"] < 1.0 and scores["zero_shot_heldout_accuracy"] < scores["zero_shot_accuracy"]
    assert sorted(model.text_calls[0]) == sorted(t.format(c.replace("_", " ")) for c in CLASSES for t in TEMPLATES)  # one batch of prompts


def test_clean_images_score_one_and_shuffled_labels_score_chance():
    data = _data(n=200, noise=0.0, heldout=False)
    model = ArrayCLIP(VOCABULARY, DIM)
    assert ZeroShotEvaluator().evaluate(model, data) == {"zero_shot_accuracy": 1.0}  # no heldout_test: no heldout metric
    shuffled = _data(n=200, noise=0.0, heldout=False, y_test=np.random.default_rng(1).permutation(data.y_test))
    assert ZeroShotEvaluator().evaluate(model, shuffled)["zero_shot_accuracy"] < 0.45


def test_class_prompts_replace_class_names_and_ensemble_alternative_wordings():
    names = ["c0", "c1", "c2", "c3"]
    wordings = {"c0": "red circle", "c1": ["green square", "green"], "c2": "blue triangle", "c3": ["red square"]}
    data = _data(class_names=names)
    scores = ZeroShotEvaluator(templates=TEMPLATES, class_prompts=wordings).evaluate(ArrayCLIP(VOCABULARY, DIM), data)
    as_lists = [[w] if isinstance(w, str) else w for w in wordings.values()]
    expected = _reference_predictions(data.x_test, TEMPLATES, as_lists) == data.y_test
    assert scores["zero_shot_accuracy"] == pytest.approx(expected.mean())
    assert scores["zero_shot_accuracy"] > 0.6


def test_config_round_trips():
    evaluator = ZeroShotEvaluator(templates=TEMPLATES, class_prompts={"c0": "red"}, batch_size=16)
    config = evaluator.get_config()
    assert config == {"templates": TEMPLATES, "class_prompts": {"c0": ["red"]}, "batch_size": 16}
    assert ZeroShotEvaluator(**config).get_config() == config


@pytest.mark.parametrize(
    "kwargs, key, fragment",
    [
        ({"templates": ["a photo"]}, "templates", "exactly one {}"),
        ({"templates": ["{} and {}"]}, "templates", "exactly one {}"),
        ({"templates": []}, "templates", "non-empty list"),
        ({"templates": "a {}"}, "templates", "non-empty list"),
        ({"class_prompts": ["red"]}, "class_prompts", "mapping"),
        ({"class_prompts": {"red_circle": ""}}, "class_prompts.red_circle", "non-empty"),
        ({"batch_size": 0}, "batch_size", ">= 1"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, key, fragment):
    with pytest.raises(ArgumentError) as info:
        ZeroShotEvaluator(**kwargs)
    assert info.value.argument == key and fragment in str(info.value)


class _ImageOnly:
    def embed(self, x, batch_size=256):
        return np.asarray(x)


@pytest.mark.parametrize(
    "data, fragment",
    [
        (_data(class_names=None), "names of two or more classes"),
        (_data(class_names=["only"]), "names of two or more classes"),
        (_data(y_test=None), "labeled test split"),
        (_data(class_names=["a", "b"]), "names 2 classes"),
        (_data(context={"heldout_test": np.ones(3, bool)}), "heldout_test"),
    ],
)
def test_data_that_cannot_be_scored_is_refused(data, fragment):
    with pytest.raises(KsslError, match="zero_shot") as info:
        ZeroShotEvaluator().check_data(data)
    assert fragment in str(info.value)


def test_a_model_without_a_text_tower_and_unknown_prompts_are_refused():
    with pytest.raises(KsslError, match="text tower") as info:
        ZeroShotEvaluator().check_model(_ImageOnly())
    assert "_ImageOnly" in str(info.value)
    with pytest.raises(KsslError, match="text tower"):
        ZeroShotEvaluator().evaluate(_ImageOnly(), _data())
    from kssl.builder import check_evaluators  # what the builder runs before training

    with pytest.raises(RecipeError, match=r"^eval\.0: evaluator 'zero_shot' needs an image-text model with a text tower"):
        check_evaluators([ZeroShotEvaluator()], _ImageOnly())
    with pytest.raises(ArgumentError, match="Did you mean 'red_circle'"):
        ZeroShotEvaluator(class_prompts={"red_circel": "red"}).check_data(_data())
    with pytest.raises(KsslError, match="the prompt 'zebra' cannot be embedded: none of the words"):
        ZeroShotEvaluator(class_prompts={"green_square": "zebra"}).evaluate(ArrayCLIP(VOCABULARY, DIM), _data())
    evaluator = ZeroShotEvaluator(class_prompts={"green_square": "zebra"})
    evaluator.check_model(ArrayCLIP(VOCABULARY, DIM))  # the classes are not known yet: nothing to try
    evaluator.check_data(_data())
    with pytest.raises(RecipeError, match=r"^eval\.0: evaluator 'zero_shot': the prompt 'zebra' cannot be embedded"):
        check_evaluators([evaluator], ArrayCLIP(VOCABULARY, DIM))  # as the builder does once data and model exist: before training


def test_a_recipe_gets_it_from_the_registry_and_bad_templates_name_their_key_path():
    from kssl.builder import build_inputs
    from kssl.recipe import load_recipe

    recipe = {"name": "z", "data": {"type": "digits", "image_size": 8, "limit": 64}, "encoder": {"type": "mlp"}, "pretext": {"type": "simclr"}}
    _, evaluators = build_inputs(load_recipe({**recipe, "eval": [{"type": "zero_shot", "templates": ["a photo of a {}"]}]}))
    assert isinstance(evaluators[0], ZeroShotEvaluator) and evaluators[0].templates == ["a photo of a {}"]
    with pytest.raises(RecipeError, match=r"eval\.0\.templates: .*exactly one \{\}"):
        build_inputs(load_recipe({**recipe, "eval": [{"type": "zero_shot", "templates": ["a photo"]}]}))
    with pytest.raises(RecipeError, match=r"eval\.0.*class_prompts: 'seven' is not a class"):
        build_inputs(load_recipe({**recipe, "eval": [{"type": "zero_shot", "class_prompts": {"seven": "7"}}]}))


def test_the_random_init_model_is_scored_under_random_init(monkeypatch, tmp_path):
    import kssl.evaluation
    import kssl.viz.tensorboard

    class Untrained(ArrayCLIP):
        def embed_images(self, x, batch_size=256):
            return _unit(np.random.default_rng(0).normal(size=(len(x), DIM)))

    data, baseline = _data(), Untrained(VOCABULARY, DIM)
    monkeypatch.setattr(kssl.evaluation, "load_baseline", lambda run_dir, recipe, data: baseline)
    monkeypatch.setattr(kssl.viz.tensorboard, "log_scalars", lambda *args, **kwargs: None)
    evaluator = ZeroShotEvaluator(templates=TEMPLATES)
    metrics = kssl.evaluation.evaluate_with_baseline(tmp_path, {}, ArrayCLIP(VOCABULARY, DIM), data, [evaluator], step=1)
    assert set(metrics) == {f"{p}zero_shot_{m}" for p in ("", "random_init.") for m in ("accuracy", "heldout_accuracy")}
    assert metrics["random_init.zero_shot_accuracy"] == pytest.approx(evaluator.evaluate(baseline, data)["zero_shot_accuracy"])
    assert metrics["random_init.zero_shot_accuracy"] < 0.45 < metrics["zero_shot_accuracy"]


@pytest.mark.slow  # ~10 s: keras-hub's import and a tf.data tokenisation per embed_texts call
def test_on_a_real_clip_model_and_shape_scenes_both_evaluators_match_the_models_own_embeddings():
    """A tiny untrained CLIP (the built-in pretext task) on real shape_scenes: the scores follow from its embeddings."""
    from test_retrieval import _brute_force

    from kssl.data.shape_scenes import shape_scenes
    from kssl.encoders.cnn import cnn
    from kssl.eval.retrieval import RetrievalEvaluator
    from kssl.pretext.clip import clip

    data = shape_scenes(num_train=64, num_test=24, image_size=16, captions_per_image=2, batch_size=8)
    text_tower = {"type": "text_transformer", "width": 8, "depth": 1, "num_heads": 2}
    model = clip(
        cnn(input_shape=(16, 16, 3), filters=[4, 8]),
        train_captions=data.context["train_captions"],
        vocabulary_size=200,
        sequence_length=48,
        text_encoder=text_tower,
    )
    model.build((None, 16, 16, 3))
    zero_shot = ZeroShotEvaluator(templates=["a {}", "a picture of a {}"])
    zero_scores = zero_shot.evaluate(model, data)
    images = model.embed_images(data.x_test)
    prompts = model.embed_texts([p for c in data.class_names for p in (f"a {c}", f"a picture of a {c}")])  # one call: each costs a tf.data pipeline
    classes = _unit(prompts.reshape(len(data.class_names), 2, -1).mean(axis=1))
    correct = (images @ classes.T).argmax(axis=1) == data.y_test
    held = data.context["heldout_test"]
    assert zero_scores == pytest.approx({"zero_shot_accuracy": correct.mean(), "zero_shot_heldout_accuracy": correct[held].mean()}, abs=1e-6)
    captions = data.context["test_captions"]
    owner = np.repeat(np.arange(len(captions)), [len(c) for c in captions])
    strings, text_of = np.unique([c for caps in captions for c in caps], return_inverse=True)  # generated captions repeat
    texts = model.embed_texts(list(strings))
    scores = RetrievalEvaluator(ks=[1, 5]).evaluate(model, data)
    assert scores == pytest.approx(
        {f"retrieval_{k}": v for k, v in _brute_force(images, texts, owner, [1, 5], text_of=text_of).items()}
        | {f"retrieval_heldout_{k}": v for k, v in _brute_force(images, texts, owner, [1, 5], list(np.flatnonzero(held)), text_of).items()},
        abs=1e-6,
    )
