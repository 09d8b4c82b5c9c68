import numpy as np
import pytest

from dermnet import DataError, LeakageError, ParameterError
from dermnet.data import load_sample, split
from dermnet.imbalance import LeakageWarning, Threshold, tune_threshold


def _data(n=400, seed=0, decimals=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.clip(0.5 + 0.2 * (2 * y - 1) + rng.normal(0, 0.2, n), 0, 1)
    return y, (np.round(s, decimals) if decimals else s)


def _brute(y, s):
    """Sensitivity and specificity of every candidate threshold (score >= t)."""
    rows = []
    for t in np.r_[np.unique(s), s.max() + 1]:
        pred = s >= t
        rows.append((t, pred[y == 1].mean(), (~pred)[y == 0].mean()))
    return rows


@pytest.mark.parametrize("decimals", [None, 1])
def test_youden_threshold_maximises_j(decimals):
    y, s = _data(decimals=decimals)
    t = tune_threshold(y, s)
    best = max(sens + spec - 1 for _, sens, spec in _brute(y, s))
    assert t.youden_j == pytest.approx(best)
    pred = t.predict(s)
    assert pred[y == 1].mean() == pytest.approx(t.sensitivity)
    assert (~pred)[y == 0].mean() == pytest.approx(t.specificity)


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 1.0])
def test_target_sensitivity_is_reached_with_the_best_specificity(target):
    y, s = _data(seed=1, decimals=2)
    t = tune_threshold(y, s, "sensitivity", target=target)
    assert t.sensitivity >= target
    best = max(spec for _, sens, spec in _brute(y, s) if sens >= target)
    assert t.specificity == pytest.approx(best)
    assert t.predict(s)[y == 1].mean() == pytest.approx(t.sensitivity)


@pytest.mark.parametrize("target", [0.5, 0.9, 0.99, 1.0])
def test_target_specificity_is_reached_with_the_best_sensitivity(target):
    y, s = _data(seed=2)
    t = tune_threshold(y, s, "specificity", target=target)
    assert t.specificity >= target
    best = max(sens for _, sens, spec in _brute(y, s) if spec >= target)
    assert t.sensitivity == pytest.approx(best)


def test_one_vs_rest_on_a_score_matrix_by_name():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    scores = rng.dirichlet([1, 1, 1], 300) * 0.5 + np.eye(3)[y] * 0.5
    t = tune_threshold(y, scores, "sensitivity", target=0.9, positive_class="mel",
                       class_names=["nv", "mel", "bcc"])  # fmt: skip
    assert t.positive_class == 1
    assert t.class_name == "mel"
    direct = tune_threshold((y == 1).astype(int), scores[:, 1], "sensitivity", target=0.9)
    assert t.threshold == direct.threshold
    assert np.array_equal(t.predict(scores), direct.predict(scores[:, 1]))


def test_threshold_round_trips_as_a_dict():
    y, s = _data()
    t = tune_threshold(y, s, "specificity", target=0.9)
    assert Threshold.from_dict(t.to_dict()) == t


def test_validation_records_are_required_when_records_are_given():
    parts = split(load_sample("ham10000"), test_size=0.2, val_size=0.2, seed=0)
    rng = np.random.default_rng(0)
    scores = rng.dirichlet(np.ones(7), len(parts.val))
    t = tune_threshold(parts.val, scores, positive_class="mel")
    assert t.class_name == "mel"
    for refused in (parts.train, parts.test):
        fake = rng.dirichlet(np.ones(7), len(refused))
        with pytest.raises(LeakageError, match=f"role is '{refused.role}'"):
            tune_threshold(refused, fake, positive_class="mel")
    unsplit = load_sample("ham10000")
    fake = rng.dirichlet(np.ones(7), len(unsplit))
    with pytest.raises(LeakageError, match="cannot tell"):
        tune_threshold(unsplit, fake, positive_class="mel")
    with pytest.warns(LeakageWarning):
        tune_threshold(unsplit, fake, positive_class="mel", allow_unsplit=True)


def test_bad_input():
    y, s = _data(n=20)
    with pytest.raises(ParameterError, match="'target'"):
        tune_threshold(y, s, "sensitivity")
    with pytest.raises(ParameterError, match="'target'"):
        tune_threshold(y, s, "youden", target=0.9)
    with pytest.raises(ParameterError, match=r"'method'.*youden"):
        tune_threshold(y, s, "youdens")
    with pytest.raises(DataError, match="both"):
        tune_threshold(np.zeros(20, int), s)
    with pytest.raises(DataError, match="NaN"):
        tune_threshold(y, np.where(np.arange(20) == 3, np.nan, s))
    with pytest.raises(DataError, match="20 samples"):
        tune_threshold(y, s[:10])
    with pytest.raises(ParameterError, match="'positive_class'"):
        tune_threshold(np.zeros(4, int), np.ones((4, 3)) / 3)
    with pytest.raises(ParameterError, match="'y_true'"):
        tune_threshold(np.array([0, 2, 1]), np.array([0.1, 0.5, 0.9]))
