"""image_captions: a folder of images and a CSV or JSONL captions file; bad rows name the key and write nothing."""

import json

import numpy as np
import pytest
from PIL import Image

from kssl.data.image_captions import image_captions
from kssl.errors import KsslError


def _images(folder, n=6, size=(8, 8), odd=None):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = odd if (odd and i == n - 1) else size
        Image.fromarray(rng.integers(0, 256, (*shape[::-1], 3), dtype=np.uint8)).save(folder / f"img{i}.png")
    return folder


def _csv(folder, rows, name="captions.csv", header="path,caption"):
    (folder / name).write_text(header + "\n" + "".join(",".join(r) + "\n" for r in rows), encoding="utf-8")
    return folder / name


def test_csv_with_several_captions_per_image_and_a_held_out_split(tmp_path):
    folder = _images(tmp_path / "imgs")
    rows = [(f"img{i}.png", f"picture number {i} variant {k}") for i in range(6) for k in range(i % 3 + 1)]
    _csv(folder, rows)
    before = sorted(p.name for p in folder.iterdir())
    data = image_captions(path=str(folder), test_fraction=0.3, seed=0)
    assert data.x_train.shape == (4, 8, 8, 3) and data.x_test.shape == (2, 8, 8, 3) and data.y_train is None
    ctx = data.context
    assert len(ctx["train_captions"]) == 4 and len(ctx["test_captions"]) == 2 and not ctx["heldout_test"].any()
    every = sorted(t for c in ctx["train_captions"] + ctx["test_captions"] for t in c)
    assert every == sorted(r[1] for r in rows)  # every row reached its image, grouped per image
    for captions, image in zip(ctx["train_captions"], data.x_train):  # each image keeps its own captions
        i = int(captions[0].split()[2])
        assert all(t.startswith(f"picture number {i} ") for t in captions) and len(captions) == i % 3 + 1
        np.testing.assert_allclose(image, np.asarray(Image.open(folder / f"img{i}.png"), "float32") / 255.0)
    again = image_captions(path=str(folder), test_fraction=0.3, seed=0)
    np.testing.assert_array_equal(again.x_train, data.x_train)
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written


def test_jsonl_with_labels_gives_class_names(tmp_path):
    folder = _images(tmp_path / "imgs", n=8)
    lines = [json.dumps({"path": f"img{i}.png", "caption": f"a thing {i}", "label": "cat" if i % 2 else "dog"}) for i in range(8)]
    (tmp_path / "caps.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    data = image_captions(path=str(folder), captions=str(tmp_path / "caps.jsonl"), test_fraction=0.25)
    assert data.class_names == ["cat", "dog"] and data.has_labels
    for captions, label in zip(data.context["train_captions"], data.y_train):
        assert ("cat" if int(captions[0].split()[-1]) % 2 else "dog") == data.class_names[label]


def test_mixed_sizes_need_image_size_which_resizes_them(tmp_path):
    folder = _images(tmp_path / "imgs", n=4, odd=(12, 10))
    _csv(folder, [(f"img{i}.png", f"caption {i}") for i in range(4)])
    with pytest.raises(KsslError, match=r"^data\.image_size: the images have different sizes \(img0\.png is 8x8, img3\.png is 12x10\)"):
        image_captions(path=str(folder))
    data = image_captions(path=str(folder), image_size=16, channels=1, test_fraction=0.25)
    assert data.x_train.shape[1:] == (16, 16, 1) and data.x_test.shape[1:] == (16, 16, 1)


@pytest.mark.parametrize(
    "rows,message",
    [
        ([("img0.png", "a"), ("missing.png", "b")], r"^data\.captions: row 2 .* names the image 'missing\.png', which is not in data\.path"),
        ([("img0.png", "a"), ("img1.png", "  ")], r"^data\.captions: row 2 .*img1\.png\) has an empty, missing or non-text caption"),
        ([("img0.png", "a"), ("img1.png", "NaN")], r"^data\.captions: row 2 .*has an empty, missing or non-text caption \(got 'NaN'\)"),
        ([("img0.png", "a"), ("nan", "b")], r"^data\.captions: row 2 .* has no image path \(got 'nan'\)"),
    ],
)
def test_bad_rows_name_the_key_and_the_row(tmp_path, rows, message):
    folder = _images(tmp_path / "imgs", n=3)
    _csv(folder, rows)
    with pytest.raises(KsslError, match=message):
        image_captions(path=str(folder))


def test_bad_files_name_the_key(tmp_path):
    folder = _images(tmp_path / "imgs", n=3)
    with pytest.raises(KsslError, match=r"^data\.captions: no captions\.csv or captions\.jsonl"):
        image_captions(path=str(folder))
    _csv(folder, [("img0.png", "a")], header="file,text")
    with pytest.raises(KsslError, match=r"^data\.captions: .* lacks the column\(s\) path, caption"):
        image_captions(path=str(folder))
    (tmp_path / "bad.jsonl").write_text('{"path": "img0.png", "caption": "a"}\nnot json\n', encoding="utf-8")
    with pytest.raises(KsslError, match=r"^data\.captions: line 2 .* is not JSON"):
        image_captions(path=str(folder), captions=str(tmp_path / "bad.jsonl"))
    (tmp_path / "num.jsonl").write_text('{"path": "img0.png", "caption": NaN}\n', encoding="utf-8")
    with pytest.raises(KsslError, match=r"^data\.captions: row 1 .*non-text caption \(got nan\)"):
        image_captions(path=str(folder), captions=str(tmp_path / "num.jsonl"))
    with pytest.raises(KsslError, match=r"^data\.path: no such folder"):
        image_captions(path=str(tmp_path / "nope"))
