"""The built-in datasets: digits, numpy (.npz), image_folder and keras (offline)."""

import numpy as np
import pytest

from kssl.data.digits import digits
from kssl.data.image_folder import image_folder
from kssl.data.keras_dataset import keras_dataset
from kssl.data.numpy_file import numpy_file
from kssl.data.splits import DataSplits
from kssl.errors import ArgumentError, KsslError


def _digits_uint8(n=60):
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.images[:n] * (255 / 16)).round().astype("uint8"), bunch.target[:n].astype("int64")


# -- digits -------------------------------------------------------------------


def test_digits_shapes_range_labels_and_stratified_split():
    from sklearn.datasets import load_digits

    data = digits(image_size=16, batch_size=32)
    assert isinstance(data, DataSplits) and data.batch_size == 32
    assert data.x_train.shape[1:] == (16, 16, 1) and data.x_test.shape[1:] == (16, 16, 1)
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert len(data.x_train) + len(data.x_test) == 1797 and len(data.x_test) == pytest.approx(0.2 * 1797, abs=1)
    for x in (data.x_train, data.x_test):
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.9
    assert data.class_names == [str(i) for i in range(10)] and data.num_classes == 10 and data.has_labels
    # stratified: each class keeps (within one sample) its share of the whole set in both splits
    full = np.bincount(load_digits().target, minlength=10) / 1797
    for y in (data.y_train, data.y_test):
        share = np.bincount(y, minlength=10) / len(y)
        assert np.abs(share - full).max() < 0.01
    # the split is a seeded function of `seed`
    again, other = digits(image_size=8), digits(image_size=8, seed=1)
    np.testing.assert_array_equal(digits(image_size=8).y_test, again.y_test)
    assert not np.array_equal(again.y_test, other.y_test)


def test_digits_at_native_size_are_the_sklearn_pixels_over_16():
    from sklearn.datasets import load_digits

    data = digits(image_size=8, test_fraction=0.5)
    images = load_digits().images.astype("float32") / 16.0
    lookup = {img.tobytes(): True for img in images}
    assert all(x[..., 0].tobytes() in lookup for x in data.x_train[:50])


def test_digits_channels_limit_and_argument_errors():
    data = digits(image_size=12, channels=3, limit=100, test_fraction=0.5)
    assert data.x_train.shape == (100, 12, 12, 3) and len(data.y_train) == 100
    np.testing.assert_array_equal(data.x_train[..., 0], data.x_train[..., 2])
    for kwargs, argument in [
        ({"image_size": 4}, "image_size"),
        ({"channels": 2}, "channels"),
        ({"batch_size": 0}, "batch_size"),
        ({"test_fraction": 1.0}, "test_fraction"),
        ({"limit": 0}, "limit"),
    ]:
        with pytest.raises(ArgumentError) as info:
            digits(**kwargs)
        assert info.value.argument == argument


# -- numpy --------------------------------------------------------------------


def test_numpy_round_trip_x_y(tmp_path):
    x, y = _digits_uint8(60)
    np.savez(tmp_path / "d.npz", x=x, y=y)
    data = numpy_file(path=str(tmp_path / "d.npz"), test_fraction=0.25, batch_size=8)
    assert data.x_train.shape == (45, 8, 8, 1) and data.x_test.shape == (15, 8, 8, 1)
    assert data.x_train.dtype == np.float32 and data.x_train.max() <= 1.0 and data.x_train.max() > 0.9
    assert data.y_train.dtype == np.int32 and data.has_labels and data.batch_size == 8
    # every sample comes back exactly, with its label
    originals = {img.tobytes(): int(lbl) for img, lbl in zip((x / 255.0).astype("float32"), y)}
    for img, lbl in zip(np.concatenate([data.x_train, data.x_test]), np.concatenate([data.y_train, data.y_test])):
        assert originals[img[..., 0].tobytes()] == lbl


