"""The built-in evaluators: k-NN and linear probe on fixed features (no training); which pretext tasks each accepts."""

import numpy as np
import pytest

from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError
from kssl.eval.elbo import ELBOEvaluator
from kssl.eval.knn import KNNEvaluator
from kssl.eval.linear_probe import LinearProbeEvaluator
from kssl.eval.masked_lm import MaskedLMEvaluator
from kssl.eval.text_probe import TextProbeEvaluator
from kssl.pretext.pretext_task import PretextTask


class IdentityEncoder:
    """Stands in for a trained encoder: the features are the inputs, flattened."""

    def __init__(self):
        self.calls = []

    def predict(self, x, batch_size=None, verbose=0):
        self.calls.append(batch_size)
        return np.asarray(x).reshape(len(x), -1)


class FakePretext(PretextTask):
    """A pretext task with the base's ``embed`` (the encoder's output)."""

    def __init__(self):
        super().__init__(IdentityEncoder())


class FakeEmbedder(PretextTask):
    """A pretext model with its own ``embed`` (as a VAE has)."""

    def __init__(self):
        super().__init__(IdentityEncoder())

    def embed(self, x, batch_size=256):
        return np.asarray(x)[:, :2] * 10.0


def _splits(x, y, n_train, batch_size=32):
    return DataSplits(x[:n_train], y[:n_train], x[n_train:], y[n_train:], batch_size=batch_size)


def _blobs(n=300, dims=8, classes=3, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(classes, dims)) * 3
    y = rng.integers(0, classes, n)
    return (centres[y] + spread * rng.normal(size=(n, dims))).astype("float32"), y


# -- knn -------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 5, 20])
def test_knn_uniform_matches_sklearn(k):
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(k)
    x = rng.normal(size=(400, 16)).astype("float32")
    y = rng.integers(0, 4, 400)
    data = _splits(x, y, 300)
    reference = KNeighborsClassifier(n_neighbors=k, metric="cosine", weights="uniform").fit(x[:300], y[:300])
    expected_pred = reference.predict(x[300:])
    evaluator = KNNEvaluator(k=k, weighting="uniform", chunk_size=37)  # several chunks, one ragged
    np.testing.assert_array_equal(evaluator.predict(x[:300], y[:300], x[300:], 4), expected_pred)
    result = evaluator.evaluate(FakePretext(), data)
    assert result == {"knn_accuracy": pytest.approx(np.mean(expected_pred == y[300:]))}


def test_knn_distance_softmax_matches_a_direct_computation():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 6))
    y = rng.integers(0, 3, 120)
    train, test = x[:100], x[100:]
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    sims = unit(test) @ unit(train).T
    expected = []
    for row in sims:
        top = np.argsort(-row)[:10]
        scores = np.zeros(3)
        for j in top:
            scores[y[j]] += np.exp(row[j] / 0.1)
        expected.append(scores.argmax())
    got = KNNEvaluator(k=10, temperature=0.1).predict(train, y[:100], test, 3)
    np.testing.assert_array_equal(got, expected)


def test_knn_separable_features_score_one_and_k_larger_than_train():
    x, y = _blobs()
    data = _splits(x, y, 200)
    assert KNNEvaluator(k=5).evaluate(FakePretext(), data) == {"knn_accuracy": 1.0}
    tiny = _splits(x[:12], y[:12], 6)
    assert 0.0 <= KNNEvaluator(k=50).evaluate(FakePretext(), tiny)["knn_accuracy"] <= 1.0
    # k is capped at the number of training samples: k=50 over 6 training samples is k=6.
    for weighting in ("distance-softmax", "uniform"):
        assert KNNEvaluator(k=50, weighting=weighting).evaluate(FakePretext(), tiny) == KNNEvaluator(k=6, weighting=weighting).evaluate(FakePretext(), tiny)
        np.testing.assert_array_equal(
            KNNEvaluator(k=50, weighting=weighting).predict(x[:6], y[:6], x[6:12], 3), KNNEvaluator(k=6, weighting=weighting).predict(x[:6], y[:6], x[6:12], 3)
        )


