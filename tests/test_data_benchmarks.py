"""The data benchmarks' core functions on a few dozen images, so that the scripts cannot rot (numbers are not checked)."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # worker processes find its functions by module name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench") / "images"
    _load("make_image_folder").make_image_folder(root, count=24, size=16, classes=3, workers=1)
    return root


def test_make_image_folder_is_deterministic_and_laid_out_by_class(folder, tmp_path):
    make = _load("make_image_folder")
    stats = make.make_image_folder(tmp_path / "again", count=24, size=16, classes=3, workers=2)
    assert stats["count"] == 24 and stats["bytes"] > 0
    mine = sorted(p.relative_to(folder) for p in folder.rglob("*.jpg"))
    assert mine == sorted(p.relative_to(tmp_path / "again") for p in (tmp_path / "again").rglob("*.jpg"))
    assert all((folder / p).read_bytes() == (tmp_path / "again" / p).read_bytes() for p in mine)  # same bytes, whatever the workers
    assert sorted(p.name for p in folder.iterdir()) == ["class_00", "class_01", "class_02"] and len(mine) == 24
    im = Image.open(folder / "class_01" / "img_0000004.jpg")
    assert im.format == "JPEG" and im.size == (16, 16) and np.asarray(im).std() > 5  # not a flat colour


def test_data_pipeline_measures_every_pipeline_in_every_mode(folder, tmp_path):
    bench = _load("data_pipeline")
    result = bench.run(folder, size=8, batch=4, images=8, repeats=1, packed=tmp_path / "shards")
    assert {(r["pipeline"], r["mode"]) for r in result["rows"]} == {(p, m) for p in bench.PIPELINES for m in bench.MODES}
    assert all(r["images_per_s"] > 0 and r["cpu_s_per_1k"] >= 0 for r in result["rows"])
    assert result["pack"]["shards"] == 1 and result["config"]["images_in_folder"] == 24
    assert "not measured" in bench.table(result) and json.loads(json.dumps(result)) == result


def test_train_memory_recipe_is_a_valid_recipe(folder):
    from kssl.recipe import load_recipe

    bench = _load("train_memory")
    recipe = bench.recipe({"type": "image_folder", "path": str(folder), "stream": True}, image_size=8, batch_size=4, steps=2)
    loaded = load_recipe(recipe)
    assert loaded["train"]["steps_per_epoch"] == 2 and loaded["data"]["stream"] is True and loaded["eval"] == []


@pytest.mark.slow
def test_train_memory_measures_a_kssl_train_child(folder, tmp_path):
    bench = _load("train_memory")
    result = bench.run([folder], image_size=8, batch_size=4, steps=2, workdir=tmp_path)
    (row,) = result["rows"]
    assert row["exit_code"] == 0, row.get("log_tail")
    assert row["peak_rss_mb"] > 50 and 0 < row["first_step_s"] <= row["wall_s"] and 0 < row["first_step_cpu_s"] <= row["cpu_s"]
    assert row["images"] == 24 and result["streamed_peak_rss_ratio_max_over_min"] is None  # one folder: no ratio
