"""The command line's fast paths: bad input reported before Keras is imported, and TensorFlow's start-up lines kept quiet.

Each check runs the CLI in a fresh subprocess and reads ``sys.modules`` there: a path that
imported Keras fails the test whatever the machine's speed (no timings, no flakes).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kssl import quiet_tensorflow

REPO = Path(__file__).resolve().parents[1]

# Runs kssl.cli.main on each argument list in one process and prints, per list, its exit code,
# its stderr and whether keras / tensorflow / jax were imported by then.
DRIVER = r"""
import contextlib, io, json, sys
sys.argv = ["kssl"]  # as the `kssl` script: importing kssl does not load the registry
from kssl.cli import main
results = []
for args in json.loads(sys.argv_json):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(args, prog_name="kssl")
            code = 0
        except SystemExit as exc:
            code = exc.code
    loaded = sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules)
    results.append({"args": args, "code": code, "stderr": err.getvalue(), "stdout": out.getvalue(), "loaded": loaded})
print("RESULTS " + json.dumps(results))
"""


def _run_cli_in_fresh_process(cases, cwd):
    code = DRIVER.replace("sys.argv_json", repr(json.dumps(cases)))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(row for row in done.stdout.splitlines() if row.startswith("RESULTS "))
    return json.loads(line[len("RESULTS ") :])


def test_bad_input_and_listings_never_import_keras(tiny_recipe, tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\ndata: {type: digits\n", encoding="utf-8")
    (tmp_path / "wrong-type.yaml").write_text(yaml.safe_dump({**tiny_recipe, "train": {"epochs": "ten"}}), encoding="utf-8")
    (tmp_path / "unknown-key.yaml").write_text(yaml.safe_dump({**tiny_recipe, "colour": "blue"}), encoding="utf-8")
    (tmp_path / "unknown-type.yaml").write_text(yaml.safe_dump({**tiny_recipe, "pretext": {"type": "simclrr"}}), encoding="utf-8")
    (tmp_path / "not-a-run").mkdir()
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "recipe.yaml").write_text(yaml.safe_dump(tiny_recipe), encoding="utf-8")
    cases = {
        "validate unknown type": (["validate", "unknown-type.yaml"], 2, "pretext.type: unknown pretext 'simclrr'. Did you mean 'simclr'?"),
        "train unknown type": (["train", "unknown-type.yaml"], 2, "pretext.type: unknown pretext 'simclrr'. Did you mean 'simclr'?"),
        "train missing": (["train", "missing.yaml"], 2, "no such file"),
        "train malformed": (["train", "bad.yaml"], 2, "malformed YAML"),
        "validate malformed": (["validate", "bad.yaml"], 2, "malformed YAML"),
        "validate wrong type": (["validate", "wrong-type.yaml"], 2, "train.epochs"),
        "validate unknown key": (["validate", "unknown-key.yaml"], 2, "colour"),
        "eval no folder": (["eval", "not/a/run"], 2, "no such run directory"),
        "eval no recipe": (["eval", "not-a-run"], 2, "not a kssl run directory"),
        "eval unfinished": (["eval", "unfinished"], 2, "has no model.keras"),
        "resume no folder": (["train", "--resume", "not/a/run"], 2, "--resume"),
        "embed no folder": (["embed", "not/a/run", "in", "-o", "out.npy"], 2, "no such run directory"),
        "finetune unfinished": (["finetune", "unfinished"], 2, "has no model.keras"),
        "fill-mask no folder": (["fill-mask", "not/a/run", "a [MASK]"], 2, "no such run directory"),
        "plugins": (["plugins"], 0, ""),
        "zoo": (["zoo"], 0, ""),
        "help": (["--help"], 0, ""),
    }
    results = dict(zip(cases, _run_cli_in_fresh_process([args for args, _, _ in cases.values()], tmp_path)))
    for name, (_, code, fragment) in cases.items():
        result = results[name]
        assert result["code"] == code, (name, result)
        assert fragment in result["stderr"].replace("\n", " "), (name, result["stderr"])
        assert "Traceback" not in result["stderr"], name
        assert result["loaded"] == [], f"`kssl {' '.join(result['args'])}` imported {result['loaded']}"
    assert "simclr" in results["zoo"]["stdout"]
    listing = results["plugins"]["stdout"]
    assert "pretexts:" in listing and "  simclr " in listing and "  knn " in listing, listing  # names, kinds and providers
    assert not (tmp_path / "runs").exists(), "a run directory was written"


def test_validate_prints_no_tensorflow_start_up_lines(tiny_recipe, write_recipe, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # kssl's default, not the test suite's
    env.update(PYTHONPATH=str(REPO), KERAS_BACKEND="tensorflow")
    done = subprocess.run(
        [sys.executable, "-m", "kssl", "validate", str(write_recipe(tiny_recipe))], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.startswith("ok: tiny-simclr")
    for noise in ("absl::InitializeLog", "cuda drivers", "oneDNN", "cuInit", "cpu_feature_guard"):
        assert noise not in done.stderr, done.stderr
    assert "kssl: jit_compile auto -> false (tensorflow)" in done.stderr


@pytest.mark.parametrize(
    ("level", "kept"),
    [
        (0, ["banner", "info", "warning", "error", "fatal", "plain"]),
        (1, ["warning", "error", "fatal", "plain"]),
        (2, ["error", "fatal", "plain"]),
        (3, ["fatal", "plain"]),
    ],
)
def test_quiet_stderr_keeps_what_tf_cpp_min_log_level_keeps(capfd, level, kept):
    lines = {
        "banner": "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
        "info": "I0000 00:00:1796183824.499857   20545 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n",
        "warning": "W1202 04:01:02.123456    7 some_file.cc:12] a warning\n",
        "error": "E0000 00:00:1796183959.843689   21700 cuda_platform.cc:52] failed call to cuInit\n",
        "fatal": "F0000 00:00:1796183959.843689   21700 x.cc:1] fatal\n",
        "plain": "UserWarning: a Python warning during the import\n",
    }
    capfd.readouterr()
    with quiet_tensorflow.quiet_stderr(level):
        for text in lines.values():
            os.write(2, text.encode())
    assert capfd.readouterr().err == "".join(lines[name] for name in kept)


def test_an_unknown_component_type_is_reported_from_names_alone_before_keras(tiny_recipe):
    recipe = {**tiny_recipe, "pretext": {"type": "simclrr"}}
    code = f"""
import sys
sys.argv = ["kssl"]  # as the `kssl` script: importing kssl does not load the registry
from kssl.component_names import check_component_names
from kssl.errors import RecipeError
from kssl.recipe import load_recipe
try:
    check_component_names(load_recipe({recipe!r}))
except RecipeError as exc:
    print("ERROR", exc)
print("LOADED", sorted(m for m in ("keras", "tensorflow", "jax", "torch") if m in sys.modules))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ERROR pretext.type: unknown pretext 'simclrr'. Did you mean 'simclr'?" in done.stdout, done.stdout
    assert "LOADED []" in done.stdout, done.stdout
