"""The learning-rate schedule against its closed form: linear warm-up, cosine decay to 0 over epochs x steps, and
the same curve across a resume."""

import math

import numpy as np
import pytest
from tiny_runs import STEPS, Killed, kill_at_epoch_end, spy_on_fit, tiny_mlp

from kssl.optimizers import make_optimizer


def cosine_with_warmup(step, learning_rate, warmup_steps, decay_steps):
    """Linear warm-up from 0 to ``learning_rate`` over ``warmup_steps``, then half a cosine to 0 over ``decay_steps``."""
    if step < warmup_steps:
        return learning_rate * step / warmup_steps
    done = min(step - warmup_steps, decay_steps) / decay_steps
    return 0.5 * learning_rate * (1.0 + math.cos(math.pi * done))


def _rate_at(optimizer, step):
    optimizer.iterations.assign(step)
    return float(np.asarray(optimizer.learning_rate))


@pytest.mark.parametrize("warmup_steps", [0, 5])
def test_cosine_schedule_matches_the_closed_form(warmup_steps):
    optimizer = make_optimizer("adam", learning_rate=0.1, schedule="cosine", warmup_steps=warmup_steps, decay_steps=20)
    got = [_rate_at(optimizer, step) for step in range(32)]
    want = [cosine_with_warmup(step, 0.1, warmup_steps, 20) for step in range(32)]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_constant_schedule_stays_put():
    optimizer = make_optimizer("sgd", learning_rate=0.05)
    assert [_rate_at(optimizer, step) for step in (0, 7, 1000)] == pytest.approx([0.05] * 3)


@pytest.mark.parametrize(("train", "steps_total"), [({}, 3 * STEPS), ({"steps_per_epoch": 3}, 3 * 3)])
def test_the_decay_spans_the_whole_run(train, steps_total):
    from kssl.builder import build_all

    recipe = tiny_mlp(epochs=3, optimizer={"type": "adam", "learning_rate": 0.01, "schedule": "cosine", "warmup_steps": 2})
    recipe["train"].update(train)
    optimizer = build_all(recipe).model.optimizer
    for step in range(steps_total + 2):
        assert _rate_at(optimizer, step) == pytest.approx(cosine_with_warmup(step, 0.01, 2, steps_total - 2), abs=1e-8), step
    assert _rate_at(optimizer, steps_total) == pytest.approx(0.0, abs=1e-9)  # reaches 0 at the last step, not before


def test_a_resumed_run_continues_the_schedule_where_it_stopped(tmp_path, monkeypatch):
    from kssl.training import resume, train

    recipe = tiny_mlp(epochs=3, optimizer={"type": "adam", "learning_rate": 0.01, "schedule": "cosine", "warmup_steps": 2})
    with monkeypatch.context() as m:
        kill_at_epoch_end(m, 2)
        with pytest.raises(Killed):
            train(recipe, output_dir=tmp_path)
    [run_dir] = tmp_path.iterdir()
    seen = spy_on_fit(monkeypatch)
    resume(run_dir)
    [start] = seen
    assert start["iterations"] == 2 * STEPS
    assert start["learning_rate"] == pytest.approx(cosine_with_warmup(2 * STEPS, 0.01, 2, 3 * STEPS - 2), rel=1e-5)


def test_raising_epochs_on_resume_stretches_the_decay_instead_of_training_at_zero(tmp_path, monkeypatch):
    """A checkpoint's cosine decays over the run it was planned for; resumed with more epochs, the extra ones must
    not train at learning rate 0: the decay is refitted to the new total and the rate follows the longer curve."""
    from kssl.training import resume, train

    recipe = tiny_mlp(epochs=2, optimizer={"type": "adam", "learning_rate": 0.01, "schedule": "cosine", "warmup_steps": 2})
    run_dir = train(recipe, output_dir=tmp_path)
    seen = spy_on_fit(monkeypatch)
    resume(run_dir, epochs=4)
    [start] = seen
    assert start["iterations"] == 2 * STEPS
    # at step 8 the old 2-epoch decay had reached 0; the 4-epoch curve is half-way down
    assert start["learning_rate"] == pytest.approx(cosine_with_warmup(2 * STEPS, 0.01, 2, 4 * STEPS - 2), rel=1e-5)
    assert start["learning_rate"] > 0.004
