"""The transfer evaluators in a run: few_shot, fine_tune and label_efficiency from a recipe's eval list."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kssl.cli import main
from kssl.errors import ArgumentError, KsslError
from kssl.eval.fine_tune import FineTuneEvaluator
from kssl.eval.label_efficiency import METHODS, LabelEfficiencyEvaluator
from kssl.training import train

TRANSFER_EVAL = [
    {"type": "few_shot", "shots": [1, 5], "repeats": 2},
    {"type": "fine_tune", "labels_per_class": 5, "steps": 60, "batch_size": 32, "learning_rate": 1.0e-2, "encoder_learning_rate_scale": 1.0},
    {"type": "label_efficiency", "labels_per_class": [2, 5], "fractions": [0.1], "repeats": 2, "steps": 10, "batch_size": 32},
]


@pytest.fixture(scope="module")
def transfer_run(tmp_path_factory):
    import copy

    from tests.conftest import TINY_SIMCLR

    recipe = copy.deepcopy(TINY_SIMCLR)
    recipe["eval"] = TRANSFER_EVAL
    return train(recipe, output_dir=tmp_path_factory.mktemp("runs"))


def test_a_run_records_every_transfer_metric(transfer_run):
    metrics = json.loads((transfer_run / "metrics.json").read_text())["metrics"]
    for k in (1, 5):
        for head in ("logistic", "ncm"):
            assert 0.0 <= metrics[f"few_shot_{k}_{head}_accuracy"] <= 1.0
            assert f"random_init.few_shot_{k}_{head}_accuracy" in metrics  # the same draws on the random-init model
    assert metrics["fine_tune_accuracy"] > 0.2  # 50 labels, 60 steps: above chance (0.1)
    assert "random_init.fine_tune_accuracy" in metrics  # the same network from scratch, same recipe
    for budget in ("2_per_class", "5_per_class", "frac_0.1"):
        for method in METHODS:
            assert 0.0 <= metrics[f"label_efficiency.{budget}.{method}_accuracy"] <= 1.0
            assert f"label_efficiency.{budget}.{method}_accuracy_std" in metrics
    assert not any(k.startswith("random_init.label_efficiency") for k in metrics)  # it has its own scratch baseline


def test_label_efficiency_writes_the_curve_the_table_and_tensorboard(transfer_run):
    table = json.loads((transfer_run / "label_efficiency.json").read_text())
    assert [row["budget"] for row in table["budgets"]] == ["2_per_class", "5_per_class", "frac_0.1"]
    assert all(len(row[m]) == 2 for row in table["budgets"] for m in METHODS)  # one score per draw
    assert table["budgets"][2]["labels_per_class"] == pytest.approx(np.mean([max(1, np.ceil(0.1 * n)) for n in _class_sizes()]))
    png = (transfer_run / "label_efficiency.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    assert list((transfer_run / "logs" / "label_efficiency").glob("events.out.tfevents.*"))


def _class_sizes():
    from kssl.data.digits import digits

    data = digits(image_size=16, limit=256)
    return np.bincount(data.y_train.astype(int))


def test_a_budget_larger_than_a_class_fails_before_anything_is_written(tiny_recipe, write_recipe, tmp_path):
    tiny_recipe["eval"] = [{"type": "label_efficiency", "labels_per_class": [5, 500]}]
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["train", str(write_recipe(tiny_recipe)), "--output-dir", str(out)])
    assert result.exit_code == 2, result.output
    assert "eval.0" in result.output and "larger than class" in result.output and "Traceback" not in result.output
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    "args, message",
    [
        ({"fractions": [1.5]}, "<= 1.0"),
        ({"labels_per_class": [0]}, ">= 1"),
        ({"steps": 0}, ">= 1"),
        ({"learning_rate": float("nan")}, "positive"),
        ({"encoder_learning_rate_scale": -1}, ">= 0"),
        ({"optimizer": "adamm"}, "adamw"),
    ],
)
def test_bad_arguments_name_the_key(args, message):
    with pytest.raises(ArgumentError, match=message):
        LabelEfficiencyEvaluator(**args)


def test_fine_tune_refuses_both_budgets_and_augmentation_without_an_augmenter():
    with pytest.raises(ArgumentError, match="not both"):
        FineTuneEvaluator(labels_per_class=5, fraction=0.5)

    class NoAugmenter:
        augmenter = None

        class encoder:  # noqa: N801  (stands in for a Keras model's attribute)
            inputs = [object()]

    with pytest.raises(KsslError, match="augment: true needs"):
        FineTuneEvaluator(augment=True).check_model(NoAugmenter())


def test_transfer_evaluators_on_a_dataset_without_labels_fail_at_validate(tiny_recipe, write_recipe, tmp_path):
    x = np.random.default_rng(0).random((40, 8, 8, 1)).astype("float32")
    np.savez(tmp_path / "x.npz", x=x)
    tiny_recipe["data"] = {"type": "numpy", "path": str(tmp_path / "x.npz"), "batch_size": 16}
    tiny_recipe["eval"] = [{"type": "few_shot", "shots": [1]}]
    result = CliRunner().invoke(main, ["validate", str(write_recipe(tiny_recipe))])
    assert result.exit_code == 2 and "eval.0" in result.output and "labels" in result.output, result.output
