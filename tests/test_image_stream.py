"""ImageStream: decoding, order, epochs, shards, resume offsets, memory, corrupt files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kssl.data.decode import check_files, problem
from kssl.data.file_reader import FileReader
from kssl.data.image_folder import _read
from kssl.data.image_stream import ImageStream
from kssl.errors import KsslError

N = 24


@pytest.fixture
def numbered(tmp_path):
    """N 8x8 PNG files; image i is the constant colour (i, 2i, 255 - i): its id can be read back from a pixel."""
    paths = []
    for i in range(N):
        path = tmp_path / f"img{i:03d}.png"
        Image.fromarray(np.full((8, 8, 3), (i, 2 * i, 255 - i), "uint8")).save(path)
        paths.append(path)
    return paths


def ids(batch) -> list[int]:
    return [int(v) for v in np.rint(np.asarray(batch)[:, 0, 0, 0] * 255)]


def epoch_ids(dataset) -> list[int]:
    return [i for batch in dataset for i in ids(batch)]


def test_the_stream_looks_like_the_array_it_replaces(numbered):
    stream = ImageStream.from_files(numbered, np.arange(N) % 2, image_size=8)
    assert len(stream) == N and stream.shape == (N, 8, 8, 3) and np.shape(stream) == (N, 8, 8, 3) and stream.ndim == 4
    first = stream[:2]
    assert first.dtype == np.float32 and first.shape == (2, 8, 8, 3)
    np.testing.assert_array_equal(first, _read(numbered[:2], 8, 3))  # lossless PNG at its own size: exactly PIL's pixels
    assert ids(stream[np.array([5, 3])]) == [5, 3] and stream[7].shape == (8, 8, 3)
    assert ids(stream.subset([4, 9])[:]) == [4, 9]
    np.testing.assert_array_equal(stream.labels, np.arange(N) % 2)
    many = ImageStream.from_files(numbered * 3, image_size=8)  # 72 rows: decoded by the parallel pipeline, in order
    assert ids(np.asarray(many)) == list(range(N)) * 3


def test_resizing_and_grayscale_stay_close_to_the_in_memory_reader(numbered):
    stream = ImageStream.from_files(numbered, image_size=4, channels=1)
    np.testing.assert_allclose(stream[:3], _read(numbered[:3], 4, 1), atol=2 / 255)


def test_one_epoch_shows_every_sample_once_in_a_seeded_order(numbered):
    stream = ImageStream.from_files(numbered, image_size=8)
    first = epoch_ids(stream.dataset(5, shuffle=True, seed=1))
    assert sorted(first) == list(range(N)) and first != list(range(N))
    assert epoch_ids(stream.dataset(5, shuffle=True, seed=1)) == first  # same seed and epoch: same order
    assert epoch_ids(stream.dataset(5, shuffle=True, seed=1, first_epoch=1)) != first  # the next epoch: a new order
    assert epoch_ids(stream.dataset(5, shuffle=False)) == list(range(N))


def test_a_repeating_stream_is_the_epochs_in_turn_and_batches_never_straddle_two(numbered):
    stream = ImageStream.from_files(numbered, image_size=8)
    sizes = [len(b) for b in stream.dataset(10, seed=3, repeat=True).take(6)]
    assert sizes == [10, 10, 4, 10, 10, 4] and stream.steps_per_epoch(10) == 3
    flat = epoch_ids(stream.dataset(10, seed=3, repeat=True).take(6))
    assert flat[:N] == epoch_ids(stream.dataset(10, seed=3, first_epoch=0))
    assert flat[N:] == epoch_ids(stream.dataset(10, seed=3, first_epoch=1))


def test_a_resumed_pass_starts_after_the_batches_already_done(numbered):
    stream = ImageStream.from_files(numbered, image_size=8)
    whole = epoch_ids(stream.dataset(4, seed=2, first_epoch=3))
    assert epoch_ids(stream.dataset(4, seed=2, first_epoch=3, skip_batches=2)) == whole[8:]


def test_shards_are_disjoint_equal_and_cover_every_sample(numbered):
    stream = ImageStream.from_files(numbered, image_size=8)
    for shuffle, count in ((True, 3), (False, 2)):
        shards = [epoch_ids(stream.dataset(4, shuffle=shuffle, seed=0, first_epoch=1, shard=(count, i))) for i in range(count)]
        assert [len(s) for s in shards] == [N // count] * count
        assert sorted(sum(shards, [])) == list(range(N))


def test_uint8_batches_and_labels(numbered):
    stream = ImageStream.from_files(numbered, np.arange(N) % 3, image_size=8)
    images, labels = next(iter(stream.dataset(6, shuffle=False, dtype="uint8", with_labels=True)))
    assert images.dtype.name == "uint8" and list(np.asarray(images)[:, 0, 0, 0]) == list(range(6))
    assert list(np.asarray(labels)) == [0, 1, 2, 0, 1, 2]


def test_the_stream_holds_no_decoded_images(numbered):
    """Memory does not grow with the data: no cache, no shuffle buffer, nothing decoded kept by the stream."""
    stream = ImageStream.from_files(numbered, np.arange(N) % 2, image_size=8)
    dataset = stream.dataset(4, seed=0, repeat=True)
    for _ in dataset.take(20):
        pass
    graph = dataset._as_serialized_graph().numpy()
    assert b"CacheDataset" not in graph and b"ShuffleDataset" not in graph
    held = [v for v in (*vars(stream).values(), *vars(stream.reader).values()) if isinstance(v, np.ndarray)]
    assert all(a.dtype in (object, np.int32) and a.ndim == 1 for a in held)  # the paths and the labels, nothing else


def _truncate(path, keep=20):
    path.write_bytes(path.read_bytes()[:keep])


def _damage_body(path):
    """Keep the PNG signature and the IEND trailer, garble the image data: only decoding finds out."""
    data = path.read_bytes()
    path.write_bytes(data[:16] + b"\x00" * (len(data) - 28) + data[-12:])


def test_the_file_check_names_what_is_wrong(numbered, tmp_path):
    _truncate(numbered[3])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello")
    assert problem(numbered[0]) is None
    assert "truncated PNG" in problem(numbered[3])
    assert "empty" in problem(tmp_path / "empty.png") and "unknown signature" in problem(tmp_path / "text.jpg")
    good, bad = check_files([*numbered, tmp_path / "text.jpg"], "skip", "data.path")
    assert bad == [numbered[3], tmp_path / "text.jpg"] and len(good) == N - 1
    with pytest.raises(KsslError, match=r"img003\.png.*truncated PNG.*1 more bad file.*on_error: skip"):
        check_files([*numbered, tmp_path / "text.jpg"], "fail", "data.path")


def test_an_image_that_fails_to_decode_is_skipped_or_named(numbered):
    _damage_body(numbered[5])
    assert problem(numbered[5]) is None  # the quick check cannot see it
    skipping = ImageStream.from_files(numbered, image_size=8, on_error="skip")
    assert sorted(epoch_ids(skipping.dataset(4, shuffle=False))) == [i for i in range(N) if i != 5]
    with pytest.raises(KsslError, match=r"img005\.png"):
        ImageStream.from_files(numbered, image_size=8)[4:7]


def test_a_reader_needs_only_a_few_methods():
    class Plain(FileReader):
        pass

    assert len(Plain(["a.png", "b.png"])) == 2 and Plain(["a.png"]).name(0) == "a.png"
    with pytest.raises(ValueError, match="2 labels for 1 paths"):
        FileReader(["a.png"], [0, 1])
