"""SwAV: swapped prediction against numpy, prototypes, a tiny multi-crop run, serialisation."""

import copy

import keras
import numpy as np
import pytest

from kssl.errors import RecipeError
from kssl.losses.sinkhorn import sinkhorn
from kssl.losses.swav_loss import SwAVLoss, swapped_prediction

TINY_SWAV = {
    "name": "tiny-swav",
    "seed": 0,
    "data": {"type": "digits", "image_size": 16, "batch_size": 32, "limit": 64},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "cnn", "filters": [8, 16]},
    "pretext": {"type": "swav", "n_prototypes": 6, "projection_dim": 8, "projection_hidden_dims": [16], "n_small_crops": 1},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-3},
    "train": {"epochs": 1, "verbose": 0},
    "eval": [{"type": "clustering", "n_init": 2, "embedding_map": "pca", "l2_normalize": True}],
}


def numpy_swapped_prediction(codes, scores, t):
    """Reference: explicit loops over samples, code views and predicting views."""
    b, a, _ = codes.shape
    v = scores.shape[1]
    out = np.zeros(b)
    for i in range(b):
        terms = []
        for ca in range(a):
            for pv in range(v):
                if pv == ca:
                    continue
                logits = scores[i, pv] / t
                log_p = logits - np.log(np.exp(logits).sum())
                terms.append(-(codes[i, ca] * log_p).sum())
        out[i] = np.mean(terms)
    return out


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("v,t", [(2, 0.1), (4, 0.5)])
def test_swapped_prediction_matches_numpy(v, t):
    rng = np.random.default_rng(v)
    scores = rng.uniform(-1, 1, size=(5, v, 3)).astype("float32")
    codes = np.stack([_np(sinkhorn(scores[:, a])) for a in range(2)], axis=1)
    np.testing.assert_allclose(_np(swapped_prediction(codes, scores, t)), numpy_swapped_prediction(codes, scores, t), rtol=1e-5)
    assert float(_np(SwAVLoss(t)(codes, scores))) == pytest.approx(numpy_swapped_prediction(codes, scores, t).mean(), rel=1e-5)


def test_uniform_scores_give_log_k():
    # Identical scores for every prototype: each prediction is uniform, cross-entropy = log K for any code.
    k = 7
    scores = np.zeros((4, 2, k), "float32")
    codes = np.stack([_np(sinkhorn(scores[:, a])) for a in range(2)], axis=1)
    np.testing.assert_allclose(_np(swapped_prediction(codes, scores)), np.full(4, np.log(k)), rtol=1e-5)


def test_prototypes_are_cosine_similarities():
    from kssl.heads.prototypes import Prototypes

    layer = Prototypes(5)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    s = _np(layer(x))
    w = _np(layer.kernel)
    expected = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    np.testing.assert_allclose(s, expected, rtol=1e-5, atol=1e-6)
    assert layer.get_config()["n_prototypes"] == 5


def test_tiny_swav_trains_with_multicrop_and_round_trips(tmp_path):
    from kssl.builder import build_all
    from kssl.pretext.swav import SwAV

    built = build_all(copy.deepcopy(TINY_SWAV))
    model, x = built.model, built.data.x_train
    assert isinstance(model, SwAV)
    assert tuple(model(x[:4], training=True).shape) == (4, 3, 6)  # 2 global views + 1 small crop
    assert tuple(model(x[:4]).shape) == (4, 2, 6)
    before = [w.copy() for w in model.prototypes.get_weights()]
    history = model.fit(x, epochs=2, batch_size=32, verbose=0)
    loss = history.history["loss"]
    assert np.isfinite(loss).all() and min(loss) > 0
    entropy = history.history["prototype_entropy"]
    assert all(0.0 <= e <= 1.0 + 1e-6 for e in entropy)
    assert not np.allclose(before[0], model.prototypes.get_weights()[0])
    clusters = model.predict_clusters(x)
    assert clusters.shape == (len(x),) and clusters.max() < 6

    path = tmp_path / "swav.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert type(loaded) is SwAV
    np.testing.assert_allclose(loaded.predict_scores(x[:8]), model.predict_scores(x[:8]), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(loaded.predict_clusters(x), clusters)
    without_encoder = lambda c: {k: v for k, v in c.items() if k not in ("encoder", "augmenter")}  # noqa: E731
    assert without_encoder(loaded.get_config()) == without_encoder(model.get_config())

    scores = built.evaluators[0].evaluate(model, built.data)
    assert {"kmeans_acc", "kmeans_nmi", "kmeans_ari", "clusters_acc", "clusters_usage_entropy", "raw_kmeans_acc"} <= set(scores)


@pytest.mark.parametrize(
    "key,value,match",
    [
        ("n_prototypes", 1, "n_prototypes: expected an integer >= 2"),
        ("epsilon", 0, "epsilon: expected a positive number"),
        ("small_crop_scale", [0.0, 0.5], "small_crop_scale: expected area fractions"),
        ("n_small_crops", -1, "n_small_crops"),
        ("projection_hidden_dims", 16, "projection_hidden_dims: expected a list of layer widths"),
    ],
)
def test_bad_arguments_name_the_key(key, value, match):
    from kssl.builder import build_all

    recipe = copy.deepcopy(TINY_SWAV)
    recipe["pretext"][key] = value
    with pytest.raises(RecipeError, match=f"pretext.{match}"):
        build_all(recipe)


def _tiny_model():
    from kssl.builder import build_all

    built = build_all(copy.deepcopy(TINY_SWAV))
    return built.model, built.data.x_train


def test_multi_crop_views_and_clusters():
    model, x = _tiny_model()
    views = model.multi_crop(x[:3], training=True)
    assert len(views) == 3 and all(tuple(v.shape) == tuple(x[:3].shape) for v in views)  # 2 global + 1 small crop
    assert not np.allclose(_np(views[0]), _np(views[1]))  # two independent augmentations
    plain = model.multi_crop(x[:3])
    assert len(plain) == 2 and all(np.array_equal(_np(v), x[:3]) for v in plain)  # inference: x twice, no small crops
    assert model.n_clusters == model.n_prototypes == 6


def test_scores_losses_and_clusters_match_numpy():
    model, x = _tiny_model()
    scores = model.predict_scores(x[:10], batch_size=3)
    np.testing.assert_allclose(scores, model.predict_scores(x[:10]), rtol=1e-5, atol=1e-6)  # any batch size
    out = _np(model(x[:10]))
    np.testing.assert_allclose(out[:, 0], scores, rtol=1e-5, atol=1e-6)  # call: both views are x when not training
    np.testing.assert_allclose(out[:, 1], scores, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.predict_clusters(x[:10]), scores.argmax(axis=1))
    assert model.predict_scores(x[:0]).shape == (0, 6) and model.predict_clusters(x[:0]).shape == (0,)
    codes = np.stack([_np(sinkhorn(out[:, a], epsilon=model.epsilon, iterations=model.sinkhorn_iterations)) for a in range(2)], axis=1)
    expected = numpy_swapped_prediction(codes, out, model.temperature).mean()
    assert float(_np(model.compute_loss(x=x[:10], y_pred=out))) == pytest.approx(expected, rel=1e-4)
