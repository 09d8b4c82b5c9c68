import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss

from dermnet import DataError, LeakageError, ParameterError
from dermnet.data import load_sample, split
from dermnet.imbalance import LeakageWarning
from dermnet.metrics import (
    TemperatureScaler,
    brier_score,
    evaluate,
    expected_calibration_error,
    reliability_curve,
)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _overconfident(n=3000, k=4, temperature=3.0, seed=0):
    """Labels drawn from softmax(z); the "model" reports softmax(T z), over-confident."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 1.2, (n, k))
    true_p = _softmax(z)
    y = np.array([rng.choice(k, p=p) for p in true_p])
    return y, _softmax(temperature * z), temperature * z


def test_ece_by_hand():
    y = [0, 1, 1, 0]
    scores = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]]
    # bins of width 0.2: {0.9}: |1 - .9|; {0.8, 0.7}: |1 + 0 - 1.5|; {0.6}: |1 - .6|
    assert expected_calibration_error(y, scores, n_bins=5) == pytest.approx(1.0 / 4)
    assert expected_calibration_error(y, scores, n_bins=1) == pytest.approx(abs(0.75 - 0.75))
    perfect = expected_calibration_error([0, 0, 0, 1], [[0.75, 0.25]] * 4, n_bins=10)
    assert perfect == pytest.approx(0.0)


def test_brier_score_matches_scikit_learn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, 200)
    p = rng.dirichlet([1, 1, 1], 200)
    assert brier_score(y, p) == pytest.approx(brier_score_loss(y, p, labels=[0, 1, 2]))
    yb = rng.integers(0, 2, 200)
    pb = rng.random(200)
    assert brier_score(yb, pb) == pytest.approx(brier_score_loss(yb, pb))


@pytest.mark.parametrize("n_bins", [5, 10, 15])
def test_one_vs_rest_reliability_curve_matches_scikit_learn(n_bins):
    rng = np.random.default_rng(2)
    y = rng.integers(0, 3, 500)
    p = rng.dirichlet([1, 1, 1], 500)
    observed, predicted = calibration_curve(y == 2, p[:, 2], n_bins=n_bins)
    curve = reliability_curve(y, p, n_bins, class_index=2)
    assert np.allclose(curve["observed"], observed)
    assert np.allclose(curve["predicted"], predicted)
    assert sum(curve["count"]) == 500
    top = reliability_curve(y, p, n_bins)
    rows = zip(top["count"], top["observed"], top["predicted"], strict=True)
    ece = sum(c * abs(o - q) for c, o, q in rows)
    assert ece / 500 == pytest.approx(expected_calibration_error(y, p, n_bins))


def test_temperature_scaling_recovers_the_temperature_and_improves_calibration():
    y, probs, logits = _overconfident()
    scaler = TemperatureScaler().fit(y, probs)
    assert scaler.temperature_ == pytest.approx(3.0, rel=0.1)
    calibrated = scaler.transform(probs)
    assert np.array_equal(calibrated.argmax(1), probs.argmax(1))  # predictions unchanged
    assert expected_calibration_error(y, calibrated) < 0.5 * expected_calibration_error(y, probs)
    assert log_loss(y, calibrated) < log_loss(y, probs)
    assert scaler.nll_after_ == pytest.approx(log_loss(y, calibrated), rel=1e-6)
    by_logits = TemperatureScaler(from_logits=True).fit(y, logits)
    assert by_logits.temperature_ == pytest.approx(scaler.temperature_, rel=1e-3)
    before, after = evaluate(y, probs, n_bootstrap=0), evaluate(y, calibrated, n_bootstrap=0)
    assert after.accuracy == before.accuracy
    assert after.balanced_accuracy == before.balanced_accuracy
    assert after.confusion_matrix == before.confusion_matrix
    assert after.macro_auc == pytest.approx(before.macro_auc, abs=0.01)  # ranks move a little
    assert after.calibration["brier"] < before.calibration["brier"]


def test_temperature_scaling_binary_scores():
    rng = np.random.default_rng(3)
    z = rng.normal(0, 1.5, 2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-z))).astype(int)
    p = 1 / (1 + np.exp(-2.0 * z))  # over-confident by 2
    scaler = TemperatureScaler().fit(y, p)
    assert scaler.temperature_ == pytest.approx(2.0, rel=0.15)
    out = scaler.transform(p)
    assert out.shape == p.shape
    assert np.array_equal(out > 0.5, p > 0.5)
    assert evaluate(y, out, n_bootstrap=0).macro_auc == pytest.approx(
        evaluate(y, p, n_bootstrap=0).macro_auc
    )  # a monotone map of one score: the binary AUC is unchanged


def test_temperature_scaler_serializes_and_checks_its_state():
    y, probs, _ = _overconfident(n=300)
    scaler = TemperatureScaler().fit(y, probs)
    again = TemperatureScaler.from_dict(scaler.to_dict())
    assert again.temperature_ == scaler.temperature_
    assert np.allclose(again.transform(probs), scaler.transform(probs))
    assert "temperature_" in repr(scaler)
    with pytest.raises(ParameterError, match="not fitted"):
        TemperatureScaler().transform(probs)
    with pytest.raises(DataError, match="from_logits"):
        TemperatureScaler().fit(y, probs * 5)
    with pytest.raises(DataError, match="10 samples but y_score has 300"):
        TemperatureScaler().fit(y[:10], probs)
    with pytest.raises(ParameterError, match="'min_temperature'"):
        TemperatureScaler(min_temperature=0).fit(y, probs)


def test_temperature_is_fitted_on_validation_records_only():
    parts = split(load_sample("ham10000"), test_size=0.2, val_size=0.2, seed=0)
    rng = np.random.default_rng(0)

    def scores_for(records):  # informative, over-confident scores
        return _softmax(4 * (np.eye(7)[records.labels] + rng.normal(0, 0.8, (len(records), 7))))

    assert TemperatureScaler().fit(parts.val, scores_for(parts.val)).n_samples_ == len(parts.val)
    with pytest.raises(LeakageError, match="'test'"):
        TemperatureScaler().fit(parts.test, scores_for(parts.test))
    unsplit = load_sample("ham10000")
    with pytest.raises(LeakageError, match="cannot tell"):
        TemperatureScaler().fit(unsplit, scores_for(unsplit))
    with pytest.warns(LeakageWarning):
        TemperatureScaler().fit(unsplit, scores_for(unsplit), allow_unsplit=True)


def test_scores_without_information_hit_the_temperature_bound_with_a_warning():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 300)
    with pytest.warns(UserWarning, match="at the bound"):
        scaler = TemperatureScaler().fit(y, rng.dirichlet([1, 1, 1], 300))
    assert scaler.temperature_ == pytest.approx(20.0, rel=1e-3)
