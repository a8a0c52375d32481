"""The shared L2 normalisation: x / ||x|| for non-zero rows, and a finite gradient at a zero row."""

import numpy as np
import tensorflow as tf

from kssl.losses.l2_normalize import l2_normalize


def test_rows_have_unit_norm_and_zero_rows_stay_zero():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [-1e-3, 0.0]], "float32")
    out = np.asarray(l2_normalize(x))
    np.testing.assert_allclose(out, [[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], rtol=1e-6)


def test_the_gradient_at_a_zero_row_is_finite():
    # ops.norm's gradient at 0 is 0/0: one silent projector row made a whole SimSiam step NaN.
    x = tf.Variable([[0.0, 0.0], [1.0, 2.0]])
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(l2_normalize(x) * tf.constant([[1.0, 1.0], [1.0, -1.0]]))
    grad = tape.gradient(loss, x).numpy()
    assert np.all(np.isfinite(grad)), grad
