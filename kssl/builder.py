"""Recipe + registry -> data, a compiled ``keras.Model`` and evaluators. No file output."""

from __future__ import annotations

import math
from dataclasses import dataclass

from kssl.distribution import configure
from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.factories import make_component
from kssl.jit_choice import describe_jit_compile, resolve_jit_compile
from kssl.plugins import get_registry
from kssl.progress import say
from kssl.recipe import load_recipe
from kssl.recipe_distribution import check_distribution


@dataclass
class Built:
    """Everything a run needs, composed from one recipe."""

    recipe: dict
    data: object  # kssl.data.splits.DataSplits
    model: object  # compiled kssl.PretextTask
    evaluators: list


def _configure_precision(recipe: dict) -> None:
    import keras

    keras.mixed_precision.set_global_policy(recipe["train"]["precision"])


def steps_total(recipe: dict, data) -> int:
    """The optimizer steps of the whole run: epochs x steps per epoch (one pass over ``data`` unless the recipe sets it)."""
    train = recipe["train"]
    steps = train["steps_per_epoch"] or max(1, math.ceil(len(data.x_train) / data.batch_size))
    return steps * train["epochs"]


def _compile(model, recipe: dict, data, jit_compile: bool) -> None:
    from kssl.optimizers import optimizer_from_recipe

    optimizer = optimizer_from_recipe(recipe["optimizer"], steps_total=steps_total(recipe, data))
    model.compile(optimizer=optimizer, jit_compile=jit_compile)


def build_model(recipe: dict, data, registry=None, placement=None):
    """The compiled pretext model for ``recipe`` on ``data``, its weights initialised from the recipe's seed.

    ``placement`` is the distribution placement from :func:`kssl.distribution.configure`
    (configured from the recipe when not given).
    """
    import keras

    from kssl.pretext.pretext_task import PretextTask

    registry = registry or get_registry()
    placement = placement or configure(recipe["distribution"])
    keras.utils.set_random_seed(recipe["seed"])
    _configure_precision(recipe)
    context = data.factory_context()
    with placement.scope():
        objects = {"augmenter": None}  # `augmenter: null` is passed on, so a method that needs one names the `augmenter` key
        if recipe.get("augmenter"):
            objects["augmenter"] = make_component(registry, "augmenter", recipe["augmenter"], "augmenter", context)
        objects["encoder"] = make_component(registry, "encoder", recipe["encoder"], "encoder", context)
        model = make_component(registry, "pretext", recipe["pretext"], "pretext", context, objects)
        if not isinstance(model, PretextTask):
            raise RecipeError(
                "pretext.type",
                f"the pretext factory returned {type(model).__name__}, which is not a kssl.PretextTask. A pretext task "
                "subclasses kssl.PretextTask (see docs/writing-a-plugin.md).",
            )
        if not model.built:
            try:
                model(data.x_train[:2])  # create the weights now: shape problems surface here, not mid-fit
            except ArgumentError as exc:  # an argument that only the data's shape shows wrong (e.g. a crop larger than the images)
                raise RecipeError(f"pretext.{exc.argument}", exc.message) from None
        setting = recipe["train"]["jit_compile"]
        jit_compile = resolve_jit_compile(setting, placement.backend)  # one choice for the placement's check and for compile
        say(describe_jit_compile(setting, placement.backend))
        placement.prepare(model, min(data.batch_size, len(data.x_train)), jit_compile)  # even splits, global BN
        _compile(model, recipe, data, jit_compile)
    return model


def check_evaluators(evaluators, model) -> None:
    """Each evaluator's ``check_model``: an evaluator paired with a pretext task it cannot score fails before training."""
    for i, evaluator in enumerate(evaluators):
        try:
            evaluator.check_model(model)
        except RecipeError:
            raise
        except KsslError as exc:
            raise RecipeError(f"eval.{i}", str(exc)) from None


def build_inputs(recipe: dict, registry=None, data=None):
    """The data and the evaluators of a loaded recipe, checked (non-empty data, labels for evaluators that need them)."""
    registry = registry or get_registry()
    if data is None:
        data = make_component(registry, "dataset", recipe["data"], "data")
        if len(data.x_train) == 0:
            raise RecipeError("data", "the dataset is empty (0 training samples). Point it at data with at least one sample.")
    evaluators = [make_component(registry, "evaluator", spec, f"eval.{i}", data.factory_context()) for i, spec in enumerate(recipe["eval"])]
    for i, evaluator in enumerate(evaluators):
        if evaluator.requires_labels and not data.has_labels:
            raise RecipeError(
                f"eval.{i}",
                f"evaluator {recipe['eval'][i]['type']!r} needs labeled train and test splits, but data "
                f"{recipe['data']['type']!r} has no labels. Use a labeled dataset or remove this evaluator.",
            )
        try:
            evaluator.check_data(data)  # e.g. a label budget larger than a class: before training, not after
        except RecipeError:
            raise
        except KsslError as exc:
            raise RecipeError(f"eval.{i}", str(exc)) from None
    # The monitors are Keras callbacks: imported here, after the CLI has chosen the backend (as build_model imports Keras).
    from kssl.monitors.from_recipe import monitor_callbacks

    monitor_callbacks(recipe, data)  # train.monitors' arguments, and labels for online_probe: before training, in `kssl validate` too
    return data, evaluators


def build_all(source, overrides=(), registry=None, data=None) -> Built:
    """Load the recipe (a path, zoo name or mapping), configure its distribution once, build data, model and evaluators."""
    recipe = load_recipe(source, overrides)
    placement = configure(recipe["distribution"])  # first: multi-worker set-up must precede any computation
    data, evaluators = build_inputs(recipe, registry, data)
    model = build_model(recipe, data, registry, placement)
    check_evaluators(evaluators, model)
    return Built(recipe=recipe, data=data, model=model, evaluators=evaluators)


def build(source, overrides=(), registry=None, distribution=None):
    """A compiled ``keras.Model`` (a :class:`kssl.PretextTask`) for a recipe (path, zoo name or mapping).

    ``distribution`` replaces the recipe's ``distribution`` section: a strategy name
    (``"auto"``, ``"none"``, ``"mirrored"``, ``"multi_worker"``, ``"data_parallel"``) or a
    mapping such as ``{"strategy": "mirrored", "devices": 2}`` (see :mod:`kssl.distribution`).

    >>> model = kssl.build("zoo/simclr.yaml")
    >>> model.fit(x_unlabeled, epochs=5, batch_size=256)
    >>> features = model.encoder.predict(x)
    """
    if distribution is not None and isinstance(overrides, (list, tuple)):  # load_recipe names a wrong `overrides` type
        overrides = [*overrides, ("distribution", check_distribution(distribution))]
    return build_all(source, overrides, registry).model
