"""The count-based baselines (add-k unigram, interpolated Kneser-Ney bigram) by hand, and the perplexity evaluator."""

import math

import numpy as np
import pytest

from kssl.errors import ArgumentError, KsslError
from kssl.text.ngram import kneser_ney_bigram_log_probs, perplexity, unigram_log_probs

# A corpus of 4 token ids: the (context, target) pairs (0,1) twice, (1,2), (1,3), (2,1).
TRAIN_PAIRS = np.array([[0, 1], [1, 2], [0, 1], [1, 3], [2, 1]])


def test_add_k_unigram_by_hand():
    targets = TRAIN_PAIRS[:, 1]  # 1, 2, 1, 3, 1: counts 0, 3, 1, 1 of N = 5
    log_p = unigram_log_probs(targets, [0, 1, 2, 3], size=4, k=1.0)
    np.testing.assert_allclose(np.exp(log_p), [1 / 9, 4 / 9, 2 / 9, 2 / 9])
    # token 0 outside the support: the 3 others share k each
    log_p = unigram_log_probs(targets, [1, 2, 3], size=4, k=1.0, support=[False, True, True, True])
    np.testing.assert_allclose(np.exp(log_p), [4 / 8, 2 / 8, 2 / 8])
    np.testing.assert_allclose(np.exp(unigram_log_probs(targets, [1, 2], size=4, k=0.5)), [3.5 / 7, 1.5 / 7])


def test_kneser_ney_bigram_by_hand():
    # D = 0.5. Distinct pairs N1+(..) = 4; N1+(. w) = 0, 2, 1, 1; 3 words were ever continuations; |S| = 4.
    # P_cont(w) = max(N1+(. w) - D, 0) / 4 + D * 3 / 4 / 4 = [0.09375, 0.46875, 0.21875, 0.21875]
    # c(0) = 2, N1+(0 .) = 1;  c(1) = 2, N1+(1 .) = 2;  context 3 never seen.
    test = [[0, 1], [0, 3], [1, 2], [3, 0], [2, 1]]
    expected = [
        (2 - 0.5) / 2 + 0.5 * 1 / 2 * 0.46875,  # 0.8671875
        0.0 + 0.5 * 1 / 2 * 0.21875,  # 0.0546875: an unseen pair backs off to the continuation unigram
        (1 - 0.5) / 2 + 0.5 * 2 / 2 * 0.21875,  # 0.359375
        0.09375,  # an unseen context: P_cont alone (never zero, thanks to the uniform share)
        (1 - 0.5) / 1 + 0.5 * 1 / 1 * 0.46875,  # 0.734375
    ]
    log_p = kneser_ney_bigram_log_probs(TRAIN_PAIRS, test, size=4, discount=0.5)
    np.testing.assert_allclose(np.exp(log_p), expected)


@pytest.mark.parametrize("discount", [0.1, 0.75, 1.0])
def test_kneser_ney_sums_to_one_over_the_support_for_every_context(discount):
    rng = np.random.default_rng(0)
    support = np.array([True, True, False, True, True, True, False, True])
    allowed = np.flatnonzero(support)
    train = np.stack([rng.integers(0, 8, 60), rng.choice(allowed, 60)], axis=1)
    for context in range(8):
        pairs = np.stack([np.full(len(allowed), context), allowed], axis=1)
        p = np.exp(kneser_ney_bigram_log_probs(train, pairs, size=8, discount=discount, support=support))
        assert p.sum() == pytest.approx(1.0) and (p > 0).all()


def test_a_bigram_beats_a_unigram_where_the_next_token_depends_on_the_last():
    sequence = np.tile([0, 1, 2, 3], 50)
    pairs = np.stack([sequence[:-1], sequence[1:]], axis=1)
    bigram = perplexity(kneser_ney_bigram_log_probs(pairs, pairs, size=4))
    unigram = perplexity(unigram_log_probs(pairs[:, 1], pairs[:, 1], size=4))
    assert unigram == pytest.approx(4.0, rel=1e-2) and bigram < 1.1


