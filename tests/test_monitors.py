"""Online monitors: collapse numbers against closed forms, a collapsing model warns, the online probe reaches history.csv."""

import csv
import inspect
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from jax_subprocess import run_on_jax

import kssl
from kssl.monitors import CollapseMonitor, OnlineProbe
from kssl.monitors.collapse_metrics import alignment, collapse_metrics, embedding_std, rankme, uniformity

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KSSL_DISABLE_PLUGINS": "1"}
TINY_MLP = {
    "name": "tiny-monitors",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 64, "limit": 192},
    "augmenter": {"type": "simclr", "crop_scale": [0.5, 1.0], "blur_probability": 0.0},
    "encoder": {"type": "mlp", "hidden_units": [32, 16]},
    "pretext": {"type": "simclr", "projection_dim": 8, "projection_hidden_dims": [16], "temperature": 0.2},
    "train": {"epochs": 1, "log_images": 0, "verbose": 0},
    "eval": [],
}


def _recipe(**train):
    import copy

    recipe = copy.deepcopy(TINY_MLP)
    recipe["train"].update(train)
    return recipe


def _digits(n=128):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[:n].astype("float32") / 16.0)[..., None], bunch.target[:n]


def _bars(path, n=96):
    """An easy labeled image set: 8x8 images of a horizontal bar, a vertical bar or a diagonal (classes 0-2), with noise."""
    rng = np.random.default_rng(0)
    prototypes = np.zeros((3, 8, 8), "float32")
    prototypes[0, 3:5, :] = prototypes[1, :, 3:5] = 1.0
    prototypes[2][np.eye(8, dtype=bool)] = 1.0
    y = np.arange(n) % 3
    x = np.clip(prototypes[y] + rng.normal(0, 0.15, size=(n, 8, 8)), 0, 1).astype("float32")[..., None]
    np.savez(path, x_train=x[: n // 2], y_train=y[: n // 2], x_test=x[n // 2 :], y_test=y[n // 2 :])
    return str(path)


# -- the numbers, against closed forms and independent numpy ---------------------------------


def test_rankme_of_d_equal_singular_values_is_d_and_of_a_rank_one_matrix_is_one():
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(40, 6)))  # 6 orthonormal columns: 6 equal singular values
    assert rankme(3.0 * q) == pytest.approx(6.0, rel=1e-5)
    assert rankme(np.eye(5)) == pytest.approx(5.0, rel=1e-5)
    rank_one = np.outer(np.arange(1, 11), np.array([1.0, -2.0, 0.5, 3.0]))
    assert rankme(rank_one) == pytest.approx(1.0, abs=1e-4)
    assert rankme(np.zeros((4, 3))) == 0.0


def test_rankme_matches_the_entropy_of_the_eigenvalues_of_the_gram_matrix():
    z = np.random.default_rng(1).normal(size=(30, 5)) * np.array([5.0, 2.0, 1.0, 0.3, 0.1])
    s = np.sqrt(np.clip(np.linalg.eigvalsh(z.T @ z), 0, None))  # singular values, computed another way
    p = s / s.sum() + 1e-7
    assert rankme(z) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-6)


def test_uniformity_of_antipodal_points_constant_points_and_a_brute_force_reference():
    assert uniformity(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(-8.0)  # log exp(-2 * 4)
    assert uniformity(np.tile([[0.3, 0.4]], (5, 1))) == pytest.approx(0.0, abs=1e-12)
    z = np.random.default_rng(2).normal(size=(9, 4))
    u = z / np.linalg.norm(z, axis=1, keepdims=True)
    pairs = [np.exp(-2 * np.sum((u[i] - u[j]) ** 2)) for i in range(9) for j in range(i + 1, 9)]
    assert uniformity(z) == pytest.approx(np.log(np.mean(pairs)), rel=1e-9)


def test_std_is_zero_for_constant_embeddings_and_one_over_sqrt_d_for_the_signed_basis():
    assert embedding_std(np.tile([[2.0, -1.0, 0.5]], (7, 1))) == 0.0
    d = 8
    signed_basis = np.concatenate([np.eye(d), -np.eye(d)]) * 5.0  # per dimension: two of 2d samples at +-1 after normalising
    assert embedding_std(signed_basis) == pytest.approx(1 / np.sqrt(d))
    assert collapse_metrics(signed_basis)["collapse_std_relative"] == pytest.approx(1.0)


def test_alignment_is_zero_for_equal_views_and_four_for_antipodal_ones():
    z = np.random.default_rng(3).normal(size=(6, 3))
    assert alignment(z, 2 * z) == pytest.approx(0.0, abs=1e-12)
    assert alignment(z, -z) == pytest.approx(4.0)


def test_non_finite_embeddings_give_nan_not_an_error():
    z = np.ones((4, 3))
    z[1, 2] = np.nan
    metrics = collapse_metrics(z, z, z)
    assert set(metrics) == {"collapse_std", "collapse_std_relative", "collapse_rank", "collapse_uniformity", "collapse_alignment"}
    assert all(np.isnan(v) for v in metrics.values())


# -- the collapse monitor on real models --------------------------------------------------------


class PullToOnePoint(kssl.PretextTask):
    """A deliberately collapsing method: every embedding is pulled to the all-ones vector."""

    def call(self, x, training=False):
        return self.encoder(x, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean(keras.ops.square(y_pred - 1.0))


def _encoder(last_kernel="glorot_uniform", last_bias="zeros"):
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(8, kernel_initializer=last_kernel, bias_initializer=last_bias),
        ]
    )


