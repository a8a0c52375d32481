"""What the monitors share: which epochs to measure, a fixed sample of inputs, the model they need."""

from __future__ import annotations

import numpy as np

from kssl.errors import ArgumentError, KsslError
from kssl.pretext.pretext_task import PretextTask


def due(epoch: int, every: int, first_epoch: int, epochs: int | None) -> bool:
    """Measure at the first epoch of a ``fit`` (Keras's CSVLogger fixes its columns there), every ``every``-th, and the last."""
    return epoch == first_epoch or (epoch + 1) % every == 0 or (epochs is not None and epoch == epochs - 1)


def fixed_sample(x, n: int | None, seed: int = 0, *arrays):
    """``x`` (and ``arrays``, row-aligned) cut to a fixed random subset of ``n`` rows, in their order; all when n is None or larger."""
    if n is None or len(x) <= n:
        return (x, *arrays)
    idx = np.sort(np.random.default_rng(seed).choice(len(x), size=n, replace=False))
    return (np.asarray(x)[idx], *(np.asarray(a)[idx] for a in arrays))


def check_samples(name: str, x) -> None:
    """``x`` must be an array-like of samples with at least one row."""
    try:
        n = len(x)
    except TypeError:
        raise ArgumentError(name, f"expected an array of samples (N, ...), got {type(x).__name__}.") from None
    if n == 0:
        raise ArgumentError(name, "expected at least one sample, got an empty array.")


def require_pretext(monitor: str, model) -> PretextTask:
    """``model`` if it is a :class:`kssl.PretextTask` (the monitors read features through its ``embed``), else a clear error."""
    if not isinstance(model, PretextTask):
        raise KsslError(
            f"{monitor} monitors a kssl.PretextTask (it reads frozen features with model.embed), but it was given "
            f"{type(model).__name__}. Pass it to the fit of a model from kssl.build(...) or of a kssl.PretextTask subclass."
        )
    return model
