import numpy as np
import pytest

from dermnet import DataError, ParameterError
from dermnet.data import load_sample
from dermnet.imbalance import class_weights


def test_balanced_weights_give_each_class_equal_total_weight():
    labels = np.array([0] * 70 + [1] * 20 + [2] * 10)
    weights = class_weights(labels)
    totals = [weights[c] * np.sum(labels == c) for c in range(3)]
    assert np.allclose(totals, len(labels) / 3)


def test_weights_match_scikit_learn():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.random.default_rng(0).integers(0, 4, 200)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=labels)
    assert np.allclose(list(class_weights(labels).values()), expected)


def test_records_are_accepted():
    weights = class_weights(load_sample("ham10000"))
    assert len(weights) == 7
    assert weights[5] == min(weights.values())  # nv, the largest class, weighs least


def test_empty_class_and_bad_labels_are_errors():
    with pytest.raises(DataError, match=r"\[1\]"):
        class_weights(np.array([0, 0, 2]))
    with pytest.raises(ParameterError, match="'labels'"):
        class_weights(np.array([0.5, 1.0]))
    with pytest.raises(ParameterError, match="'method'"):
        class_weights(np.array([0, 1]), method="balance")