def test_knn_uses_model_embed_and_the_data_batch_size():
    x, y = _blobs(n=100)
    model = FakePretext()
    KNNEvaluator(k=3).evaluate(model, _splits(x, y, 80, batch_size=17))
    assert model.encoder.calls == [17, 17]
    assert 0.0 <= KNNEvaluator(k=3).evaluate(FakeEmbedder(), _splits(x, y, 80))["knn_accuracy"] <= 1.0
    # The features come from model.embed (the first two inputs, scaled), not from an encoder:
    # compare with a direct distance-softmax 3-NN on exactly those features (temperature 0.07, the default).
    # Unstructured data, so that the first two inputs and all eight give different accuracies.
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(100, 8)).astype("float32"), rng.integers(0, 3, 100)
    features = x[:, :2].astype("float64") * 10.0
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    expected = []
    for row in unit[80:] @ unit[:80].T:
        scores = np.zeros(3)
        for j in np.argsort(-row)[:3]:
            scores[y[j]] += np.exp(row[j] / 0.07)
        expected.append(scores.argmax())
    accuracy = KNNEvaluator(k=3).evaluate(FakeEmbedder(), _splits(x, y, 80))["knn_accuracy"]
    assert accuracy == pytest.approx(np.mean(np.array(expected) == y[80:]))
    assert accuracy != KNNEvaluator(k=3).evaluate(FakePretext(), _splits(x, y, 80))["knn_accuracy"]


def test_knn_arguments_and_config():
    evaluator = KNNEvaluator(k=7, weighting="uniform", temperature=0.5)
    assert evaluator.name == "knn"
    assert evaluator.get_config() == {"k": 7, "weighting": "uniform", "temperature": 0.5, "chunk_size": 1024}
    assert KNNEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()
    for kwargs, argument in [({"k": 0}, "k"), ({"weighting": "softmax"}, "weighting"), ({"temperature": 0}, "temperature")]:
        with pytest.raises(ArgumentError) as info:
            KNNEvaluator(**kwargs)
        assert info.value.argument == argument


# -- linear probe ------------------------------------------------------------------


@pytest.mark.parametrize("head", ["logistic", "dense"])
def test_linear_probe_separable_features_score_high(head):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 10)).astype("float32")
    w = rng.normal(size=(10, 3))
    y = (x @ w).argmax(axis=1)  # linearly separable by construction
    result = LinearProbeEvaluator(head=head, C=100.0, epochs=30, learning_rate=0.1).evaluate(FakePretext(), _splits(x, y, 300))
    assert set(result) == {"linear_probe_accuracy"}
    assert result["linear_probe_accuracy"] >= 0.9


def test_linear_probe_random_labels_score_about_chance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1500, 20)).astype("float32")
    y = rng.integers(0, 4, 1500)
    accuracy = LinearProbeEvaluator().evaluate(FakePretext(), _splits(x, y, 1000))["linear_probe_accuracy"]
    assert abs(accuracy - 0.25) < 0.07  # 500 test samples: chance +- ~3.5 standard errors


def test_linear_probe_matches_sklearn_on_standardised_features():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x, y = _blobs(spread=3.0, seed=2)
    scaler = StandardScaler().fit(x[:200])
    reference = LogisticRegression(C=0.5, max_iter=1000).fit(scaler.transform(x[:200]), y[:200])
    expected = np.mean(reference.predict(scaler.transform(x[200:])) == y[200:])
    got = LinearProbeEvaluator(C=0.5).evaluate(FakePretext(), _splits(x, y, 200))["linear_probe_accuracy"]
    assert got == pytest.approx(expected, abs=0.011)


def test_linear_probe_arguments_and_config():
    evaluator = LinearProbeEvaluator(head="dense", epochs=3)
    assert evaluator.name == "linear_probe"
    assert LinearProbeEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()
    for kwargs, argument in [({"head": "mlp"}, "head"), ({"C": -1}, "C"), ({"max_iter": 0}, "max_iter"), ({"epochs": 0}, "epochs")]:
        with pytest.raises(ArgumentError) as info:
            LinearProbeEvaluator(**kwargs)
        assert info.value.argument == argument


# -- both --------------------------------------------------------------------------


@pytest.mark.parametrize("evaluator", [KNNEvaluator(), LinearProbeEvaluator()], ids=["knn", "linear_probe"])
def test_missing_labels_name_the_evaluator(evaluator):
    x = np.zeros((10, 4), "float32")
    for data in (DataSplits(x), DataSplits(x, None, x, None), DataSplits(x, np.zeros(10, int), None, None)):
        with pytest.raises(KsslError) as info:
            evaluator.evaluate(FakePretext(), data)
        assert repr(evaluator.name) in str(info.value) and "labeled dataset" in str(info.value)


