"""Decode-and-augment throughput (images/s) of image input pipelines, side by side in one run.

    python benchmarks/make_image_folder.py /tmp/pack/folder64_100k --count 100000 --size 64
    nice -n 10 python benchmarks/data_pipeline.py /tmp/pack/folder64_100k --size 64
    nice -n 10 python benchmarks/data_pipeline.py /tmp/pack/folder160_100k --size 160 --output benchmarks/results/data_pipeline_160.json

Pipelines (the same image size, batch size and augmentation; float32 batches in [0, 1]):

* ``kssl-folder``: kssl's streaming pipeline over the image files (``ImageStream.from_files``:
  global shuffle by id, parallel read + decode + antialiased resize to uint8, batch, float).
* ``kssl-tfrecord``: the same pipeline reading the folder packed by ``kssl data pack``
  (``TFRecordReader``; the folder is packed once into ``--packed``, default ``<FOLDER>-shards``,
  and the packing time is recorded).
* ``keras-utility``: ``keras.utils.image_dataset_from_directory`` (shuffle, bilinear resize),
  scaled to [0, 1].
* ``pil-loop``: what ``image_folder`` did before streaming: one thread, PIL open/convert/resize
  and float conversion per image (``kssl.data.image_folder._read``), a batch at a time.

Each is measured in two modes: ``decode`` (batches as the pipeline gives them) and ``augment``
(the same Keras augmentation, random flip + brightness + contrast, applied to each batch in
the pipeline: a batched ``Dataset.map``; for the PIL loop, the same layers on its batches).
A measurement takes one batch (start-up, excluded), then times ``--images`` more; rounds
alternate the pipelines (``--repeats``) and the median is reported, with CPU seconds per
1,000 images (process CPU time: a per-core cost that load on a shared machine inflates less
than wall time). Set-up time (listing the folder, opening the shards) is recorded apart.
Prints a table and writes JSON (``--output``, default ``benchmarks/results/data_pipeline.json``).

Not a test: numbers depend on the machine and its load. The reference machine has 2 cores
shared with other jobs; run it under ``nice`` (the JSON records the niceness and load average).
``--gpu`` marks a run on the GPU machine (16 cores; output ``data_pipeline-gpu16.json``). No such
machine was lent when the recorded results were made: their ``gpu16`` entry says "not measured".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PIPELINES = ("kssl-folder", "kssl-tfrecord", "keras-utility", "pil-loop")
MODES = ("decode", "augment")


def _augmenter(seed: int = 0):
    import keras

    return keras.layers.Pipeline(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomBrightness(0.2, value_range=(0.0, 1.0), seed=seed + 1),
            keras.layers.RandomContrast(0.2, value_range=(0.0, 1.0), seed=seed + 2),
        ]
    )


def _files(folder: Path):
    from kssl.data.image_folder import _scan

    files, labels, _ = _scan(folder, "path")
    return files, labels


def ensure_packed(folder: Path, packed: Path, workers: int = 2) -> dict:
    """Pack ``folder`` into ``packed`` unless it is there already; ``{"seconds", "images_per_s", "shards"}`` (seconds None if reused)."""
    from kssl.data.pack import pack_images
    from kssl.data.tfrecord_shards import INDEX

    if (packed / INDEX).is_file():
        index = json.loads((packed / INDEX).read_text())
        return {"seconds": None, "images_per_s": None, "shards": len(index["shards"]), "reused": True}
    files, labels = _files(folder)
    classes = sorted({p.parent.name for p in files}) if labels is not None else []
    started = time.perf_counter()
    index = pack_images(files, labels, classes, folder, packed, workers=workers)
    seconds = time.perf_counter() - started
    return {"seconds": round(seconds, 1), "images_per_s": round(index["count"] / seconds, 1), "shards": len(index["shards"]), "reused": False}


def make_pipelines(folder: Path, packed: Path, size: int, batch: int, seed: int = 0) -> tuple[dict, dict]:
    """``({name: (mode -> iterator factory)}, {name: set-up seconds})`` for every pipeline."""
    import keras
    import numpy as np
    import tensorflow as tf

    from kssl.data.image_folder import _read
    from kssl.data.image_stream import ImageStream
    from kssl.data.tfrecord_reader import TFRecordReader

    augment = _augmenter(seed)
    aug = lambda x: augment(x, training=True)  # noqa: E731
    aug_fn = tf.function(aug)
    made, setup = {}, {}

    def timed(name, build):
        started = time.perf_counter()
        out = build()
        setup[name] = round(time.perf_counter() - started, 2)
        return out

    files, labels = timed("kssl-folder", lambda: _files(folder))
    folder_stream = ImageStream.from_files(files, labels, size, 3)
    tfr_stream = timed("kssl-tfrecord", lambda: ImageStream(TFRecordReader(packed), size, 3))
    keras_ds = timed(
        "keras-utility",
        lambda: keras.utils.image_dataset_from_directory(
            str(folder), labels=None, image_size=(size, size), batch_size=batch, shuffle=True, seed=seed, interpolation="bilinear", verbose=False
        ),
    )
    for name, stream in (("kssl-folder", folder_stream), ("kssl-tfrecord", tfr_stream)):
        base = stream.dataset(batch, shuffle=True, seed=seed, repeat=True)
        made[name] = {
            "decode": lambda base=base: iter(base),
            "augment": lambda base=base: iter(base.map(aug, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)),
        }
    scaled = keras_ds.map(lambda x: x / 255.0, num_parallel_calls=tf.data.AUTOTUNE).repeat()
    made["keras-utility"] = {
        "decode": lambda: iter(scaled.prefetch(tf.data.AUTOTUNE)),
        "augment": lambda: iter(scaled.map(aug, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)),
    }
    order = np.random.default_rng(seed).permutation(len(files))

    def pil_batches(augmented: bool):
        start = 0
        while True:
            rows = order[start : start + batch] if start + batch <= len(order) else order[:batch]
            start = start + batch if start + batch <= len(order) else batch
            x = _read([files[i] for i in rows], size, 3)
            yield aug_fn(tf.constant(x)) if augmented else x

    made["pil-loop"] = {"decode": lambda: pil_batches(False), "augment": lambda: pil_batches(True)}
    setup["pil-loop"] = setup["kssl-folder"]
    return made, setup


def measure(make_iterator, images: int) -> dict:
    """Images/s and CPU seconds per 1,000 images over ``images`` images after a first (excluded) batch."""
    it = make_iterator()
    started = time.perf_counter()
    first = next(it)
    startup = time.perf_counter() - started
    batch = len(first)
    wall0, cpu0, n = time.perf_counter(), time.process_time(), 0
    while n < images:
        n += len(next(it))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    del it
    return {"images_per_s": n / wall, "cpu_s_per_1k": 1000 * cpu / n, "startup_s": startup, "batch": batch}


def run(folder, size: int = 64, batch: int = 256, images: int = 4096, repeats: int = 3, packed=None, pipelines=PIPELINES, modes=MODES, pack_workers=2) -> dict:
    """Measure every pipeline in every mode; the benchmark's result (what ``main`` prints and saves)."""
    folder = Path(folder)
    packed = Path(packed) if packed else folder.with_name(folder.name + "-shards")
    pack = ensure_packed(folder, packed, pack_workers) if "kssl-tfrecord" in pipelines else None
    made, setup = make_pipelines(folder, packed, size, batch)
    samples = {(p, m): [] for p in pipelines for m in modes}
    for r in range(repeats):
        for p in pipelines if r % 2 == 0 else list(reversed(pipelines)):
            for m in modes:
                samples[p, m].append(measure(made[p][m], images))
    rows = []
    for (p, m), got in samples.items():
        rows.append(
            {
                "pipeline": p,
                "mode": m,
                "images_per_s": round(statistics.median(g["images_per_s"] for g in got), 1),
                "cpu_s_per_1k": round(statistics.median(g["cpu_s_per_1k"] for g in got), 3),
                "startup_s": round(statistics.median(g["startup_s"] for g in got), 2),
                "all_images_per_s": [round(g["images_per_s"], 1) for g in got],
                "setup_s": setup.get(p),
            }
        )
    rate = {(r["pipeline"], r["mode"]): r["images_per_s"] for r in rows}
    for r in rows:
        for ref in ("keras-utility", "pil-loop"):
            if (ref, r["mode"]) in rate:
                r[f"vs_{ref.split('-')[0]}"] = round(r["images_per_s"] / rate[ref, r["mode"]], 2)
    from kssl.data.tfrecord_shards import INDEX

    count = json.loads((packed / INDEX).read_text())["count"] if (packed / INDEX).is_file() else None
    return {
        "config": {"folder": str(folder), "images_in_folder": count, "size": size, "batch": batch, "images_per_measurement": images, "repeats": repeats},
        "pack": pack,
        "rows": rows,
        "machine": {
            "host": platform.node(),
            "cpus": os.cpu_count(),
            "niceness": os.nice(0),
            "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
            "shared": "2-core CPU shared with other engineers' jobs; ratios within one run matter more than absolutes",
        },
        "gpu16": "not measured: no GPU/16-core machine was lent to this session",
    }