def test_perplexity_is_exp_of_the_mean_negative_log_probability():
    assert perplexity(np.log([0.5, 0.25])) == pytest.approx(math.exp(-(math.log(0.5) + math.log(0.25)) / 2))
    with pytest.raises(ArgumentError, match="log_probs"):
        perplexity([])


def test_baselines_refuse_targets_outside_the_support_and_bad_discounts():
    with pytest.raises(ArgumentError, match="test_targets"):
        unigram_log_probs([1, 2], [0], size=4, support=[False, True, True, True])
    with pytest.raises(ArgumentError, match="discount"):
        kneser_ney_bigram_log_probs(TRAIN_PAIRS, TRAIN_PAIRS, size=4, discount=0.0)
    with pytest.raises(ArgumentError, match="discount"):
        kneser_ney_bigram_log_probs(TRAIN_PAIRS, TRAIN_PAIRS, size=4, discount=float("nan"))
    with pytest.raises(ArgumentError, match="train_pairs"):
        kneser_ney_bigram_log_probs(np.zeros((0, 2)), TRAIN_PAIRS, size=4)


@pytest.fixture(scope="module")
def tiny_causal_lm():
    import keras
    from test_causal_lm import tiny_model

    keras.utils.set_random_seed(0)
    return tiny_model()


# -- the evaluator ------------------------------------------------------------------------------
def test_evaluator_arguments_round_trip_and_bad_values_name_the_key():
    from kssl.eval.perplexity import PerplexityEvaluator

    evaluator = PerplexityEvaluator(k=0.5, discount=0.9, batch_size=8)
    assert PerplexityEvaluator(**evaluator.get_config()).get_config() == evaluator.get_config()
    for key, value in (("k", 0.0), ("discount", 1.5), ("batch_size", 0)):
        with pytest.raises(ArgumentError, match=key):
            PerplexityEvaluator(**{key: value})


def test_evaluator_refuses_a_model_that_is_not_a_causal_lm():
    from kssl.eval.perplexity import PerplexityEvaluator

    with pytest.raises(KsslError, match="causal language model"):
        PerplexityEvaluator().check_model(object())


def test_evaluator_scores_the_same_tokens_as_the_loss_and_the_baselines(tiny_causal_lm):
    """Model perplexity = exp(mean loss) on the test texts; baselines as computed from the packed ids by hand."""
    from test_causal_lm import SENTENCES

    from kssl.data.splits import DataSplits
    from kssl.eval.perplexity import PerplexityEvaluator, next_token_pairs

    model = tiny_causal_lm
    data = DataSplits(np.array(SENTENCES[:6]), None, np.array(SENTENCES[6:]), None, batch_size=8)
    scores = PerplexityEvaluator(batch_size=4).evaluate(model, data)
    inputs, labels, weights = next(iter(model.make_dataset(data.x_test, batch_size=8, shuffle=False)))
    loss = float(model.compute_loss(y=labels, y_pred=model(inputs), sample_weight=weights))
    assert scores["perplexity"] == pytest.approx(math.exp(loss), rel=1e-4)
    assert scores["perplexity_tokens"] == float(np.sum(weights))

    train, test = model.tokenize(data.x_train), model.tokenize(data.x_test)
    train_pairs, test_pairs = next_token_pairs(train), next_token_pairs(test)
    # the pairs are the packed texts' (token, next token) where the next one is real
    assert test_pairs[0].tolist() == [model.start_token_id, int(test["token_ids"][0, 1])]
    counts = np.bincount(train_pairs[:, 1], minlength=len(model.vocabulary)).astype(float)
    never = model.never_predicted_ids
    assert counts[never].sum() == 0
    p = (counts[test_pairs[:, 1]] + 1) / (counts.sum() + len(model.vocabulary) - len(never))
    assert scores["unigram_perplexity"] == pytest.approx(math.exp(-np.log(p).mean()))
    assert scores["bigram_perplexity"] > 1.0 and 0.0 <= scores["next_token_accuracy"] <= 1.0
