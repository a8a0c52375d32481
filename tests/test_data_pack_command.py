"""`kssl data pack`: shards from a folder; corrupt files skipped or fatal; bad input exit 2; nothing half-written."""

import json

import pytest
from click.testing import CliRunner
from test_tfrecord_shards import write_folder

from kssl.cli import main
from kssl.data.tfrecord_shards import examples


def _run(*args):
    return CliRunner().invoke(main, ["data", "pack", *[str(a) for a in args]])


def _leftovers(parent):
    return [p.name for p in parent.iterdir() if p.name.startswith(".")]


@pytest.fixture
def src(tmp_path):
    made = write_folder(tmp_path / "src", per_class=(6, 6))
    return tmp_path / "src", made


def test_pack_writes_shards_and_prints_the_folder(src, tmp_path):
    folder, made = src
    out = tmp_path / "out"
    result = _run(folder, out, "--shard-size", 5)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert "packed 12 images into 3 shard(s)" in result.stderr
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 12 and [s["count"] for s in index["shards"]] == [5, 5, 2]
    assert {p: (img, label) for img, label, p in examples(out)} == made
    again = _run(folder, out, "--shard-mb", 1, "--overwrite")  # replaces the old shards once the new ones are complete
    assert again.exit_code == 0, again.output
    assert [p.name for p in sorted(out.iterdir())] == ["index.json", "part-00000.tfrecord", "records.npz"]
    assert _leftovers(tmp_path) == []


def test_pack_from_a_manifest(src, tmp_path):
    folder, made = src
    rows = sorted(made)[::2]  # every other image, labeled by name
    (folder / "list.csv").write_text("path,label\n" + "".join(f"{p},{'cat' if p.startswith('c0') else 'dog'}\n" for p in rows))
    out = tmp_path / "out"
    result = _run(folder, out, "--manifest", folder / "list.csv")
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    assert index["classes"] == ["cat", "dog"] and index["count"] == len(rows)
    assert {p: (img, label) for img, label, p in examples(out)} == {p: (made[p][0], made[p][1]) for p in rows}
    (folder / "bad.csv").write_text("path\nc0/missing.jpg\n")
    result = _run(folder, tmp_path / "out2", "--manifest", folder / "bad.csv")
    assert result.exit_code == 2 and "Error: --manifest: 1 file(s) listed in bad.csv do not exist" in result.stderr


def _corrupt(folder):
    good = (folder / "c0" / "img0.jpg").read_bytes()
    (folder / "c0" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (folder / "c1" / "text.png").write_text("not an image")


def test_corrupt_files_are_skipped_and_counted(src, tmp_path):
    folder, _ = src
    _corrupt(folder)
    out = tmp_path / "out"
    result = _run(folder, out, "--on-error", "skip")
    assert result.exit_code == 0, result.output
    assert "skipped 2 unreadable image(s)" in result.stderr
    index = json.loads((out / "index.json").read_text())
    assert index["count"] == 12 and index["skipped"] == 2
    assert sorted(s["path"] for s in index["skipped_files"]) == ["c0/truncated.jpg", "c1/text.png"]


def test_corrupt_file_fails_with_exit_2_and_nothing_written(src, tmp_path):
    folder, _ = src
    _corrupt(folder)
    out = tmp_path / "out"
    result = _run(folder, out, "--on-error", "fail", "--shard-size", 1)
    assert result.exit_code == 2
    assert "Error: FOLDER: cannot read image 'c" in result.stderr and "--on-error skip" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists() and _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--shard-size", 2, "--shard-mb", 1], "give one of them"),
        (["--shard-size", 0], "Invalid value for '--shard-size'"),
        (["--on-error", "ignore"], "Invalid value for '--on-error'"),
        (["--shard-mb", "nan"], "NaN and infinity are not allowed"),
        (["--shard-mb", "inf"], "NaN and infinity are not allowed"),
    ],
)
def test_bad_options_exit_2(src, tmp_path, args, message):
    folder, _ = src
    result = _run(folder, tmp_path / "out", *args)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "out").exists()


def test_bad_folders_exit_2_with_one_message(src, tmp_path):
    folder, _ = src
    assert "does not exist" in _run(tmp_path / "missing", tmp_path / "out").output
    (tmp_path / "empty").mkdir()
    result = _run(tmp_path / "empty", tmp_path / "out")
    assert result.exit_code == 2 and "Error: FOLDER: no images found" in result.stderr
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("keep me")
    result = _run(folder, tmp_path / "full")
    assert result.exit_code == 2 and "already exists and is not empty" in result.stderr and "--overwrite" in result.stderr
    assert (tmp_path / "full" / "x").read_text() == "keep me"
    result = _run(folder, folder.parent, "--overwrite")
    assert result.exit_code == 2 and "contains the images to pack" in result.stderr
    result = _run(folder, tmp_path / "no" / "such" / "out")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit(143)], ids=["ctrl-c", "sigterm"])  # SIGTERM's handler raises SystemExit
def test_interrupt_leaves_nothing_half_written(src, tmp_path, monkeypatch, stop):
    from kssl.data import tfrecord_shards

    folder, _ = src
    real_add, calls = tfrecord_shards.ShardWriter.add, []

    def add(self, *args):
        calls.append(1)
        if len(calls) == 7:
            raise stop  # in the middle of the second shard
        return real_add(self, *args)

    monkeypatch.setattr(tfrecord_shards.ShardWriter, "add", add)
    result = _run(folder, tmp_path / "out", "--shard-size", 4)
    assert result.exit_code != 0 and len(calls) == 7
    assert not (tmp_path / "out").exists() and _leftovers(tmp_path) == []
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "index.json").write_text("{}")
    calls.clear()
    result = _run(folder, tmp_path / "old", "--shard-size", 4, "--overwrite")
    assert result.exit_code != 0
    assert [p.name for p in (tmp_path / "old").iterdir()] == ["index.json"]  # the previous content is untouched
    assert _leftovers(tmp_path) == []


DRIVER = r"""
import contextlib, io, sys
sys.argv = ["kssl"]  # as the `kssl` script: importing kssl does not load the registry
from kssl.cli import main
for args in ARGS:
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(args, prog_name="kssl")
        except SystemExit as exc:
            print(exc.code, file=sys.__stdout__)
print(sorted(m for m in ("keras", "tensorflow", "PIL") if m in sys.modules))
"""


def test_bad_input_is_refused_before_tensorflow_loads(src, tmp_path):
    import subprocess
    import sys

    folder, _ = src
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    cases = [
        ["data", "pack", "--help"],
        ["data", "pack", str(folder), str(tmp_path / "o"), "--shard-size", "2", "--shard-mb", "1"],
        ["data", "pack", str(folder), str(tmp_path / "full")],
    ]
    done = subprocess.run([sys.executable, "-c", DRIVER.replace("ARGS", repr(cases))], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "2", "2", "[]"]


def test_sigterm_exits_through_the_cleanup_while_packing_only():
    import signal

    from kssl.commands.data import _sigterm_cleans_up

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as stopped, _sigterm_cleans_up():
        signal.getsignal(signal.SIGTERM)(signal.SIGTERM, None)
    assert stopped.value.code == 143 and signal.getsignal(signal.SIGTERM) is before
