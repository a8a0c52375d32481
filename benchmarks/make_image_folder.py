"""A synthetic image folder for data-pipeline benchmarks: N JPEGs in class sub-folders, deterministic.

    python benchmarks/make_image_folder.py /tmp/pack/folder160 --count 100000 --size 160
    python benchmarks/make_image_folder.py /tmp/pack/folder64 --count 100000 --size 64 --workers 2

Writes ``OUTPUT/class_CC/img_IIIIIII.jpg`` (``--classes`` sub-folders, image ``i`` in class
``i % classes``). Each image depends only on ``(--seed, i)``, so a folder is the same
whichever ``--workers`` made it, and the first 10,000 images of a 100,000 folder equal a
10,000 folder. Content is varied so that JPEG sizes are realistic (not flat colour): a
two-colour gradient, low-frequency "texture" noise, a few class-specific shapes (the class
fixes the shape kind and a hue range, so a model can learn something) and mild pixel noise,
saved at JPEG quality 75-95. The mean file size is printed (a 160x160 photograph at
quality 90 is typically 8-15 KB; 64x64 about 2-3 KB).

Generate under /tmp (never inside the repository). Runs ``--workers`` processes (default 2).
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import sys
import time
from pathlib import Path

import numpy as np

SHAPES = ("ellipse", "rectangle", "triangle", "ring", "bars")


def make_image(index: int, size: int, classes: int, seed: int = 0) -> bytes:
    """The JPEG bytes of image ``index`` (a pure function of its arguments)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng([seed, index])
    label = index % classes
    hue = (label / classes + rng.uniform(-0.04, 0.04)) % 1.0
    base = np.array(_hsv_to_rgb(hue, rng.uniform(0.3, 0.9), rng.uniform(0.4, 0.95)))
    other = rng.uniform(0, 1, 3)
    t = np.linspace(0, 1, size, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.clip(0.5 + (np.cos(angle) * (t[None, :] - 0.5) + np.sin(angle) * (t[:, None] - 0.5)), 0, 1)[..., None]
    img = (1 - ramp) * base + ramp * other
    cells = int(rng.integers(4, 12))  # low-frequency texture: a small random grid, upsampled smoothly
    grid = rng.uniform(-1, 1, (cells, cells, 3)).astype(np.float32)
    texture = np.asarray(Image.fromarray(((grid + 1) * 127.5).astype(np.uint8)).resize((size, size), Image.BICUBIC), np.float32) / 127.5 - 1
    img = img + rng.uniform(0.05, 0.25) * texture
    im = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    kind = SHAPES[label % len(SHAPES)]
    for _ in range(int(rng.integers(2, 6))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        x0, y0 = rng.uniform(-0.1, 0.8, 2) * size
        w, h = rng.uniform(0.15, 0.5, 2) * size
        box = [x0, y0, x0 + w, y0 + h]
        if kind == "ellipse":
            draw.ellipse(box, fill=colour)
        elif kind == "rectangle":
            draw.rectangle(box, fill=colour)
        elif kind == "triangle":
            draw.polygon([(x0, y0 + h), (x0 + w / 2, y0), (x0 + w, y0 + h)], fill=colour)
        elif kind == "ring":
            draw.ellipse(box, outline=colour, width=max(1, size // 20))
        else:
            for k in range(4):
                draw.line([(x0 + k * w / 4, y0), (x0 + k * w / 4, y0 + h)], fill=colour, width=max(1, size // 32))
    im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    fine = max(4, size // int(rng.integers(2, 4)))  # mid-frequency detail over everything (photos have it; flat shapes do not)
    grain = np.asarray(Image.fromarray(rng.integers(0, 256, (fine, fine), dtype=np.uint8)).resize((size, size), Image.BILINEAR), np.float32)
    pixels = np.asarray(im, np.float32) + rng.uniform(0.15, 0.35) * (grain - 127.5)[..., None]
    pixels += rng.normal(0, rng.uniform(2, 6), (size, size, 3))  # sensor-like noise
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=int(rng.integers(75, 96)))
    return buf.getvalue()


def _hsv_to_rgb(h, s, v):
    import colorsys

    return colorsys.hsv_to_rgb(h, s, v)


def image_path(root: Path, index: int, classes: int) -> Path:
    return root / f"class_{index % classes:02d}" / f"img_{index:07d}.jpg"


def _write_range(args) -> int:
    root, start, stop, size, classes, seed = args
    written = 0
    for i in range(start, stop):
        data = make_image(i, size, classes, seed)
        path = image_path(Path(root), i, classes)
        path.write_bytes(data)
        written += len(data)
    return written


def make_image_folder(root, count: int = 100_000, size: int = 160, classes: int = 10, seed: int = 0, workers: int = 2, progress: bool = False) -> dict:
    """Write the folder; returns ``{"count", "bytes", "mean_kb", "seconds"}``."""
    root = Path(root)
    for c in range(min(classes, count)):
        (root / f"class_{c:02d}").mkdir(parents=True, exist_ok=True)
    chunk = 500
    jobs = [(str(root), s, min(s + chunk, count), size, classes, seed) for s in range(0, count, chunk)]
    started, total, done = time.perf_counter(), 0, 0
    if workers <= 1:
        results = map(_write_range, jobs)
    else:
        pool = multiprocessing.get_context("fork").Pool(workers)
        results = pool.imap(_write_range, jobs)
    for (_, s, e, *_), written in zip(jobs, results):
        total += written
        done += e - s
        if progress:
            rate = done / max(time.perf_counter() - started, 1e-9)
            print(f"\r{done}/{count} images, {rate:.0f}/s, mean {total / done / 1024:.1f} KB", end="", file=sys.stderr, flush=True)
    if workers > 1:
        pool.close()
        pool.join()
    if progress:
        print(file=sys.stderr)
    return {"count": count, "bytes": total, "mean_kb": round(total / max(count, 1) / 1024, 2), "seconds": round(time.perf_counter() - started, 1)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="the folder to create (under /tmp, not in the repository)")
    p.add_argument("--count", type=int, default=100_000)
    p.add_argument("--size", type=int, default=160, help="square side in pixels (the benchmarks use 64 and 160)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    a = p.parse_args(argv)
    out = Path(a.output).resolve()
    if Path(__file__).resolve().parent.parent in out.parents:
        p.error(f"{out} is inside the repository; generate under /tmp")
    stats = make_image_folder(out, a.count, a.size, a.classes, a.seed, a.workers, progress=True)
    print(f"{out}: {stats['count']} JPEGs of {a.size}x{a.size}, {stats['bytes'] / 2**20:.1f} MiB (mean {stats['mean_kb']} KB), {stats['seconds']} s")


if __name__ == "__main__":
    main()
