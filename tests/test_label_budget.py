"""Label budgets and the few-shot evaluator: stratified seeded draws, clear errors, and scores on raw digits."""

import numpy as np
import pytest

from kssl.data.digits import digits
from kssl.errors import ArgumentError, KsslError
from kssl.eval.few_shot import FewShotEvaluator, nearest_class_mean
from kssl.eval.label_budget import LabelBudget, label_budgets
from kssl.eval.linear_probe import LinearProbeEvaluator
from kssl.pretext.pretext_task import PretextTask

Y = np.repeat(np.arange(4), [10, 7, 3, 5])


def test_per_class_draw_is_stratified_seeded_and_without_repeats():
    rows = LabelBudget(per_class=3).draw(Y, seed=1)
    assert np.bincount(Y[rows]).tolist() == [3, 3, 3, 3]
    assert len(set(rows.tolist())) == len(rows)
    assert np.array_equal(rows, LabelBudget(per_class=3).draw(Y, seed=1))
    assert not np.array_equal(rows, LabelBudget(per_class=3).draw(Y, seed=2))


def test_fraction_takes_the_ceiling_of_each_class_and_at_least_one():
    budget = LabelBudget(fraction=0.25)
    assert np.bincount(Y[budget.draw(Y, 0)]).tolist() == [3, 2, 1, 2]  # ceil(2.5), ceil(1.75), ceil(0.75), ceil(1.25)
    assert np.bincount(Y[LabelBudget(fraction=1.0).draw(Y, 0)]).tolist() == [10, 7, 3, 5]
    assert budget.mean_per_class(Y) == 2.0
    assert (budget.key, LabelBudget(per_class=5).key) == ("frac_0.25", "5_per_class")


def test_a_budget_larger_than_a_class_names_the_class_and_its_count():
    with pytest.raises(KsslError, match=r"class 'two' \(id 2\), which has 3 labeled") as info:
        LabelBudget(per_class=5).check(Y, class_names=["zero", "one", "two", "three"])
    assert "at most 3" in str(info.value)
    LabelBudget(per_class=3).check(Y)  # the smallest class has exactly 3


@pytest.mark.parametrize(
    "per_class, fractions, message",
    [
        ([0], None, ">= 1"),
        ([2.5], None, "integer"),
        (None, [0.0], "> 0.0"),
        (None, [1.5], "<= 1.0"),
        (None, [float("nan")], "number"),
        (None, None, "at least one"),
    ],
)
def test_bad_budgets_are_refused(per_class, fractions, message):
    with pytest.raises(ArgumentError, match=message):
        label_budgets("few_shot", per_class, fractions)


def test_nearest_class_mean_matches_a_loop():
    rng = np.random.default_rng(0)
    train, test = rng.normal(size=(40, 5)), rng.normal(size=(15, 5))
    y = rng.integers(0, 3, 40)
    expected = []
    for t in test:
        sims = []
        for c in range(3):
            mean = np.mean([v / np.linalg.norm(v) for v in train[y == c]], axis=0)
            sims.append(t @ mean / (np.linalg.norm(t) * np.linalg.norm(mean)))
        expected.append(int(np.argmax(sims)))
    assert nearest_class_mean(train, y, test).tolist() == expected


class _Raw:
    def predict(self, x, batch_size=None, verbose=0):
        return np.asarray(x).reshape(len(x), -1)


class RawPixels(PretextTask):
    """The features are the pixels: few-shot on it is logistic regression on raw digits."""

    def __init__(self):
        super().__init__(_Raw())


def test_logistic_regression_on_raw_digits_reproduces_the_issue_baseline():
    # Issue #14 measured logistic regression on raw 8x8 digits (held-out 360): 0.671 / 0.852 / 0.887 / 0.947
    # with 1 / 5 / 10 / 50 labels per class (the label-efficiency evaluator's raw_input line).
    data = digits(image_size=8, channels=1)
    x, x_test = data.x_train.reshape(len(data.x_train), -1), data.x_test.reshape(len(data.x_test), -1)
    raw = LinearProbeEvaluator(standardize=False)
    for k, expected in zip([1, 5, 10, 50], [0.671, 0.852, 0.887, 0.947]):
        rows = [LabelBudget(per_class=k).draw(data.y_train, seed) for seed in range(5)]
        accuracy = np.mean([np.mean(raw.fit_predict(x[r], data.y_train[r], x_test) == data.y_test) for r in rows])
        assert abs(accuracy - expected) < 0.05, (k, accuracy)


def test_few_shot_scores_grow_with_the_labels_and_vary_over_draws():
    data = digits(image_size=8, channels=1)
    scores = FewShotEvaluator(shots=[1, 10, 50], repeats=4).evaluate(RawPixels(), data)
    for head in ("logistic", "ncm"):
        means = [scores[f"few_shot_{k}_{head}_accuracy"] for k in (1, 10, 50)]
        assert 0.45 < means[0] < means[1] < means[2], (head, scores)
        assert scores[f"few_shot_1_{head}_accuracy_std"] > 0.01  # different draws, different scores
    assert FewShotEvaluator(shots=5).get_config() == {"shots": [5], "repeats": 5, "seed": 0, "C": 1.0}


def test_few_shot_refuses_a_budget_larger_than_a_class_before_training():
    data = digits(image_size=8, channels=1)
    with pytest.raises(KsslError, match="larger than class"):
        FewShotEvaluator(shots=[1, 500]).check_data(data)
