import json

import numpy as np
import pytest
from sklearn import metrics as skm

from dermnet import DataError, ParameterError
from dermnet.metrics import UndefinedMetricWarning, evaluate


def _random(n=300, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[y]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, scores


def test_matches_scikit_learn_on_random_scores():
    y, scores = _random()
    report = evaluate(y, scores, ["a", "b", "c", "d"])
    pred = scores.argmax(1)
    assert report.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    assert report.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert report.macro_auc == pytest.approx(skm.roc_auc_score(y, scores, multi_class="ovr"))
    assert report.confusion_matrix == tuple(map(tuple, skm.confusion_matrix(y, pred)))
    recall = skm.recall_score(y, pred, average=None)
    assert [report.per_class[c]["recall"] for c in "abcd"] == pytest.approx(recall)


def test_balanced_accuracy_is_mean_recall_on_a_hand_made_case():
    y = np.array([0, 0, 0, 0, 1])
    scores = np.array([[0.9, 0.1]] * 4 + [[0.8, 0.2]])  # always predicts class 0
    report = evaluate(y, scores)
    assert report.accuracy == pytest.approx(0.8)
    assert report.balanced_accuracy == pytest.approx(0.5)


def test_absent_class_auc_is_undefined_with_a_note_not_a_crash():
    y = np.array([0, 1, 0, 1])
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    with pytest.warns(UndefinedMetricWarning, match="'c'"):
        report = evaluate(y, scores, ["a", "b", "c"])
    assert report.per_class["c"]["auc"] is None
    assert report.macro_auc == pytest.approx(1.0)
    assert any("'c'" in note for note in report.notes)
    assert json.loads(report.to_json())["per_class"]["c"]["auc"] is None
    assert "undefined" in report.to_markdown()


def test_binary_positive_scores_are_accepted():
    report = evaluate([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3])
    assert report.macro_auc == pytest.approx(1.0)
    assert report.accuracy == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("y", "scores", "error", "match"),
    [
        ([0, 1], [[0.5, 0.5]], DataError, "2 samples.*1"),
        ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], DataError, "NaN"),
        ([0, 1], [[3.0, -2.0], [0.5, 0.5]], DataError, "probabilities"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], DataError, "outside"),
        ([0.0, 1.0], [[0.5, 0.5], [0.5, 0.5]], ParameterError, "y_true"),
        ([0, 1], [[0.5, 0.5], [0.5, 0.5]], None, None),
    ],
)
def test_bad_input(y, scores, error, match):
    if error is None:
        evaluate(y, scores)
        return
    with pytest.raises(error, match=match):
        evaluate(y, scores)
