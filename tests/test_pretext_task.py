"""The kssl.PretextTask base: views, capabilities and their defaults, fit's routing, saving; the docs' example method."""

import re
from pathlib import Path

import keras
import numpy as np
import pytest

import kssl
from kssl.errors import ArgumentError
from kssl.heads import MLPHead
from kssl.testing import assert_round_trip, check_pretext, tiny_encoder, tiny_images

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


class Recorder(keras.callbacks.Callback):
    def __init__(self, log):
        super().__init__()
        self.log = log

    def on_epoch_begin(self, epoch, logs=None):
        self.log.append(type(self).__name__)


class Own(Recorder):
    pass


class Feed(keras.utils.PyDataset):
    """A pipeline that serves x in order and counts the batches it served."""

    def __init__(self, x, batch_size):
        super().__init__()
        self.x, self.batch_size, self.served = x, batch_size, 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        self.served += 1
        return self.x[i * self.batch_size : (i + 1) * self.batch_size]


@keras.saving.register_keras_serializable(package="kssl_tests")
class Regress(kssl.PretextTask):
    """Predict a view's mean pixel from its features: a tiny method with one argument."""

    def __init__(self, encoder, augmenter=None, width=4, **kwargs):
        super().__init__(encoder, augmenter, **kwargs)
        self.width = width
        self.head = MLPHead([width], 1, batch_norm=False, name="head")
        self.log = []
        self.feeds = []

    def call(self, x, training=False):
        (view,) = self.views(x, 1, training=training)
        return self.head(self.encoder(view, training=training)), keras.ops.mean(view, axis=(1, 2, 3))[:, None]

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return keras.ops.mean(keras.ops.square(y_pred[0] - y_pred[1]))

    def training_callbacks(self, data=None):
        return [Own(self.log)]

    def get_config(self):
        return {**super().get_config(), "width": self.width}


class Fed(Regress):
    def make_dataset(self, x, batch_size=32, shuffle=True, seed=None):
        self.feeds.append(Feed(x, batch_size))
        return self.feeds[-1]


class NoAugmenter(Regress):
    uses_augmenter = False


def test_views_are_copies_at_inference_and_random_when_training():
    model = Regress(tiny_encoder(), augmenter=keras.layers.GaussianNoise(0.5, seed=1))
    x = tiny_images(4)
    assert all(v is x for v in model.views(x, 3))
    a, b = (keras.ops.convert_to_numpy(v) for v in model.views(x, 2, training=True))
    assert a.shape == x.shape and not np.allclose(a, b) and not np.allclose(a, x)


def test_the_capabilities_default_to_none():
    model = Regress(tiny_encoder())
    x = tiny_images(5)
    model(x[:2])
    assert model.make_dataset(x) is None and model.predict_clusters(x) is None and model.n_clusters is None
    assert model.write_artifacts("/nonexistent") == []
    features = model.embed(x, batch_size=2)
    expected = keras.ops.convert_to_numpy(model.encoder(x))
    assert features.dtype == np.float32 and features.shape == (5, 8)
    np.testing.assert_allclose(features, expected, rtol=1e-5, atol=1e-6)


def test_a_task_that_takes_no_augmenter_refuses_one():
    with pytest.raises(ArgumentError) as info:
        NoAugmenter(tiny_encoder(), augmenter=keras.layers.GaussianNoise(0.1))
    assert info.value.argument == "augmenter" and "does not use an augmenter" in info.value.message


def test_fit_runs_the_methods_callbacks_first_and_a_callers_instance_replaces_its_own():
    model = Regress(tiny_encoder())
    model.compile(optimizer="adam")
    x = tiny_images(8)
    model.fit(x, batch_size=4, epochs=1, verbose=0, callbacks=[Recorder(model.log)])
    assert model.log == ["Own", "Recorder"]
    mine = Own([])
    model.fit(x, batch_size=4, epochs=1, verbose=0, callbacks=[mine])
    assert mine.log == ["Own"] and model.log == ["Own", "Recorder"]  # the method's own did not run again


def test_fit_feeds_raw_samples_through_make_dataset():
    model = Fed(tiny_encoder())
    model.compile(optimizer="adam")
    model.fit(tiny_images(8), batch_size=3, epochs=2, verbose=0)
    assert len(model.feeds) == 1 and model.feeds[0].batch_size == 3 and model.feeds[0].served >= 2 * 3


def test_the_base_saves_the_encoder_and_augmenter_and_the_method_its_own_arguments(tmp_path):
    model = Regress(tiny_encoder(), augmenter=keras.layers.GaussianNoise(0.1), width=3)
    x = tiny_images(4)
    model(x)
    config = model.get_config()
    assert config["width"] == 3 and config["encoder"]["class_name"] == "Functional" and config["augmenter"]["class_name"] == "GaussianNoise"
    again = assert_round_trip(model, x=x, tmp_path=tmp_path)
    assert again.width == 3 and isinstance(again.augmenter, keras.layers.GaussianNoise)


def test_the_example_method_in_docs_api_md_runs(tmp_path):
    block = next(b for b in re.findall(r"```python\n(.*?)```", API_DOC.read_text(encoding="utf-8"), flags=re.S) if "kssl.PretextTask" in b)
    namespace = {}
    exec(block.replace('package="my_plugin"', 'package="kssl_docs_example"'), namespace)
    model = check_pretext(namespace["MyContrastive"], {"temperature": 0.5}, augmenter=keras.layers.GaussianNoise(0.1), tmp_path=tmp_path)
    assert model.temperature == 0.5
