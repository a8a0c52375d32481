"""Resume continues the killed run: it starts from the checkpoint's weights and optimizer step, its loss curve
goes on where the killed run's stopped, history.csv has each epoch once, and metrics.json its final loss."""

import csv
import json

import numpy as np
import pytest
from tiny_runs import STEPS, Killed, kill_at_epoch_end, spy_on_fit, tiny_mlp, weights

import kssl
from kssl.training import resume, train


def _losses(run_dir):
    rows = list(csv.DictReader(open(run_dir / "history.csv")))
    assert [int(row["epoch"]) for row in rows] == list(range(len(rows))), rows  # each epoch once, in order
    return [float(row["loss"]) for row in rows]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return _losses(train(tiny_mlp(epochs=4), output_dir=tmp_path_factory.mktemp("a")))


def test_resume_starts_from_the_checkpoint_and_continues_the_loss_curve(uninterrupted, tmp_path, monkeypatch, capsys):
    with monkeypatch.context() as m:
        kill_at_epoch_end(m, 2)
        with pytest.raises(Killed):
            train(tiny_mlp(epochs=4), output_dir=tmp_path)
    [run_dir] = tmp_path.iterdir()
    checkpoint = weights(kssl.load_model(run_dir / "checkpoints" / "epoch-0002.keras"))
    init = (run_dir / "model-init.keras").read_bytes()
    capsys.readouterr()
    seen = spy_on_fit(monkeypatch)
    resume(run_dir)
    assert "resuming from epoch-0002.keras (2 epochs done)" in capsys.readouterr().err
    [start] = seen
    assert start["initial_epoch"] == 2 and start["iterations"] == 2 * STEPS  # the optimizer's state came back too
    for a, b in zip(start["weights"], checkpoint, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (run_dir / "model-init.keras").read_bytes() == init  # the random-init baseline is not rewritten on resume
    resumed = _losses(run_dir)
    assert resumed[:2] == uninterrupted[:2]  # the same seed: the killed run followed the uninterrupted one
    # Retraining from scratch would restart near the first epoch's loss; the resumed epoch is near the third's.
    drop = uninterrupted[0] - uninterrupted[2]
    assert drop > 0.3, uninterrupted
    assert abs(resumed[2] - uninterrupted[2]) < 0.1 * drop, (resumed, uninterrupted)


def test_a_row_logged_after_the_last_checkpoint_is_not_repeated(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        kill_at_epoch_end(m, 2, before_checkpoint=True)  # epoch 2's row is written, its checkpoint is not
        with pytest.raises(Killed):
            train(tiny_mlp(epochs=3), output_dir=tmp_path)
    [run_dir] = tmp_path.iterdir()
    assert len(_losses(run_dir)) == 2
    resume(run_dir)
    assert len(_losses(run_dir)) == 3  # epochs 0, 1, 2 once each (the killed epoch 1 row was replaced)


def test_resume_with_no_epoch_left_records_the_final_loss(tmp_path, monkeypatch):
    with monkeypatch.context() as m:
        kill_at_epoch_end(m, 2)  # the last epoch's checkpoint is written, then the run dies before metrics.json
        with pytest.raises(Killed):
            train(tiny_mlp(epochs=2), output_dir=tmp_path)
    [run_dir] = tmp_path.iterdir()
    resume(run_dir)
    summary = json.loads((run_dir / "metrics.json").read_text())
    assert summary["epochs_run"] == 2 and summary["final_loss"] == pytest.approx(_losses(run_dir)[-1])


def test_history_has_no_validation_columns_without_validation_data(tmp_path):
    run_dir = train(tiny_mlp(epochs=1), output_dir=tmp_path)
    header = (run_dir / "history.csv").read_text().splitlines()[0]
    assert header == "epoch,contrastive_accuracy,loss"
