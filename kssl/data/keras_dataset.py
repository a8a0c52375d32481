"""The classic image datasets of ``keras.datasets`` (downloaded once into ~/.keras/datasets)."""

from __future__ import annotations

import os

from kssl.checks import check_choice
from kssl.data._prep import check_image_args, check_training_samples, common_args, encode_labels, resize, set_channels, take, to_float_images
from kssl.data.splits import DataSplits
from kssl.errors import KsslError

# name -> (where keras downloads it from, what it keeps under <cache>/datasets/)
SOURCES = {
    "cifar10": ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz", "cifar-10-batches-py-target/"),
    "cifar100": ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz", "cifar-100-python-target/"),
    "mnist": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz", "mnist.npz"),
    "fashion_mnist": ("https://storage.googleapis.com/tensorflow/tf-keras-datasets/", "fashion-mnist/*-ubyte.gz"),
}
NAMES = tuple(SOURCES)


def _cache_dir() -> str:
    try:
        from keras.src.backend import config

        return os.path.join(config.keras_home(), "datasets")
    except (ImportError, AttributeError):  # pragma: no cover - keras moved its private config
        return os.path.join(os.environ.get("KERAS_HOME", os.path.join("~", ".keras")), "datasets")


def _offline(exc: BaseException) -> bool:
    import urllib.error

    text = str(exc)
    return isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError)) or "URL fetch failure" in text or "HTTP" in text


def keras_dataset(
    name: str,
    image_size: int | None = None,
    channels: int | None = None,
    batch_size: int = 256,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """cifar10, cifar100, mnist or fashion_mnist with their official train/test splits.

    The first use downloads the archive into ``~/.keras/datasets`` (or
    ``$KERAS_HOME/datasets``); offline, that fails with a message saying what to do.

    Args:
        name: one of cifar10, cifar100, mnist, fashion_mnist.
        image_size: resize the images to this square size (None keeps 32 or 28).
        channels: convert to 1 or 3 channels (None keeps them: 3 for CIFAR, 1 for MNIST).
        batch_size, seed, limit: as for every dataset (``seed`` is unused: the split is fixed).
    """
    check_choice("name", name, NAMES)
    check_image_args(image_size, channels)
    common_args(batch_size, seed, limit)
    import keras

    module = getattr(keras.datasets, name)
    cache = _cache_dir()
    origin, kept_as = SOURCES[name]
    try:
        (x_tr, y_tr), (x_te, y_te) = module.load_data()
    except Exception as exc:  # noqa: BLE001 - keras raises a plain Exception("URL fetch failure ...") offline
        reason = (str(exc).splitlines() or [type(exc).__name__])[0][:300]
        if _offline(exc):
            raise KsslError(
                f"data: keras dataset {name!r} is not in the cache {cache} and downloading it from {origin} failed "
                f"({reason}). A download from the internet is needed once; keras keeps it as {os.path.join(cache, kept_as)}. "
                f'Offline, copy that from a machine that has it (run `python -c "import keras; keras.datasets.{name}.load_data()"` '
                "there), or save the arrays to an .npz and use `data: {type: numpy, path: ...}`, or a folder of images "
                "with `data: {type: image_folder, path: ...}`."
            ) from None
        raise KsslError(
            f"data: could not load keras dataset {name!r} from the cache {cache} ({type(exc).__name__}: {reason}). "
            f"The cached file may be incomplete: delete {os.path.join(cache, kept_as)} and run again with internet access."
        ) from None
    x_tr, y_tr = take(limit, x_tr, y_tr)
    check_training_samples(x_tr, f"keras dataset {name!r}")
    y_tr, y_te, _ = encode_labels(name, y_tr, y_te)

    def prep(x):
        return set_channels(resize(to_float_images(x, name), image_size), channels)

    return DataSplits(prep(x_tr), y_tr, prep(x_te), y_te, batch_size=batch_size, class_names=None)
