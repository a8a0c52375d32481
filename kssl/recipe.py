"""YAML recipes: safe loading, ``--set`` overrides, structural validation.

This module never imports Keras: the CLI reads ``backend:`` from a recipe
before the backend is fixed. Component arguments are checked against their
factories by :mod:`kssl.builder`.
"""

from __future__ import annotations

import copy
import math
import numbers
import os

import yaml

from kssl.errors import KsslError, RecipeError, did_you_mean
from kssl.recipe_distribution import check_distribution
from kssl.recipe_yaml import check_size, parse_yaml
from kssl.zoo_recipes import resolve_source, zoo_recipes  # noqa: F401  (zoo_recipes: a public name of this module)

BACKENDS = ("tensorflow", "jax", "torch")
COMPONENT_SECTIONS = ("data", "augmenter", "encoder", "pretext")
REQUIRED = ("data", "encoder", "pretext")
TOP_LEVEL = (
    "name",
    "description",
    "backend",
    "seed",
    "data",
    "augmenter",
    "encoder",
    "pretext",
    "optimizer",
    "train",
    "distribution",
    "eval",
    "results",
    "tolerances",
)
TRAIN_DEFAULTS = {
    "epochs": 10,
    "steps_per_epoch": None,
    "precision": "float32",
    "jit_compile": "auto",  # kssl.jit_choice: true on JAX, false (a tf.function graph) on TensorFlow and torch
    "verbose": "auto",
    "log_images": 8,
    "monitors": [],
}
# The keys of each train.monitors entry besides `type`: the arguments of kssl.monitors.CollapseMonitor and
# OnlineProbe that a recipe sets (tests/test_monitors.py checks they match; the data arrays come from `data`).
MONITOR_KEYS = {
    "collapse": ("every", "samples", "batch_size", "std_threshold", "rank_threshold"),
    "online_probe": ("every", "k", "batch_size", "max_samples"),
}
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
# Upper bounds of values that are valid integers but absurd (numpy's seeds stop at 2**32 - 1; a name is
# part of the run directory's name, which the file system limits to 255 bytes).
MAX_SEED = 2**32 - 1
MAX_EPOCHS = 100_000
MAX_STEPS_PER_EPOCH = 100_000_000
MAX_LOG_IMAGES = 1_000
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 10_000
OPTIMIZER_DEFAULTS = {"type": "adamw", "learning_rate": 1.0e-3}


def parse_override(item: str) -> tuple[str, object]:
    """``"pretext.temperature=0.5"`` -> ``("pretext.temperature", 0.5)`` (the value parsed as YAML)."""
    if "=" not in item:
        raise KsslError(f"--set {item!r}: expected KEY.PATH=VALUE, e.g. --set pretext.temperature=0.5.")
    key, value = item.split("=", 1)
    key = key.strip()
    if not key:
        raise KsslError(f"--set {item!r}: the key path is empty; expected KEY.PATH=VALUE.")
    return key, parse_yaml(value, f"--set {key}") if value.strip() else ""


def apply_override(recipe: dict, key: str, value) -> None:
    """Set ``key`` (dotted; list items by index) in ``recipe``. The parent must exist."""
    parts = key.split(".")
    node = recipe
    for i, part in enumerate(parts[:-1]):
        here = ".".join(parts[: i + 1])
        if isinstance(node, dict):
            if part not in node:
                raise RecipeError(
                    here,
                    f"--set {key}: the recipe has no {here!r}.{did_you_mean(part, node)} Keys here: {', '.join(map(str, node)) or '(none)'}.",
                )
            node = node[part]
        elif isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise RecipeError(here, f"--set {key}: expected a list index below {len(node)}, got {part!r}.")
            node = node[int(part)]
        else:
            raise RecipeError(here, f"--set {key}: {here!r} is a value, not a section; it has no keys.")
    last = parts[-1]
    if not isinstance(node, (dict, list)):
        parent = ".".join(parts[:-1])
        raise RecipeError(parent, f"--set {key}: {parent!r} is a value, not a section; it has no keys.")
    if isinstance(node, dict):
        if node is recipe and last not in TOP_LEVEL:
            raise RecipeError(last, f"--set {key}: unknown top-level key.{did_you_mean(last, TOP_LEVEL)}")
        node[last] = value
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    else:
        raise RecipeError(key, f"--set {key}: the recipe has no such key path.")


def _check_component(recipe: dict, section: str) -> None:
    spec = recipe.get(section)
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise RecipeError(section, f"expected a mapping with a 'type' key, e.g. {{type: ...}}, got {spec!r}.")
    if "type" not in spec:
        raise RecipeError(f"{section}.type", "missing: name the registered component to use (see `kssl plugins`).")
    if not isinstance(spec["type"], str):
        raise RecipeError(f"{section}.type", f"expected a component name, got {spec['type']!r}.")


def _check_int(path, value, low, high=None):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise RecipeError(path, f"expected an integer >= {low}, got {value!r}.")
    if high is not None and value > high:
        raise RecipeError(path, f"expected an integer <= {high:,}, got {value:,}; {high:,} is the largest value kssl accepts here.")


