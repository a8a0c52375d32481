"""Output folders that cannot be written fail before anything is built; a full disk mid-run says so, leaves no
temporary file and keeps the run resumable."""

import csv
import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from tiny_runs import tiny_mlp

from kssl.errors import KsslError
from kssl.run_dir import DiskFullError, check_writable_dir

ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KSSL_DISABLE_PLUGINS": "1"}


@pytest.fixture
def below_a_file(tmp_path):
    (tmp_path / "a-file").write_text("x")
    return tmp_path / "a-file" / "runs"


def _no_build(*args, **kwargs):
    raise AssertionError("built before the output folder was checked")


def test_check_writable_dir_creates_nothing_and_names_the_option(tmp_path, below_a_file):
    assert check_writable_dir(tmp_path / "new" / "deeper", "--output-dir") == tmp_path / "new" / "deeper"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]  # the probe folders were removed again
    with pytest.raises(KsslError, match=r"--output-dir '.*a-file/runs': cannot write there \(Not a directory"):
        check_writable_dir(below_a_file, "--output-dir")
    with pytest.raises(KsslError, match="a file, not a folder"):
        check_writable_dir(tmp_path / "a-file", "--output")


def test_a_read_only_folder_is_refused(tmp_path, monkeypatch):
    import kssl.run_dir

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(kssl.run_dir.tempfile, "NamedTemporaryFile", read_only)
    with pytest.raises(KsslError, match="Read-only file system"):
        check_writable_dir(tmp_path, "--output-dir")


def test_train_checks_the_output_dir_before_building(below_a_file, monkeypatch):
    import kssl.training

    monkeypatch.setattr(kssl.training, "build_all", _no_build)
    with pytest.raises(KsslError, match="--output-dir"):
        kssl.training.train(tiny_mlp(), output_dir=below_a_file)
    assert not below_a_file.parent.is_dir()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc")
def test_kssl_train_into_proc_exits_2_without_a_traceback(write_recipe):
    out = subprocess.run(
        [sys.executable, "-m", "kssl", "train", str(write_recipe(tiny_mlp())), "--output-dir", "/proc/kssl-runs"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert out.returncode == 2, out.stderr[-2000:]
    assert "--output-dir '/proc/kssl-runs': cannot write there" in out.stderr and "Traceback" not in out.stderr
    assert "loading recipe" not in out.stderr  # refused before the build


def _finished_looking_run(tmp_path) -> Path:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "recipe.yaml").write_text(yaml.safe_dump(tiny_mlp()))
    for name in ("model.keras", "encoder.keras"):
        (run_dir / name).write_bytes(b"")  # never read: the output is checked first
    return run_dir


def test_finetune_checks_its_output_dir_before_loading(tmp_path, below_a_file, monkeypatch):
    import kssl.finetune_run

    monkeypatch.setattr(kssl.finetune_run, "load_model", _no_build)
    with pytest.raises(KsslError, match="--output-dir"):
        kssl.finetune_run.finetune(_finished_looking_run(tmp_path), output_dir=below_a_file)


def test_embed_checks_its_output_before_loading(tmp_path, below_a_file, monkeypatch):
    import kssl.embedding_export

    monkeypatch.setattr(kssl.embedding_export, "load_model", _no_build)
    (tmp_path / "x.npy").write_bytes(b"")
    with pytest.raises(KsslError, match="--output '.*a-file/runs'"):
        kssl.embedding_export.export_embeddings(_finished_looking_run(tmp_path), tmp_path / "x.npy", below_a_file / "f.npy")


def test_a_full_disk_mid_run_says_so_cleans_up_and_the_run_resumes(tmp_path, monkeypatch):
    import keras

    from kssl.callbacks import checkpoints
    from kssl.training import resume, train

    real_save = keras.Model.save
    saves = []

    def save(model, filepath, *args, **kwargs):  # model-init, encoder-init, epoch 1's checkpoint; then the disk is full
        saves.append(Path(filepath).name)
        if len(saves) == 4:
            Path(filepath).write_bytes(b"PK\x03\x04 half a file")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filepath))
        return real_save(model, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save", save)
    with pytest.raises(DiskFullError) as info:
        train(tiny_mlp(epochs=3), output_dir=tmp_path)
    monkeypatch.undo()
    [run_dir] = tmp_path.iterdir()
    message = str(info.value)
    assert "no space left" in message and "epoch-0001.keras (1 epochs), is kept" in message and f"--resume {run_dir}" in message
    assert saves[3] == ".tmp-epoch-0002.keras"
    leftovers = [p.name for p in run_dir.rglob("*") if p.name.startswith(".") or "tmp" in p.name]
    assert leftovers == []
    assert [done for done, _ in checkpoints(run_dir / "checkpoints")] == [1]
    resume(run_dir)
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]  # epoch 1's row from the failed session is not repeated
    assert json.loads((run_dir / "metrics.json").read_text())["epochs_run"] == 3


def test_kssl_reports_a_full_disk_in_one_paragraph(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import kssl.training
    from kssl.cli import main

    def full(*args, **kwargs):
        raise DiskFullError(tmp_path / "x", "no space left on the device while writing x.")

    monkeypatch.setattr(kssl.training, "train", full)
    result = CliRunner().invoke(main, ["train", str(Path(__file__).parent.parent / "zoo" / "simclr.yaml"), "--output-dir", str(tmp_path)])
    assert result.exit_code == 1 and "Error: no space left" in result.output and "Traceback" not in result.output
