"""DEC: Student-t assignments, target distribution and KL against numpy; a tiny run through its phases."""

import copy

import keras
import numpy as np
import pytest

from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.losses.dec_loss import DECLoss, dec_kl, student_t_assignment, target_distribution

TINY_DEC = {
    "name": "tiny-dec",
    "seed": 0,
    "data": {"type": "digits", "image_size": 8, "batch_size": 32, "limit": 64},
    "encoder": {"type": "mlp", "hidden_units": [16]},
    "pretext": {"type": "dec", "n_clusters": 4, "embedding_dim": 3, "decoder_units": [16], "pretrain_epochs": 1, "kmeans_restarts": 2, "seed": 0},
    "optimizer": {"type": "adam", "learning_rate": 1.0e-3},
    "train": {"epochs": 3, "verbose": 0},
    "eval": [{"type": "clustering", "n_init": 2, "embedding_map": "pca"}],
}


def numpy_student_t(z, mu, alpha):
    q = np.zeros((len(z), len(mu)))
    for i in range(len(z)):
        for j in range(len(mu)):
            q[i, j] = (1.0 + np.sum((z[i] - mu[j]) ** 2) / alpha) ** (-(alpha + 1.0) / 2.0)
        q[i] /= q[i].sum()
    return q


def numpy_target(q):
    f = q.sum(axis=0)
    p = q**2 / f
    return p / p.sum(axis=1, keepdims=True)


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 3.0])
def test_student_t_assignment_matches_numpy(alpha):
    rng = np.random.default_rng(0)
    z, mu = rng.normal(size=(7, 3)).astype("float32"), rng.normal(size=(4, 3)).astype("float32")
    np.testing.assert_allclose(_np(student_t_assignment(z, mu, alpha)), numpy_student_t(z, mu, alpha), rtol=1e-5, atol=1e-6)


def test_student_t_closed_forms():
    # A point on a centroid among far ones takes almost all the mass; equidistant centroids share it equally.
    mu = np.array([[0.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]], "float32")
    q = _np(student_t_assignment(np.zeros((1, 2), "float32"), mu))
    # distances 0, 1, 1, 1 -> kernels 1, 1/2, 1/2, 1/2 (alpha = 1)
    np.testing.assert_allclose(q[0], np.array([1, 0.5, 0.5, 0.5]) / 2.5, rtol=1e-6)


def test_target_distribution_and_kl_match_numpy():
    q = np.random.default_rng(1).dirichlet(np.ones(5), size=9).astype("float32")
    p = numpy_target(q.astype(np.float64))
    np.testing.assert_allclose(_np(target_distribution(q)), p, rtol=1e-5)
    kl = (p * np.log(p / q)).sum(axis=1)
    np.testing.assert_allclose(_np(dec_kl(p, q)), kl, rtol=1e-4, atol=1e-6)
    assert float(_np(DECLoss()(p, q))) == pytest.approx(kl.mean(), rel=1e-4)
    assert float(_np(DECLoss()(q, q))) == pytest.approx(0.0, abs=1e-6)


def test_target_distribution_sharpens_and_balances():
    q = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4], [0.2, 0.8]], "float32")
    p = _np(target_distribution(q))
    assert p[0, 0] > q[0, 0]  # squared: confident assignments get more confident
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


@pytest.fixture
def tiny_dec():
    return copy.deepcopy(TINY_DEC)


def _built(recipe):
    from kssl.builder import build_all

    return build_all(recipe)


