"""``kssl search``: the images an image-text (CLIP) run finds most similar to a text query, as a PNG grid with scores."""

from __future__ import annotations

from pathlib import Path

import click

from kssl.backend_choice import select_backend
from kssl.commands.augment import check_output
from kssl.errors import KsslError
from kssl.finished_run import check_run_dir
from kssl.recipe import BACKENDS, load_recipe

MAX_TOP = 64
TILE_PIXELS = 96  # small images are enlarged (pixel repetition) to about this side, so the score line fits under them
LABEL_PIXELS = 14  # the strip under each tile that holds its rank and score
CHUNK = 4096  # gallery images decoded and embedded at once: memory stays flat on a large --images folder


@click.command()
@click.argument("run_dir", type=click.Path())
@click.argument("query")
@click.option("--top", type=click.IntRange(1, MAX_TOP), default=8, show_default=True, help="How many of the best matches to show.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default="search.png", show_default=True, help="The PNG grid to write.")
@click.option("--images", "folder", type=click.Path(), default=None, help="Search this folder of images instead of the run's test split.")
@click.option("--batch-size", type=click.IntRange(min=1), default=256, show_default=True, help="Images embedded per batch.")
@click.option("--backend", type=str, default=None, help=f"Keras backend: {', '.join(BACKENDS)}.")
def search(run_dir, query, top, output, folder, batch_size, backend):
    """The images of RUN_DIR's test split (or of --images FOLDER) that RUN_DIR's image-text model finds closest to QUERY.

    RUN_DIR is a finished run of an image-text pretext task (CLIP, SigLIP). QUERY is embedded by
    its text tower, every image by its image tower; images are ranked by cosine similarity. The
    best TOP are written as a PNG grid (each with its rank and score) and listed on stdout, one
    per line (rank, score, image, caption or class), followed by the path of the PNG.
    """
    query = " ".join(str(query).split())
    if not query:
        raise KsslError('QUERY: the query is empty. Give words to search for, e.g. kssl search RUN_DIR "a red circle".')
    run_dir = check_run_dir(run_dir, then="search")
    recipe = load_recipe(run_dir / "recipe.yaml")
    output = check_output(Path(output))
    if folder is not None and not Path(folder).is_dir():
        raise KsslError(f"--images {str(folder)!r}: no such folder. Give a folder of image files (searched with its sub-folders).")
    select_backend(backend, recipe)
    import numpy as np

    from kssl.eval._image_text import embed_images, embed_texts, require_image_text
    from kssl.progress import say
    from kssl.saving import load_model
    from kssl.viz.grid import save_image_grid

    model = load_model(run_dir / "model.keras", compile=False)  # inference only: no optimizer state
    require_image_text("kssl search", model)
    text = embed_texts("QUERY", model, [query], 1, what="query")[0]
    gallery = _folder_gallery(folder, model) if folder is not None else _test_split_gallery(recipe)
    say(f"ranking {gallery.description} by similarity to {query!r}")
    scores = np.concatenate([embed_images(model, gallery.read(i, min(i + CHUNK, len(gallery))), batch_size) @ text for i in range(0, len(gallery), CHUNK)])
    best = np.argsort(-scores, kind="stable")[:top]
    images = np.concatenate([gallery.read(int(i), int(i) + 1) for i in best])
    tiles = labelled_tiles(images, [f"#{r}: {scores[i]:.3f}" for r, i in enumerate(best, 1)])
    save_image_grid(tiles, output, ncols=min(len(best), 8))
    for rank, i in enumerate(best, 1):
        click.echo(f"{rank}\t{scores[i]:.4f}\t{gallery.ids[i]}\t{gallery.describe(int(i))}")
    click.echo(str(output))


class _Gallery:
    """The images searched: ``ids`` (one str each), ``read(i, j)`` -> float images, ``describe(i)`` -> caption or class."""

    def __init__(self, ids, read, description, describe=None):
        self.ids, self.read, self.description = ids, read, description
        self.describe = describe or (lambda i: "")

    def __len__(self) -> int:
        return len(self.ids)


def _test_split_gallery(recipe: dict) -> _Gallery:
    """The test split of the run's dataset, rebuilt from its recipe (generated datasets are deterministic given their seed)."""
    from kssl.factories import make_component
    from kssl.plugins import get_registry
    from kssl.progress import say

    say(f"rebuilding the test split of the run's dataset ({recipe['data']['type']})")
    data = make_component(get_registry(), "dataset", recipe["data"], "data")
    if data.x_test is None or len(data.x_test) == 0:
        raise KsslError(f"data: the run's dataset {recipe['data']['type']!r} has no test split to search; give a folder of images with --images.")
    captions = (data.context or {}).get("test_captions")
    names, labels = data.class_names, data.y_test

    def describe(i: int) -> str:
        if captions is not None and len(captions[i]):
            return captions[i][0]
        if labels is not None and names:
            return f"class {names[int(labels[i])]}"
        return ""

    x = data.x_test
    return _Gallery([f"test/{i}" for i in range(len(x))], lambda i, j: x[i:j], f"{len(x)} test images of {recipe['data']['type']!r}", describe)


def _folder_gallery(folder, model) -> _Gallery:
    """The image files under ``folder``, decoded and resized to what the model takes, as the ``image_folder`` dataset does."""
    from kssl.embedding_inputs import read_inputs

    inputs = read_inputs(folder, image_shape(model))
    return _Gallery(inputs.ids, inputs.read, inputs.description)


def image_shape(model) -> tuple:
    """(H, W, C) of the images the run's image tower takes: from its encoder's input."""
    shape = tuple(model.encoder.inputs[0].shape[1:])
    if len(shape) != 3 or None in shape:
        raise KsslError(
            f"kssl search: the run's image tower takes inputs of shape {shape}, not fixed-size images (H, W, C); it cannot search a folder of images."
        )
    return tuple(int(d) for d in shape)


def labelled_tiles(images, labels: list, tile_pixels: int = TILE_PIXELS):
    """Each image enlarged to about ``tile_pixels`` (pixel repetition) above a strip with its label: (N, H', W, C) float32 in [0, 1]."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    images = np.asarray(images, dtype=np.float32)
    scale = max(1, tile_pixels // max(images.shape[1], images.shape[2]))
    big = np.clip(images, 0.0, 1.0).repeat(scale, axis=1).repeat(scale, axis=2)
    n, h, w, c = big.shape
    font = ImageFont.load_default()
    tiles = np.empty((n, h + LABEL_PIXELS, w, c), np.float32)
    for i, label in enumerate(labels):
        strip = Image.new("L", (w, LABEL_PIXELS), 255)
        ImageDraw.Draw(strip).text((2, 1), label, fill=0, font=font)
        tiles[i, :h] = big[i]
        tiles[i, h:] = (np.asarray(strip, np.float32) / 255.0)[..., None]
    return tiles
