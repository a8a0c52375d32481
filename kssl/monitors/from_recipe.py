"""The monitor callbacks of a recipe's ``train.monitors``, checked against its data."""

from __future__ import annotations

from kssl.errors import ArgumentError, RecipeError
from kssl.monitors.collapse_monitor import CollapseMonitor
from kssl.monitors.online_probe import OnlineProbe

_DATA_ARGUMENTS = ("x", "x_train", "y_train", "x_test", "y_test")


def monitor_callbacks(recipe: dict, data) -> list:
    """One callback per entry of ``recipe["train"]["monitors"]`` (structure checked by :mod:`kssl.recipe`), in order.

    ``data`` is the run's :class:`kssl.data.splits.DataSplits`: ``collapse`` watches its
    training inputs, ``online_probe`` scores its labeled train and test splits. A bad
    argument raises :class:`kssl.RecipeError` naming ``train.monitors.N.<argument>``; an
    ``online_probe`` on data without labels names ``train.monitors.N``.
    """
    dataset = recipe["data"]["type"]
    return [_monitor(f"train.monitors.{i}", spec, data, dataset) for i, spec in enumerate(recipe["train"]["monitors"])]


def _monitor(path: str, spec: dict, data, dataset: str):
    args = {key: value for key, value in spec.items() if key != "type"}
    try:
        if spec["type"] == "online_probe":
            if not data.has_labels:
                raise RecipeError(
                    path,
                    f"the online_probe monitor needs labeled train and test splits, but data {dataset!r} has no labels. "
                    "Use a labeled dataset or remove this monitor (the collapse monitor needs no labels).",
                )
            return OnlineProbe(data.x_train, data.y_train, data.x_test, data.y_test, **args)
        return CollapseMonitor(data.x_train, **args)
    except ArgumentError as exc:
        if exc.argument in _DATA_ARGUMENTS:  # the dataset's arrays, not a recipe key
            raise RecipeError(path, f"data {dataset!r}: {exc.argument}: {exc.message}") from None
        raise RecipeError(f"{path}.{exc.argument}", exc.message) from None
