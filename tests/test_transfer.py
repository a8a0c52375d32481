"""Transfer pieces: the classifier, the encoder's scaled learning rate, precise BatchNorm and the reusable FineTuner."""

import keras
import numpy as np
import pytest

from kssl.data.digits import digits
from kssl.encoders.mlp import mlp
from kssl.transfer.classifier import HEAD, classifier, copy_encoder
from kssl.transfer.fine_tuning import FineTuner, accuracy, fresh_weights
from kssl.transfer.labeled_batches import LabeledBatches
from kssl.transfer.precise_batch_norm import recompute_batch_norm_statistics
from kssl.transfer.scaled_learning_rate import scale_learning_rate
from tests.jax_subprocess import run_on_jax


def _encoder(dims=6, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((dims,))
    return keras.Model(inputs, keras.layers.Dense(4, name="features")(inputs), name="enc")


def test_classifier_is_the_encoder_plus_a_softmax_head_sharing_weights():
    encoder = _encoder()
    model = classifier(encoder, 3, seed=0)
    probabilities = np.asarray(model(np.ones((5, 6), "float32")))
    assert probabilities.shape == (5, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert model.get_layer(HEAD).get_config()["activation"] == "softmax"
    assert encoder.trainable_variables[0] is model.trainable_variables[0]  # shared, not copied


def test_copy_encoder_keeps_or_renews_the_weights():
    encoder = _encoder()
    same, fresh = copy_encoder(encoder), copy_encoder(encoder, fresh=True, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(encoder.get_weights(), same.get_weights()))
    assert not np.array_equal(encoder.get_weights()[0], fresh.get_weights()[0])
    assert np.array_equal(fresh.get_weights()[0], copy_encoder(encoder, fresh=True, seed=3).get_weights()[0])


def _sgd_step(scale):
    """One plain-SGD step on a linear classifier; returns (encoder kernel delta, head kernel delta)."""
    encoder = _encoder()
    model = classifier(encoder, 3, seed=0)
    optimizer = scale_learning_rate(keras.optimizers.SGD(learning_rate=0.5), encoder.trainable_variables, scale)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    x, y = np.random.default_rng(0).normal(size=(8, 6)).astype("float32"), np.arange(8) % 3
    before = [np.array(v) for v in (encoder.trainable_variables[0], model.get_layer(HEAD).kernel)]
    model.train_on_batch(x, y)
    after = [np.array(v) for v in (encoder.trainable_variables[0], model.get_layer(HEAD).kernel)]
    return [a - b for a, b in zip(after, before)]


@pytest.mark.parametrize("scale", [0.0, 0.1, 0.5])
def test_the_encoder_steps_at_the_scaled_rate_and_the_head_at_the_full_rate(scale):
    # SGD's step is -lr * gradient: from the same start, the scaled step is exactly `scale` times the unscaled one.
    encoder_full, head_full = _sgd_step(1.0)
    encoder_scaled, head_scaled = _sgd_step(scale)
    assert np.abs(encoder_full).max() > 1e-4
    np.testing.assert_allclose(encoder_scaled, scale * encoder_full, atol=1e-6)
    np.testing.assert_allclose(head_scaled, head_full, atol=1e-6)


def test_precise_batch_norm_stores_the_mean_of_the_batch_statistics():
    x = np.random.default_rng(1).normal(3.0, 2.0, size=(30, 4)).astype("float32")
    inputs = keras.Input((4,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    assert recompute_batch_norm_statistics(model, x, batch_size=10) == 1
    batches = np.split(x, 3)
    bn = model.get_layer("bn")
    np.testing.assert_allclose(np.array(bn.moving_mean), np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.array(bn.moving_variance), np.mean([b.var(0) for b in batches], axis=0), rtol=1e-4)
    assert bn.momentum == 0.99  # restored


def test_labeled_batches_cover_every_sample_once_per_pass_and_run_on_across_epochs():
    x, y = np.arange(10), np.arange(10) * 2
    batches = LabeledBatches(x, y, batch_size=4, steps_per_epoch=5, seed=0)
    first = np.concatenate([batches[i][0] for i in range(len(batches))])
    assert len(batches) == 5 and np.array_equal(np.sort(first[:10]), x) and np.array_equal(np.sort(first[10:20]), x)
    assert all(np.array_equal(batches[i][1], batches[i][0] * 2) for i in range(5))
    batches.on_epoch_end()
    second = np.concatenate([batches[i][0] for i in range(len(batches))])
    assert not np.array_equal(first, second)


@pytest.fixture(scope="module")
def small_digits():
    return digits(image_size=8, channels=1)


def test_a_reused_fine_tuner_equals_a_new_one(small_digits):
    # The evaluators train one FineTuner again and again: each fit must start afresh (head, optimizer, encoder).
    d = small_digits
    encoder = mlp((8, 8, 1), hidden_units=[32])
    weights = encoder.get_weights()
    reused = FineTuner(encoder, 10, total_steps=15, batch_size=16)
    reused.fit(fresh_weights(encoder, 5), d.x_train[:40], d.y_train[:40], seed=1, steps_per_epoch=15)  # a different earlier fit
    reused.fit(weights, d.x_train[:50], d.y_train[:50], seed=2, steps_per_epoch=15)
    new = FineTuner(encoder, 10, total_steps=15, batch_size=16)
    new.fit(weights, d.x_train[:50], d.y_train[:50], seed=2, steps_per_epoch=15)
    for a, b in zip(reused.model.get_weights(), new.model.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(weights, encoder.get_weights()))  # the source encoder is untouched


def test_fine_tuning_learns_the_digits_from_few_labels(small_digits):
    d = small_digits
    encoder = mlp((8, 8, 1), hidden_units=[64])
    tuner = FineTuner(encoder, 10, total_steps=150, batch_size=32, encoder_learning_rate_scale=1.0, learning_rate=3e-3)
    history = tuner.fit(encoder.get_weights(), d.x_train[:200], d.y_train[:200], seed=0, steps_per_epoch=150)
    assert history.history["loss"][-1] < 1.0
    assert accuracy(tuner.model, d.x_test, d.y_test) > 0.75  # chance is 0.1


@pytest.mark.slow
def test_the_scaled_learning_rate_and_a_reused_fine_tuner_work_on_jax():
    run_on_jax(
        """
import keras, numpy as np
from kssl.transfer.classifier import classifier, HEAD
from kssl.transfer.scaled_learning_rate import scale_learning_rate
def step(scale):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((6,)); encoder = keras.Model(inputs, keras.layers.Dense(4)(inputs))
    model = classifier(encoder, 3, seed=0)
    optimizer = scale_learning_rate(keras.optimizers.SGD(0.5), encoder.trainable_variables, scale)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", jit_compile=True)
    before = np.array(encoder.trainable_variables[0])
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    model.fit(x, np.arange(8) % 3, batch_size=8, epochs=1, verbose=0)
    return np.array(encoder.trainable_variables[0]) - before
full, tenth = step(1.0), step(0.1)
assert np.abs(full).max() > 1e-4
np.testing.assert_allclose(tenth, 0.1 * full, atol=1e-6)
# a FineTuner fits twice on JAX (its reset assigns head, optimizer and encoder between fits)
from kssl.transfer.fine_tuning import FineTuner, accuracy
x = np.random.default_rng(1).normal(size=(40, 6)).astype("float32"); y = (x[:, 0] > 0).astype(int)
inputs = keras.Input((6,)); encoder = keras.Model(inputs, keras.layers.Dense(8, activation="relu")(inputs))
tuner = FineTuner(encoder, 2, total_steps=80, batch_size=8, learning_rate=3e-2, encoder_learning_rate_scale=1.0)
first = [tuner.fit(encoder.get_weights(), x, y, seed=0, steps_per_epoch=80).history["loss"][-1] for _ in range(2)]
assert first[0] == first[1], first  # the same fit, bit for bit
assert accuracy(tuner.model, x, y) > 0.8, accuracy(tuner.model, x, y)
print("JAX-OK")
"""
    )