def table(result: dict) -> str:
    lines = [f"{'pipeline':<15}{'mode':<9}{'images/s':>10}{'CPU s/1k':>10}{'vs keras':>10}{'vs PIL':>8}{'setup s':>9}"]
    for r in result["rows"]:
        lines.append(
            f"{r['pipeline']:<15}{r['mode']:<9}{r['images_per_s']:>10.0f}{r['cpu_s_per_1k']:>10.2f}"
            f"{r.get('vs_keras', float('nan')):>10.2f}{r.get('vs_pil', float('nan')):>8.2f}{r['setup_s'] if r['setup_s'] is not None else '':>9}"
        )
    lines.append(f"GPU machine (16 cores): {result['gpu16']}")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("folder", help="an image folder with class sub-folders (benchmarks/make_image_folder.py)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--images", type=int, default=4096, help="images timed per measurement")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--packed", default=None, help="where the TFRecord shards are (packed there if missing)")
    p.add_argument("--pipelines", nargs="+", default=list(PIPELINES), choices=PIPELINES)
    p.add_argument("--gpu", action="store_true", help="the run is on the GPU machine (16 cores): recorded as such, default output data_pipeline-gpu16.json")
    p.add_argument("--output", default=None, help="default: benchmarks/results/data_pipeline.json (with --gpu: data_pipeline-gpu16.json)")
    a = p.parse_args(argv)
    a.output = a.output or str(HERE / "results" / ("data_pipeline-gpu16.json" if a.gpu else "data_pipeline.json"))
    result = run(a.folder, a.size, a.batch, a.images, a.repeats, a.packed, tuple(a.pipelines))
    if a.gpu:
        import tensorflow as tf

        gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
        result["gpu16"] = f"this run: {os.cpu_count()} CPU cores, GPUs {gpus or 'none visible'} (the pipelines decode on the host)"
    print(table(result))
    Path(a.output).parent.mkdir(parents=True, exist_ok=True)
    Path(a.output).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {a.output}")


if __name__ == "__main__":
    main()
