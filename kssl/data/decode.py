"""Encoded image bytes -> uint8 pixels (TensorFlow ops, for tf.data), and a fast check of image files before training.

Streaming decodes with ``tf.io.decode_image`` (JPEG, PNG, GIF, BMP), so it runs in parallel
inside tf.data without the Python GIL. TIFF and WebP have no TensorFlow decoder: a streamed
dataset refuses them up front (the in-memory path reads them with PIL).

:func:`check_files` reads a few bytes at both ends of each file (a thread pool; no decoding):
the format's signature at the start and its end marker at the end (JPEG ``FFD9``, PNG ``IEND``,
GIF ``;``, BMP's declared size; TIFF and WebP by signature only). That catches empty, truncated and non-image files in about
the time of a directory listing, so ``on_error: fail`` stops before training and
``on_error: skip`` drops them with a count before the first step. A file damaged inside its
body still fails to decode later: the stream then drops it (``skip``) or the run stops with
a :class:`kssl.KsslError` naming it (``fail``; :func:`kssl.data.stream_input.explain_decode_errors`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from kssl.errors import KsslError

STREAM_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
ON_ERROR = ("skip", "fail")
_TAIL = 1024  # bytes read at the end of a file: JPEG's end marker may be followed by padding


def decode_resize(encoded, image_size: int, channels: int):
    """One encoded image (a tf.string scalar) -> uint8 tensor (image_size, image_size, channels).

    Decoded as RGB (the first frame of a GIF), converted to grayscale when ``channels`` is 1,
    resized bilinearly (antialiased when shrinking, as PIL's ``BILINEAR`` is) and rounded back
    to uint8. An image that already has the target size is not resized: pack measured the
    resize as the largest per-image cost of pre-sized shards (4,130 -> 8,022 images/s).
    """
    import tensorflow as tf

    image = tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8)
    image.set_shape([None, None, 3])
    if channels == 1:
        image = tf.image.rgb_to_grayscale(image)
    height, width = tf.shape(image)[0], tf.shape(image)[1]

    def resized():
        shrink = tf.logical_or(height > image_size, width > image_size)
        out = tf.cond(
            shrink,
            lambda: tf.image.resize(image, (image_size, image_size), method="bilinear", antialias=True),
            lambda: tf.image.resize(image, (image_size, image_size), method="bilinear"),
        )
        return tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)

    image = tf.cond(tf.logical_and(height == image_size, width == image_size), lambda: image, resized)
    image.set_shape([image_size, image_size, channels])
    return image


def problem(path) -> str | None:
    """Why the file at ``path`` is not a whole JPEG/PNG/GIF/BMP image (None: it looks whole). Reads <= 1 KiB at each end."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            head, tail = os.pread(fd, 32, 0), os.pread(fd, _TAIL, max(0, size - _TAIL))
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if size == 0:
        return "is empty (0 bytes)"
    if head.startswith(b"\xff\xd8\xff"):
        return None if b"\xff\xd9" in tail else "is a truncated JPEG (no end-of-image marker)"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return None if b"IEND" in tail[-32:] else "is a truncated PNG (no IEND chunk)"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return None if b";" in tail[-16:] else "is a truncated GIF (no trailer)"
    if head.startswith(b"BM") and len(head) >= 6:
        declared = int.from_bytes(head[2:6], "little")
        return None if declared <= size else f"is a truncated BMP ({size} of {declared} bytes)"
    if head[:4] in (b"II*\x00", b"MM\x00*") or (head[:4] == b"RIFF" and head[8:12] == b"WEBP"):
        return None  # TIFF, WebP: read into memory by PIL only (check_streamable); no end marker to check
    return "is not a JPEG, PNG, GIF, BMP, TIFF or WebP image (unknown signature)"


def check_files(paths, on_error: str, where: str, workers: int = 16) -> tuple[list, list]:
    """``(good paths, bad paths)`` after :func:`problem`; with ``on_error: fail`` the first bad file raises, named."""
    paths = list(paths)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        found = list(pool.map(problem, paths, chunksize=256))
    bad = [(p, why) for p, why in zip(paths, found) if why is not None]
    if bad and on_error == "fail":
        path, why = bad[0]
        more = f" ({len(bad) - 1} more bad file(s) after it)" if len(bad) > 1 else ""
        raise KsslError(
            f"{where}: cannot read image {str(path)!r}: it {why}{more}. Remove or replace it, or set on_error: skip "
            "to train without the files that cannot be read."
        )
    bad_set = {p for p, _ in bad}
    return [p for p in paths if p not in bad_set], [p for p, _ in bad]


def check_streamable(paths, where: str) -> None:
    """Refuse files that TensorFlow cannot decode (TIFF, WebP) in a streamed dataset, naming one."""
    for p in paths:
        if os.path.splitext(str(p))[1].lower() not in STREAM_EXTENSIONS:
            raise KsslError(
                f"{where}: {str(p)!r} cannot be streamed: TensorFlow decodes {', '.join(STREAM_EXTENSIONS)} only. "
                "Convert the images (e.g. to PNG or JPEG), or set stream: false to read them into memory with PIL."
            )
