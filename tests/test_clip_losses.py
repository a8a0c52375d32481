"""CLIP's symmetric InfoNCE and SigLIP's sigmoid loss against independent numpy implementations and closed forms."""

import math

import keras
import numpy as np
import pytest

from kssl.losses.clip_loss import CLIPLoss, clip_loss, pair_logits
from kssl.losses.siglip_loss import SigLIPLoss, siglip_loss


def _unit(a):
    a = np.asarray(a, np.float64)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


def numpy_clip(images, texts, t):
    """Independent reference: explicit loops over images and texts, each a softmax over the other modality (CLIP Fig. 3)."""
    u, v = _unit(images), _unit(texts)
    scale = math.exp(t)
    n = len(u)
    losses = []
    for i in range(n):
        row = [scale * (u[i] @ v[j]) for j in range(n)]  # image i against every text
        col = [scale * (u[j] @ v[i]) for j in range(n)]  # text i against every image
        i2t = -(row[i] - math.log(sum(math.exp(r) for r in row)))
        t2i = -(col[i] - math.log(sum(math.exp(c) for c in col)))
        losses.append(0.5 * (i2t + t2i))
    return np.array(losses)


def numpy_siglip(images, texts, t, b):
    """Independent reference: SigLIP's Algorithm 1 written as a double loop with -log(1 / (1 + exp(-z * logit)))."""
    u, v = _unit(images), _unit(texts)
    n = len(u)
    losses = np.zeros(n)
    for i in range(n):
        for j in range(n):
            logit = math.exp(t) * (u[i] @ v[j]) + b
            z = 1.0 if i == j else -1.0
            losses[i] += math.log1p(math.exp(-z * logit))
    return losses


@pytest.mark.parametrize("n,d,t", [(4, 8, math.log(1 / 0.07)), (7, 3, 0.0), (12, 16, 2.0)])
def test_clip_loss_matches_numpy_reference(n, d, t):
    rng = np.random.default_rng(n)
    images, texts = rng.normal(size=(n, d)).astype("float32"), rng.normal(size=(n, d)).astype("float32")
    got = keras.ops.convert_to_numpy(clip_loss(images, texts, t))
    np.testing.assert_allclose(got, numpy_clip(images, texts, t), rtol=1e-4, atol=1e-4)
    logits = pair_logits(images, texts, t)
    mean = float(keras.ops.convert_to_numpy(CLIPLoss()(np.arange(n), logits)))
    assert mean == pytest.approx(numpy_clip(images, texts, t).mean(), rel=1e-4)


@pytest.mark.parametrize("n,d,t,b", [(4, 8, math.log(10.0), -10.0), (6, 5, 1.0, 0.5), (9, 16, 3.0, -2.0)])
def test_siglip_loss_matches_numpy_reference_and_keras_hub(n, d, t, b):
    rng = np.random.default_rng(n + 100)
    images, texts = rng.normal(size=(n, d)).astype("float32"), rng.normal(size=(n, d)).astype("float32")
    expected = numpy_siglip(images, texts, t, b)
    got = keras.ops.convert_to_numpy(siglip_loss(images, texts, t, b))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    logits = pair_logits(images, texts, t, b)
    mean = float(keras.ops.convert_to_numpy(SigLIPLoss()(np.arange(n), logits)))
    assert mean == pytest.approx(expected.mean(), rel=1e-4)
    from keras_hub.src.models.siglip.siglip_loss import SigLIPLoss as HubSigLIPLoss  # keras-hub's own, on the same logits

    hub = float(keras.ops.convert_to_numpy(HubSigLIPLoss()(2 * np.eye(n, dtype="float32") - 1, logits)))
    assert hub == pytest.approx(mean, rel=1e-5)


def test_clip_closed_forms():
    # All embeddings equal: every pair is as likely as the match, loss = log N in both directions.
    n = 5
    same = np.ones((n, 3), "float32")
    assert float(keras.ops.convert_to_numpy(clip_loss(same, same, 1.3)).mean()) == pytest.approx(math.log(n), rel=1e-5)
    # Orthonormal matching pairs: the match scores s = exp(t), the N - 1 others 0.
    t = 1.5
    eye = np.eye(n, 6, dtype="float32")
    expected = -math.log(math.exp(math.exp(t)) / (math.exp(math.exp(t)) + n - 1))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(clip_loss(eye, eye, t)), expected, rtol=1e-5)


def test_siglip_closed_form_and_scale_invariance():
    # Orthonormal pairs: one positive at exp(t) + b, N - 1 negatives at b.
    n, t, b = 4, 1.0, -1.0
    eye = np.eye(n, dtype="float32")
    expected = math.log1p(math.exp(-(math.exp(t) + b))) + (n - 1) * math.log1p(math.exp(b))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(siglip_loss(eye, eye, t, b)), expected, rtol=1e-5)
    # The embeddings are normalised: their lengths do not matter.
    rng = np.random.default_rng(0)
    a, c = rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=(n, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(siglip_loss(7 * a, 0.1 * c, t, b)), keras.ops.convert_to_numpy(siglip_loss(a, c, t, b)), rtol=1e-5)


@pytest.mark.parametrize("cls", [CLIPLoss, SigLIPLoss])
def test_loss_classes_round_trip(cls):
    from kssl.testing.serialization import assert_round_trip

    restored = assert_round_trip(cls())
    assert restored.name == cls().name
