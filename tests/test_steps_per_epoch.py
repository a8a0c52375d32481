"""``train.steps_per_epoch`` below, at and above one pass: every epoch runs exactly its steps, whatever feeds fit."""

import json
import textwrap
import warnings

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax
from tiny_runs import tiny_mlp

import kssl

# Shared by the TensorFlow (in-process) and JAX (subprocess) tests.
STEPS_CHECK = textwrap.dedent(
    """
    def steps_check(kind, steps, epochs):
        import tensorflow as tf
        from kssl.data.batches import ShuffledBatches
        from kssl.data.epoch_steps import with_epoch_steps

        x = np.arange(128 * 3, dtype="float32").reshape(128, 3) / 384.0  # 4 batches of 32 per pass
        y = x[:, :1]
        feeder = ShuffledBatches(x, 32, seed=0, targets=y) if kind == "pydataset" else tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
        seen = []

        class Count(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                seen.append(0)

            def on_train_batch_end(self, batch, logs=None):
                seen[-1] += 1

        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=".*ran out of data.*")
            model.fit(with_epoch_steps(feeder, steps), steps_per_epoch=steps, epochs=epochs, shuffle=False, verbose=0, callbacks=[Count()])
        assert seen == [steps] * epochs, (kind, steps, seen)
        assert int(np.asarray(model.optimizer.iterations)) == steps * epochs
    """
)
CASES = [("pydataset", 3, 3), ("pydataset", 6, 2), ("tfdata", 3, 3), ("tfdata", 6, 2)]


@pytest.mark.parametrize(("kind", "steps", "epochs"), CASES)
def test_every_epoch_gets_its_steps(kind, steps, epochs):
    scope = {"np": np, "keras": keras, "warnings": warnings}
    exec(STEPS_CHECK, scope)
    scope["steps_check"](kind, steps, epochs)


def test_every_epoch_gets_its_steps_on_jax():
    script = "import warnings\nimport numpy as np, keras\n" + STEPS_CHECK + "".join(f"steps_check{case!r}\n" for case in CASES) + "print('JAX-OK')\n"
    run_on_jax(script, timeout=300)


def test_the_pass_continues_across_epochs_in_the_order_of_the_feeder():
    from kssl.data.batches import ShuffledBatches
    from kssl.data.epoch_steps import EpochSteps

    x = np.arange(10)
    inner = ShuffledBatches(x, 4, seed=3)  # 3 batches a pass: 4, 4, 2
    reference = ShuffledBatches(x, 4, seed=3)
    expected = []
    for _ in range(3):
        expected += [reference[i].tolist() for i in range(len(reference))]
        reference.on_epoch_end()
    feeder = EpochSteps(inner, 2)
    got = []
    for _ in range(4):  # 8 batches: two passes and two batches of the third
        got += [feeder[i].tolist() for i in range(len(feeder))]
        feeder.on_epoch_end()
    assert got == expected[:8]


@pytest.mark.parametrize(("steps", "epochs"), [(3, 3), (6, 2)])
def test_a_run_trains_steps_per_epoch_times_epochs_steps(tmp_path, steps, epochs):
    from kssl.training import train

    recipe = tiny_mlp(epochs=epochs)
    recipe["train"]["steps_per_epoch"] = steps
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*ran out of data.*")
        run_dir = train(recipe, output_dir=tmp_path)
    assert int(np.asarray(kssl.load_model(run_dir / "model.keras").optimizer.iterations)) == steps * epochs
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == epochs
