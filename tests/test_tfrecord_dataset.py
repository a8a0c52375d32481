"""The ``tfrecord`` dataset: packed shards streamed through ImageStream (orders, worker shards, subsets, splits)."""

import numpy as np
import pytest
import tensorflow as tf
from test_tfrecord_shards import write_folder

from kssl.data.image_stream import ImageStream
from kssl.data.pack import pack_images
from kssl.data.tfrecord_dataset import tfrecord
from kssl.data.tfrecord_reader import TFRecordReader
from kssl.data.tfrecord_shards import examples
from kssl.errors import KsslError


@pytest.fixture(scope="module")
def packed(tmp_path_factory):
    """18 labeled 12x10 JPEGs (3 classes) packed 4 per shard (5 files)."""
    from kssl.data.image_folder import _scan

    root = tmp_path_factory.mktemp("tfr")
    write_folder(root / "src")
    files, labels, classes = _scan(root / "src", "path")
    pack_images(files, labels, classes, root / "src", root / "out", shard_size=4)
    return root


def _pass(reader, epoch=0, shuffle=True, seed=0, shards=1, index=0):
    ds = reader.pass_dataset(tf.constant(epoch, tf.int64), shuffle, seed, shards, index).take(reader.shard_size(shards))
    return [(bytes(img), int(label)) for img, label in ds.as_numpy_iterator()]


def test_an_unshuffled_pass_is_the_stored_order_with_labels(packed):
    reader = TFRecordReader(packed / "out")
    stored = list(examples(packed / "out"))
    assert _pass(reader, shuffle=False) == [(img, label) for img, label, _ in stored]
    assert reader.labels.tolist() == [label for _, label, _ in stored] and reader.labels.dtype == np.int32
    assert reader.read([0, 9]) == [stored[0][0], stored[9][0]]
    assert reader.name(9) == "part-00002.tfrecord#1"


def test_shuffled_passes_depend_on_seed_and_epoch_only(packed):
    reader = TFRecordReader(packed / "out")
    first = _pass(reader, epoch=0)
    assert _pass(reader, epoch=0) == first and sorted(first) == sorted(_pass(reader, shuffle=False))
    assert _pass(reader, epoch=1) != first and _pass(reader, epoch=0, seed=1) != first


@pytest.mark.parametrize("shards", [2, 7])  # 2: by files (5 files); 7: more workers than files, by record id
def test_worker_shards_are_disjoint_and_equal_sized(packed, shards):
    reader = TFRecordReader(packed / "out")
    parts = [_pass(reader, epoch=3, shards=shards, index=i) for i in range(shards)]
    assert {len(p) for p in parts} == {reader.shard_size(shards)}
    seen = [img for p in parts for img, _ in p]
    assert len(seen) == len(set(seen))
    assert reader.shard_size(2) == 8  # files 0, 2, 4 hold 4 + 4 + 2 records, files 1, 3 hold 8: both read 8


def test_a_subset_reads_only_its_records(packed):
    reader = TFRecordReader(packed / "out")
    stored = list(examples(packed / "out"))
    sub = reader.subset([1, 4, 5, 17])
    assert len(sub) == 4 and sub.labels.tolist() == [stored[i][1] for i in (1, 4, 5, 17)]
    assert _pass(sub, shuffle=False) == [stored[i][:2] for i in (1, 4, 5, 17)]
    assert sorted(_pass(sub.subset([0, 3]))) == sorted([stored[1][:2], stored[17][:2]])
    with pytest.raises(ValueError, match="increasing"):
        reader.subset([3, 1])


def test_dataset_streams_what_the_files_would(packed):
    data = tfrecord(str(packed / "out"), image_size=8, stream=True, test_fraction=0.25, seed=0)
    assert isinstance(data.x_train, ImageStream) and data.x_train.shape == (13, 8, 8, 3) and len(data.x_test) == 5
    assert data.class_names == ["c0", "c1", "c2"] and data.has_labels
    assert sorted([*data.y_train, *data.y_test]) == sorted([0] * 7 + [1] * 5 + [2] * 6)
    reader = data.x_train.reader
    paths = [packed / "src" / p for _, _, p in examples(packed / "out")]
    files = ImageStream.from_files([paths[i] for i in reader.ids], reader.labels, 8)
    np.testing.assert_array_equal(data.x_train[:], files[:])  # the same bytes, the same decoder
    batch, labels = next(iter(data.x_train.dataset(4, with_labels=True)))
    assert batch.shape == (4, 8, 8, 3) and batch.dtype == tf.float32 and labels.shape == (4,)
    memory = tfrecord(str(packed / "out"), image_size=8, stream=False, test_fraction=0.25, seed=0)
    assert isinstance(memory.x_train, np.ndarray)
    np.testing.assert_array_equal(memory.x_train, data.x_train[:])
    np.testing.assert_array_equal(memory.y_test, data.y_test)
    assert tfrecord(str(packed / "out"), limit=5).x_train.shape == (5, 12, 12, 3)  # image_size: the packed images' size hint


def test_test_path_and_bad_folders(packed, tmp_path):
    data = tfrecord(str(packed / "out"), image_size=8, test_path=str(packed / "out"))
    assert len(data.x_train) == 18 and len(data.x_test) == 18
    with pytest.raises(KsslError, match="data.path: .*no such folder.*kssl data pack"):
        tfrecord(str(tmp_path / "missing"))
    with pytest.raises(KsslError, match="data.test_path: .*has no index.json"):
        tfrecord(str(packed / "out"), test_path=str(packed / "src"))


@pytest.mark.slow
def test_a_recipe_trains_on_packed_shards(packed, tiny_recipe, tmp_path):
    from kssl.training import train

    tiny_recipe["data"] = {"type": "tfrecord", "path": str(packed / "out"), "image_size": 8, "batch_size": 6, "stream": True}
    tiny_recipe["eval"] = [{"type": "knn", "k": 3}]
    tiny_recipe["train"] = {"epochs": 1, "log_images": 0}
    run = train(tiny_recipe, output_dir=tmp_path)
    assert (run / "model.keras").is_file()
