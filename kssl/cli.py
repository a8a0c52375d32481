"""The ``kssl`` command line. Each command is a thin wrapper over builder/training.

Exit codes: 0 success, 2 bad input (usage, recipe, data), 1 anything unexpected.
"""

from __future__ import annotations

import json
import sys

import click

from kssl.backend_choice import check_names, select_backend
from kssl.errors import KsslError, TrainingError
from kssl.finished_run import check_run_dir
from kssl.recipe import BACKENDS, load_recipe
from kssl.registry import KINDS


def _fail(message: str, code: int = 2):
    click.echo(f"Error: {message}", err=True)
    sys.exit(code)


def _run_recipe(run_dir, needs: tuple[str, ...] = ("model.keras",), then: str = "", option: str = "") -> dict:
    """A run directory's recipe.yaml, loaded, once the folder is checked: a wrong RUN_DIR is reported before Keras loads."""
    return load_recipe(check_run_dir(run_dir, needs=needs, then=then, option=option) / "recipe.yaml")


class _Group(click.Group):
    """Turns kssl's errors into one paragraph and the error's exit code (2 for bad input), everywhere."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KsslError as exc:
            _fail(str(exc), exc.exit_code)  # 2: bad input; 1: a plugin's own bug (PluginError)
        except TrainingError as exc:
            _fail(str(exc), 1)


@click.group(cls=_Group)
@click.version_option(package_name="kssl")
def main():
    """kssl: self-supervised learning with Keras 3, from declarative recipes."""


_set = click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a recipe key (value parsed as YAML). Repeatable.")
_backend = click.option("--backend", type=str, default=None, help=f"Keras backend: {', '.join(BACKENDS)}.")


@main.command()
@click.argument("recipe", required=False)
@_set
@click.option("--output-dir", default="runs", show_default=True, type=click.Path(file_okay=False), help="Where run directories are created.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override train.epochs.")
@_backend
@click.option("--resume", "resume_dir", type=click.Path(), default=None, help="Continue an interrupted run directory.")
def train(recipe, overrides, output_dir, epochs, backend, resume_dir):
    """Train RECIPE (a path or a zoo name), evaluate, and print the run directory."""
    if resume_dir:
        if recipe or overrides:
            raise KsslError("--resume continues a run with its own recipe.yaml: do not pass RECIPE or --set with it.")
        loaded = _run_recipe(resume_dir, needs=(), option="--resume")
        select_backend(backend, loaded)
        from kssl.training import resume

        run_dir = resume(resume_dir, epochs=epochs, recipe=loaded)
    else:
        if not recipe:
            raise KsslError("missing RECIPE: give a recipe path or a zoo name, e.g. `kssl train simclr` (see `kssl zoo`).")
        loaded = load_recipe(recipe, overrides)  # read once; a bad recipe fails here, before Keras is imported
        check_names(backend, loaded)
        select_backend(backend, loaded)
        from kssl.training import train as train_recipe

        run_dir = train_recipe(loaded, output_dir=output_dir, epochs=epochs)
    click.echo(str(run_dir))


@main.command()
@click.argument("recipe")
@_set
@_backend
def validate(recipe, overrides, backend):
    """Check RECIPE (keys, components, arguments, data) without training."""
    loaded = load_recipe(recipe, overrides)
    check_names(backend, loaded)
    select_backend(backend, loaded)
    from kssl.builder import build_all

    built = build_all(loaded)
    params = built.model.count_params()
    click.echo(
        f"ok: {built.recipe['name']}: {built.recipe['pretext']['type']} on {built.recipe['data']['type']} "
        f"({len(built.data.x_train)} training samples, input {built.data.input_shape}), {params:,} parameters"
    )


@main.command(name="eval")
@click.argument("run_dir", type=click.Path())
@_backend
def eval_(run_dir, backend):
    """Re-score RUN_DIR's saved model with its recipe's evaluators."""
    loaded = _run_recipe(run_dir)
    select_backend(backend, loaded)
    from kssl.evaluation import evaluate_run

    scores = evaluate_run(run_dir, recipe=loaded)
    click.echo(json.dumps(scores, indent=2))


@main.command()
@click.argument("run_dir", type=click.Path())
@click.argument("input_path", metavar="INPUT", type=click.Path())
@click.option("--output", "-o", required=True, type=click.Path(), help="The .npy file for the features (N, D); the ids go beside it in FILE.ids.txt.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Inputs per batch (default: the run's data.batch_size).")
@click.option("--overwrite", is_flag=True, help="Replace an existing output and its .ids.txt.")
@_backend
def embed(run_dir, input_path, output, batch_size, overwrite, backend):
    """Features of INPUT (an image folder, an .npz/.npy file, or .txt text) from RUN_DIR's trained encoder, written as .npy with ids."""
    select_backend(backend, _run_recipe(run_dir, then="embed"))
    from kssl.embedding_export import export_embeddings

    click.echo(str(export_embeddings(run_dir, input_path, output, batch_size=batch_size, overwrite=overwrite)))