def test_dec_fit_runs_the_phases_and_round_trips(tiny_dec, tmp_path):
    from kssl.pretext.dec import DEC

    tiny_dec["pretext"]["tolerance"] = 0.0  # never stop early
    built = _built(tiny_dec)
    model, x = built.model, built.data.x_train
    assert isinstance(model, DEC) and model.n_clusters == 4
    history = model.fit(x, epochs=3, batch_size=32, verbose=0)
    assert history.history["dec_phase"] == [0.0, 1.0, 1.0]  # one epoch of pretraining, then the KL phase
    assert np.isfinite(history.history["kl_loss"]).all() and np.isfinite(history.history["reconstruction_loss"]).all()
    clusters = model.predict_clusters(x)
    assert clusters.shape == (len(x),) and clusters.min() >= 0 and clusters.max() < 4
    assert len(np.unique(clusters)) > 1  # not everything collapsed into one cluster
    q = model.soft_assignments(x[:5])
    np.testing.assert_allclose(q.sum(axis=1), 1.0, rtol=1e-5)

    path = tmp_path / "dec.keras"
    model.save(path)
    loaded = keras.models.load_model(path)  # no custom_objects
    assert type(loaded) is DEC
    without_encoder = lambda c: {k: v for k, v in c.items() if k != "encoder"}  # noqa: E731
    assert without_encoder(loaded.get_config()) == without_encoder(model.get_config())
    assert float(_np(loaded.phase)) == 1.0
    np.testing.assert_array_equal(loaded.predict_clusters(x), clusters)
    np.testing.assert_allclose(loaded.embed(x[:4]), model.embed(x[:4]), rtol=1e-5, atol=1e-6)


