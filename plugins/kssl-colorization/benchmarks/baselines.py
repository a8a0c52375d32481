"""Raw-feature baselines for the colour_tiles labels (which photograph a tile comes from).

Logistic regression on: the mean colour of a tile (3 numbers), its raw RGB pixels, and its raw
lightness pixels (L*/100, what the colorization encoder sees), on every training label and (mean
colour, lightness) on 5 random tiles per photograph (mean of 5 draws); plus the majority class. The same
split as the zoo recipe (colour_tiles defaults, seed 0). Run with the plugin installed:

    python plugins/kssl-colorization/benchmarks/baselines.py [--tile-size 32] [--image-size 16]
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from kssl_colorization.colour_tiles import colour_tiles  # noqa: E402
from kssl_colorization.lab import luminance_rgb  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from kssl.inference import map_batches  # noqa: E402


def score(features_train, y_train, features_test, y_test) -> float:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))
    model.fit(features_train, y_train)
    return round(float(model.score(features_test, y_test)), 4)


def few_shot(features_train, y_train, features_test, y_test, shots: int = 5, repeats: int = 5) -> float:
    """Mean held-out accuracy of :func:`score` trained on ``shots`` random tiles per photograph, over ``repeats`` draws."""
    accuracies = []
    for seed in range(repeats):
        rng = np.random.default_rng(seed)
        chosen = np.concatenate([rng.choice(np.flatnonzero(y_train == c), shots, replace=False) for c in np.unique(y_train)])
        accuracies.append(score(features_train[chosen], y_train[chosen], features_test, y_test))
    return round(float(np.mean(accuracies)), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tile-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=16)
    args = parser.parse_args()
    data = colour_tiles(tile_size=args.tile_size, image_size=args.image_size)
    x, y, xt, yt = data.x_train, data.y_train, data.x_test, data.y_test

    def lightness(a):
        return map_batches(luminance_rgb, a, 512)[..., 0].reshape(len(a), -1)

    mean_train, mean_test = x.mean(axis=(1, 2)), xt.mean(axis=(1, 2))
    counts = np.bincount(y, minlength=len(data.class_names))
    results = {
        "classes": dict(zip(data.class_names, counts.tolist())),
        "train": len(x),
        "test": len(xt),
        "majority_class": round(float(np.mean(yt == np.argmax(counts))), 4),
        "logistic_mean_colour": score(mean_train, y, mean_test, yt),
        "few_shot_5_logistic_mean_colour": few_shot(mean_train, y, mean_test, yt),
        "few_shot_5_logistic_raw_lightness_pixels": few_shot(lightness(x), y, lightness(xt), yt),
        "logistic_raw_rgb_pixels": score(x.reshape(len(x), -1), y, xt.reshape(len(xt), -1), yt),
        "logistic_raw_lightness_pixels": score(lightness(x), y, lightness(xt), yt),
    }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