@main.command()
@click.argument("run_dir", type=click.Path())
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a fine-tune setting (epochs, learning_rate, ...; parsed as YAML).")
@click.option("--labels-per-class", type=int, default=None, help="Use N labeled samples of every class (a seeded stratified draw).")
@click.option("--label-fraction", type=float, default=None, help="Use this fraction, in (0, 1], of every class's labeled samples.")
@click.option("--epochs", type=int, default=None, help="Shortcut for --set epochs=N.")
@click.option("--output-dir", default="runs", show_default=True, type=click.Path(file_okay=False), help="Where the new run directory is created.")
@_backend
def finetune(run_dir, overrides, labels_per_class, label_fraction, epochs, output_dir, backend):
    """Fine-tune RUN_DIR's encoder into a classifier on its labeled dataset; print the new run directory (classifier.keras)."""
    select_backend(backend, _run_recipe(run_dir, needs=("model.keras", "encoder.keras"), then="fine-tune"))
    from kssl.finetune_run import finetune as finetune_run

    overrides = [*overrides, *([("epochs", epochs)] if epochs is not None else [])]
    click.echo(str(finetune_run(run_dir, overrides, labels_per_class=labels_per_class, label_fraction=label_fraction, output_dir=output_dir)))


@main.command()
def plugins():
    """Every registered component by kind, with the distribution that provides it."""
    select_backend(None, import_keras=False)  # a plugin whose hook imports Keras gets the usual backend, quietly
    from kssl.plugins import get_registry

    registry = get_registry(import_components=False)  # names only: no component (nor Keras) is imported
    for kind in registry.kinds:
        entries = [e for e in registry.entries() if e.kind == kind]
        click.echo(f"{kind}s:")
        for e in entries:
            extra = f"  CONFLICT: also registered by {', '.join(e.conflicts)}" if e.conflicts else ""
            click.echo(f"  {e.name:<28} {e.provider}{extra}")
        if not entries:
            click.echo("  (none)")
    if registry.broken:
        click.echo("broken plugins:")
        for b in registry.broken:
            click.echo(f"  {b.name:<28} {b.provider}: {b.reason}")


@main.command()
def zoo():
    """The zoo recipes with one-line descriptions and their recorded results."""
    import yaml

    from kssl.zoo_recipes import zoo_recipes

    for name, path in zoo_recipes().items():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        click.echo(f"{name:<12} {data.get('description', '')}")
        results = data.get("results") or {}
        if results:
            shown = ", ".join(f"{k}={v}" for k, v in results.items() if not isinstance(v, (dict, list)))
            click.echo(f"{'':<12} recorded: {shown}")


@main.command(name="fill-mask")
@click.argument("run_dir", type=click.Path())
@click.argument("text")
@click.option("--top-k", type=click.IntRange(min=1), default=5, show_default=True, help="Tokens to show per [MASK].")
@_backend
def fill_mask(run_dir, text, top_k, backend):
    """Print the top-k tokens for each [MASK] in TEXT, predicted by RUN_DIR's masked-LM model."""
    if "[MASK]" not in text:
        raise KsslError(f'TEXT must contain at least one [MASK], e.g. "the [MASK] of the file"; got {text!r}.')
    select_backend(backend, _run_recipe(run_dir, then="fill in masks"))
    from kssl.text.fill_mask import fill_mask as predict
    from kssl.text.fill_mask import format_predictions, load_masked_lm

    click.echo(format_predictions(predict(load_masked_lm(run_dir), text, top_k)))


@main.command(name="new-plugin")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(KINDS),
    default="augmenter",
    show_default=True,
    help="The kind of component the skeleton's example is.",
)
@click.option("--output-dir", default=".", show_default=True, type=click.Path(file_okay=False), help="Where the kssl-NAME folder is created.")
def new_plugin(name, kind, output_dir):
    """Write kssl-NAME/, a plugin distribution with an example KIND component whose tests pass out of the box."""
    from kssl.templates.plugin import render_plugin, write_plugin_skeleton

    render_plugin(name, kind, output_dir)  # a bad NAME, an existing folder or zoo recipe: reported before Keras loads
    select_backend(None)
    from kssl.plugins import get_registry

    root = write_plugin_skeleton(name, output_dir, kind, registry=get_registry(import_components=False))  # refuses a name already registered
    click.echo(str(root))
    click.echo(f"next: cd {root} && pip install -e '.[test]' && pytest   (see docs/writing-a-plugin.md)", err=True)


# Commands that live in their own modules (kssl/commands/, one command a file): one import and one add_command each.
# A command module imports nothing heavy at module level (the CLI answers `kssl --help` before Keras loads).
from kssl.commands.tune import tune  # noqa: E402

main.add_command(tune)
from kssl.commands.augment import augment  # noqa: E402

main.add_command(augment)
from kssl.commands.data import data  # noqa: E402

main.add_command(data)
from kssl.commands.generate import generate  # noqa: E402

main.add_command(generate)
from kssl.commands.search import search  # noqa: E402

main.add_command(search)