def test_kmeans_initialisation_sets_the_centroids(tiny_dec):
    from sklearn.cluster import KMeans

    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    labels = model.initialize_centroids(x, seed=3)
    expected = KMeans(4, n_init=2, random_state=3).fit(model.embed(x).astype("float64"))
    np.testing.assert_allclose(_np(model.centroids), expected.cluster_centers_, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(labels, expected.labels_)
    np.testing.assert_array_equal(model.predict_clusters(x), expected.labels_)  # Student-t argmax = nearest centroid


def test_stopping_rule_ends_training_when_assignments_settle(tiny_dec):
    tiny_dec["pretext"].update(tolerance=1.0, update_interval=1)  # any change below 100% counts as settled
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    history = model.fit(x, epochs=20, batch_size=32, verbose=0)
    assert len(history.history["loss"]) == 2  # 1 pretraining epoch + 1 KL epoch, then the first update stops it
    assert history.history["assignment_change"][-1] < 1.0


def test_fit_that_ends_during_pretraining_still_leaves_kmeans_centroids(tiny_dec):
    tiny_dec["pretext"]["pretrain_epochs"] = 5
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    model.fit(x, epochs=1, batch_size=32, verbose=0)
    assert float(_np(model.phase)) == 0.0
    assert len(np.unique(model.predict_clusters(x))) > 1


def test_bad_cluster_counts_give_clear_messages(tiny_dec):
    from kssl.pretext.dec import DEC

    tiny_dec["pretext"]["n_clusters"] = 0
    with pytest.raises(RecipeError, match=r"pretext\.n_clusters: expected an integer >= 1, got 0"):
        _built(tiny_dec)
    with pytest.raises(ArgumentError, match="n_clusters"):
        DEC(keras.Sequential([keras.layers.Dense(2)]))  # no n_clusters and no labels to default from
    tiny_dec["pretext"]["n_clusters"] = 100  # more clusters than the 64 samples
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    with pytest.raises(KsslError, match="n_clusters=100 for 64 samples"):
        model.fit(x, epochs=1)
    with pytest.raises(KsslError, match="without labels"):
        model.fit(x, np.zeros(len(x)))
    with pytest.raises(KsslError, match="needs the training samples as one array.*got generator"):
        model.fit((row for row in x), epochs=1)
    with pytest.raises(KsslError, match="needs the training samples as one array.*got list"):
        model.make_dataset([["a", "b"]] * 200)


def test_n_clusters_defaults_to_the_number_of_classes(tiny_dec):
    del tiny_dec["pretext"]["n_clusters"]
    assert _built(tiny_dec).model.n_clusters == 10


def test_with_an_augmenter_the_autoencoder_reconstructs_the_augmented_sample():
    """DEC-DA: the decoder's target is the augmented input the encoder saw, not the clean one."""
    from kssl.augment.random_affine import RandomAffine
    from kssl.encoders.mlp import mlp
    from kssl.pretext.dec import DEC

    x = np.random.default_rng(0).random((8, 8, 8, 1), dtype=np.float32)
    model = DEC(
        encoder=mlp((8, 8, 1), hidden_units=[16]),
        augmenter=RandomAffine(translation=0.25, rotation=30, seed=0),
        n_clusters=2,
        embedding_dim=3,
        decoder_units=[16],
    )
    out = model(x, training=True)
    target = _np(out["reconstruction_target"])
    assert not np.allclose(target, x, atol=1e-3)  # augmented
    np.testing.assert_allclose(_np(model(x, training=False)["reconstruction_target"]), x)  # inference: the sample itself
    expected = np.mean((target - _np(out["reconstruction"])) ** 2)
    loss = float(_np(model.compute_loss(x=x, y=None, y_pred=out)))
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_dec_initialises_with_the_chosen_kmeans_selection_and_rejects_unknown_ones(tiny_dec):
    from kssl.pretext.kmeans_init import kmeans_init

    tiny_dec["pretext"].update(kmeans_selection="balanced", kmeans_restarts=4)
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    labels = model.initialize_centroids(x, seed=5)
    expected_centroids, expected = kmeans_init(model.embed(x), 4, restarts=4, seed=5, selection="balanced")
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_allclose(_np(model.centroids), expected_centroids, rtol=1e-4, atol=1e-5)
    assert model.get_config()["kmeans_selection"] == "balanced"
    tiny_dec["pretext"]["kmeans_selection"] = "balance"
    with pytest.raises(RecipeError, match=r"pretext\.kmeans_selection: expected one of 'inertia', 'balanced', got 'balance'"):
        _built(tiny_dec)


def test_restart_optimizer_zeroes_steps_and_moments_and_keeps_the_learning_rate():
    from kssl.optimizers import restart_optimizer

    weight = keras.Variable(np.ones((2, 3), "float32"))
    adam = keras.optimizers.Adam(learning_rate=0.01)
    adam.build([weight])
    for _ in range(3):
        adam.apply_gradients([(keras.ops.full((2, 3), 0.5), weight)])
    assert int(_np(adam.iterations)) == 3 and any(np.abs(_np(v)).sum() > 0 for v in adam.variables if len(v.shape) == 2)
    restart_optimizer(adam)
    assert int(_np(adam.iterations)) == 0
    assert all(np.all(_np(v) == 0) for v in adam.variables if len(v.shape) == 2)
    assert float(_np(adam.learning_rate)) == pytest.approx(0.01)
    # After the restart the first step is a fresh Adam's first step: lr * sign(g) (bias-corrected m / sqrt(v)).
    before = _np(weight).copy()
    adam.apply_gradients([(keras.ops.full((2, 3), 0.5), weight)])
    np.testing.assert_allclose(before - _np(weight), 0.01, rtol=1e-3)

    scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(learning_rate=0.01))
    scaled.build([weight])
    scale = float(_np(scaled.dynamic_scale))
    scaled.apply_gradients([(keras.ops.full((2, 3), 0.5), weight)])
    restart_optimizer(scaled)
    assert int(_np(scaled.inner_optimizer.iterations)) == 0 and float(_np(scaled.dynamic_scale)) == scale
    unbuilt = keras.optimizers.Adam()
    restart_optimizer(unbuilt)  # not built yet: nothing to reset, and it stays unbuilt
    assert not unbuilt.built and float(_np(unbuilt.learning_rate)) == pytest.approx(1e-3)


def test_the_kl_phase_starts_with_a_fresh_optimizer(tiny_dec):
    tiny_dec["pretext"].update(tolerance=0.0, pretrain_epochs=2)
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    model.fit(x, epochs=3, batch_size=32, verbose=0)
    # 64 digits at batch 32: 2 steps per epoch; the counter restarted at the switch, so only the KL epoch's steps count.
    assert int(_np(model.optimizer.iterations)) == 2


