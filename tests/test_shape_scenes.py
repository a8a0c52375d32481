"""shape_scenes: deterministic generated scenes with varied captions and held-out colour+shape compositions."""

import numpy as np
import pytest

from kssl.data.scene_captions import SceneObject, phrasings
from kssl.data.shape_scenes import COLOURS, HELD_OUT, SHAPES, generate, render, shape_scenes
from kssl.errors import ArgumentError

SMALL = {"num_train": 80, "num_test": 60}


@pytest.fixture(scope="module")
def data():
    return shape_scenes(**SMALL)


def _training_scenes(n, seed=0):
    """The training scenes as shape_scenes draws them (same generator, same order)."""
    held = [tuple(p.split()) for p in HELD_OUT]
    allowed = [(c, s) for c in COLOURS for s in SHAPES if (c, s) not in held]
    return generate(n, 32, 5, 0.5, allowed, [], 0.0, np.random.default_rng(seed))


def test_arrays_labels_and_context(data):
    assert data.x_train.shape == (80, 32, 32, 3) and data.x_test.shape == (60, 32, 32, 3)
    assert data.x_train.dtype == np.float32 and 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert data.class_names == list(SHAPES) and data.y_train.dtype == np.int32
    assert set(np.unique(data.y_train)) <= set(range(len(SHAPES))) and len(np.unique(data.y_train)) == len(SHAPES)
    ctx = data.context
    assert len(ctx["train_captions"]) == 80 and len(ctx["test_captions"]) == 60
    assert all(len(c) == 5 and len(set(c)) == 5 and all(isinstance(t, str) for t in c) for c in ctx["train_captions"])
    assert ctx["heldout_test"].dtype == bool and ctx["heldout_test"].shape == (60,)
    assert data.factory_context()["train_captions"] is ctx["train_captions"]  # reaches factories that name it


def test_deterministic_limit_keeps_the_prefix_and_the_test_split(data):
    again = shape_scenes(**SMALL)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    assert again.context["train_captions"] == data.context["train_captions"]
    other = shape_scenes(**SMALL, seed=1)
    assert not np.array_equal(other.x_train, data.x_train)
    limited = shape_scenes(**SMALL, limit=20)
    np.testing.assert_array_equal(limited.x_train, data.x_train[:20])
    assert limited.context["train_captions"] == data.context["train_captions"][:20]
    np.testing.assert_array_equal(limited.x_test, data.x_test)


def test_labels_are_the_shape_of_the_big_or_lone_object_and_no_training_scene_holds_a_held_out_pair(data):
    images, labels, captions, _, scenes = _training_scenes(80)
    assert captions == data.context["train_captions"]  # the same scenes as the dataset's
    np.testing.assert_array_equal(images, data.x_train)
    held = set(HELD_OUT)
    assert not any(o.composition in held for objects in scenes for o in objects)
    all_text = " ".join(t for c in captions for t in c)
    assert not any(pair in all_text for pair in held)
    for objects, label in zip(scenes, labels):
        big = [o for o in objects if o.size == "big"] if len(objects) == 2 else objects
        assert len(big) == 1 and SHAPES[label] == big[0].shape
    assert {len(o) for o in scenes} == {1, 2}


def test_test_split_marks_the_held_out_compositions(data):
    mask = data.context["heldout_test"]
    assert 0.2 < mask.mean() < 0.6  # 30% forced, plus pairs with a held-out small object
    for captions, marked in zip(data.context["test_captions"], mask):
        named = any(pair in " ".join(captions) for pair in HELD_OUT)
        if named:
            assert marked  # a caption names a held-out pair: the image holds it
    assert any(any(pair in " ".join(c) for pair in HELD_OUT) for c in data.context["test_captions"])


def test_captions_compose_attributes_and_relations_not_class_names():
    a = SceneObject("circle", "red", "small", 8.0, 16.0, 3.0)
    b = SceneObject("square", "blue", "big", 24.0, 16.0, 6.0)
    pair = phrasings([a, b], "horizontal", 32)
    assert "a small red circle to the left of a big blue square" in pair
    assert "a big blue square to the right of a small red circle" in pair
    assert any(t.startswith("two shapes:") for t in pair)
    above = phrasings([a, b], "vertical", 32)
    assert "a small red circle above a big blue square" in above
    lone = phrasings([SceneObject("cross", "cyan", "big", 5.0, 5.0, 4.0)], "single", 32)
    assert "a big cyan cross in the top left" in lone and len(set(lone)) == len(lone) == 10
    for text in pair + lone:  # never just a class name: every caption names colours too
        assert text not in SHAPES and any(c in text for c in COLOURS)


def test_render_draws_each_shape_in_its_colour():
    rng = np.random.default_rng(0)
    for shape in SHAPES:
        image = render([SceneObject(shape, "red", "big", 16.0, 16.0, 9.0)], 32, rng)
        centre, corner = image[16, 16], image[1, 1]
        assert centre[0] > 0.7 and centre[1] < 0.35 and centre[2] < 0.35, (shape, centre)
        assert corner.max() < 0.25
    circle = render([SceneObject("circle", "green", "big", 16.0, 16.0, 9.0)], 32, rng)[..., 1] > 0.5
    square = render([SceneObject("square", "green", "big", 16.0, 16.0, 9.0)], 32, rng)[..., 1] > 0.5
    assert square.sum() > circle.sum() * 0.8 and not np.array_equal(circle, square)
    assert square[9, 9] and not circle[9, 9]  # the square reaches the corner of the box that cuts the circle


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({"held_out": ["red hexagon"]}, "held_out"),
        ({"held_out": "red triangle"}, "held_out"),
        ({"held_out": [f"{c} circle" for c in COLOURS]}, "held_out"),
        ({"held_out": ["red circle", "red circle"]}, "held_out"),
        ({"captions_per_image": 0}, "captions_per_image"),
        ({"image_size": 8}, "image_size"),
        ({"two_object_fraction": 1.5}, "two_object_fraction"),
    ],
)
def test_bad_arguments_name_the_key(kwargs, key):
    with pytest.raises(ArgumentError) as info:
        shape_scenes(num_train=4, num_test=2, **kwargs)
    assert info.value.argument == key


def test_registered_through_the_builtin_hook():
    from kssl.plugins import get_registry

    registry = get_registry()
    assert "shape_scenes" in registry.names("dataset") and "image_captions" in registry.names("dataset")
    assert "clip" in registry.names("pretext") and "text_transformer" in registry.names("encoder")