def _check_text(path, value, limit, example):
    if not isinstance(value, str):
        raise RecipeError(path, f"expected a string such as {example!r}, got {value!r}.")
    if len(value) > limit:
        raise RecipeError(path, f"expected at most {limit:,} characters, got {len(value):,}; shorten it.")


def _check_tolerances(recipe) -> None:
    """``tolerances``: recorded metric name (from ``results``) or ``default`` -> a positive, finite absolute tolerance."""
    tolerances = recipe.get("tolerances")
    if tolerances is None:
        return
    if not isinstance(tolerances, dict):
        what = "a mapping from a metric name in `results` (or `default`) to an absolute tolerance"
        raise RecipeError("tolerances", f"expected {what}, e.g. {{knn_accuracy: 0.02, default: 0.05}}, got {tolerances!r}.")
    results = recipe.get("results") if isinstance(recipe.get("results"), dict) else {}
    for name, value in tolerances.items():
        if name != "default" and name not in results:
            recorded = ", ".join(map(str, results)) or "none recorded"
            hint = did_you_mean(name, ["default", *map(str, results)])
            raise RecipeError(f"tolerances.{name}", f"not a metric recorded in `results`.{hint} Name a key of `results` ({recorded}) or `default`.")
        number = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value <= 0:
            raise RecipeError(f"tolerances.{name}", f"expected a positive, finite absolute tolerance such as 0.02, got {value!r}.")


def _check_monitors(monitors) -> None:
    """``train.monitors``: a list of ``{type: collapse | online_probe, ...}`` with known keys (values: kssl.monitors)."""
    example = "[{type: collapse}, {type: online_probe, every: 10}]"
    if not isinstance(monitors, list):
        raise RecipeError("train.monitors", f"expected a list of monitors such as {example}, got {monitors!r}.")
    kinds = ", ".join(MONITOR_KEYS)
    for i, spec in enumerate(monitors):
        path = f"train.monitors.{i}"
        if not isinstance(spec, dict):
            raise RecipeError(path, f"expected a mapping with a 'type' key, e.g. {{type: collapse, every: 1}}, got {spec!r}.")
        kind = spec.get("type")
        if kind is None:
            raise RecipeError(f"{path}.type", f"missing: name the monitor, one of {kinds}.")
        if not isinstance(kind, str) or kind not in MONITOR_KEYS:
            raise RecipeError(f"{path}.type", f"unknown monitor {kind!r}; expected one of {kinds}.{did_you_mean(kind, MONITOR_KEYS)}")
        for key in spec:
            if key != "type" and key not in MONITOR_KEYS[kind]:
                allowed = ", ".join(MONITOR_KEYS[kind])
                raise RecipeError(f"{path}.{key}", f"unknown key of the {kind} monitor.{did_you_mean(key, MONITOR_KEYS[kind])} Allowed: type, {allowed}.")