def test_numpy_train_test_keys_resize_channels_limit(tmp_path):
    x, y = _digits_uint8(50)
    np.savez(tmp_path / "tt.npz", x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    data = numpy_file(path=str(tmp_path / "tt.npz"), image_size=16, channels=3, limit=30)
    assert data.x_train.shape == (30, 16, 16, 3) and data.x_test.shape == (10, 16, 16, 3)
    np.testing.assert_array_equal(data.y_test, y[40:])
    np.testing.assert_array_equal(data.y_train, y[:30])


def test_numpy_unlabeled_flat_and_string_labels(tmp_path):
    np.savez(tmp_path / "u.npz", x=np.random.default_rng(0).random((20, 5)).astype("float32"))
    data = numpy_file(path=str(tmp_path / "u.npz"))
    assert data.x_train.shape == (20, 5) and data.y_train is None and not data.has_labels
    np.savez(tmp_path / "s.npz", x=np.zeros((8, 3), "float32"), y=np.array(["cat", "dog"] * 4))
    data = numpy_file(path=str(tmp_path / "s.npz"), test_fraction=0.5)
    assert data.class_names == ["cat", "dog"] and set(data.y_test) == {0, 1}


@pytest.mark.parametrize(
    "arrays, fragments",
    [
        ({"images": np.zeros((4, 8, 8))}, ["`x`", "images"]),
        ({"x": np.zeros((0, 8, 8, 1), "float32")}, ["empty"]),
        ({"x": np.zeros((4, 8, 8)), "y": np.zeros(3, int)}, ["`x` has 4", "`y` has 3"]),
        ({"x_train": np.zeros((4, 8, 8)), "y_train": np.zeros(4, int), "x_test": np.zeros((2, 8, 8))}, ["`y_test`"]),
        ({"x_train": np.zeros((4, 8, 8)), "y_test": np.zeros(2, int)}, ["`x_test`"]),
        ({"x_train": np.zeros((4, 8, 8)), "x_test": np.zeros((0, 8, 8))}, ["x_test", "empty"]),
        ({"x": np.array([["a", "b"], ["c", "d"]])}, ["`x`", "numeric"]),
    ],
)
def test_numpy_errors_name_the_file_and_key(tmp_path, arrays, fragments):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(KsslError) as info:
        numpy_file(path=str(path))
    for fragment in (str(path), *fragments):
        assert fragment in str(info.value)


def test_numpy_missing_and_unreadable_file(tmp_path):
    with pytest.raises(KsslError, match="no such file.*nope.npz"):
        numpy_file(path=str(tmp_path / "nope.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(KsslError, match="junk.npz.*not a readable .npz"):
        numpy_file(path=str(tmp_path / "junk.npz"))


# -- image_folder ---------------------------------------------------------------


def _write_pngs(root, per_class=6, classes=(0, 1, 2), loose=False):
    from PIL import Image

    x, y = _digits_uint8(300)
    for c in classes:
        folder = root if loose else root / str(c)
        folder.mkdir(parents=True, exist_ok=True)
        for i, img in enumerate(x[y == c][:per_class]):
            Image.fromarray(img, mode="L").save(folder / f"{c}_{i}.png")
    return x, y


def test_image_folder_labels_from_subfolders_and_stratified_split(tmp_path):
    _write_pngs(tmp_path / "train", per_class=10)
    data = image_folder(path=str(tmp_path / "train"), image_size=8, channels=1, test_fraction=0.3)
    assert data.class_names == ["0", "1", "2"]
    assert data.x_train.shape == (21, 8, 8, 1) and data.x_test.shape == (9, 8, 8, 1)
    assert np.bincount(data.y_test).tolist() == [3, 3, 3]
    assert data.x_train.dtype == np.float32 and 0 <= data.x_train.min() and data.x_train.max() <= 1
    # at the native size the PNG pixels come back exactly (uint8 / 255)
    x, y = _digits_uint8(300)
    originals = {img.tobytes(): int(lbl) for img, lbl in zip((x / 255.0).astype("float32"), y)}
    for img, lbl in zip(data.x_train, data.y_train):
        assert originals[img[..., 0].tobytes()] == lbl


def test_image_folder_rgb_resize_test_path_and_unlabeled(tmp_path):
    _write_pngs(tmp_path / "train", per_class=4)
    _write_pngs(tmp_path / "test", per_class=2)
    data = image_folder(path=str(tmp_path / "train"), test_path=str(tmp_path / "test"), image_size=16, channels=3, limit=5)
    assert data.x_train.shape == (5, 16, 16, 3) and data.x_test.shape == (6, 16, 16, 3) and len(data.y_train) == 5
    _write_pngs(tmp_path / "loose", per_class=3, loose=True)
    data = image_folder(path=str(tmp_path / "loose"), image_size=8)
    assert data.x_train.shape == (9, 8, 8, 3) and data.y_train is None and not data.has_labels


def test_image_folder_errors(tmp_path):
    with pytest.raises(KsslError, match="no such folder.*missing"):
        image_folder(path=str(tmp_path / "missing"))
    (tmp_path / "empty" / "cats").mkdir(parents=True)
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    with pytest.raises(KsslError, match="no images found.*empty"):
        image_folder(path=str(tmp_path / "empty"))
    _write_pngs(tmp_path / "broken", per_class=3)
    (tmp_path / "broken" / "1" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(KsslError) as info:
        image_folder(path=str(tmp_path / "broken"))
    assert "corrupt.png" in str(info.value) and "Remove or replace" in str(info.value)
    _write_pngs(tmp_path / "a", per_class=2, classes=(0, 1))
    _write_pngs(tmp_path / "b", per_class=2, classes=(0, 2))
    with pytest.raises(KsslError, match="test_path"):
        image_folder(path=str(tmp_path / "a"), test_path=str(tmp_path / "b"))


# -- keras.datasets, offline ----------------------------------------------------


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """An empty keras cache and a network that refuses every connection, as on these machines."""
    import socket
    import urllib.error

    from keras.src.backend import config
    from keras.src.utils import file_utils

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setattr(config, "_KERAS_DIR", str(tmp_path / "keras_home"))

    def refuse(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    def no_socket(*args, **kwargs):
        raise OSError("tests never use the network")

    monkeypatch.setattr(file_utils, "urlretrieve", refuse)
    monkeypatch.setattr(socket.socket, "connect", no_socket)
    return tmp_path / "keras_home"


@pytest.mark.parametrize("name", ["mnist", "cifar10"])
def test_keras_dataset_offline_says_what_to_do(offline, name):
    with pytest.raises(KsslError) as info:
        keras_dataset(name=name)
    text = str(info.value)
    for fragment in (name, "download from the internet", "https://", str(offline / "datasets"), "type: numpy", "image_folder"):
        assert fragment in text, text


def test_keras_dataset_argument_errors():
    with pytest.raises(ArgumentError, match="Did you mean 'cifar10'"):
        keras_dataset(name="cifar")
    with pytest.raises(ArgumentError, match="channels"):
        keras_dataset(name="mnist", channels=2)


def test_keras_dataset_from_a_local_cache(offline):
    """With the files in the cache no network is needed (fashion_mnist's IDX files, written locally)."""
    import gzip

    x, y = _digits_uint8(40)
    x = np.pad(x, ((0, 0), (10, 10), (10, 10)))  # 28x28 like fashion-mnist
    folder = offline / "datasets" / "fashion-mnist"
    folder.mkdir(parents=True)
    for prefix, sl in (("train", slice(0, 30)), ("t10k", slice(30, 40))):
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(b"\0" * 8 + y[sl].astype("uint8").tobytes())
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(b"\0" * 16 + x[sl].tobytes())
    data = keras_dataset(name="fashion_mnist", image_size=16, channels=3, limit=20)
    assert data.x_train.shape == (20, 16, 16, 3) and data.x_test.shape == (10, 16, 16, 3)
    assert data.y_train.dtype == np.int32 and data.x_train.max() <= 1.0 and data.x_train.max() > 0.5
    np.testing.assert_array_equal(data.y_test, y[30:40])
    native = keras_dataset(name="fashion_mnist")
    np.testing.assert_allclose(native.x_train[..., 0], x[:30] / 255.0, atol=1e-7)


def test_registered_through_the_builtin_hook():
    from kssl.plugins import get_registry

    registry = get_registry()
    for name in ("digits", "numpy", "image_folder", "keras"):
        assert name in registry.names("dataset")
    for name in ("knn", "linear_probe"):
        assert name in registry.names("evaluator")


# -- issue #20: values far outside the documented range, one sample, one class ----------------------------------------


def test_non_finite_and_far_out_of_range_values_are_counted(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((30, 8, 8, 1)).astype("float32")
    x[2, 0, 0, 0], x[5, 3, 3, 0], x[5, 4, 4, 0] = np.nan, np.inf, -np.inf
    np.savez(tmp_path / "nan.npz", x=x)
    bad = int((~np.isfinite(x)).sum())  # 3 values in 2 samples
    with pytest.raises(KsslError, match=rf"nan.npz: `x`: {bad} of {x.size:,} values are NaN or infinite \(in 2 of 30 samples\)"):
        numpy_file(path=str(tmp_path / "nan.npz"))
    far = rng.random((30, 8, 8, 1)).astype("float32")
    far[0, :2, 0, 0] = 1e30
    far[1, 0, 0, 0] = -5.0
    np.savez(tmp_path / "far.npz", x=far)
    with pytest.raises(KsslError, match=r"far.npz: `x`: 3 of 1,920 values lie far outside \[0, 1\].*min -5, max 1e\+30"):
        numpy_file(path=str(tmp_path / "far.npz"))
    np.savez(tmp_path / "int.npz", x=np.full((20, 4, 4, 1), 1000, "int32"))  # integers are divided by 255: 3.9
    with pytest.raises(KsslError, match=r"int.npz: `x`: 320 of 320 values lie far outside \[0, 1\]"):
        numpy_file(path=str(tmp_path / "int.npz"))


def test_values_near_the_image_range_and_large_flat_features_within_the_limit_load(tmp_path):
    x = np.linspace(-1.0, 2.0, 20 * 16, dtype="float32").reshape(20, 4, 4, 1)  # [-1, 2]: a small overshoot is kept
    np.savez(tmp_path / "edge.npz", x=x)
    assert np.array_equal(numpy_file(path=str(tmp_path / "edge.npz")).x_train, x)
    flat = np.full((20, 3), 1e6, "float32")
    np.savez(tmp_path / "flat.npz", x=flat)
    assert numpy_file(path=str(tmp_path / "flat.npz")).x_train.max() == 1e6
    np.savez(tmp_path / "flat_far.npz", x=flat * 2)
    with pytest.raises(KsslError, match=r"60 of 60 values exceed 1e\+06 in magnitude"):
        numpy_file(path=str(tmp_path / "flat_far.npz"))


def test_one_training_sample_and_one_class_are_refused(tmp_path):
    np.savez(tmp_path / "one.npz", x=np.zeros((1, 4, 4, 1), "float32"))
    with pytest.raises(KsslError, match=r"one.npz: the training split has 1 sample; .* at least 2"):
        numpy_file(path=str(tmp_path / "one.npz"))
    with pytest.raises(KsslError, match=r"digits\): the training split has 1 sample"):
        digits(image_size=8, limit=1)
    assert len(digits(image_size=8, limit=2).x_train) == 2
    np.savez(tmp_path / "cls.npz", x=np.zeros((6, 4, 4, 1), "float32"), y=np.array(["dog"] * 6))
    with pytest.raises(KsslError, match=r"cls.npz: `y`: the labels hold a single class \('dog', all 6 samples\)"):
        numpy_file(path=str(tmp_path / "cls.npz"))


def test_image_folder_with_one_class_folder_is_refused(tmp_path):
    from PIL import Image

    for i in range(3):
        (tmp_path / "cats").mkdir(exist_ok=True)
        Image.fromarray(np.full((5, 5, 3), 40 * i, np.uint8)).save(tmp_path / "cats" / f"{i}.png")
    with pytest.raises(KsslError, match=r"single class \('cats', all 3 samples\).*move the images directly into the folder"):
        image_folder(path=str(tmp_path), image_size=8)
