"""Distribution strategies: a 2-replica step equals the 1-device step on the same global batch.

The CPU is split into 2 logical devices in a subprocess per backend (TensorFlow
logical device configuration; JAX --xla_force_host_platform_device_count=2),
see tests/distribution_steps.py. The rest are in-process checks of the
recipe section, the errors, and the helpers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import kssl
from kssl import distribution
from kssl.data.batches import ShuffledBatches
from kssl.distribution import jax as kssl_jax
from kssl.distribution import strategies
from kssl.errors import RecipeError
from kssl.recipe_distribution import check_distribution

STEPS = Path(__file__).with_name("distribution_steps.py")
REPO = Path(__file__).resolve().parents[1]


def _run_steps(backend: str, script=STEPS) -> dict:
    """Run a steps script (default: distribution_steps.py) for ``backend`` in a subprocess; its RESULT line."""
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "XLA_FLAGS", "TF_CONFIG")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, str(script), backend], capture_output=True, text=True, timeout=420, env=env, cwd=REPO)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"{backend} steps failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


@pytest.fixture(scope="module")
def tensorflow_steps():
    return _run_steps("tensorflow")


@pytest.fixture(scope="module")
def jax_steps():
    pytest.importorskip("jax")
    return _run_steps("jax")


# The JAX subprocess is the slowest part of the fast suite (about 2 minutes of 2 CPU cores): it runs in
# the slow step (.ci/extra); the fast suite keeps the TensorFlow 2-replica checks.
@pytest.fixture(params=["tensorflow", pytest.param("jax", marks=pytest.mark.slow)])
def steps(request):
    """The same checks on both backends; each backend's subprocess runs once per module."""
    return request.getfixturevalue(f"{request.param}_steps")


def _assert_same_step(result: dict):
    assert result["replicas"] == 2
    assert result["loss_2"] == pytest.approx(result["loss_1"], rel=1e-5, abs=1e-6)
    # SGD with learning rate 1 and no momentum: the weight change of the step is minus the gradient.
    assert result["grad_scale"] > 1e-3  # the step did move the weights
    assert result["grad_diff"] <= 1e-4 * result["grad_scale"], result
    # Batch-norm moving statistics: the 2 replicas normalised with the global batch's moments. The bound is
    # relative to the largest state value (a moving variance, DINO's centre): float32 rounding of the two
    # reduction orders differs by XLA build and CPU (1.6e-6 seen on an AVX-512/AMX machine for values of ~10).
    assert result["non_trainable"] > 0 and result["state_diff"] < 1e-6 * max(1.0, result["state_scale"]), result


def test_simclr_two_replicas_equal_one_device(steps):
    result = steps["simclr"]
    _assert_same_step(result)
    assert result["metrics_2"]["contrastive_accuracy"] == pytest.approx(result["metrics_1"]["contrastive_accuracy"])


def test_swav_two_replicas_equal_one_device(steps):
    # SwAV's compute_codes runs Sinkhorn-Knopp on the gathered global batch (tf.distribute) or on global arrays (JAX)
    _assert_same_step(steps["swav"])


def test_strategy_of_the_other_backend_is_a_clear_error(steps):
    message = steps["wrong_backend_error"]
    assert message.startswith("distribution.strategy:")
    if steps["backend"] == "tensorflow":
        assert "data_parallel is the JAX strategy" in message and "mirrored" in message
    else:
        assert "mirrored is TensorFlow's" in message and "data_parallel" in message


def test_tensorflow_xla_with_replicas_is_a_clear_error(tensorflow_steps):
    # TensorFlow only: JAX data_parallel runs with XLA.
    assert tensorflow_steps["jit_error"].startswith("train.jit_compile:") and "tf.distribute" in tensorflow_steps["jit_error"]


@pytest.mark.slow
def test_jax_uneven_batches_predict_and_bf16(jax_steps):
    # JAX only: TensorFlow splits uneven batches itself.
    steps = jax_steps
    extra = steps["jax"]
    # 13 samples, batch 4, 2 devices: 4, 4, 4 and the last sample skipped (4+4+4+1 cannot split evenly).
    assert extra["batch_sizes"] == [4, 4, 4] and np.isfinite(extra["uneven_fit_loss"])
    # predict pads 13 -> 14 rows and cuts the padding: the same features as on one device.
    assert extra["predict_shape"] == [13, 8] and extra["predict_diff"] < 1e-5
    assert extra["mixed_compute_dtype"] == "bfloat16" and np.isfinite(extra["mixed_loss"])
    assert steps["simclr"]["jit_compile"] is True


# -- the recipe section and its errors (in-process, TensorFlow) -------------------------------


def test_unknown_strategy_names_the_choices():
    with pytest.raises(RecipeError) as info:
        check_distribution({"strategy": "mirored"})
    message = str(info.value)
    assert message.startswith("distribution.strategy: unknown strategy 'mirored'")
    assert "Did you mean 'mirrored'?" in message
    for key in distribution.STRATEGIES:
        assert key in message