def validate_structure(recipe) -> dict:
    """Top-level shape checks; fills defaults for ``train`` and ``optimizer``; returns the recipe."""
    if not isinstance(recipe, dict):
        raise RecipeError("", f"a recipe must be a YAML mapping of sections (name, data, encoder, ...), got {type(recipe).__name__}.")
    for key in recipe:
        if key not in TOP_LEVEL:
            raise RecipeError(str(key), f"unknown top-level key.{did_you_mean(key, TOP_LEVEL)} Allowed keys: {', '.join(TOP_LEVEL)}.")
    check_size(recipe)
    for key in REQUIRED:
        if key not in recipe:
            raise RecipeError(key, f"missing: every recipe needs {', '.join(REQUIRED)} sections.")
    for section in COMPONENT_SECTIONS:
        _check_component(recipe, section)
    recipe.setdefault("name", "run")
    if not isinstance(recipe["name"], str) or not recipe["name"].strip() or "/" in recipe["name"]:
        raise RecipeError("name", f"expected a short name without '/', got {recipe['name']!r}.")
    _check_text("name", recipe["name"], MAX_NAME_LENGTH, "simclr-digits")
    if recipe.get("description") is not None:
        _check_text("description", recipe["description"], MAX_DESCRIPTION_LENGTH, "SimCLR on the digits")
    backend = recipe.get("backend")
    if backend is not None and backend not in BACKENDS:
        raise RecipeError("backend", f"expected one of {', '.join(BACKENDS)}, got {backend!r}.{did_you_mean(backend, BACKENDS)}")
    recipe.setdefault("seed", 0)
    _check_int("seed", recipe["seed"], 0, MAX_SEED)

    optimizer = recipe.setdefault("optimizer", {})
    if not isinstance(optimizer, dict):
        raise RecipeError("optimizer", f"expected a mapping such as {{type: adamw, learning_rate: 0.001}}, got {optimizer!r}.")
    for key, default in OPTIMIZER_DEFAULTS.items():
        optimizer.setdefault(key, default)

    train = recipe.setdefault("train", {})
    if not isinstance(train, dict):
        raise RecipeError("train", f"expected a mapping such as {{epochs: 10}}, got {train!r}.")
    for key in train:
        if key not in TRAIN_DEFAULTS:
            raise RecipeError(f"train.{key}", f"unknown key.{did_you_mean(key, TRAIN_DEFAULTS)} Allowed: {', '.join(TRAIN_DEFAULTS)}.")
    for key, default in TRAIN_DEFAULTS.items():
        train.setdefault(key, copy.deepcopy(default))  # a copy: no two recipes share a default list
    _check_int("train.epochs", train["epochs"], 1, MAX_EPOCHS)
    if train["steps_per_epoch"] is not None:
        _check_int("train.steps_per_epoch", train["steps_per_epoch"], 1, MAX_STEPS_PER_EPOCH)
    if train["precision"] not in PRECISIONS:
        raise RecipeError("train.precision", f"expected one of {', '.join(PRECISIONS)}, got {train['precision']!r}.")
    if train["jit_compile"] not in (True, False, "auto"):
        raise RecipeError("train.jit_compile", f"expected true, false or auto, got {train['jit_compile']!r}.")
    if train["verbose"] not in ("auto", 0, 1, 2):
        raise RecipeError("train.verbose", f"expected auto, 0, 1 or 2, got {train['verbose']!r}.")
    _check_int("train.log_images", train["log_images"], 0, MAX_LOG_IMAGES)
    _check_monitors(train["monitors"])

    recipe["distribution"] = check_distribution(recipe.get("distribution"))

    evals = recipe.setdefault("eval", [])
    if not isinstance(evals, list):
        raise RecipeError("eval", f"expected a list of evaluators, e.g. [{{type: knn}}], got {evals!r}.")
    for i, spec in enumerate(evals):
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            raise RecipeError(f"eval.{i}", f"expected a mapping with a 'type' key, e.g. {{type: knn, k: 20}}, got {spec!r}.")
    _check_tolerances(recipe)
    return recipe


def _check_arguments(source, overrides) -> None:
    """The Python-API arguments of :func:`load_recipe` (and ``kssl.build``): their types, before anything is read."""
    if not isinstance(source, (str, os.PathLike, dict)):
        raise KsslError(
            f"source: expected a recipe path, a zoo recipe name or a recipe mapping (dict), got {type(source).__name__} {source!r:.100}. "
            "E.g. kssl.build('zoo/simclr.yaml') or kssl.build('simclr')."
        )
    example = "overrides=['train.epochs=5', 'pretext.temperature=0.2']"
    shown = f"{overrides!r:.100}"
    if isinstance(overrides, (str, bytes)):
        raise KsslError(f"overrides: expected a list of 'KEY.PATH=VALUE' strings, got the single string {shown}. Wrap it in a list: overrides=[{shown}].")
    if not isinstance(overrides, (list, tuple)):
        what = "a list of 'KEY.PATH=VALUE' strings or (key, value) pairs"
        raise KsslError(f"overrides: expected {what}, got {type(overrides).__name__} {shown}; e.g. {example}.")
    for i, item in enumerate(overrides):
        pair = isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)
        if not isinstance(item, str) and not pair:
            raise KsslError(f"overrides[{i}]: expected a 'KEY.PATH=VALUE' string or a (key, value) pair, got {item!r:.100}; e.g. {example}.")


def load_recipe(source, overrides=()) -> dict:
    """Load, override and structurally validate a recipe.

    Args:
        source: a path, a zoo recipe name, or an already-parsed mapping.
        overrides: ``"key.path=value"`` strings or ``(key, value)`` pairs, applied in order.

    Returns the operative recipe as a plain dict (a deep copy; the input is not changed).
    A ``source`` or ``overrides`` of the wrong type is a :class:`KsslError` that names the argument.
    """
    _check_arguments(source, overrides)
    if isinstance(source, dict):
        recipe = copy.deepcopy(source)
    else:
        path = resolve_source(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise KsslError(f"recipe {str(path)!r}: cannot be read ({exc}).") from None
        recipe = parse_yaml(text, str(path))
        if recipe is None:
            raise RecipeError("", f"{path}: the recipe is empty. A recipe is a YAML mapping with data, encoder and pretext sections.")
        if not isinstance(recipe, dict):
            raise RecipeError("", f"{path}: a recipe must be a YAML mapping of sections (name, data, encoder, ...), got a {type(recipe).__name__}.")
    for section, empty in (("train", {}), ("optimizer", {}), ("distribution", {}), ("eval", [])):
        recipe.setdefault(section, empty)  # sections with defaults exist before --set reaches into them
    for item in overrides:
        key, value = parse_override(item) if isinstance(item, str) else item
        apply_override(recipe, key, value)
    return validate_structure(recipe)


def dump_recipe(recipe: dict) -> str:
    return yaml.safe_dump(recipe, sort_keys=False, default_flow_style=None)
