"""One training step on 1 device and on 2 replicas, same global batch; prints JSON.

Run by tests/test_distribution.py in a fresh process, because the CPU must be
split before the backend starts:

    python tests/distribution_steps.py tensorflow   # 2 logical CPUs, tf.distribute.MirroredStrategy
    python tests/distribution_steps.py jax          # --xla_force_host_platform_device_count=2, DataParallel

Models are composed by kssl's builder from recipes (cnn encoder with batch
norm, projection head with batch norm, SGD with learning rate 1 and no
momentum, so the weight change of one step is minus the gradient). Views are
deterministic (the image and its mirror image) so that both runs see the same
inputs: the equality then checks the cross-replica loss (NT-Xent negatives,
Sinkhorn codes over the global batch), the per-replica loss scaling, the
gradient all-reduce and the batch statistics.
"""

from __future__ import annotations

import json
import os
import sys
import time

BACKEND = sys.argv[1] if len(sys.argv) > 1 else "tensorflow"
os.environ["KERAS_BACKEND"] = BACKEND
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if BACKEND == "jax":
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
else:
    import tensorflow as tf

    _cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from kssl.builder import build_model  # noqa: E402
from kssl.data.splits import DataSplits  # noqa: E402
from kssl.errors import KsslError  # noqa: E402
from kssl.plugins import get_registry  # noqa: E402
from kssl.pretext.simclr import SimCLR  # noqa: E402
from kssl.pretext.swav import SwAV  # noqa: E402
from kssl.recipe import load_recipe  # noqa: E402

MULTI = "mirrored" if BACKEND == "tensorflow" else "data_parallel"


def mirror_views(x, n):
    """``n`` deterministic views: the image, its mirror image, the image, ..."""
    return [x if i % 2 == 0 else ops.flip(x, axis=2) for i in range(n)]


class MirrorViewsSimCLR(SimCLR):
    """SimCLR whose two views are the image and its mirror image (deterministic)."""

    needs_augmenter = False  # the views are made here, not by an augmenter

    def views(self, x, n=2, training=False):
        return mirror_views(x, n)


class MirrorViewsSwAV(SwAV):
    """SwAV whose two global views are the image and its mirror image (deterministic)."""

    needs_augmenter = False  # the views are made here, not by an augmenter

    def multi_crop(self, x, training=False):
        return mirror_views(x, 2)


