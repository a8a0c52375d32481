"""The torch backend, as the README promises it: every zoo pretext task trains, saves and reloads on torch.

One subprocess (tests/torch_steps.py, KERAS_BACKEND=torch) builds each zoo recipe with a tiny
encoder and a few samples, fits one step, saves to ``.keras`` and reloads; the reloaded model
must give the same weights, outputs and features. Marked ``torch`` (deselected by default:
``pytest -m torch`` runs them; .ci/torch installs torch==2.13.0 CPU and runs them in CI).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kssl.zoo_recipes import ZOO_DIR

STEPS = Path(__file__).with_name("torch_steps.py")
REPO = Path(__file__).resolve().parents[1]
RECIPES = sorted(p.stem for p in ZOO_DIR.glob("*.yaml"))

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def torch_results() -> dict:
    if importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch: pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu (bash .ci/torch does it)")
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "KSSL_STEPS_BACKEND")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, str(STEPS), *RECIPES], capture_output=True, text=True, timeout=1200, env=env, cwd=REPO)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"torch steps failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


def test_the_steps_ran_on_torch_2_13(torch_results):
    assert torch_results["backend"] == "torch"
    assert torch_results["version"].startswith("2.13.0"), torch_results["version"]


@pytest.mark.parametrize("name", RECIPES)
def test_zoo_pretext_trains_one_step_saves_and_reloads_on_torch(torch_results, name):
    result = torch_results["recipes"][name]
    assert result["ok"], f"{name} on torch: {result['error']}\n{result['traceback']}"
    assert result["features"][0] == 16 and result["loss"] == result["loss"]  # 16 samples embedded; the loss is not NaN