@pytest.mark.parametrize(
    "spec,path",
    [
        ({"strategy": "auto", "gpus": 2}, "distribution.gpus"),
        ({"strategy": "mirrored", "devices": "all"}, "distribution.devices"),
        ({"strategy": "mirrored", "devices": 0}, "distribution.devices"),
        ({"strategy": "none", "devices": 2}, "distribution.devices"),
        ({"strategy": "mirrored", "num_processes": 2}, "distribution.num_processes"),
        ({"strategy": "multi_worker", "coordinator_address": "nohost"}, "distribution.coordinator_address"),
        ({"strategy": "multi_worker", "process_id": -1}, "distribution.process_id"),
        ("hot", "distribution.strategy"),
        (3, "distribution"),
    ],
)
def test_bad_distribution_sections(spec, path):
    with pytest.raises(RecipeError) as info:
        check_distribution(spec)
    assert str(info.value).startswith(path + ":")


def test_multi_worker_without_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(RecipeError) as info:
        distribution.configure({"strategy": "multi_worker"})
    message = str(info.value)
    assert message.startswith("distribution.strategy:") and "TF_CONFIG" in message and '"worker"' in message


@pytest.mark.parametrize("tf_config", ["not json", '{"cluster": {}}', '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}'])
def test_multi_worker_with_bad_tf_config(monkeypatch, tf_config):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(RecipeError, match="TF_CONFIG is not a valid cluster description"):
        distribution.configure({"strategy": "multi_worker"})


def test_jax_multi_worker_without_cluster(monkeypatch):
    for var in ("TF_CONFIG", "KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES", "KERAS_DISTRIBUTION_PROCESS_ID"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(RecipeError, match="multi_worker on JAX needs the cluster"):
        kssl_jax.cluster({"strategy": "multi_worker"})
    with pytest.raises(RecipeError, match="missing num_processes, process_id"):
        kssl_jax.cluster({"strategy": "multi_worker", "coordinator_address": "10.0.0.1:1234"})
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["h0:20000", "h1:20000"]}, "task": {"type": "worker", "index": 1}}')
    assert kssl_jax.cluster({"strategy": "multi_worker"}) == ("h0:20000", 2, 1)


def test_torch_backend_has_one_device_only(monkeypatch):
    monkeypatch.setattr(strategies, "_backend", lambda: "torch")
    assert distribution.configure("auto").strategy == "none"
    for strategy in ("mirrored", "multi_worker", "data_parallel"):
        with pytest.raises(RecipeError, match="not supported on the torch backend yet"):
            distribution.configure(strategy)


def test_tensorflow_auto_and_none_on_one_cpu():
    assert distribution.configure("auto").strategy == "none"
    assert distribution.configure({"strategy": "none"}).num_replicas == 1
    with pytest.raises(RecipeError, match="asked for 4 devices"):
        distribution.configure({"strategy": "mirrored", "devices": 4})
    with pytest.raises(RecipeError, match="no device '/gpu:7'"):
        distribution.configure({"strategy": "mirrored", "devices": ["/gpu:7"]})


def test_auto_builds_under_the_users_own_strategy():
    import tensorflow as tf

    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        with distribution.distribution_scope({"strategy": "auto"}) as placement:
            assert placement.strategy == "external" and placement.tf_strategy is strategy


def test_uneven_global_batch_and_xla_with_replicas_are_errors():
    placement = distribution.Placement("mirrored", "tensorflow", num_replicas=2)
    with pytest.raises(RecipeError, match=r"^data.batch_size: the global batch of 15 samples does not split evenly over the 2 replicas"):
        placement.prepare(keras.Sequential([keras.layers.Dense(1)]), batch_size=15)
    with pytest.raises(RecipeError, match=r"^train.jit_compile: XLA"):
        placement.prepare(keras.Sequential([keras.layers.Dense(1)]), batch_size=16, jit_compile=True)


def test_build_with_distribution_argument(tiny_recipe):
    import tensorflow as tf

    model = kssl.build(tiny_recipe, distribution={"strategy": "mirrored", "devices": 1})
    assert isinstance(model.distribute_strategy, tf.distribute.MirroredStrategy)
    assert model.distribute_strategy.num_replicas_in_sync == 1
    with pytest.raises(RecipeError, match="^distribution.strategy: unknown strategy 'many'"):
        kssl.build(tiny_recipe, distribution="many")


def test_cli_validate_reports_unknown_strategy(write_recipe, tiny_recipe):
    from click.testing import CliRunner

    from kssl.cli import main

    tiny_recipe["distribution"] = {"strategy": "tpu_pod"}
    result = CliRunner().invoke(main, ["validate", str(write_recipe(tiny_recipe))])
    assert result.exit_code == 2
    assert "distribution.strategy: unknown strategy 'tpu_pod'" in result.output