PRETEXTS = {
    "simclr": {"type": "test_simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.5},
    "swav": {"type": "test_swav", "n_prototypes": 6, "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.5, "epsilon": 0.5},
}


def recipe(pretext: str, strategy: str, jit_compile=False, precision="float32") -> dict:
    return load_recipe(
        {
            "name": f"{pretext}-{strategy}",
            "seed": 0,
            "data": {"type": "digits"},  # not built: the arrays come from DataSplits below
            "encoder": {"type": "cnn", "filters": [4, 8]},
            "pretext": dict(PRETEXTS[pretext]),
            "optimizer": {"type": "sgd", "learning_rate": 1.0, "momentum": 0.0},
            "train": {"jit_compile": jit_compile, "precision": precision},
            "distribution": {"strategy": strategy},
        }
    )


def one_step(model, x):
    before = [np.array(w) for w in model.get_weights()]
    history = model.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0).history
    after = [np.array(w) for w in model.get_weights()]
    return before, after, {k: float(v[-1]) for k, v in history.items()}


def compare(pretext: str, x, registry, jit_compile=None) -> dict:
    if jit_compile is None:
        jit_compile = BACKEND == "jax"  # JAX without XLA runs op by op: minutes instead of seconds
    data = DataSplits(x_train=x, batch_size=len(x))
    started = time.time()
    single = build_model(recipe(pretext, "none", jit_compile), data, registry)
    initial = single.get_weights()
    w0, w1, logs1 = one_step(single, x)
    multi = build_model(recipe(pretext, MULTI, jit_compile), data, registry)
    multi.set_weights(initial)
    v0, v1, logs2 = one_step(multi, x)
    trainable = {id(v) for v in single.trainable_weights}
    grad_scale = max(float(np.abs(a - b).max()) for v, a, b in zip(single.weights, w0, w1) if id(v) in trainable)
    grad_diff = max(float(np.abs((a - b) - (c - d)).max()) for v, a, b, c, d in zip(single.weights, w0, w1, v0, v1) if id(v) in trainable)
    state_diff = max([float(np.abs(b - d).max()) for v, b, d in zip(single.weights, w1, v1) if id(v) not in trainable] or [0.0])
    state_scale = max([float(np.abs(b).max()) for v, b in zip(single.weights, w1) if id(v) not in trainable and np.size(b)] or [0.0])
    return {
        "replicas": int(_replicas(multi)),
        "loss_1": logs1["loss"],
        "loss_2": logs2["loss"],
        "metrics_1": logs1,
        "metrics_2": logs2,
        "grad_scale": grad_scale,
        "grad_diff": grad_diff,
        "state_diff": state_diff,
        "state_scale": state_scale,  # the largest non-trainable value: float32 rounding grows with it
        "non_trainable": len(single.weights) - len(single.trainable_weights),
        "jit_compile": bool(multi.jit_compile),
        "seconds": round(time.time() - started, 1),
    }


def _replicas(model):
    from kssl.distribution import model_replicas

    return model_replicas(model)


def wrong_backend_error() -> str:
    other = "data_parallel" if BACKEND == "tensorflow" else "mirrored"
    data = DataSplits(x_train=np.zeros((4, 8, 8, 1), "float32"), batch_size=4)
    try:
        build_model(recipe("simclr", other), data, REGISTRY)
    except KsslError as exc:
        return str(exc)
    return "no error"


def jit_error() -> str:
    data = DataSplits(x_train=np.zeros((4, 8, 8, 1), "float32"), batch_size=4)
    try:
        build_model(recipe("simclr", MULTI, jit_compile=True), data, REGISTRY)
    except KsslError as exc:
        return str(exc)
    return "no error"


def jax_extras(registry) -> dict:
    """JAX only: uneven batches (fit and predict) under DataParallel, and bf16 mixed precision."""
    from kssl.distribution import replica_batches
    from kssl.inference import predict

    rng = np.random.default_rng(1)
    x = rng.random((13, 8, 8, 1)).astype("float32")
    data = DataSplits(x_train=x, batch_size=4)
    model = build_model(recipe("simclr", MULTI, jit_compile=True), data, registry)
    batches = replica_batches(model, x, 4, shuffle=True, seed=0)
    sizes = [len(batches[i]) for i in range(len(batches))]
    history = model.fit(batches, epochs=1, verbose=0).history
    sharded = predict(model.encoder, x, batch_size=4)
    reference = keras.ops.convert_to_numpy(model.encoder(x, training=False))  # an eager call: not sharded
    mixed = build_model(recipe("simclr", MULTI, jit_compile=True, precision="mixed_bfloat16"), DataSplits(x_train=x[:8], batch_size=8), registry)
    mixed_logs = mixed.fit(x[:8], batch_size=8, epochs=1, verbose=0).history
    keras.mixed_precision.set_global_policy("float32")
    return {
        "batch_sizes": sizes,
        "uneven_fit_loss": float(history["loss"][-1]),
        "predict_shape": list(np.shape(sharded)),
        "predict_diff": float(np.abs(np.asarray(sharded) - reference).max()),
        "mixed_compute_dtype": mixed.encoder.layers[1].compute_dtype,
        "mixed_loss": float(mixed_logs["loss"][-1]),
    }


if __name__ == "__main__":
    REGISTRY = get_registry()
    REGISTRY.add("pretext", "test_simclr", MirrorViewsSimCLR)
    REGISTRY.add("pretext", "test_swav", MirrorViewsSwAV)
    x = np.random.default_rng(0).random((16, 8, 8, 1)).astype("float32")
    report = {
        "backend": keras.backend.backend(),
        "devices": len(keras.distribution.list_devices()) if BACKEND == "jax" else len(tf.config.list_logical_devices("CPU")),
        "simclr": compare("simclr", x, REGISTRY),
        "swav": compare("swav", x, REGISTRY),
        "wrong_backend_error": wrong_backend_error(),
    }
    if BACKEND == "tensorflow":
        report["jit_error"] = jit_error()
    if BACKEND == "jax":
        report["jax"] = jax_extras(REGISTRY)
    print("RESULT " + json.dumps(report))
