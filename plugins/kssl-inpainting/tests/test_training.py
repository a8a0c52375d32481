"""Something is learned: after a short training the hidden region is reconstructed far better than by the mean image."""

import keras
import numpy as np
from kssl_inpainting.inpainting import Inpainting
from kssl_inpainting.inpainting_loss import inpainting_loss

from kssl.data.digits import digits
from kssl.encoders.cnn import cnn


def test_reconstruction_of_the_hidden_centre_beats_the_mean_image_on_held_out_digits():
    keras.utils.set_random_seed(0)
    data = digits(image_size=8, batch_size=32)
    model = Inpainting(cnn((8, 8, 1), filters=[16, 32], dense_units=64), region="center", region_size=0.5, decoder_width=16)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    # 900 steps (about 7 CPU seconds): enough for the encoder's BatchNorm moving statistics, which inference uses, to settle.
    model.fit(data.x_train, epochs=20, batch_size=32, verbose=0)
    reconstruction, target, mask = model(data.x_test)  # inference: the same central 4x4 box, never seen by the encoder
    learned = float(np.mean(keras.ops.convert_to_numpy(inpainting_loss(target, reconstruction, mask))))
    mean_image = np.broadcast_to(data.x_train.mean(axis=0), data.x_test.shape)  # the best guess that ignores the context
    baseline = float(np.mean(keras.ops.convert_to_numpy(inpainting_loss(data.x_test, mean_image, mask))))
    # measured 2026-12-02 (TensorFlow, seed 0): 0.055 against the mean image's 0.145 (0.38 of it)
    assert learned < 0.6 * baseline, f"hidden-region MSE {learned:.4f} is not clearly below the mean image's {baseline:.4f}"
