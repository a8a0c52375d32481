"""scikit-learn's bundled 8x8 digits: an offline image dataset with labels."""

from __future__ import annotations

from kssl.data._prep import check_image_args, check_training_samples, common_args, resize, set_channels, split, take
from kssl.data.splits import DataSplits


def digits(
    image_size: int = 32,
    channels: int = 1,
    batch_size: int = 256,
    test_fraction: float = 0.2,
    seed: int = 0,
    limit: int | None = None,
) -> DataSplits:
    """1797 handwritten digits (UCI), shipped with scikit-learn: nothing is downloaded.

    Pixel values 0..16 are scaled to [0, 1]; images are upsampled bilinearly from 8x8.

    Args:
        image_size: side of the square images (>= 8).
        channels: 1 (grayscale) or 3 (the gray value repeated).
        batch_size: training batch size.
        test_fraction: stratified held-out fraction used by evaluators.
        seed: seed of the train/test split.
        limit: keep only the first N training images (small experiments, tests).
    """
    check_image_args(image_size, channels, minimum=8)
    common_args(batch_size, seed, limit, test_fraction)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = (bunch.images.astype("float32") / 16.0)[..., None]
    y = bunch.target.astype("int32")
    x_tr, y_tr, x_te, y_te = split(x, y, test_fraction, seed)
    x_tr, y_tr = take(limit, x_tr, y_tr)
    check_training_samples(x_tr, "data (digits)")

    def prep(a):
        return set_channels(resize(a, image_size), channels)

    return DataSplits(prep(x_tr), y_tr, prep(x_te), y_te, batch_size=batch_size, class_names=[str(i) for i in range(10)])
