import numpy as np
import pytest

from dermnet import DataError, LeakageError, ParameterError
from dermnet.data import load_sample, split
from dermnet.imbalance import class_weights
from dermnet.imbalance.weights import effective_number

LABELS = np.array([0] * 70 + [1] * 20 + [2] * 10)


def test_balanced_weights_give_each_class_equal_total_weight():
    weights = class_weights(LABELS)
    totals = [weights[c] * np.sum(c == LABELS) for c in range(3)]
    assert np.allclose(totals, len(LABELS) / 3)


def test_weights_match_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.random.default_rng(0).integers(0, 4, 200)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=labels)
    assert np.allclose(list(class_weights(labels).values()), expected)


@pytest.mark.parametrize("method", ["balanced", "inverse_sqrt", "effective_number"])
def test_every_method_keeps_the_mean_sample_weight_at_one_and_favours_rare_classes(method):
    weights = class_weights(LABELS, method, beta=0.99)
    counts = np.bincount(LABELS)
    assert np.sum([weights[c] * counts[c] for c in range(3)]) == pytest.approx(len(LABELS))
    assert weights[0] < weights[1] < weights[2]


def test_inverse_sqrt_is_proportional_to_one_over_sqrt_count():
    weights = class_weights(LABELS, "inverse_sqrt")
    assert weights[1] / weights[0] == pytest.approx(np.sqrt(70 / 20))
    assert weights[2] / weights[0] == pytest.approx(np.sqrt(70 / 10))


def test_effective_number_interpolates_between_equal_and_balanced_weights():
    flat = class_weights(LABELS, "effective_number", beta=0.0)
    assert np.allclose(list(flat.values()), 1.0)
    near_one = class_weights(LABELS, "effective_number", beta=1 - 1e-9)
    assert np.allclose(list(near_one.values()), list(class_weights(LABELS).values()), rtol=1e-5)
    # Cui et al.: E(n) = (1 - beta**n) / (1 - beta)
    beta = 0.9
    expected = [(1 - beta**n) / (1 - beta) for n in (70, 20, 10)]
    assert np.allclose(effective_number([70, 20, 10], beta), expected)
    w = class_weights(LABELS, "effective_number", beta=beta)
    assert w[2] / w[0] == pytest.approx(expected[0] / expected[2])


def test_records_are_accepted_but_not_evaluation_splits():
    records = load_sample("ham10000")
    weights = class_weights(records)
    assert len(weights) == 7
    assert weights[5] == min(weights.values())  # nv, the largest class, weighs least
    parts = split(records, test_size=0.2, seed=0)
    assert class_weights(parts.train).keys() == weights.keys()
    with pytest.raises(LeakageError, match="'test'"):
        class_weights(parts.test)


def test_empty_class_and_bad_labels_are_errors():
    with pytest.raises(DataError, match=r"\[1\]"):
        class_weights(np.array([0, 0, 2]))
    with pytest.raises(DataError, match=r"\[1\]"):
        class_weights(np.array([0, 0, 2]), "effective_number")
    with pytest.raises(ParameterError, match="'labels'"):
        class_weights(np.array([0.5, 1.0]))
    with pytest.raises(ParameterError, match=r"'method'.*effective_number"):
        class_weights(np.array([0, 1]), method="effective")
    with pytest.raises(ParameterError, match="'beta'"):
        class_weights(np.array([0, 1]), "effective_number", beta=1.0)
    with pytest.raises(ParameterError, match="'labels'"):
        class_weights(np.array([0, 3]), num_classes=2)
