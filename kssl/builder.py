"""Recipe + registry -> data, a compiled ``keras.Model`` and evaluators. No file output."""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass

from kssl.errors import ArgumentError, KsslError, RecipeError, did_you_mean
from kssl.recipe import load_recipe


@dataclass
class Built:
    """Everything a run needs, composed from one recipe."""

    recipe: dict
    data: object  # kssl.data.splits.DataSplits
    model: object  # compiled keras.Model
    evaluators: list


def _parameters(factory):
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return {}, True
    named = {n: p for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, False


def make_component(registry, kind: str, spec: dict, path: str, context: dict | None = None, objects: dict | None = None):
    """Call the factory ``spec['type']`` of ``kind`` with the spec's arguments (see :func:`call_factory`)."""
    spec = dict(spec)
    name = spec.pop("type")
    try:
        entry = registry.entry(kind, name)
    except KsslError as exc:
        raise RecipeError(f"{path}.type", str(exc)) from None
    return call_factory(entry.factory, spec, path, f"{kind} {name!r}", context, objects, provider=entry.provider)


def call_factory(factory, args: dict, path: str, what: str, context: dict | None = None, objects: dict | None = None, provider: str = "kssl"):
    """``factory(**args)`` with the recipe's arguments checked against its signature.

    ``context`` values (input_shape, num_classes, ...) and ``objects`` (encoder,
    augmenter) are passed only when the factory's signature names them. Errors
    name the key path, e.g. ``pretext.temperature``; ``what`` names the component
    in messages (``pretext 'simclr'``).
    """
    context, objects = context or {}, objects or {}
    params, opaque = _parameters(factory)
    if not opaque:
        for key in args:
            if key not in params or key in objects:
                allowed = [p for p in params if p not in objects and p not in context]
                raise RecipeError(
                    f"{path}.{key}",
                    f"unknown argument for {what}.{did_you_mean(key, allowed)} Its arguments: {', '.join(allowed) or '(none)'}.",
                )
    kwargs = dict(args)
    for source in context, objects:
        for key, value in source.items():
            if key in params and key not in kwargs:
                kwargs[key] = value
    if not opaque:
        for pname, p in params.items():
            if p.default is inspect.Parameter.empty and pname not in kwargs and pname != "self":
                raise RecipeError(f"{path}.{pname}", f"missing required argument of {what}. Add `{pname}: ...` to the {path} section.")
    try:
        return factory(**kwargs)
    except ArgumentError as exc:
        raise RecipeError(f"{path}.{exc.argument}", exc.message) from None
    except KsslError:
        raise
    except (TypeError, ValueError) as exc:
        raise RecipeError(path, f"could not build {what} ({provider}): {exc}") from None


def _configure_precision(recipe: dict) -> None:
    import keras

    keras.mixed_precision.set_global_policy(recipe["train"]["precision"])


def _compile(model, recipe: dict, data) -> None:
    from kssl.optimizers import optimizer_from_recipe

    train = recipe["train"]
    steps = train["steps_per_epoch"] or max(1, math.ceil(len(data.x_train) / data.batch_size))
    optimizer = optimizer_from_recipe(recipe["optimizer"], steps_total=steps * train["epochs"])
    model.compile(optimizer=optimizer, jit_compile=train["jit_compile"])


def build_model(recipe: dict, data, registry=None, seed: int | None = None):
    """The compiled pretext model for ``recipe`` on ``data`` (weights initialised from ``seed``)."""
    import keras

    from kssl.distribution import distribution_scope
    from kssl.plugins import get_registry

    registry = registry or get_registry()
    keras.utils.set_random_seed(recipe["seed"] if seed is None else seed)
    _configure_precision(recipe)
    context = data.factory_context()
    with distribution_scope(recipe.get("distribution")) as placement:
        objects = {}
        if recipe.get("augmenter"):
            objects["augmenter"] = make_component(registry, "augmenter", recipe["augmenter"], "augmenter", context)
        objects["encoder"] = make_component(registry, "encoder", recipe["encoder"], "encoder", context)
        model = make_component(registry, "pretext", recipe["pretext"], "pretext", context, objects)
        if not hasattr(model, "encoder"):
            raise RecipeError("pretext.type", f"the pretext factory returned {type(model).__name__} without an `encoder` attribute; pretext models must expose .encoder.")
        if not hasattr(model, "make_dataset"):
            model(data.x_train[:2])  # create the weights now: shape problems surface here, not mid-fit
        placement.prepare(model, min(data.batch_size, len(data.x_train)), recipe["train"]["jit_compile"])  # even splits, global BN
        _compile(model, recipe, data)
    return model


def build_inputs(recipe: dict, registry=None, data=None):
    """The data and the evaluators of a loaded recipe, checked (non-empty data, labels for evaluators that need them)."""
    from kssl.plugins import get_registry

    registry = registry or get_registry()
    if data is None:
        data = make_component(registry, "dataset", recipe["data"], "data")
        if len(data.x_train) == 0:
            raise RecipeError("data", "the dataset is empty (0 training samples). Point it at data with at least one sample.")
    evaluators = [make_component(registry, "evaluator", spec, f"eval.{i}", data.factory_context()) for i, spec in enumerate(recipe["eval"])]
    for i, evaluator in enumerate(evaluators):
        if getattr(evaluator, "requires_labels", True) and not data.has_labels:
            raise RecipeError(
                f"eval.{i}",
                f"evaluator {recipe['eval'][i]['type']!r} needs labeled train and test splits, but data "
                f"{recipe['data']['type']!r} has no labels. Use a labeled dataset or remove this evaluator.",
            )
    return data, evaluators


def build_all(source, overrides=(), registry=None, data=None) -> Built:
    """Load the recipe, the data, the model and the evaluators."""
    from kssl.distribution import configure

    recipe = load_recipe(source, overrides)
    configure(recipe["distribution"])  # first: multi-worker set-up must precede any computation
    data, evaluators = build_inputs(recipe, registry, data)
    model = build_model(recipe, data, registry)
    return Built(recipe=recipe, data=data, model=model, evaluators=evaluators)


def build(source, overrides=(), registry=None, distribution=None):
    """A compiled ``keras.Model`` for a recipe (path, zoo name or mapping).

    ``distribution`` replaces the recipe's ``distribution`` section: a strategy name
    (``"auto"``, ``"none"``, ``"mirrored"``, ``"multi_worker"``, ``"data_parallel"``) or a
    mapping such as ``{"strategy": "mirrored", "devices": 2}`` (see :mod:`kssl.distribution`).

    >>> model = kssl.build("zoo/simclr.yaml")
    >>> model.fit(x_unlabeled, epochs=5, batch_size=256)
    >>> features = model.encoder.predict(x)
    """
    if distribution is not None:
        from kssl.distribution import normalize

        overrides = [*overrides, ("distribution", normalize(distribution))]
    return build_all(source, overrides, registry).model
