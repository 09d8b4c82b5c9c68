"""Tests of per-prediction uncertainty, risk-coverage curves and abstention."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dermnet._core.errors import DataError, ParameterError
from dermnet.metrics.uncertainty import (
    AbstentionThreshold,
    apply_abstention,
    aurc,
    choose_abstention_threshold,
    confidence_scores,
    disagreement,
    energy,
    max_probability,
    mc_dropout_predict,
    optimal_aurc,
    predictive_entropy,
    risk_coverage_curve,
)


def test_max_probability_and_entropy_known_values():
    p = np.array([[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3]])
    assert max_probability(p).tolist() == [1.0, pytest.approx(1 / 3)]
    assert predictive_entropy(p) == pytest.approx([0.0, np.log(3)])
    # one sigmoid column is read as two classes
    assert max_probability([0.2, 0.5]) == pytest.approx([0.8, 0.5])


def test_probabilities_must_be_distributions():
    with pytest.raises(DataError, match="probability distribution"):
        max_probability([[0.7, 0.7]])
    with pytest.raises(DataError, match="NaN"):
        predictive_entropy([[np.nan, 1.0]])


def test_energy_of_logits_and_refusal_of_log_probabilities():
    logits = np.array([[3.0, 1.0, -1.0], [0.0, 0.0, 0.0]])
    expected = -np.log(np.exp(logits).sum(axis=1))
    assert energy(logits) == pytest.approx(expected)
    # temperature T: -T logsumexp(z / T)
    assert energy(logits, temperature=2.0) == pytest.approx(
        -2.0 * np.log(np.exp(logits / 2.0).sum(axis=1))
    )
    log_probs = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    with pytest.raises(DataError, match="log-probabilities"):
        energy(log_probs)
    with pytest.raises(ParameterError, match="temperature"):
        energy(logits, temperature=0.0)


def test_disagreement_measures():
    agree = np.array([[[0.8, 0.2], [0.3, 0.7]]] * 3)
    assert disagreement(agree) == pytest.approx([0.0, 0.0], abs=1e-12)
    assert disagreement(agree, measure="vote").tolist() == [0.0, 0.0]
    assert disagreement(agree, measure="variance") == pytest.approx([0.0, 0.0])
    split = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    # mean is uniform (entropy log 2), members are certain (entropy 0)
    assert disagreement(split) == pytest.approx([np.log(2)])
    assert disagreement(split, measure="variance") == pytest.approx([0.25])
    with pytest.raises(ParameterError, match="members >= 2"):
        disagreement(agree[:1])
    with pytest.raises(ParameterError, match="measure"):
        disagreement(agree, measure="spread")


def test_confidence_scores_are_higher_for_surer_predictions():
    p = np.array([[0.95, 0.05], [0.55, 0.45]])
    stack = np.array([[[0.95, 0.05], [0.9, 0.1]], [[0.95, 0.05], [0.1, 0.9]]])
    scores = confidence_scores(p, logits=[[4.0, 0.0], [0.1, 0.0]], tta=stack, ensemble=stack)
    assert set(scores) == {
        "max_probability",
        "negative_entropy",
        "negative_energy",
        "negative_tta_disagreement",
        "negative_ensemble_disagreement",
    }
    for name, values in scores.items():
        assert values[0] > values[1], name
    with pytest.raises(DataError, match="must match"):
        confidence_scores(p, tta=stack[:, :1])


def test_risk_coverage_curve_groups_ties():
    coverage, risk, thresholds = risk_coverage_curve([0.9, 0.5, 0.5, 0.1], [1, 0, 1, 0])
    assert coverage.tolist() == [0.25, 0.75, 1.0]
    assert risk == pytest.approx([0.0, 1 / 3, 0.5])
    assert thresholds.tolist() == [0.9, 0.5, 0.1]


def test_abstaining_on_the_least_confident_lowers_risk_monotonically():
    rng = np.random.default_rng(0)
    confidence = rng.random(2000)
    correct = rng.random(2000) < confidence  # surer predictions are right more often
    coverage, risk, _ = risk_coverage_curve(confidence, correct)
    # risk at 10%, 20%, ... coverage decreases as coverage drops
    at = [risk[np.searchsorted(coverage, c)] for c in np.linspace(1.0, 0.1, 10)]
    assert all(a >= b for a, b in itertools.pairwise(at))
    assert at[0] > at[-1] + 0.3


def test_aurc_of_perfect_ranking_is_the_analytic_minimum():
    correct = np.array([1] * 80 + [0] * 20, dtype=bool)
    n, n_right = 100, 80
    analytic = sum((k - n_right) / k for k in range(n_right + 1, n + 1)) / n
    assert optimal_aurc(correct) == pytest.approx(analytic)
    perfect = np.where(correct, 1.0, 0.0) + np.linspace(0, 0.1, 100)
    assert aurc(perfect, correct) == pytest.approx(analytic)
    # the continuous limit r + (1 - r) ln(1 - r) is close for n = 100
    r = 0.2
    assert analytic == pytest.approx(r + (1 - r) * np.log(1 - r), abs=0.01)
    # a constant score knows nothing: its AURC is the error rate; the worst ranking is worse
    assert aurc(np.zeros(100), correct) == pytest.approx(0.2)
    assert aurc(-perfect, correct) > 0.2


def test_aurc_rejects_bad_input():
    with pytest.raises(DataError, match="must match"):
        aurc([0.1, 0.2], [1])
    with pytest.raises(ParameterError, match="correct"):
        aurc([0.1, 0.2], [1, 2])
    with pytest.raises(DataError, match="NaN"):
        aurc([np.nan, 0.2], [1, 0])


def test_abstention_threshold_for_target_risk_and_coverage():
    confidence = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4])
    correct = np.array([1, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    rule = choose_abstention_threshold(confidence, correct, target_risk=0.2)
    # keeping the top 6 gives risk 1/6 <= 0.2; the top 7 gives 2/7 > 0.2
    assert rule.threshold == 0.6
    assert rule.coverage == pytest.approx(0.75)
    assert rule.risk == pytest.approx(1 / 6)
    by_coverage = choose_abstention_threshold(confidence, correct, target_coverage=0.5)
    assert by_coverage.threshold == 0.8
    assert by_coverage.coverage == 0.5
    # applied at test time without re-fitting
    test = np.array([0.99, 0.65, 0.6, 0.1])
    assert apply_abstention(test, rule).tolist() == [False, False, False, True]
    assert AbstentionThreshold.from_dict(rule.to_dict()) == rule


def test_abstention_threshold_errors():
    confidence, correct = [0.9, 0.8], [0, 1]
    with pytest.raises(ParameterError, match="exactly one"):
        choose_abstention_threshold(confidence, correct)
    with pytest.raises(ParameterError, match="exactly one"):
        choose_abstention_threshold(confidence, correct, target_risk=0.1, target_coverage=0.5)
    with pytest.raises(DataError, match="no threshold reaches risk"):
        choose_abstention_threshold(confidence, correct, target_risk=0.1)
    with pytest.raises(ParameterError, match="target_coverage"):
        choose_abstention_threshold(confidence, correct, target_coverage=0.0)


def _tiny_model(dropout: bool):
    import keras

    inputs = keras.Input((4,))
    h = keras.layers.Dense(16)(inputs)
    h = keras.layers.BatchNormalization()(h)
    if dropout:
        h = keras.layers.Dropout(0.5)(h)
    outputs = keras.layers.Dense(3, activation="softmax")(h)
    return keras.Model(inputs, outputs, name="tiny_head")


def test_mc_dropout_varies_only_dropout_and_leaves_the_model_unchanged():
    model = _tiny_model(dropout=True)
    x = np.random.default_rng(0).random((6, 4)).astype("float32")
    batchnorm = model.layers[2]
    before = batchnorm.moving_mean.numpy().copy()
    reference = np.asarray(model(x, training=False))
    stack = mc_dropout_predict(model, x, 8, seed=3)
    assert stack.shape == (8, 6, 3)
    assert stack.std(axis=0).max() > 1e-3  # dropout active
    assert np.allclose(stack.sum(axis=2), 1.0, atol=1e-5)
    np.testing.assert_array_equal(batchnorm.moving_mean.numpy(), before)  # BN in inference
    np.testing.assert_allclose(np.asarray(model(x, training=False)), reference)  # restored
    np.testing.assert_allclose(mc_dropout_predict(model, x, 8, seed=3), stack)  # seeded


def test_mc_dropout_names_a_model_without_dropout():
    with pytest.raises(ParameterError, match="'tiny_head' has no dropout layer"):
        mc_dropout_predict(_tiny_model(dropout=False), np.zeros((1, 4), "float32"), 4)