def test_a_run_the_stopping_rule_ended_records_it_and_counts_as_finished(tiny_dec, tmp_path):
    import json

    from kssl.training import resume, train

    tiny_dec["pretext"].update(tolerance=1.0, update_interval=1)  # stops after 1 pretraining + 1 KL epoch
    tiny_dec["train"]["epochs"] = 20
    tiny_dec["eval"] = []
    run_dir = train(tiny_dec, output_dir=tmp_path)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["epochs"] == 20 and summary["epochs_run"] == 2
    with pytest.raises(KsslError, match="already finished"):
        resume(run_dir)  # not "resuming from epoch 2": the run ended by its own rule
    resumed = resume(run_dir, epochs=21)  # asking for more epochs than the finished run did continues it
    assert json.loads((resumed / "metrics.json").read_text())["epochs"] == 21


def old_dec_batch_rows(n, batch_size, seed, epochs):
    """The order rule of DEC's former batch feeder: ceil(n / batch) batches, default_rng(seed).permutation per epoch."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n)
        out.append([order[i * batch_size : (i + 1) * batch_size] for i in range(-(-n // batch_size))])
    return out


@pytest.mark.parametrize("model_seed", [7, None])
def test_make_dataset_gives_the_batches_of_the_former_feeder(tiny_dec, model_seed):
    from kssl.data.batches import ShuffledBatches
    from kssl.pretext.dec_schedule import DECSchedule

    tiny_dec["pretext"]["seed"] = model_seed
    model, x = (b := _built(tiny_dec)).model, b.data.x_train[:50]
    np.random.seed(123)
    expected_seed = 7 if model_seed is not None else int(np.random.randint(0, 2**31 - 1))  # the unseeded rule's one draw
    np.random.seed(123)
    data = model.make_dataset(x, batch_size=16, shuffle=True, seed=99)  # the seed argument is not DEC's seed
    assert isinstance(data, ShuffledBatches) and data.seed == expected_seed
    reference = old_dec_batch_rows(len(x), 16, expected_seed, epochs=3)
    for epoch_rows in reference:
        assert len(data) == len(epoch_rows) == 4  # 50 samples at 16: 3 full batches and one of 2
        for i, rows in enumerate(epoch_rows):
            xb, pb = data[i]
            np.testing.assert_array_equal(xb, x[rows])
            np.testing.assert_array_equal(pb, np.full((len(rows), 4), 0.25, "float32"))  # uniform targets at start
        data.on_epoch_end()
    (schedule,) = model.training_callbacks(data)
    assert type(schedule) is DECSchedule and schedule.batches is data and schedule.seed == expected_seed


def test_the_schedule_replaces_the_targets_with_the_target_distribution(tiny_dec):
    tiny_dec["pretext"]["tolerance"] = 0.0
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    data = model.make_dataset(x, batch_size=32)
    history = model.fit(data, epochs=3, verbose=0)
    assert history.history["dec_phase"] == [0.0, 1.0, 1.0]
    # The last update (end of epoch 3) recomputed p from the trained model over all of x.
    expected = numpy_target(model.soft_assignments(x).astype(np.float64))
    np.testing.assert_allclose(data.targets, expected, rtol=1e-4, atol=1e-6)
    assert data.targets.dtype == np.float32 and data.targets.shape == (len(x), 4)


def test_inference_is_the_same_in_any_batch_size_and_empty_inputs_keep_their_width(tiny_dec):
    model, x = (b := _built(tiny_dec)).model, b.data.x_train
    model.initialize_centroids(x, seed=0)
    z = model.embed(x, batch_size=7)
    np.testing.assert_allclose(z, model.embed(x), rtol=1e-5, atol=1e-6)
    q = model.soft_assignments(x, batch_size=5)
    np.testing.assert_allclose(q, numpy_student_t(z, _np(model.centroids), model.alpha), rtol=1e-4, atol=1e-6)
    assert model.embed(x[:0]).shape == (0, 3) and model.soft_assignments(x[:0]).shape == (0, 4)
    assert model.predict_clusters(x[:0]).shape == (0,)
