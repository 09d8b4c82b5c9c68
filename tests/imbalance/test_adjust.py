import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score

from dermnet import LeakageError, ParameterError
from dermnet.imbalance import logit_adjust


def test_known_values_and_tau():
    p = np.array([[0.6, 0.4], [0.9, 0.1]])
    got = logit_adjust(p, [80, 20])  # counts work like proportions
    np.testing.assert_allclose(
        got,
        [[0.6 / 0.8, 0.4 / 0.2], [0.9 / 0.8, 0.1 / 0.2]]
        / np.array([[0.6 / 0.8 + 0.4 / 0.2], [0.9 / 0.8 + 0.1 / 0.2]]),
        rtol=1e-6,
    )
    assert got.dtype == np.float32
    np.testing.assert_allclose(logit_adjust(p, [0.8, 0.2], tau=0.0), p, rtol=1e-6)
    half = logit_adjust(p, [0.8, 0.2], tau=0.5)
    assert got[0, 1] > half[0, 1] > p[0, 1]  # the correction grows with tau
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-6)


def test_uniform_prior_changes_nothing():
    p = np.random.default_rng(0).dirichlet([1, 1, 1], 20)
    np.testing.assert_allclose(logit_adjust(p, [5, 5, 5]), p, rtol=1e-5)


def test_bayes_scores_on_a_skewed_prior_gain_balanced_accuracy():
    """Posterior scores under a 90/10 prior: dividing it out recovers the minority class."""
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.1).astype(int)
    x = rng.normal(y * 1.5, 1.0)  # class-conditional N(0,1) vs N(1.5,1)
    like1, like0 = np.exp(-((x - 1.5) ** 2) / 2), np.exp(-(x**2) / 2)
    post1 = 0.1 * like1 / (0.1 * like1 + 0.9 * like0)
    p = np.stack([1 - post1, post1], 1)
    before = balanced_accuracy_score(y, p.argmax(1))
    after = balanced_accuracy_score(y, logit_adjust(p, np.bincount(y)).argmax(1))
    assert after > before + 0.1
    assert after > 0.74  # the balanced-error optimum threshold x > 0.75 gives ~0.77


def test_training_records_give_the_prior(tiny_records):
    train = tiny_records()  # counts 12, 5, 3
    p = np.full((2, 3), 1 / 3)
    want = np.array([1 / 12, 1 / 5, 1 / 3]) / (1 / 12 + 1 / 5 + 1 / 3)
    np.testing.assert_allclose(logit_adjust(p, train)[0], want, rtol=1e-6)
    with pytest.raises(LeakageError, match="'val'"):
        logit_adjust(p, tiny_records(role="val"))


def test_bad_input():
    p = np.array([[0.6, 0.4]])
    with pytest.raises(ParameterError, match=r"'scores'.*sum to 1"):
        logit_adjust([[2.0, 1.0]], [1, 1])
    with pytest.raises(ParameterError, match=r"'scores'.*\(N, K\)"):
        logit_adjust([0.6, 0.4], [1, 1])
    with pytest.raises(ParameterError, match=r"'scores'.*finite"):
        logit_adjust([[np.nan, 1.0]], [1, 1])
    with pytest.raises(ParameterError, match=r"'prior'.*2 class frequencies"):
        logit_adjust(p, [1, 1, 1])
    with pytest.raises(ParameterError, match=r"'prior'.*> 0"):
        logit_adjust(p, [1, 0])
    with pytest.raises(ParameterError, match="'tau'"):
        logit_adjust(p, [1, 1], tau=-1)