# -- helpers ----------------------------------------------------------------------------------


def test_synchronized_batch_norm_keeps_the_saved_config(tmp_path):
    inputs = keras.Input((4,))
    outputs = keras.layers.BatchNormalization()(keras.layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    assert distribution.synchronize_batch_norm(model) == 1
    assert distribution.synchronize_batch_norm(model) == 0  # idempotent
    x = np.random.default_rng(0).normal(size=(8, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=True))  # outside a strategy: the local moments
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    model.save(tmp_path / "m.keras")
    layer = keras.models.load_model(tmp_path / "m.keras").layers[-1]
    assert layer.get_config()["synchronized"] is False  # reloads on JAX and torch too


def test_cross_replica_helpers_are_identities_on_one_device():
    from kssl.losses import cross_replica

    x = keras.ops.convert_to_tensor(np.arange(6, dtype="float32").reshape(3, 2))
    assert cross_replica.num_replicas() == 1
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cross_replica.all_gather(x)), keras.ops.convert_to_numpy(x))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(cross_replica.on_global_batch(lambda v: v * 2, x)), keras.ops.convert_to_numpy(x) * 2)
    assert float(cross_replica.scale_for_replicas(keras.ops.convert_to_tensor(3.0))) == 3.0


def test_shuffled_batches_split_evenly_over_replicas_and_shard_processes():
    x = np.arange(23)[:, None]
    batches = ShuffledBatches(x, batch_size=8, shuffle=True, seed=0, replicas=4)
    sizes = [len(batches[i]) for i in range(len(batches))]
    assert sizes == [8, 8, 4]  # 23 = 8 + 8 + 7; the last batch trimmed to 4, 3 samples skipped this epoch
    seen = np.concatenate([batches[i][:, 0] for i in range(len(batches))])
    np.testing.assert_array_equal(seen, np.random.default_rng(0).permutation(23)[:20])  # the seeded order, cut at 20
    first = seen.copy()
    batches.on_epoch_end()
    again = np.concatenate([batches[i][:, 0] for i in range(len(batches))])
    assert not np.array_equal(first, again)  # reshuffled every epoch
    shares = [ShuffledBatches(x, 8, True, 0, replicas=4, process_index=p, process_count=2) for p in range(2)]
    for i in range(3):
        parts = [s[i][:, 0] for s in shares]
        assert len(parts[0]) == len(parts[1]) == sizes[i] // 2
        np.testing.assert_array_equal(np.concatenate(parts), ShuffledBatches(x, 8, True, 0, replicas=4)[i][:, 0])


def test_replica_batches_only_for_jax_data_parallel(monkeypatch):
    model = keras.Sequential([keras.layers.Dense(1)])
    x = np.arange(10)[:, None]
    assert distribution.replica_batches(model, x, 4) is None  # TensorFlow splits batches itself
    assert distribution.model_replicas(model) == 1
    pytest.importorskip("jax")
    from kssl.distribution import batches

    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert distribution.replica_batches(model, x, 4) is None  # JAX on one device: fit batches the arrays
    monkeypatch.setattr(batches, "model_replicas", lambda model: 2)
    fed = distribution.replica_batches(model, x, 4, shuffle=True, seed=3)
    assert isinstance(fed, ShuffledBatches) and fed.replicas == 2 and (fed.process_index, fed.process_count) == (0, 1)
    order = np.random.default_rng(3).permutation(10)
    np.testing.assert_array_equal(np.concatenate([fed[i][:, 0] for i in range(len(fed))]), order)  # 4 + 4 + 2


@pytest.fixture
def float32_afterwards():
    yield
    keras.mixed_precision.set_global_policy("float32")


def test_mixed_float16_and_jit_compile_are_honoured(tiny_recipe, float32_afterwards):
    from kssl.builder import build_all

    tiny_recipe["data"]["limit"] = 64
    tiny_recipe["train"]["jit_compile"] = True
    assert build_all(tiny_recipe).model.jit_compile is True
    tiny_recipe["train"].update(precision="mixed_float16", jit_compile=False)
    built = build_all(tiny_recipe)
    model = built.model
    assert model.dtype_policy.name == "mixed_float16" and model.jit_compile is False
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # dynamic loss scaling for float16
    x = built.data.x_train[:32]
    z = model(x, training=False)
    assert keras.backend.standardize_dtype(z.dtype) == "float16"
    loss = model.compute_loss(x, y_pred=z)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"  # the loss computes in float32
    tiny_recipe["train"]["precision"] = "float32"
    reference = build_all(tiny_recipe).model
    reference.set_weights(model.get_weights())
    expected = reference.compute_loss(x, y_pred=reference(x, training=False))
    assert float(loss) == pytest.approx(float(expected), rel=2e-2)
    history = model.fit(x, batch_size=32, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][-1]) and 0.0 <= history["contrastive_accuracy"][-1] <= 1.0
