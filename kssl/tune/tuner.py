"""The KerasTuner ``Tuner`` whose trials are kssl runs: the trial's values become recipe overrides, ``kssl.training`` trains.

Imports Keras and KerasTuner: imported by ``kssl tune`` after the backend is chosen.

Each trial trains in ``<tune dir>/trials/<trial id>/<recipe name>-<timestamp>/``, an ordinary
run directory (``kssl eval``, ``kssl finetune`` and ``kssl train --resume`` work on it). A trial
that an interruption cut short is run again by KerasTuner on resume: its run directory is
resumed from its newest checkpoint (or scored, when training had finished). A Hyperband trial
that continues an earlier one (``tuner/trial_id``) starts from a copy of that trial's finished
run, resumed up to its larger budget (``kssl.training.resume`` stretches a cosine schedule);
when that run is not on this machine (another worker's), it trains from scratch.
A trial whose recipe is refused or whose training fails (NaN loss) raises KerasTuner's
``FailedTrialError``: it is recorded as FAILED and the search goes on, up to
``max_failures`` failures in a row.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

import keras
import keras_tuner

from kssl.errors import KsslError, TrainingError
from kssl.progress import say
from kssl.recipe import dump_recipe, load_recipe
from kssl.run_dir import atomic_write_json
from kssl.tune.objectives import OBJECTIVES, score_run
from kssl.tune.settings import TuneSettings, distributed_role
from kssl.tune.space import overrides

PROJECT = "keras_tuner"  # KerasTuner's project folder inside the tune directory (oracle.json, trial_*/trial.json)
TRIALS = "trials"  # the trials' run directories: trials/<trial id>/<run dir>
TRIAL_FILE = "trial.json"  # trials/<trial id>/trial.json: the trial's values, status, score and run directory


def make_oracle(settings: TuneSettings):
    """KerasTuner's RandomSearch or Hyperband oracle over the settings' space (``seed``: the sampling seed)."""
    hp = keras_tuner.HyperParameters()
    for dim in settings.dims:
        dim.declare(hp)
    objective = keras_tuner.Objective(settings.objective, direction=OBJECTIVES[settings.objective].direction)
    # KerasTuner takes a seed of 0 (or None) as "draw one at random": --seed S is its seed S + 1, so every S repeats its search.
    seed = None if settings.seed is None else settings.seed + 1
    common = dict(objective=objective, hyperparameters=hp, seed=seed, max_consecutive_failed_trials=settings.max_failures)
    if settings.algorithm == "random":
        return keras_tuner.oracles.RandomSearchOracle(max_trials=settings.trials, **common)
    oracle = keras_tuner.oracles.HyperbandOracle(max_epochs=settings.epochs, factor=settings.hyperband_factor, **common)
    oracle.max_trials = settings.trials  # Hyperband's own schedule, stopped after --trials trials
    return oracle


def finished_run(folder: Path) -> Path | None:
    """The run directory under ``folder`` that has a metrics.json (a finished run), or None."""
    runs = sorted(p.parent for p in Path(folder).glob("*/metrics.json"))
    return runs[-1] if runs else None


class RecipeTuner(keras_tuner.Tuner):
    """Runs each trial as a kssl training run of ``settings.recipe`` with the trial's values as overrides."""

    def __init__(self, settings: TuneSettings, tune_dir, **kwargs):
        self.settings = settings
        self.tune_dir = Path(tune_dir)
        self.dims = settings.dims
        self._data = {}  # dataset section (as YAML) -> DataSplits: each dataset is built once for scoring
        super().__init__(oracle=make_oracle(settings), directory=str(self.tune_dir), project_name=PROJECT, overwrite=False, **kwargs)

    def run_trial(self, trial, *args, **kwargs) -> dict:
        values = dict(trial.hyperparameters.values)
        epochs = int(values.get("tuner/epochs", self.settings.epochs))
        folder = self.tune_dir / TRIALS / trial.trial_id
        folder.mkdir(parents=True, exist_ok=True)
        record = {"trial_id": trial.trial_id, "values": dict(overrides(values, self.dims)), "epochs": epochs}
        started = time.time()
        keras.backend.clear_session()  # one trial's graphs and layers do not pile up in the next
        try:
            trial_overrides = [*overrides(values, self.dims), ("train.epochs", epochs)]
            run_dir, record["continued_from"] = self._train(folder, trial_overrides, values.get("tuner/trial_id"), epochs)
            recipe = load_recipe(run_dir / "recipe.yaml")
            scores = score_run(self.settings.objective, run_dir, self._dataset(recipe), recipe["seed"])
        except (KsslError, TrainingError) as exc:
            record.update(status="FAILED", message=str(exc), seconds=round(time.time() - started, 2))
            atomic_write_json(folder / TRIAL_FILE, record)
            say(f"trial {trial.trial_id} failed: {exc}")
            raise keras_tuner.errors.FailedTrialError(str(exc)) from None
        score = scores[self.settings.objective]
        if not math.isfinite(score):
            record.update(status="FAILED", message=f"the objective {self.settings.objective} is {score}", run_dir=str(run_dir))
            atomic_write_json(folder / TRIAL_FILE, record)
            raise keras_tuner.errors.FailedTrialError(f"trial {trial.trial_id}: the objective {self.settings.objective} is {score} (non-finite features).")
        summary = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
        evaluated = {f"test.{k}": float(v) for k, v in (summary.get("metrics") or {}).items() if isinstance(v, (int, float)) and math.isfinite(v)}
        seconds = round(time.time() - started, 2)
        record.update(status="COMPLETED", scores=scores, test_metrics=evaluated, seconds=seconds, run_dir=str(run_dir))
        atomic_write_json(folder / TRIAL_FILE, record)
        say(f"trial {trial.trial_id}: {self.settings.objective} = {score:.4f} ({seconds:.0f} s)")
        return {**scores, **evaluated, "epochs": float(epochs), "trial_seconds": seconds}

    def _train(self, folder: Path, trial_overrides, parent: str | None, epochs: int) -> tuple[Path, str | None]:
        """The trial's finished run directory (trained here, resumed after an interruption, or continued from its Hyperband
        parent) and the id of the trial it continued, or None."""
        from kssl.training import resume, train

        done = finished_run(folder)
        if done is not None and _epochs_done(done) >= epochs:
            say(f"{done} already finished (the trial was interrupted before its score was recorded): scoring it")
            return done, None
        started = [p for p in folder.iterdir() if p.is_dir() and (p / "recipe.yaml").is_file()]
        continued = None
        if not started and parent is not None:
            source = finished_run(self.tune_dir / TRIALS / parent)
            if source is not None:
                say(f"continuing trial {parent}'s run ({_epochs_done(source)} epochs) up to {epochs} epochs")
                shutil.copytree(source, folder / source.name)
                started, continued = [folder / source.name], parent
        if started:
            run_dir = sorted(started)[-1]
            if (run_dir / "checkpoints").is_dir() and any((run_dir / "checkpoints").glob("*.keras")):
                return resume(run_dir, epochs=epochs), continued
            shutil.rmtree(run_dir)  # cut short before its first checkpoint: train again
        return train(self.settings.recipe, trial_overrides, output_dir=folder), None

    def _dataset(self, recipe: dict):
        key = dump_recipe(recipe["data"])
        if key not in self._data:
            from kssl.factories import make_component
            from kssl.plugins import get_registry

            self._data[key] = make_component(get_registry(), "dataset", recipe["data"], "data")
        return self._data[key]

    # KerasTuner asks a Tuner to save and load its trials' models; a kssl trial's model is in its run directory.
    def save_model(self, trial_id, model, step=0):
        return None

    def load_model(self, trial):
        from kssl.saving import load_model

        run_dir = finished_run(self.tune_dir / TRIALS / trial.trial_id)
        if run_dir is None:
            raise KsslError(f"trial {trial.trial_id} has no finished run directory under {self.tune_dir / TRIALS / trial.trial_id}.")
        return load_model(run_dir / "model.keras")


