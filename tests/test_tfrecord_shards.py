"""Sharded TFRecord files: folder -> shards -> the same bytes, labels and paths; shard counts; index.json; worker sharding."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from kssl.data.pack import pack_images
from kssl.data.tfrecord_shards import INDEX, examples, read_index, read_record_at, read_records, shard_paths
from kssl.errors import KsslError


def write_folder(root, per_class=(7, 5, 6), size=(12, 10), fmt="JPEG"):
    """``root/c<k>/img<i>.<ext>``: distinct small images; returns {relative path: (bytes, label)}."""
    rng = np.random.default_rng(0)
    made = {}
    for k, n in enumerate(per_class):
        (root / f"c{k}").mkdir(parents=True)
        for i in range(n):
            buf = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(buf, fmt)
            rel = f"c{k}/img{i}.{fmt.lower().replace('jpeg', 'jpg')}"
            (root / rel).write_bytes(buf.getvalue())
            made[rel] = (buf.getvalue(), k)
    return made


def _pack(src, out, **kw):
    from kssl.data.image_folder import _scan

    files, labels, classes = _scan(src, "path")
    return pack_images(files, labels, classes, src, out, **kw)


def test_round_trip_keeps_bytes_labels_and_paths(tmp_path):
    made = write_folder(tmp_path / "src")
    index = _pack(tmp_path / "src", tmp_path / "out", shard_size=5, workers=2)
    got = {path: (image, label) for image, label, path in examples(tmp_path / "out")}
    assert got == made  # bytes as stored (no re-encoding), labels from the class folders, relative paths
    assert index["count"] == 18 and index["classes"] == ["c0", "c1", "c2"] and index["class_counts"] == [7, 5, 6]
    assert [s["count"] for s in index["shards"]] == [5, 5, 5, 3]
    assert index["image_size"] == [12, 10] and index["channels"] == 3 and index["skipped"] == 0 and index["reencoded"] == 0
    on_disk = json.loads((tmp_path / "out" / INDEX).read_text())
    assert on_disk == {**index, "format": "kssl-tfrecord-shards", "version": 1}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.json", *[f"part-0000{i}.tfrecord" for i in range(4)], "records.npz"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


def test_records_file_gives_labels_in_stored_order_and_direct_access(tmp_path):
    write_folder(tmp_path / "src")
    _pack(tmp_path / "src", tmp_path / "out", shard_size=4)
    index = read_index(tmp_path / "out")
    labels, offsets = read_records(tmp_path / "out", index)
    stored = list(examples(tmp_path / "out"))
    assert labels.tolist() == [label for _, label, _ in stored]
    files = shard_paths(tmp_path / "out")
    starts = np.cumsum([0] + [s["count"] for s in index["shards"]])
    for i in (0, 3, 4, 11, 17):
        shard = int(np.searchsorted(starts, i, side="right") - 1)
        assert read_record_at(files[shard], offsets[i]) == stored[i]


def test_shuffled_order_is_seeded_and_mixes_classes(tmp_path):
    write_folder(tmp_path / "src")
    order = lambda out: [p for _, _, p in examples(out)]  # noqa: E731
    _pack(tmp_path / "src", tmp_path / "a", shard_size=6, seed=1)
    _pack(tmp_path / "src", tmp_path / "b", shard_size=6, seed=1)
    _pack(tmp_path / "src", tmp_path / "c", shard_size=6, seed=2)
    _pack(tmp_path / "src", tmp_path / "d", shard_size=6, shuffle=False)
    assert order(tmp_path / "a") == order(tmp_path / "b") != order(tmp_path / "c")
    assert order(tmp_path / "d") == sorted(order(tmp_path / "a"))  # unshuffled: scan order
    first = [label for _, label, _ in examples(tmp_path / "a")][:6]
    assert len(set(first)) > 1


def test_shard_mb_bounds_shard_bytes(tmp_path):
    write_folder(tmp_path / "src", per_class=(20, 20), size=(24, 24))
    index = _pack(tmp_path / "src", tmp_path / "out", shard_mb=8 / 1024)  # about 8 KiB per shard
    assert len(index["shards"]) > 3
    assert all(s["bytes"] <= 8 * 1024 for s in index["shards"][:-1])
    assert sum(s["count"] for s in index["shards"]) == 40
    for s in index["shards"]:
        assert (tmp_path / "out" / s["file"]).stat().st_size == s["bytes"]


def test_unlabeled_folder_and_formats_tensorflow_cannot_read(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    for i, fmt in enumerate(["PNG", "TIFF", "JPEG"]):
        Image.fromarray(rng.integers(0, 256, (9, 9, 3), dtype=np.uint8)).save(src / f"x{i}.{fmt.lower()}", fmt)
    index = _pack(src, tmp_path / "out")
    assert index["classes"] == [] and index["reencoded"] == 1  # the TIFF became a (lossless) PNG
    got = {p: (img, label) for img, label, p in examples(tmp_path / "out")}
    assert {label for _, label in got.values()} == {None}
    tiff = Image.open(io.BytesIO(got["x1.tiff"][0]))
    assert tiff.format == "PNG"
    np.testing.assert_array_equal(np.asarray(tiff), np.asarray(Image.open(src / "x1.tiff")))
    assert got["x0.png"][0] == (src / "x0.png").read_bytes()


def test_reencode_and_max_side(tmp_path):
    write_folder(tmp_path / "src", per_class=(2, 2), size=(40, 20), fmt="PNG")
    _pack(tmp_path / "src", tmp_path / "out", reencode="jpeg", quality=80, max_side=16)
    index = read_index(tmp_path / "out")
    assert index["reencoded"] == 4 and index["image_size"] == [16, 8]
    for image, _, _ in examples(tmp_path / "out"):
        im = Image.open(io.BytesIO(image))
        assert im.format == "JPEG" and im.size == (8, 16)


def test_worker_sharding_is_by_whole_files(tmp_path):
    write_folder(tmp_path / "src")
    _pack(tmp_path / "src", tmp_path / "out", shard_size=4)  # 5 files
    every = shard_paths(tmp_path / "out")
    parts = [shard_paths(tmp_path / "out", num_workers=2, worker_index=i) for i in range(2)]
    assert sorted(parts[0] + parts[1]) == sorted(every) and not set(parts[0]) & set(parts[1])
    with pytest.raises(KsslError, match="data.path: .* 5 shard file.*6 input workers"):
        shard_paths(tmp_path / "out", num_workers=6)


def test_read_index_names_the_key_and_the_problem(tmp_path):
    write_folder(tmp_path / "src")
    out = tmp_path / "out"
    _pack(tmp_path / "src", out, shard_size=10)
    with pytest.raises(KsslError, match="data.path: .*no such folder"):
        read_index(tmp_path / "missing")
    with pytest.raises(KsslError, match="data.test_path: .*has no index.json"):
        read_index(tmp_path / "src", key="data.test_path")
    (out / "part-00001.tfrecord").unlink()
    with pytest.raises(KsslError, match="lacks 1 shard file.*part-00001.tfrecord"):
        read_index(out)
    (out / INDEX).write_text('{"format": "something-else"}')
    with pytest.raises(KsslError, match="not a kssl shard index"):
        read_index(out)
    (out / INDEX).write_text("{not json")
    with pytest.raises(KsslError, match="unreadable index.json"):
        read_index(out)
