"""``kssl data``: data preparation commands; ``kssl data pack`` writes an image folder as sharded TFRecord files."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading
from pathlib import Path

import click

from kssl.errors import KsslError

DEFAULT_SHARD_MB = 64


@click.group()
def data():
    """Prepare datasets (pack image folders into TFRecord shards)."""


@data.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.argument("output_dir", type=click.Path())
@click.option("--shard-size", type=click.IntRange(min=1), default=None, help="Images per shard (instead of --shard-mb).")
@click.option("--shard-mb", type=click.FloatRange(min=0.001), default=None, help=f"About this many MiB per shard [default: {DEFAULT_SHARD_MB}].")
@click.option(
    "--manifest",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Pack the images a .csv/.jsonl manifest lists (rows path[,label], paths relative to the manifest); stored paths relative to FOLDER.",
)
@click.option("--on-error", type=click.Choice(["skip", "fail"]), default="skip", show_default=True, help="An unreadable image: skip and count it, or stop.")
@click.option("--reencode", type=click.Choice(["jpeg", "png"]), default=None, help="Re-encode every image (default: store the file's bytes as they are).")
@click.option("--quality", type=click.IntRange(1, 100), default=95, show_default=True, help="JPEG quality when re-encoding to JPEG.")
@click.option("--max-side", type=click.IntRange(min=1), default=None, help="Shrink images whose longer side exceeds this (re-encodes those).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Threads that read and check images [default: CPU count, at most 8].")
@click.option("--shuffle/--no-shuffle", default=True, show_default=True, help="Store the records in a seeded random order (every shard holds every class).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The shuffling seed.")
@click.option("--overwrite", is_flag=True, help="Replace OUTPUT_DIR if it exists (only once the new shards are complete).")
def pack(folder, output_dir, shard_size, shard_mb, manifest, on_error, reencode, quality, max_side, workers, shuffle, seed, overwrite):
    """Pack the images of FOLDER into sharded TFRecord files in OUTPUT_DIR, with an index.json.

    FOLDER/<class>/... gives labels (sorted class names); images directly in FOLDER are
    unlabeled. With --manifest, the images it lists instead (as the ``manifest`` dataset reads
    them). Each record holds the image file's bytes as stored (no re-encoding unless
    --reencode or --max-side asks), its label and its path relative to FOLDER. Every image
    is decoded once to check it. The shards are written to a temporary folder and renamed
    to OUTPUT_DIR at the end: an error or Ctrl-C leaves nothing half-written. Read them with
    the recipe's data: {type: tfrecord, path: OUTPUT_DIR}.
    """
    if shard_size is not None and shard_mb is not None:
        raise KsslError("--shard-size and --shard-mb: give one of them (images per shard, or MiB per shard), not both.")
    if shard_mb is not None and not math.isfinite(shard_mb):
        raise KsslError(f"--shard-mb: expected a number of MiB such as 64, got {shard_mb!r} (NaN and infinity are not allowed).")
    if shard_size is None and shard_mb is None:
        shard_mb = DEFAULT_SHARD_MB
    from kssl.backend_choice import select_backend

    select_backend(None, import_keras=False)  # TensorFlow's start-up lines stay quiet when the scan or the writer imports it
    from kssl.atomic_dir import check_new_dir

    root = Path(folder)
    check_new_dir(output_dir, [root], overwrite)  # before the scan: a wrong OUTPUT_DIR is reported at once
    files, labels, classes = _manifest_items(Path(manifest), root) if manifest else _folder_items(root)
    from kssl.data.pack import pack_images
    from kssl.progress import say

    say(f"packing {len(files):,} image(s){f' in {len(classes)} classes' if classes else ' (unlabeled)'} from {folder}")
    with _sigterm_cleans_up():
        pack_images(
            files,
            labels,
            classes,
            root,
            Path(output_dir),
            shard_size=shard_size,
            shard_mb=shard_mb,
            on_error=on_error,
            reencode=reencode,
            quality=quality,
            max_side=max_side,
            workers=workers or min(8, os.cpu_count() or 1),
            shuffle=shuffle,
            seed=seed,
            overwrite=overwrite,
            source=str(manifest or folder),
        )
    click.echo(str(output_dir))


@contextlib.contextmanager
def _sigterm_cleans_up():
    """While packing, SIGTERM (a killed job) unwinds like Ctrl-C, so the temporary folder is removed; then the old handler is back."""
    if threading.current_thread() is not threading.main_thread():  # signal handlers can only be set from the main thread
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _terminated(signum, frame):
    sys.exit(128 + signum)  # SystemExit unwinds through pack_images, which removes its temporary folder


def _folder_items(root: Path):
    """(files, labels or None, classes) of an image folder, with the folder scan's messages naming FOLDER."""
    from kssl.data.image_folder import _scan

    try:
        return _scan(root, "path")
    except KsslError as exc:
        raise KsslError(str(exc).replace("data.path: ", "FOLDER: ", 1)) from None


def _manifest_items(manifest: Path, root: Path):
    """(files, labels or None, classes) that a .csv/.jsonl manifest lists (paths relative to the manifest, as for the manifest dataset)."""
    from kssl.data._prep import encode_labels
    from kssl.data.manifest import _scan

    try:
        files, raw = _scan(manifest, "manifest")
        labels, classes = encode_labels("--manifest", raw)
    except KsslError as exc:
        raise KsslError(str(exc).replace("data.manifest: ", "--manifest: ", 1)) from None
    if labels is not None and classes is None:  # integer class ids: their names are the ids
        classes = [str(i) for i in range(int(labels.max()) + 1)]
    return files, labels, classes or []
