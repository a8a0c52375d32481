"""What ``kssl tune`` writes from its oracle's trials: a printed table, trials.csv and trials.json, scores.png and best_recipe.yaml.

Reads KerasTuner's trials only (their values, status and reported metrics), so a chief whose
workers trained on other machines writes the same report.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from kssl.recipe import dump_recipe, load_recipe
from kssl.run_dir import atomic_write_json, atomic_write_text
from kssl.tune.objectives import OBJECTIVES
from kssl.tune.settings import TuneSettings
from kssl.tune.space import overrides

TABLE_CSV = "trials.csv"
TABLE_JSON = "trials.json"
PLOT = "scores.png"
BEST_RECIPE = "best_recipe.yaml"
FAILED_PREFIX = "keras_tuner.src.errors.FailedTrialError: "  # how KerasTuner's traceback names a trial's FailedTrialError


def _metric(trial, name: str):
    if not trial.metrics.exists(name):
        return None
    value = trial.metrics.get_last_value(name)
    return None if value is None or not math.isfinite(value) else float(value)


def trial_rows(oracle, settings: TuneSettings) -> list[dict]:
    """One row per trial, in trial order: id, status, the searched values, epochs, objective, its random-init value, test metrics, seconds."""
    rows = []
    for trial_id in sorted(oracle.trials):
        trial = oracle.trials[trial_id]
        values = trial.hyperparameters.values
        row = {"trial": trial_id, "status": str(trial.status)}
        row.update({dim.key: values.get(dim.key) for dim in settings.dims})
        row["epochs"] = int(values.get("tuner/epochs", settings.epochs))
        row[settings.objective] = _metric(trial, settings.objective)
        row[f"random_init.{settings.objective}"] = _metric(trial, f"random_init.{settings.objective}")
        for name in sorted(trial.metrics.metrics):
            if name.startswith("test."):
                row[name] = _metric(trial, name)
        row["seconds"] = _metric(trial, "trial_seconds")
        if trial.message and row["status"] != "COMPLETED":
            row["message"] = trial.message.strip().splitlines()[-1].removeprefix(FAILED_PREFIX)[:500]
        rows.append(row)
    return rows


def best_row(rows: list[dict], settings: TuneSettings, oracle) -> dict | None:
    best = [t for t in oracle.get_best_trials(1) if str(t.status) == "COMPLETED"]  # with none completed KerasTuner returns a failed one
    if not best:
        return None
    return next(r for r in rows if r["trial"] == best[0].trial_id)


def best_recipe(settings: TuneSettings, row: dict) -> dict:
    """The base recipe with the best trial's values and epochs: what ``kssl train`` runs to reproduce it."""
    values = {dim.key: row[dim.key] for dim in settings.dims}
    return load_recipe(settings.recipe, [*overrides(values, settings.dims), ("train.epochs", row["epochs"])])


def format_table(rows: list[dict], settings: TuneSettings) -> str:
    """The trials as a fixed-width text table (searched keys, epochs, objective, random-init objective, seconds, status)."""
    objective = settings.objective
    columns = ["trial", *[d.key for d in settings.dims], "epochs", objective, f"random_init.{objective}", "seconds", "status"]

    def cell(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def plot_scores(rows: list[dict], settings: TuneSettings, path: Path, best: dict | None) -> None:
    """scores.png: the objective against each searched key (one panel per key), the best trial starred, random init dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = settings.dims
    done = [r for r in rows if r.get(settings.objective) is not None]
    failed = len(rows) - len(done)
    fig, axes = plt.subplots(1, len(dims), figsize=(4.2 * len(dims), 3.6), squeeze=False)
    baseline = [r[f"random_init.{settings.objective}"] for r in done if r.get(f"random_init.{settings.objective}") is not None]
    for ax, dim in zip(axes[0], dims):
        ax.set_xlabel(dim.key)
        ax.set_ylabel(settings.objective)
        if not done:
            ax.text(0.5, 0.5, "no trial completed", ha="center", va="center", transform=ax.transAxes)
            continue
        xs = [r[dim.key] if dim.kind != "choice" else str(r[dim.key]) for r in done]
        ys = [r[settings.objective] for r in done]
        if dim.kind == "choice":
            ax.set_xticks(range(len(dim.choices)), [str(c) for c in dim.choices])
            xs = [[str(c) for c in dim.choices].index(x) for x in xs]
        ax.scatter(xs, ys, c=[r["epochs"] for r in done], cmap="viridis", s=36, label="trial")
        if best is not None:
            bx = [str(c) for c in dim.choices].index(str(best[dim.key])) if dim.kind == "choice" else best[dim.key]
            ax.scatter([bx], [best[settings.objective]], marker="*", s=220, c="red", label="best")
        if baseline:
            ax.axhline(sum(baseline) / len(baseline), ls="--", c="gray", lw=1, label="random init")
        if dim.log:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
        if ax is axes[0][0]:
            ax.legend(fontsize=8)
    title = f"kssl tune: {settings.recipe['name']}, {settings.algorithm} search, {len(done)} trial(s)"
    fig.suptitle(title + (f", {failed} failed" if failed else ""), fontsize=10)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.replace(path)


def write_report(oracle, settings: TuneSettings, tune_dir: Path) -> tuple[str, dict | None]:
    """Write trials.csv, trials.json, scores.png and best_recipe.yaml into ``tune_dir``; returns the table and the best row."""
    tune_dir = Path(tune_dir)
    rows = trial_rows(oracle, settings)
    best = best_row(rows, settings, oracle)
    columns = list(dict.fromkeys(k for r in rows for k in r))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, restval="")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(tune_dir / TABLE_CSV, text.getvalue())
    summary = {
        "recipe": settings.recipe["name"],
        "objective": settings.objective,
        "algorithm": settings.algorithm,
        "space": settings.space,
        "trials": rows,
        "best": best,
    }
    atomic_write_json(tune_dir / TABLE_JSON, summary)
    if rows:
        plot_scores(rows, settings, tune_dir / PLOT, best)
    if best is not None:
        recipe = best_recipe(settings, best)
        searched = ", ".join(f"{d.key}={best[d.key]:.4g}" if isinstance(best[d.key], float) else f"{d.key}={best[d.key]}" for d in settings.dims)
        baseline = best.get(f"random_init.{settings.objective}")
        header = (
            f"# The best of {len(rows)} trial(s) of `kssl tune` in {tune_dir}: trial {best['trial']}, {searched}, {best['epochs']} epoch(s).\n"
            f"# {settings.objective} = {best[settings.objective]:.4f}"
            + (f" (random init {baseline:.4f})" if baseline is not None else "")
            + f": {OBJECTIVES[settings.objective].what} (see docs/tune.md).\n# Train it with `kssl train THIS_FILE`.\n"
        )
        atomic_write_text(tune_dir / BEST_RECIPE, header + dump_recipe(recipe))
    return format_table(rows, settings), best