def _epochs_done(run_dir: Path) -> int:
    try:
        return int(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def run_search(settings: TuneSettings, tune_dir: Path) -> tuple[object, str | None]:
    """Run (or continue) the search in ``tune_dir``; returns the tuner's oracle (whose trials the report reads) and
    why the search stopped early (too many failed trials in a row), or None.

    Under chief/worker mode the chief serves the oracle until every trial is done and the
    workers train; alone, this process does both.
    """
    from keras_tuner.src import config as keras_tuner_config

    keras_tuner_config.DEBUG = False  # a failed trial is one line (kssl's), not KerasTuner's traceback; trial.json keeps it
    tuner = RecipeTuner(settings, tune_dir)
    remaining = tuner.remaining_trials if distributed_role() != "worker" else None  # a worker's oracle is the chief's, over gRPC
    if remaining is not None:
        say(f"{settings.algorithm} search: {remaining} of {settings.trials} trial(s) to run in {tune_dir}")
    try:
        tuner.search()
    except RuntimeError as exc:
        if "consecutive failures" not in str(exc):
            raise
        last = str(exc).strip().splitlines()[-1]
        return tuner.oracle, (
            f"the search stopped: {settings.max_failures} trials in a row failed (--max-failures). The last one: {last}. "
            f"Narrow the --space and start again, or continue with `kssl tune --resume {tune_dir} --max-failures N` with N above "
            f"{settings.max_failures} (finished trials are kept; KerasTuner counts the streak so far again)."
        )
    return tuner.oracle, None
