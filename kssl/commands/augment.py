"""``kssl augment``: a picture of what a recipe's augmenter makes of its dataset's images (no training)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from kssl.backend_choice import check_names, select_backend
from kssl.errors import ArgumentError, KsslError, RecipeError
from kssl.recipe import BACKENDS, load_recipe

MAX_IMAGES, MAX_VIEWS = 64, 16
TILE_PIXELS = 64  # small images are enlarged (pixel repetition) to about this side


def check_output(output: Path) -> Path:
    """A writable ``.png`` path whose folder exists; refused before anything is loaded or written."""
    if output.suffix.lower() != ".png":
        raise KsslError(f"--output: expected a .png file, got {str(output)!r}. Name the picture e.g. augment.png.")
    if output.is_dir():
        raise KsslError(f"--output: {str(output)!r} is a folder; give a file name inside it, e.g. {str(output / 'augment.png')!r}.")
    folder = output.parent
    if not folder.is_dir():
        raise KsslError(f"--output: the folder {str(folder)!r} does not exist. Create it first or write the picture elsewhere.")
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        raise KsslError(f"--output: {str(output)!r} cannot be written (no permission). Choose a file in a folder you can write to.")
    return output


def check_logdir(logdir: Path) -> Path:
    """A folder that exists or can be created (its nearest existing ancestor is a writable folder)."""
    if logdir.exists() and not logdir.is_dir():
        raise KsslError(f"--logdir: {str(logdir)!r} is a file, not a folder. Give a folder for the TensorBoard event file.")
    ancestor = logdir
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir() or not os.access(ancestor, os.W_OK):
        raise KsslError(f"--logdir: {str(logdir)!r} cannot be written (no permission in {str(ancestor)!r}). Choose a folder you can write to.")
    return logdir


def augmented_rows(augmenter, images, views: int):
    """``images`` (N, H, W, C) and ``views`` augmented copies of each, as one (N * (views + 1), H, W, C) array, row by row."""
    import keras
    import numpy as np

    made = []
    for _ in range(views):
        out = augmenter(images, training=True)
        if isinstance(out, (list, tuple, dict)) or tuple(out.shape) != images.shape:
            got = f"a {type(out).__name__}" if isinstance(out, (list, tuple, dict)) else f"shape {tuple(out.shape)}"
            raise KsslError(
                f"augmenter: {type(augmenter).__name__} returned {got} for images of shape {images.shape}; kssl augment shows "
                "augmenters whose views have the images' shape (multi-crop views are made by the pretext task, not the augmenter)."
            )
        made.append(np.asarray(keras.ops.convert_to_numpy(out), np.float32))
    return np.stack([images, *made], axis=1).reshape(-1, *images.shape[1:])


@click.command()
@click.argument("recipe")
@click.option("--set", "overrides", multiple=True, metavar="KEY.PATH=VALUE", help="Override a recipe key (value parsed as YAML). Repeatable.")
@click.option("--n", "n", type=click.IntRange(1, MAX_IMAGES), default=8, show_default=True, help="Original images (the first N of the training split).")
@click.option("--views", type=click.IntRange(1, MAX_VIEWS), default=6, show_default=True, help="Augmented views of each image.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="The PNG to write (default: <recipe name>-augment.png here).")
@click.option("--logdir", type=click.Path(file_okay=False), default=None, help="Also log the grid as a TensorBoard image under this folder.")
@click.option("--backend", type=str, default=None, help=f"Keras backend: {', '.join(BACKENDS)}.")
def augment(recipe, overrides, n, views, output, logdir, backend):
    """A PNG grid of RECIPE's augmentations: each row an original image, then VIEWS augmented views (training=True).

    Nothing is trained: the recipe's dataset and augmenter are built (seeded by the recipe's
    ``seed``) and the picture's path is printed. With --logdir the same grid goes to TensorBoard.
    """
    loaded = load_recipe(recipe, overrides)
    if not loaded.get("augmenter"):
        raise KsslError(
            f"recipe {loaded['name']!r} has no augmenter (augmenter: null), so there is nothing to show. "
            "Add an augmenter section, e.g. augmenter: {type: simclr}, or pass --set 'augmenter={type: simclr}'."
        )
    output = check_output(Path(output if output is not None else f"{loaded['name']}-augment.png"))
    logdir = check_logdir(Path(logdir)) if logdir is not None else None
    check_names(backend, loaded)
    select_backend(backend, loaded)
    import keras
    import numpy as np

    from kssl.factories import make_component
    from kssl.plugins import get_registry
    from kssl.progress import say
    from kssl.viz.grid import save_image_grid
    from kssl.viz.tensorboard import log_images

    registry = get_registry()
    say(f"loading the data of {loaded['name']} ({loaded['data']['type']})")
    data = make_component(registry, "dataset", loaded["data"], "data")
    x = data.x_train
    if np.ndim(x) != 4:
        raise KsslError(f"data: kssl augment shows images (N, H, W, C), but {loaded['data']['type']!r} gives training data of shape {np.shape(x)}.")
    if n > len(x):
        raise KsslError(f"--n: the training split holds {len(x)} image(s); ask for at most {len(x)}.")
    keras.utils.set_random_seed(loaded["seed"])
    augmenter = make_component(registry, "augmenter", loaded["augmenter"], "augmenter", data.factory_context())
    images = np.asarray(x[:n], np.float32)
    try:
        tiles = augmented_rows(augmenter, images, views)
    except ArgumentError as exc:  # an argument only the images show wrong (e.g. a crop larger than them)
        raise RecipeError(f"augmenter.{exc.argument}", exc.message) from None
    scale = max(1, TILE_PIXELS // max(images.shape[1], images.shape[2]))
    save_image_grid(tiles, output, ncols=views + 1, scale=scale)
    if logdir is not None:
        if log_images(logdir, f"augment/{loaded['name']}", tiles, ncols=views + 1, scale=scale):
            say(f"TensorBoard image 'augment/{loaded['name']}' written under {logdir}")
        else:
            say("TensorBoard needs TensorFlow's summary writer, which is not installed: only the PNG was written")
    say(f"{n} image(s) x (original + {views} views) of augmenter {loaded['augmenter']['type']!r}; first column: the originals")
    click.echo(str(output))