def test_evaluators_on_digits_pixels():
    """Raw digits pixels are a decent feature: both evaluators score far above chance (0.1)."""
    from kssl.data.digits import digits

    data = digits(image_size=8, limit=600)
    assert KNNEvaluator(k=5).evaluate(FakePretext(), data)["knn_accuracy"] > 0.9
    assert LinearProbeEvaluator().evaluate(FakePretext(), data)["linear_probe_accuracy"] > 0.9


# -- declared capabilities ------------------------------------------------------------


def _simclr():
    import keras

    from kssl.pretext.simclr import SimCLR

    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    return SimCLR(encoder, keras.layers.GaussianNoise(0.1), projection_dim=2, projection_hidden_dims=[4])  # SimCLR needs an augmenter


@pytest.mark.parametrize(
    "evaluator, needs, fix",
    [
        (ELBOEvaluator, "needs a generative pretext model with an ELBO (such as `vae`)", "use pretext type vae"),
        (MaskedLMEvaluator, "scores a masked language model (pretext masked_lm)", "use `pretext: {type: masked_lm}`"),
        (TextProbeEvaluator, "needs a text model with pooled features (pretext masked_lm)", "Use linear_probe for other models"),
    ],
    ids=["elbo", "masked_lm", "text_probe"],
)
def test_check_model_rejects_another_pretext_task_and_says_what_to_do(evaluator, needs, fix):
    evaluator = evaluator()
    model = _simclr()
    with pytest.raises(KsslError) as info:
        evaluator.check_model(model)
    message = str(info.value)
    assert f"evaluator {evaluator.name!r}" in message and needs in message and "got SimCLR" in message and fix in message
    x = np.zeros((6, 4), "float32")
    with pytest.raises(KsslError, match="got SimCLR"):  # evaluate checks too, before touching the model
        evaluator.evaluate(model, _splits(x, np.arange(6) % 2, 3))


@pytest.mark.parametrize("evaluator", [KNNEvaluator(), LinearProbeEvaluator()], ids=["knn", "linear_probe"])
def test_feature_evaluators_accept_any_pretext_task(evaluator):
    assert evaluator.check_model(_simclr()) is None


# -- progress and timing of a run's evaluation ---------------------------------------------------


class _Clock:
    """A perf_counter that advances 1.5 s per reading: every timed block takes exactly 1.5 s."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        self.now += 1.5
        return self.now


class _Costly(KNNEvaluator):
    """kNN whose random-init baseline is scored by a cheaper evaluator (as the ELBO drops iw_nll)."""

    name = "costly"
    scored_with_k = []

    def for_baseline(self):
        return _Costly(k=1)

    def evaluate(self, model, data, features=None):
        self.scored_with_k.append(self.k)
        return super().evaluate(model, data, features)


def test_evaluation_says_each_evaluator_and_records_its_seconds(monkeypatch, capsys, tmp_path):
    import kssl.evaluation
    import kssl.viz.tensorboard

    x, y = _blobs(n=60)
    data, model = _splits(x, y, 40), FakePretext()
    monkeypatch.setattr(kssl.evaluation.time, "perf_counter", _Clock())
    monkeypatch.setattr(kssl.evaluation, "load_baseline", lambda run_dir, recipe, data: model)
    monkeypatch.setattr(kssl.viz.tensorboard, "log_scalars", lambda *args, **kwargs: None)
    evaluators, timings = [KNNEvaluator(k=3), _Costly(k=3)], {}
    metrics = kssl.evaluation.evaluate_with_baseline(tmp_path, {}, model, data, evaluators, step=1, timings=timings)
    err = capsys.readouterr().err
    for line in (
        "kssl: evaluator 1/2 knn (trained) ...",
        "kssl: evaluator 1/2 knn (trained): done in 1.5 s",
        "kssl: evaluator 2/2 costly (trained): done in 1.5 s",
        "kssl: evaluator 2/2 costly (random init): done in 1.5 s",
    ):
        assert line in err.splitlines(), err
    # each evaluator ran twice (trained, random init): 1.5 s each; the artefacts block and the whole take clock readings too
    assert timings["eval_seconds_by_evaluator"] == {"knn": 3.0, "costly": 3.0}
    assert timings["eval_seconds"] > sum(timings["eval_seconds_by_evaluator"].values())
    assert _Costly.scored_with_k == [3, 1]  # the random-init model was scored by for_baseline()'s evaluator
    assert metrics["knn_accuracy"] == pytest.approx(KNNEvaluator(k=3).evaluate(model, data)["knn_accuracy"])
    assert metrics["random_init.knn_accuracy"] == pytest.approx(KNNEvaluator(k=1).evaluate(model, data)["knn_accuracy"])
