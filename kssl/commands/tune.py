"""``kssl tune``: search recipe keys with KerasTuner (random search or Hyperband); each trial is a kssl training run."""

from __future__ import annotations

from pathlib import Path

import click

from kssl.backend_choice import check_names, select_backend
from kssl.errors import KsslError, TrainingError
from kssl.recipe import BACKENDS
from kssl.tune.objectives import DEFAULT, OBJECTIVES
from kssl.tune.settings import ALGORITHMS, TuneSettings, check_data, check_search, distributed_role, load_settings, tune_dir_for
from kssl.tune.space import GRAMMAR


@click.command()
@click.argument("recipe", required=False)
@click.option("--space", "space", multiple=True, metavar="KEY=SPEC", help=f"A recipe key to search and its values: SPEC is {GRAMMAR}. Repeatable.")
@click.option("--trials", type=int, default=None, help="How many trials to run (default 10; with --resume: raise it to run more).")
@click.option("--epochs", type=int, default=None, help="Epochs of each trial (Hyperband: the largest budget). Default: the recipe's train.epochs.")
@click.option("--algorithm", default="random", show_default=True, help=f"The KerasTuner oracle: {', '.join(ALGORITHMS)}.")
@click.option("--objective", default=DEFAULT, show_default=True, help=f"What a trial is scored on: {', '.join(OBJECTIVES)} (see docs/tune.md).")
@click.option("--output-dir", default="runs", show_default=True, type=click.Path(file_okay=False), help="Where the tune directory is created.")
@click.option("--name", default=None, help="The tune directory's name (default <recipe name>-tune-<UTC time>); the same for a chief and its workers.")
@click.option("--resume", "resume_dir", type=click.Path(), default=None, help="Continue an interrupted search (its finished trials are kept).")
@click.option("--seed", type=int, default=0, show_default=True, help="The oracle's sampling seed (the recipe's seed stays the trials' seed).")
@click.option("--max-failures", type=int, default=None, help="Stop after this many failed trials in a row (default 3).")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a recipe key of every trial (value parsed as YAML). Repeatable.")
@click.option("--backend", type=str, default=None, help=f"Keras backend: {', '.join(BACKENDS)}.")
def tune(recipe, space, trials, epochs, algorithm, objective, output_dir, name, resume_dir, seed, max_failures, overrides, backend):
    """Search RECIPE's keys (--space KEY=SPEC) with KerasTuner; print the trials, write the best recipe, print the tune directory."""
    role = distributed_role()
    if seed < 0:
        raise KsslError(f"--seed: expected an integer >= 0, got {seed}.")
    if resume_dir:
        if recipe or space or overrides or epochs is not None:
            raise KsslError("--resume continues a search with its own settings (tune.json): do not pass RECIPE, --space, --set or --epochs with it.")
        settings = load_settings(resume_dir)
        settings.trials = settings.trials if trials is None else trials
        settings.max_failures = settings.max_failures if max_failures is None else max_failures
        check_search(settings.recipe, (), settings.space, settings.algorithm, settings.trials, settings.epochs, settings.max_failures)
        select_backend(backend or settings.backend, settings.recipe)
        tune_dir = Path(resume_dir)
        if role != "worker":
            settings.save(tune_dir)  # a raised --trials or --max-failures holds for the next --resume too
    else:
        if not recipe:
            raise KsslError("missing RECIPE: give a recipe path or a zoo name, e.g. `kssl tune simclr --space pretext.temperature=float:0.05:0.5`.")
        trials = 10 if trials is None else trials
        max_failures = 3 if max_failures is None else max_failures
        loaded, _ = check_search(recipe, overrides, space, algorithm, trials, epochs, max_failures)
        check_names(backend, loaded)
        chosen = select_backend(backend, loaded)
        check_data(loaded, objective)
        settings = TuneSettings(
            recipe=loaded,
            space=list(space),
            objective=objective,
            algorithm=algorithm,
            trials=trials,
            epochs=loaded["train"]["epochs"],
            seed=seed,
            max_failures=max_failures,
            backend=chosen,
        )
        tune_dir = tune_dir_for(output_dir, name, loaded["name"], role)
        if role != "worker":
            settings.save(tune_dir)
    from kssl.tune.report import write_report
    from kssl.tune.tuner import run_search

    oracle, stopped = run_search(settings, tune_dir)
    if role == "worker":
        click.echo(f"worker {role}: no trials left; the chief writes the report in {tune_dir}")
        return
    table, best = write_report(oracle, settings, tune_dir)
    click.echo(table)
    if best is not None:
        click.echo(f"best: trial {best['trial']}, {settings.objective} = {best[settings.objective]:.4f}; recipe: {tune_dir / 'best_recipe.yaml'}")
    click.echo(str(tune_dir))
    if stopped:
        raise TrainingError(stopped)
