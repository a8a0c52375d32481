"""The ``manifest`` dataset: CSV / JSON Lines rows of ``path[,label]``, held in memory or streamed."""

from __future__ import annotations

import json

import numpy as np
import pytest
from stream_images import write_folder

from kssl.data import file_splits
from kssl.data.image_stream import ImageStream
from kssl.data.manifest import manifest
from kssl.errors import ArgumentError, KsslError


@pytest.fixture
def folder(tmp_path):
    paths = write_folder(tmp_path / "images", per_class=10, size=8)
    return tmp_path, [p.relative_to(tmp_path) for p in paths]


def _csv(tmp_path, rows, name="list.csv", header="path,label"):
    path = tmp_path / name
    path.write_text("\n".join(([header] if header else []) + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def test_a_csv_manifest_with_string_labels_splits_like_an_image_folder(folder):
    tmp_path, paths = folder
    path = _csv(tmp_path, [(p, p.parent.name) for p in paths])
    data = manifest(str(path), image_size=8, batch_size=4, stream=False)
    assert data.class_names == ["horizontal", "vertical"] and data.x_train.shape == (16, 8, 8, 3) and len(data.x_test) == 4
    assert isinstance(data.x_train, np.ndarray) and set(np.unique(data.y_train)) == {0, 1}
    streamed = manifest(str(path), image_size=8, batch_size=4, stream=True)
    assert isinstance(streamed.x_train, ImageStream) and isinstance(streamed.x_test, ImageStream)
    np.testing.assert_array_equal(streamed.y_train, data.y_train)  # the same split, whichever the storage
    # PNG pixels are exact; TensorFlow's and PIL's JPEG decoders (IDCT, chroma upsampling) differ by a few levels
    np.testing.assert_allclose(streamed.x_train[:6], data.x_train[:6], atol=12 / 255)


def test_a_headerless_csv_with_class_ids_and_a_jsonl_manifest(folder):
    tmp_path, paths = folder
    csv_path = _csv(tmp_path, [(p, int(p.parent.name == "vertical")) for p in paths], header=None)
    data = manifest(str(csv_path), image_size=8)
    assert data.class_names is None and data.num_classes == 2
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text("\n".join(json.dumps({"path": str(p)}) for p in paths) + "\n")
    unlabeled = manifest(str(jsonl), image_size=8, stream=True)
    assert unlabeled.y_train is None and len(unlabeled.x_train) == 20 and not unlabeled.has_labels


def test_manifest_mistakes_are_named(folder):
    tmp_path, paths = folder
    with pytest.raises(KsslError, match=r"line 3: .*nowhere\.png"):
        manifest(str(_csv(tmp_path, [(paths[0], "a"), ("nowhere.png", "b")])))
    with pytest.raises(KsslError, match="mixes labeled and unlabeled rows"):
        manifest(str(_csv(tmp_path, [(paths[0], "a"), (paths[1], "")])))
    with pytest.raises(KsslError, match="3 columns"):
        manifest(str(_csv(tmp_path, [(paths[0], "a", "x")])))
    (tmp_path / "list.txt").write_text("a.png\n")
    with pytest.raises(KsslError, match=r"not a \.csv or \.jsonl"):
        manifest(str(tmp_path / "list.txt"))
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"file": "a.png"}\n')
    with pytest.raises(KsslError, match="line 1 is not a JSON object"):
        manifest(str(bad_json))
    with pytest.raises(ArgumentError, match="stream"):
        manifest(str(_csv(tmp_path, [(p, "a") for p in paths])), stream="sometimes")


def test_stream_auto_streams_above_the_memory_bound(folder, monkeypatch):
    tmp_path, paths = folder
    path = _csv(tmp_path, [(p, p.parent.name) for p in paths])
    assert isinstance(manifest(str(path), image_size=8).x_train, np.ndarray)  # 16 x 768 bytes: far below 1 GiB
    monkeypatch.setattr(file_splits, "MEMORY_BOUND", 1000)
    data = manifest(str(path), image_size=8, eval_limit=5)
    assert isinstance(data.x_train, ImageStream)
    capped = data.for_evaluation()
    assert len(capped.x_train) == len(capped.y_train) == 5 and len(capped.x_test) == 4  # the test split had only 4
    assert isinstance(capped.x_train, ImageStream)


@pytest.mark.parametrize("stream", [False, True])
def test_corrupt_files_fail_named_or_are_skipped_and_counted(folder, stream, capsys):
    tmp_path, paths = folder
    (tmp_path / paths[2]).write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    path = _csv(tmp_path, [(p, p.parent.name) for p in paths])
    with pytest.raises(KsslError, match=rf"cannot read image .*{paths[2].name}.*truncated PNG"):
        manifest(str(path), image_size=8, stream=stream)
    data = manifest(str(path), image_size=8, stream=stream, on_error="skip")
    assert len(data.x_train) + len(data.x_test) == 19
    assert "skipped 1 file(s)" in capsys.readouterr().err
