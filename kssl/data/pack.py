"""Packing image files into sharded TFRecord files (``kssl data pack``): checked, in parallel, atomically.

Every image is decoded once with PIL to prove it readable (a truncated or corrupt file is
skipped and counted, or stops the run: ``on_error``) and its bytes are stored as they are.
They are re-encoded only when asked (``reencode``, ``max_side``) or when TensorFlow could
not decode the stored format (TIFF, a CMYK JPEG, ...): those become lossless PNG. The
shards are written into a hidden temporary folder beside ``output`` and renamed into place
at the end, so an error or Ctrl-C leaves nothing half-written.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from kssl.atomic_dir import check_new_dir, staged_dir
from kssl.errors import KsslError
from kssl.progress import say

__all__ = ["pack_images", "prepare_image"]

TF_FORMATS = {"JPEG", "PNG", "GIF", "BMP", "WEBP"}  # what tf.io.decode_image reads
CHUNK = 512  # images prepared per parallel batch: bounds the bytes held in memory
MAX_LISTED = 20  # skipped files named in index.json
DEFAULT_SHARD_MB = 64


class Unreadable(Exception):
    """An image file PIL cannot decode fully (the reason is the message)."""


def prepare_image(path, reencode: str | None = None, quality: int = 95, max_side: int | None = None):
    """``(bytes to store, (height, width), channels, re-encoded?)`` of one image file; :class:`Unreadable` if it is corrupt."""
    from PIL import Image

    try:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # a full decode: truncated and corrupt files fail here
            fmt, mode, (w, h) = im.format, im.mode, im.size
            channels = 1 if mode in ("1", "L", "I", "I;16", "F") else 3
            target = reencode
            if target is None and (fmt not in TF_FORMATS or (fmt == "JPEG" and mode not in ("L", "RGB"))):
                target = "png"  # TensorFlow could not decode it as stored: lossless PNG
            if max_side is not None and max(w, h) > max_side:
                scale = max_side / max(w, h)
                w, h = max(1, round(w * scale)), max(1, round(h * scale))
                im = im.resize((w, h), Image.BILINEAR)
                target = target or ("jpeg" if fmt == "JPEG" else "png")
            if target is not None:
                buf = io.BytesIO()
                im = im.convert("L" if channels == 1 else "RGB")
                im.save(buf, "JPEG" if target == "jpeg" else "PNG", **({"quality": quality} if target == "jpeg" else {}))
                data = buf.getvalue()
    except Exception as exc:  # noqa: BLE001 - PIL raises many types for a bad file
        raise Unreadable(f"{type(exc).__name__}: {exc}") from None
    return data, (h, w), channels, target is not None


def pack_images(
    files,
    labels,
    classes,
    root,
    output,
    *,
    shard_size: int | None = None,
    shard_mb: float | None = None,
    on_error: str = "skip",
    reencode: str | None = None,
    quality: int = 95,
    max_side: int | None = None,
    workers: int = 2,
    shuffle: bool = True,
    seed: int = 0,
    overwrite: bool = False,
    source: str = "",
    progress_every: float = 5.0,
) -> dict:
    """Write ``files`` (absolute paths; ``labels`` a parallel int array or None) as shards in ``output``; returns the index.

    ``root`` is the folder the stored relative paths start from. With ``shuffle`` the records
    are written in a seeded random order (so a shard holds every class); ``shard_size`` images
    or about ``shard_mb`` MiB per shard (default 64).
    """
    from kssl.data.tfrecord_shards import ShardWriter, write_index, write_records

    output, root = Path(output), Path(root)
    check_new_dir(output, [root], overwrite)
    files = [Path(f) for f in files]
    order = np.random.default_rng(seed).permutation(len(files)) if shuffle else np.arange(len(files))
    started = last = time.perf_counter()
    sizes, channels, stored, skipped, reencoded, class_counts = [], [], [], [], 0, [0] * len(classes)

    def prepare(i):
        try:
            return i, prepare_image(files[i], reencode, quality, max_side)
        except Unreadable as exc:
            return i, exc

    with staged_dir(output) as tmp, ThreadPoolExecutor(max(1, workers)) as pool:  # an error or Ctrl-C leaves nothing behind
        writer = ShardWriter(tmp, shard_size=shard_size, shard_bytes=None if shard_size else int((shard_mb or DEFAULT_SHARD_MB) * 2**20))
        for start in range(0, len(order), CHUNK):
            for i, got in pool.map(prepare, order[start : start + CHUNK]):
                rel = _relative(files[i], root)
                if isinstance(got, Unreadable):
                    if on_error == "fail":
                        raise KsslError(f"FOLDER: cannot read image {rel!r} ({got}). Remove or replace the file, or pass --on-error skip to skip such files.")
                    skipped.append({"path": rel, "reason": str(got)})
                    continue
                data, size, ch, again = got
                label = None if labels is None else int(labels[i])
                writer.add(data, label, rel)
                stored.append(-1 if label is None else label)
                sizes.append(size)
                channels.append(ch)
                reencoded += again
                if label is not None:
                    class_counts[label] += 1
            now = time.perf_counter()
            if now - last >= progress_every:
                done = min(start + CHUNK, len(order))
                say(f"packed {done:,}/{len(order):,} images ({done / (now - started):,.0f}/s), {len(writer.shards) + 1} shard(s)")
                last = now
        shards = writer.close()
        if not sizes:
            raise KsslError(
                f"FOLDER: none of the {len(files)} image(s) could be read (e.g. {skipped[0]['path']!r}: {skipped[0]['reason']}); nothing was written."
            )
        hw = np.array(sizes)
        index = {
            "count": len(sizes),
            "classes": list(classes),
            "class_counts": class_counts,
            "image_size": [int(np.median(hw[:, 0])), int(np.median(hw[:, 1]))],
            "image_size_range": [hw.min(axis=0).tolist(), hw.max(axis=0).tolist()],
            "channels": 1 if sum(c == 1 for c in channels) * 2 > len(channels) else 3,
            "skipped": len(skipped),
            "skipped_files": skipped[:MAX_LISTED],
            "reencoded": reencoded,
            "shuffled": bool(shuffle),
            "seed": seed,
            "source": source or str(root),
            "shards": shards,
        }
        write_records(tmp, stored, writer.offsets)
        write_index(tmp, index)
    mib = sum(s["bytes"] for s in shards) / 2**20
    say(f"packed {len(sizes):,} images into {len(shards)} shard(s), {mib:,.1f} MiB, in {time.perf_counter() - started:.1f} s")
    if skipped:
        say(f"skipped {len(skipped)} unreadable image(s), e.g. {skipped[0]['path']!r} ({skipped[0]['reason']}); listed in index.json")
    return index


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:  # a manifest may name files outside its root
        return path.as_posix()
