"""The recipe's ``distribution`` section: its keys, strategies and checks (no Keras).

:func:`check_distribution` runs when a recipe is loaded (``kssl validate`` reports a bad
section) and when ``kssl.build(..., distribution=...)`` replaces it; :mod:`kssl.distribution`
turns the checked section into a strategy.
"""

from __future__ import annotations

from kssl.errors import RecipeError, did_you_mean

STRATEGIES = ("auto", "none", "mirrored", "multi_worker", "data_parallel")
KEYS = ("strategy", "devices", "coordinator_address", "num_processes", "process_id")
JAX_MULTI_KEYS = ("coordinator_address", "num_processes", "process_id")  # multi_worker on JAX only


def check_distribution(spec) -> dict:
    """A checked copy of a ``distribution`` section with the default strategy filled in.

    Args:
        spec: a mapping like the recipe section, a strategy name (``"mirrored"``), or None
            (the default, ``{"strategy": "auto"}``).

    Raises:
        RecipeError: with the key path (``distribution.strategy``, ``distribution.devices``, ...)
            of the first problem.
    """
    if spec is None:
        spec = {}
    if isinstance(spec, str):
        spec = {"strategy": spec}
    if not isinstance(spec, dict):
        raise RecipeError("distribution", f"expected a mapping such as {{strategy: auto}} or a strategy name, got {spec!r}.")
    spec = dict(spec)
    for key in spec:
        if key not in KEYS:
            raise RecipeError(f"distribution.{key}", f"unknown key.{did_you_mean(str(key), KEYS)} Allowed: {', '.join(KEYS)}.")
    strategy = spec.setdefault("strategy", "auto")
    if strategy not in STRATEGIES:
        raise RecipeError(
            "distribution.strategy",
            f"unknown strategy {strategy!r}; expected one of {', '.join(STRATEGIES)}.{did_you_mean(str(strategy), STRATEGIES)}",
        )
    devices = spec.get("devices")
    if devices is not None:
        if strategy not in ("mirrored", "data_parallel"):
            raise RecipeError("distribution.devices", f"only the mirrored and data_parallel strategies take a device list; strategy {strategy!r} does not.")
        ok_list = isinstance(devices, list) and devices and all(isinstance(d, str) and d for d in devices)
        ok_count = isinstance(devices, int) and not isinstance(devices, bool) and devices >= 1
        if not (ok_list or ok_count):
            raise RecipeError(
                "distribution.devices",
                f'expected a non-empty list of device names (e.g. ["/gpu:0", "/gpu:1"] on TensorFlow, '
                f'["gpu:0", "gpu:1"] on JAX) or a device count >= 1, got {devices!r}.',
            )
    for key in JAX_MULTI_KEYS:
        if key in spec and strategy != "multi_worker":
            raise RecipeError(f"distribution.{key}", f"only strategy multi_worker takes {key}; strategy is {strategy!r}.")
    if "coordinator_address" in spec and (not isinstance(spec["coordinator_address"], str) or ":" not in spec["coordinator_address"]):
        raise RecipeError("distribution.coordinator_address", f'expected "host:port" of process 0, got {spec["coordinator_address"]!r}.')
    for key, low in (("num_processes", 1), ("process_id", 0)):
        value = spec.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < low):
            raise RecipeError(f"distribution.{key}", f"expected an integer >= {low}, got {value!r}.")
    return spec
