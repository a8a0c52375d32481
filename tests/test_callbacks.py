"""The callbacks of a kssl run keep Keras's asynchronous step dispatch, and the NaN stop still names the first bad batch."""

import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

# Shared by the in-process (TensorFlow: batch hooks run in step) and the JAX (batch hooks run in worker threads) tests.
NAN_STOP_CHECK = textwrap.dedent(
    """
    def nan_stop_check(run_dir):
        from kssl.callbacks import checkpoints
        from kssl.training import _callbacks

        guard, callbacks = _callbacks(run_dir, resume=False)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(400, 3)).astype("float32")
        y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
        x[170] = np.nan  # batch 170 // 20 = 8 of the first epoch
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        history = model.fit(x, y, batch_size=20, epochs=3, shuffle=False, callbacks=callbacks, verbose=0)
        epoch, batch, value = guard.bad_at
        assert (epoch, batch) == (0, 8) and np.isnan(value), guard.bad_at
        assert len(history.history["loss"]) == 1  # stopped in the first epoch
        assert checkpoints(run_dir / "checkpoints") == []  # the bad epoch left no checkpoint
        return callbacks, model
    """
)


def test_run_callbacks_do_not_make_keras_wait_for_every_step(tmp_path):
    # Keras queues steps ahead only when every callback hooking the end of a batch is async-safe; one that is not
    # makes each step wait for the previous one (about 20% of an H200's throughput, docs/performance.md).
    from kssl.training import _callbacks

    _, callbacks = _callbacks(tmp_path, resume=False)
    base = keras.callbacks.Callback
    hooking = [cb for cb in callbacks if type(cb).on_train_batch_end is not base.on_train_batch_end or type(cb).on_batch_end is not base.on_batch_end]
    assert {type(cb).__name__ for cb in hooking} == {"NonFiniteLossStop", "EpochTensorBoard"}  # the check below is not vacuous
    assert all(getattr(cb, "async_safe", False) for cb in hooking), [type(cb).__name__ for cb in hooking if not getattr(cb, "async_safe", False)]


def test_nan_stop_names_the_first_bad_batch_and_skips_the_checkpoint(tmp_path):
    scope = {"np": np, "keras": keras}
    exec(NAN_STOP_CHECK, scope)
    scope["nan_stop_check"](tmp_path)


@pytest.mark.slow
def test_on_jax_steps_run_ahead_and_the_nan_stop_still_names_the_first_bad_batch(tmp_path):
    script = (
        "import numpy as np, keras\nfrom pathlib import Path\n"
        + NAN_STOP_CHECK
        + textwrap.dedent(
            f"""
        callbacks, model = nan_stop_check(Path({str(tmp_path)!r}))
        assert keras.callbacks.CallbackList(callbacks, model=model)._async_train  # batch hooks run in worker threads
        print("JAX-OK")
        """
        )
    )
    run_on_jax(script)


def test_finite_training_is_not_stopped_and_checkpoints_every_epoch(tmp_path):
    from kssl.callbacks import checkpoints
    from kssl.training import _callbacks

    guard, callbacks = _callbacks(tmp_path, resume=False)
    x = np.random.default_rng(1).normal(size=(200, 3)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, x[:, :1], batch_size=20, epochs=2, callbacks=callbacks, verbose=0)
    assert guard.bad_at is None and len(history.history["loss"]) == 2
    assert [done for done, _ in checkpoints(tmp_path / "checkpoints")] == [2]  # the newest is kept
    assert (tmp_path / "history.csv").read_text().count("\n") == 3  # header + 2 epochs
    assert any(Path(tmp_path, "logs").rglob("*tfevents*"))  # TensorBoard still writes its epoch summaries