def test_a_collapsing_model_warns_once_per_epoch_with_low_std_and_rank(capsys):
    keras.utils.set_random_seed(0)
    x, _ = _digits()
    model = PullToOnePoint(_encoder())
    model.compile(optimizer=keras.optimizers.Adam(3e-2))
    monitor = CollapseMonitor(x)
    history = model.fit(x, batch_size=16, epochs=4, verbose=0, callbacks=[monitor]).history
    std, rank = history["collapse_std_relative"], history["collapse_rank"]
    assert std[-1] < 0.6 * std[0] and rank[-1] < rank[0], (std, rank)  # training collapses it
    assert rank[-1] < 1.5 and std[-1] < 0.05, (std, rank)
    assert "collapse_alignment" not in history  # no augmenter: nothing to align
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kssl: warning:")]
    assert 1 <= len(warnings) <= 4 and warnings == monitor.warnings
    assert len({w.split(":")[2] for w in warnings}) == len(warnings)  # at most one per epoch
    assert "epoch 4" in warnings[-1] and f"RankMe {rank[-1]:.3g}" in warnings[-1]
    for hint in ("learning_rate", "temperature", "augmenter"):
        assert hint in warnings[-1]


def test_an_embedding_collapsed_from_the_start_has_zero_std_and_rank_one(capsys):
    x, _ = _digits(64)
    model = PullToOnePoint(_encoder(last_kernel="zeros", last_bias="ones"))  # every input maps to the ones vector
    model.compile(optimizer="sgd")
    monitor = CollapseMonitor(x, every=3)
    model.fit(x, batch_size=32, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor.last["collapse_std"] == pytest.approx(0.0, abs=1e-7)
    assert monitor.last["collapse_rank"] == pytest.approx(1.0, abs=1e-3)
    assert monitor.last["collapse_uniformity"] == pytest.approx(0.0, abs=1e-6)
    assert "epoch 1: the embedding is collapsing" in capsys.readouterr().err


def test_a_healthy_random_encoder_does_not_warn_and_is_aligned_over_views(capsys):
    from kssl.builder import build_all

    built = build_all(_recipe())
    monitor = CollapseMonitor(built.data.x_train)
    history = built.model.fit(built.data.x_train, batch_size=64, epochs=1, verbose=0, callbacks=[monitor]).history
    assert history["collapse_std_relative"][0] > 0.2 and history["collapse_rank"][0] > 4, history
    assert 0 < history["collapse_alignment"][0] < 2  # views of one image stay closer than random pairs (2 on average)
    assert monitor.warnings == [] and "kssl: warning" not in capsys.readouterr().err


def test_monitors_refuse_a_model_without_embed_and_bad_arguments():
    x = np.zeros((8, 3), "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    for monitor in (CollapseMonitor(x), OnlineProbe(x, np.arange(8) % 2, x, np.arange(8) % 2)):
        with pytest.raises(kssl.KsslError, match="kssl.PretextTask"):
            model.fit(x, x[:, :2], epochs=1, verbose=0, callbacks=[monitor])
    with pytest.raises(kssl.ArgumentError, match="every"):
        CollapseMonitor(x, every=0)
    with pytest.raises(kssl.ArgumentError, match="std_threshold"):
        CollapseMonitor(x, std_threshold="low")
    with pytest.raises(kssl.ArgumentError, match="y_train"):
        OnlineProbe(x, np.arange(5), x, np.arange(8))
    with pytest.raises(kssl.ArgumentError, match="integer class ids"):
        OnlineProbe(x, np.full(8, 0.5), x, np.arange(8))


def test_the_monitors_leave_keras_async_dispatch_on_and_run_before_the_loggers(tmp_path):
    from kssl.training import _callbacks

    x = np.zeros((8, 3), "float32")
    monitors = [CollapseMonitor(x), OnlineProbe(x, np.arange(8) % 2, x, np.arange(8) % 2)]
    _, callbacks = _callbacks(tmp_path, resume=False, monitors=monitors)
    names = [type(c).__name__ for c in callbacks]
    assert names.index("OnlineProbe") < names.index("EpochHistory") < names.index("EpochTensorBoard")
    base = keras.callbacks.Callback
    for m in monitors:  # epoch-end hooks only: Keras keeps dispatching steps ahead (on backends that can)
        assert type(m).on_train_batch_end is base.on_train_batch_end and type(m).on_batch_end is base.on_batch_end
        assert m.async_safe


# -- from a recipe ---------------------------------------------------------------------------


def test_online_probe_and_collapse_reach_history_csv_and_tensorboard_through_a_real_run(tmp_path):
    from kssl.training import train

    recipe = _recipe(epochs=4, monitors=[{"type": "online_probe", "every": 5, "k": 5}, {"type": "collapse", "every": 3}])
    recipe["data"] = {"type": "numpy", "path": _bars(tmp_path / "bars.npz"), "batch_size": 32}
    run_dir = train(recipe, output_dir=tmp_path)
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2", "3"]
    assert [r["online_knn_accuracy"] == "NA" for r in rows] == [False, True, True, False]  # first and last epoch (every: 5)
    assert [r["collapse_rank"] == "NA" for r in rows] == [False, True, False, False]  # first, 3rd, last
    for row in (rows[0], rows[3]):
        assert float(row["online_knn_accuracy"]) > 0.9 and float(row["online_linear_probe_accuracy"]) > 0.9, row  # chance: 1/3
    events = b"".join(p.read_bytes() for p in (run_dir / "logs").rglob("*tfevents*"))
    assert b"online_linear_probe_accuracy" in events and b"collapse_std" in events


@pytest.mark.parametrize(
    ("monitors", "path", "hint"),
    [
        ({"type": "collapse"}, "train.monitors", "expected a list"),
        (["collapse"], "train.monitors.0", "expected a mapping"),
        ([{"every": 2}], "train.monitors.0.type", "missing"),
        ([{"type": "colapse"}], "train.monitors.0.type", "Did you mean 'collapse'?"),
        ([{"type": "collapse"}, {"type": "online_probe", "evry": 2}], "train.monitors.1.evry", "Did you mean 'every'?"),
    ],
)
def test_bad_monitor_structure_names_the_key(monitors, path, hint):
    with pytest.raises(kssl.RecipeError) as err:
        kssl.load_recipe(_recipe(monitors=monitors))
    assert err.value.path == path and hint in str(err.value)


def test_bad_monitor_values_and_unlabeled_online_probe_fail_before_training(tmp_path):
    from kssl.training import train

    with pytest.raises(kssl.RecipeError) as err:
        train(_recipe(monitors=[{"type": "collapse", "every": 0}]), output_dir=tmp_path / "runs")
    assert err.value.path == "train.monitors.0.every" and "expected an integer >= 1" in str(err.value)
    np.savez(tmp_path / "unlabeled.npz", x=np.random.default_rng(0).uniform(size=(32, 8, 8, 1)).astype("float32"))
    recipe = _recipe(monitors=[{"type": "collapse"}, {"type": "online_probe"}])
    recipe["data"] = {"type": "numpy", "path": str(tmp_path / "unlabeled.npz"), "batch_size": 16}
    with pytest.raises(kssl.RecipeError) as err:
        train(recipe, output_dir=tmp_path / "runs")
    assert err.value.path == "train.monitors.1" and "needs labeled" in str(err.value)
    assert not (tmp_path / "runs").exists()  # nothing written
    import yaml

    (tmp_path / "r.yaml").write_text(yaml.safe_dump(recipe), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "kssl", "validate", str(tmp_path / "r.yaml")], capture_output=True, text=True, env=ENV, timeout=300)
    assert out.returncode == 2 and "train.monitors.1: the online_probe monitor needs labeled" in out.stderr, out.stderr[-2000:]
    assert "Traceback" not in out.stderr


def test_the_recipe_keys_of_each_monitor_are_its_constructor_arguments():
    from kssl.recipe import MONITOR_KEYS

    data_arguments = {"self", "x", "x_train", "y_train", "x_test", "y_test"}
    for kind, cls in (("collapse", CollapseMonitor), ("online_probe", OnlineProbe)):
        assert set(MONITOR_KEYS[kind]) == set(inspect.signature(cls.__init__).parameters) - data_arguments, kind


@pytest.mark.slow
def test_on_jax_the_monitors_see_each_epochs_trained_weights():
    script = textwrap.dedent(
        """
        import numpy as np, keras, kssl
        from kssl.monitors.collapse_metrics import collapse_metrics

        class PullToOnePoint(kssl.PretextTask):
            def call(self, x, training=False):
                return self.encoder(x, training=training)

            def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
                return keras.ops.mean(keras.ops.square(y_pred - 1.0))

        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).uniform(size=(48, 6)).astype("float32")
        y = (x[:, 0] > 0.5).astype(int)
        encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(8)])
        model = PullToOnePoint(encoder)
        model.compile(optimizer=keras.optimizers.Adam(3e-2))
        collapse, probe = kssl.CollapseMonitor(x), kssl.OnlineProbe(x[:32], y[:32], x[32:], y[32:], every=1, k=3)
        history = model.fit(x, batch_size=8, epochs=3, verbose=0, callbacks=[collapse, probe]).history
        after = collapse_metrics(model.embed(x))
        assert abs(history["collapse_rank"][-1] - after["collapse_rank"]) < 1e-6, (history, after)
        assert history["collapse_rank"][-1] < history["collapse_rank"][0], history
        assert len(history["online_knn_accuracy"]) == 3, history
        print("JAX-OK")
        """
    )
    run_on_jax(script, timeout=300)
