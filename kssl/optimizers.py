"""The recipe's ``optimizer`` section -> a Keras optimizer (with an optional cosine schedule)."""

from __future__ import annotations

from kssl.checks import check_int, check_number, check_positive
from kssl.errors import ArgumentError, did_you_mean
from kssl.factories import call_factory

OPTIMIZERS = ("adam", "adamw", "sgd", "lamb", "rmsprop")


def make_optimizer(
    type: str = "adamw",
    learning_rate: float = 1.0e-3,
    weight_decay: float | None = None,
    momentum: float = 0.9,
    schedule: str = "constant",
    warmup_steps: int = 0,
    decay_steps: int | None = None,
    clipnorm: float | None = None,
):
    """Build a Keras optimizer.

    ``schedule: cosine`` decays the learning rate to 0 over ``decay_steps``
    (the builder fills in epochs × steps per epoch) after ``warmup_steps`` of
    linear warm-up.
    """
    import keras

    check_positive("learning_rate", learning_rate)
    if weight_decay is not None:
        check_number("weight_decay", weight_decay, low=0.0)
    check_number("momentum", momentum, low=0.0, high=1.0)
    check_int("warmup_steps", warmup_steps, low=0)
    if clipnorm is not None:
        check_positive("clipnorm", clipnorm)
    if schedule not in ("constant", "cosine"):
        raise ArgumentError("schedule", f"expected constant or cosine, got {schedule!r}.")
    lr = float(learning_rate)
    if schedule == "cosine":
        steps = check_int("decay_steps", decay_steps if decay_steps is not None else 1000, low=1)
        lr = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0 if warmup_steps else lr,
            decay_steps=steps,
            warmup_target=lr if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    common = {"learning_rate": lr}
    if clipnorm is not None:
        common["clipnorm"] = float(clipnorm)
    if type == "sgd":
        return keras.optimizers.SGD(momentum=momentum, weight_decay=weight_decay, **common)
    if type == "adam":
        return keras.optimizers.Adam(weight_decay=weight_decay, **common)
    if type == "adamw":
        return keras.optimizers.AdamW(weight_decay=1e-4 if weight_decay is None else weight_decay, **common)
    if type == "lamb":
        return keras.optimizers.Lamb(weight_decay=weight_decay, **common)
    if type == "rmsprop":
        return keras.optimizers.RMSprop(momentum=momentum, weight_decay=weight_decay, **common)
    raise ArgumentError("type", f"unknown optimizer {type!r}; expected one of {', '.join(OPTIMIZERS)}.{did_you_mean(type, OPTIMIZERS)}")


def optimizer_from_recipe(spec: dict, steps_total: int | None = None):
    """``spec`` is the recipe's optimizer section; errors name ``optimizer.<key>``."""
    spec = dict(spec)
    if spec.get("schedule") == "cosine" and spec.get("decay_steps") is None and steps_total:
        spec["decay_steps"] = max(1, int(steps_total) - int(spec.get("warmup_steps", 0) or 0))
    return call_factory(make_optimizer, spec, "optimizer", "the optimizer")


def stretch_schedule(optimizer, spec: dict, steps_total: int) -> tuple[int, int] | None:
    """Fit a restored optimizer's cosine schedule to a run that now has ``steps_total`` steps.

    A checkpoint keeps the decay length of the run it came from, so a run resumed with a raised
    ``--epochs`` would train its extra epochs at learning rate 0. When the recipe's ``spec`` has a
    cosine schedule whose ``decay_steps`` kssl filled in, the decay is set to span the new total
    (the rate then continues on the longer curve from the optimizer's current step). Returns
    ``(old, new)`` decay steps when it changed anything, else None.
    """
    import keras

    if spec.get("schedule") != "cosine" or spec.get("decay_steps") is not None:
        return None
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # a mixed-precision LossScaleOptimizer's own optimizer
    schedule = inner._learning_rate  # Keras has no public getter for the schedule object (learning_rate evaluates it)
    decay = max(1, int(steps_total) - int(spec.get("warmup_steps", 0) or 0))
    if not isinstance(schedule, keras.optimizers.schedules.CosineDecay) or schedule.decay_steps == decay:
        return None
    old = int(schedule.decay_steps)
    inner.learning_rate = keras.optimizers.schedules.CosineDecay.from_config({**schedule.get_config(), "decay_steps": decay})
    return old, decay


def restart_optimizer(optimizer) -> None:
    """Zero an optimizer's step count and moment estimates, keeping its learning rate.

    For a training stage whose loss differs from the one before, such as DEC's
    switch from reconstruction to clustering (:class:`kssl.pretext.dec.DEC`):
    Adam's second-moment estimates, scaled to the small reconstruction gradients
    at the end of pretraining, would otherwise turn the first, larger KL
    gradients into steps many times the learning rate. The step count and
    every non-scalar slot (momenta, velocities: zeros when created for all of
    kssl's optimizers) are reset, so a learning-rate schedule starts again too;
    scalar state such as the learning rate or a loss-scale factor is kept.
    """
    from keras import ops

    if optimizer is None or not getattr(optimizer, "built", False):
        return
    inner = getattr(optimizer, "inner_optimizer", None)  # a mixed-precision LossScaleOptimizer's own optimizer
    if inner is not None:
        inner.iterations.assign(0)
    for variable in optimizer.variables:
        if variable is optimizer.iterations or len(variable.shape) > 0:
            variable.assign(ops.zeros(variable.shape, variable.dtype))
