"""A search's settings: checked in full before anything is written, kept in ``<tune dir>/tune.json`` for ``--resume``."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kssl.errors import KsslError, RecipeError
from kssl.recipe import load_recipe
from kssl.tune.space import Dimension, check_keys, parse_space

SETTINGS_FILE = "tune.json"
ALGORITHMS = ("random", "hyperband")
DROPPED = ("results", "tolerances")  # recorded for the base recipe, not measured for any trial: left out of the trials' recipes
MAX_TRIALS = 10_000


@dataclass
class TuneSettings:
    """What ``kssl tune`` searches and how; ``recipe`` is the operative base recipe (after --set), ``space`` the --space items."""

    recipe: dict
    space: list
    objective: str
    algorithm: str = "random"
    trials: int = 10
    epochs: int = 1
    seed: int | None = None
    max_failures: int = 3
    hyperband_factor: int = 3
    backend: str | None = None
    version: int = field(default=1)

    @property
    def dims(self) -> list[Dimension]:
        return parse_space(self.space)

    def save(self, tune_dir: Path) -> None:
        from kssl.run_dir import atomic_write_json

        atomic_write_json(Path(tune_dir) / SETTINGS_FILE, asdict(self))


def load_settings(tune_dir) -> TuneSettings:
    """The settings of an existing tune directory (``--resume``); a folder that is not one is bad input."""
    path = Path(tune_dir) / SETTINGS_FILE
    if not Path(tune_dir).is_dir():
        raise KsslError(f"--resume {str(tune_dir)!r}: no such folder. Give a tune directory that `kssl tune` printed.")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return TuneSettings(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise KsslError(
            f"--resume {str(tune_dir)!r}: {SETTINGS_FILE} is missing or unreadable ({exc}); this is not a tune directory written by `kssl tune`."
        ) from None


def check_search(recipe_source, overrides, space, algorithm: str, trials: int, epochs: int | None, max_failures: int) -> tuple[dict, list[Dimension]]:
    """The operative base recipe (its train.epochs set to ``epochs``, when given) and the parsed space, checked without Keras.

    Checks the options, the space's keys and specs, and every bound of the space.
    Each LOW/HIGH (or choice) is applied to the recipe with the search's epochs and the result
    validated as a recipe, so a value the recipe's structure refuses fails here, not mid-search.
    A value only a component can judge (e.g. a crop scale above its partner) fails its trial instead.
    """
    for name, value, low in (("--trials", trials, 1), ("--epochs", epochs, 1), ("--max-failures", max_failures, 1)):
        if value is None and name == "--epochs":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise KsslError(f"{name}: expected an integer >= {low}, got {value!r}. A search needs at least one trial of at least one epoch.")
    if trials > MAX_TRIALS:
        raise KsslError(f"--trials: expected at most {MAX_TRIALS:,}, got {trials:,}.")
    if algorithm not in ALGORITHMS:
        raise KsslError(f"--algorithm: expected one of {', '.join(ALGORITHMS)}, got {algorithm!r}.")
    recipe = load_recipe(recipe_source, overrides)
    for key in DROPPED:
        recipe.pop(key, None)
    epochs = recipe["train"]["epochs"] if epochs is None else epochs
    if algorithm == "hyperband" and epochs < 2:
        raise KsslError("--algorithm hyperband: --epochs is the largest budget a trial gets and must be at least 2 (Hyperband starts trials on fewer epochs).")
    dims = parse_space(space)
    check_keys(dims, recipe)
    for dim in dims:
        for value in dim.extremes():
            try:
                load_recipe(recipe, [(dim.key, value), ("train.epochs", epochs)])
            except RecipeError as exc:
                raise KsslError(f"--space {dim.key}={dim.spec}: the value {value!r} makes the recipe invalid: {exc}") from None
    recipe = load_recipe(recipe, [("train.epochs", epochs)])
    return recipe, dims


def check_data(recipe: dict, objective: str):
    """The recipe's data and evaluators, built (after the backend is chosen), and the objective checked against the data."""
    from kssl.builder import build_inputs
    from kssl.tune.objectives import check_objective

    data, _ = build_inputs(recipe)
    check_objective(objective, data, recipe["data"]["type"])
    return data


def distributed_role() -> str | None:
    """``"chief"`` or ``"worker"`` under KerasTuner's chief/worker mode (KERASTUNER_* variables), else None."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [v for v in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID") if not os.environ.get(v)]
    if missing:
        raise KsslError(f"KERASTUNER_ORACLE_IP is set but {', '.join(missing)} is not: set all three (see docs/tune.md, 'Several processes or machines').")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def tune_dir_for(output_dir, name: str | None, recipe_name: str, role: str | None) -> Path:
    """The tune directory: ``<output_dir>/<name>``, or a new ``<recipe name>-tune-<UTC timestamp>`` when no --name is given.

    Alone, an existing ``--name`` folder is refused (continue it with --resume); under chief/worker
    every process is given the same --name and shares the folder.
    """
    from kssl.run_dir import check_writable_dir, new_run_dir

    check_writable_dir(output_dir, "--output-dir")
    if name is None:
        if role is not None:
            raise KsslError("--name: under KerasTuner's chief/worker mode give every process the same --name, so they share one tune directory.")
        return new_run_dir(output_dir, f"{recipe_name}-tune")
    if not name or "/" in name or name in (".", ".."):
        raise KsslError(f"--name: expected a folder name without '/', got {name!r}.")
    path = Path(output_dir) / name
    if role is None and path.exists():
        raise KsslError(f"--name {name!r}: {path} already exists. Continue that search with `kssl tune --resume {path}`, or choose another --name.")
    path.mkdir(parents=True, exist_ok=True)
    return path
