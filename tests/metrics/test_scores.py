import json
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from dermnet import DataError, ParameterError
from dermnet.imbalance import tune_threshold
from dermnet.metrics import (
    EvaluationReport,
    UndefinedMetricWarning,
    bootstrap_intervals,
    evaluate,
)
from dermnet.metrics._weighted_metrics import MetricEngine, bootstrap_weights


def _random(n=300, k=4, seed=0, signal=1.5, decimals=None):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k)) + signal * np.eye(k)[y]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    if decimals is not None:  # many ties
        scores = np.round(scores, decimals)
        scores[:, -1] = 1.0 - scores[:, :-1].sum(axis=1)
        scores = np.clip(scores, 0, 1)
    return y, scores


def _quiet_evaluate(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return evaluate(*args, **kwargs)


@pytest.mark.parametrize(("k", "seed", "decimals"), [(4, 0, None), (7, 1, None), (3, 2, 1)])
def test_every_metric_matches_scikit_learn(k, seed, decimals):
    y, scores = _random(n=400, k=k, seed=seed, decimals=decimals)
    names = [f"c{i}" for i in range(k)]
    report = evaluate(y, scores, names, n_bootstrap=0, positive_class=None)
    pred = scores.argmax(1)
    assert report.accuracy == pytest.approx(skm.accuracy_score(y, pred))
    assert report.balanced_accuracy == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert report.macro_auc == pytest.approx(skm.roc_auc_score(y, scores, multi_class="ovr"))
    one_hot = np.eye(k)[y]
    assert report.micro_auc == pytest.approx(skm.roc_auc_score(one_hot, scores, average="micro"))
    assert report.macro_f1 == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert report.weighted_f1 == pytest.approx(skm.f1_score(y, pred, average="weighted"))
    assert report.cohen_kappa == pytest.approx(skm.cohen_kappa_score(y, pred))
    assert report.mcc == pytest.approx(skm.matthews_corrcoef(y, pred))
    assert report.log_loss == pytest.approx(skm.log_loss(y, scores, labels=list(range(k))))
    assert report.macro_average_precision == pytest.approx(
        skm.average_precision_score(one_hot, scores, average="macro")
    )
    assert report.micro_average_precision == pytest.approx(
        skm.average_precision_score(one_hot, scores, average="micro")
    )
    cm = skm.confusion_matrix(y, pred, labels=list(range(k)))
    assert report.confusion_matrix == tuple(map(tuple, cm))
    assert np.allclose(
        report.confusion_matrix_normalized, skm.confusion_matrix(y, pred, normalize="true")
    )
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred)
    for c, name in enumerate(names):
        row = report.per_class[name]
        assert row["precision"] == pytest.approx(precision[c])
        assert row["recall"] == pytest.approx(recall[c])
        assert row["f1"] == pytest.approx(f1[c])
        assert row["support"] == support[c]
        tn = cm.sum() - cm[c].sum() - cm[:, c].sum() + cm[c, c]
        assert row["specificity"] == pytest.approx(tn / (cm.sum() - cm[c].sum()))
        assert row["auc"] == pytest.approx(skm.roc_auc_score(y == c, scores[:, c]))
        assert row["average_precision"] == pytest.approx(
            skm.average_precision_score(y == c, scores[:, c])
        )
    brier = skm.brier_score_loss(y, scores, labels=list(range(k)))
    assert report.calibration["brier"] == pytest.approx(brier)
    # balanced accuracy is the mean per-class recall
    assert report.balanced_accuracy == pytest.approx(np.mean(recall))


def test_binary_scores_match_scikit_learn_and_use_class_one():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    p = np.clip(0.5 + 0.25 * (2 * y - 1) + rng.normal(0, 0.2, 300), 0, 1)
    report = evaluate(y, p, ["benign", "malignant"], n_bootstrap=0)
    assert report.macro_auc == pytest.approx(skm.roc_auc_score(y, p))
    assert report.calibration["brier"] == pytest.approx(skm.brier_score_loss(y, p))
    assert report.positive_class == "malignant"
    fpr, tpr, _ = skm.roc_curve(y, p)
    for point in report.operating_points:
        best = tpr[(1 - fpr) >= point["target_specificity"]].max()
        assert point["sensitivity"] == pytest.approx(best)
        assert point["specificity"] >= point["target_specificity"]


def test_calibration_numbers_match_a_hand_computation_and_scikit_learn():
    y = np.array([0, 1, 1, 0])
    scores = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.6, 0.4]])
    report = evaluate(y, scores, n_bins=5, n_bootstrap=0)
    # confidences 0.9, 0.8, 0.7, 0.6 -> bins 4, 3, 3, 2; correct 1, 1, 0, 1
    assert report.calibration["ece"] == pytest.approx((0.1 + 0.5 + 0.4) / 4)
    assert report.calibration["mce"] == pytest.approx(0.4)
    curve = report.calibration["reliability"]
    assert curve["count"] == [1, 2, 1]
    assert curve["observed"] == [1.0, 0.5, 1.0]


def test_engine_on_bootstrap_weights_equals_scikit_learn_on_resampled_arrays():
    y, scores = _random(n=150, k=3, seed=5, decimals=2)  # ties too
    specs = (0.8, 0.9)
    engine = MetricEngine(y, scores, n_bins=10, positive_class=2, specificities=specs)
    rng = np.random.default_rng(0)
    W = next(bootstrap_weights(y, 5, rng, stratified=False, chunk=5))
    result = engine.compute(W)
    for b in range(5):
        idx = np.repeat(np.arange(len(y)), W[b].astype(int))
        yb, sb = y[idx], scores[idx]
        pred = sb.argmax(1)
        assert result["accuracy"][b] == pytest.approx(skm.accuracy_score(yb, pred))
        assert result["balanced_accuracy"][b] == pytest.approx(
            skm.balanced_accuracy_score(yb, pred)
        )
        assert result["macro_f1"][b] == pytest.approx(skm.f1_score(yb, pred, average="macro"))
        assert result["cohen_kappa"][b] == pytest.approx(skm.cohen_kappa_score(yb, pred))
        assert result["mcc"][b] == pytest.approx(skm.matthews_corrcoef(yb, pred))
        for c in range(3):
            assert result["auc"][b, c] == pytest.approx(skm.roc_auc_score(yb == c, sb[:, c]))
        assert result["brier"][b] == pytest.approx(skm.brier_score_loss(yb, sb, labels=[0, 1, 2]))
        for j, s in enumerate(specs):
            chosen = tune_threshold(yb, sb, "specificity", target=s, positive_class=2)
            assert result["sensitivity_at_specificity"][b, j] == pytest.approx(chosen.sensitivity)


def test_stratified_bootstrap_keeps_class_counts():
    y = np.array([0] * 30 + [1] * 5 + [2] * 2)
    W = next(bootstrap_weights(y, 50, np.random.default_rng(0), stratified=True, chunk=50))
    for c in range(3):
        assert np.all(W[:, y == c].sum(axis=1) == np.sum(y == c))
    assert W.sum(axis=1).tolist() == [len(y)] * 50


def test_bootstrap_intervals_contain_the_point_estimate_and_narrow_with_more_data():
    widths = {}
    for n in (200, 2000):
        y, scores = _random(n=n, k=4, seed=6)
        report = evaluate(y, scores, n_bootstrap=400, seed=0, positive_class=1)
        for key in ("accuracy", "balanced_accuracy", "macro_auc", "macro_f1", "mcc", "brier"):
            low, high = report.intervals[key]
            value = report.calibration["brier"] if key == "brier" else getattr(report, key)
            assert low <= value <= high, (n, key)
        for c in range(4):
            low, high = report.intervals[f"recall[{c}]"]
            assert low <= report.per_class[str(c)]["recall"] <= high
        low, high = report.intervals["sensitivity@specificity=0.9"]
        assert low <= report.operating_points[1]["sensitivity"] <= high
        widths[n] = {k: v[1] - v[0] for k, v in report.intervals.items() if v is not None}
    for key, wide in widths[200].items():
        assert widths[2000][key] < wide, key
    # about 1/sqrt(10) as narrow with 10x the data
    ratio = widths[2000]["balanced_accuracy"] / widths[200]["balanced_accuracy"]
    assert 0.2 < ratio < 0.5


def test_bootstrap_is_seeded_and_described():
    y, scores = _random(n=300, k=3, seed=7)
    a = evaluate(y, scores, n_bootstrap=200, seed=1)
    b = evaluate(y, scores, n_bootstrap=200, seed=1)
    c = evaluate(y, scores, n_bootstrap=200, seed=2)
    assert a.intervals == b.intervals
    assert a.intervals != c.intervals
    assert a.bootstrap["method"] == "percentile bootstrap"
    assert a.bootstrap["n_resamples"] == 200
    assert a.bootstrap["stratified"] is True
    intervals, undefined = bootstrap_intervals(y, scores, n_resamples=200, seed=1)
    assert intervals["accuracy"] == a.intervals["accuracy"]
    assert undefined == {}
    assert evaluate(y, scores, n_bootstrap=0).intervals == {}


def test_unstratified_bootstrap_counts_resamples_where_a_rare_class_vanishes():
    rng = np.random.default_rng(8)
    y = np.r_[np.zeros(60, int), np.ones(2, int)]
    scores = rng.dirichlet([1, 1], size=62)
    _, undefined = bootstrap_intervals(y, scores, n_resamples=300, stratified=False, seed=0)
    # P(no class-1 sample in 62 draws) = (60/62)**62 ~ 13%: some resamples lose it
    assert 10 < undefined["auc[1]"] < 80


def test_absent_class_auc_is_undefined_with_a_note_not_a_crash():
    y = np.array([0, 1, 0, 1])
    scores = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.3, 0.6, 0.1]])
    with pytest.warns(UndefinedMetricWarning, match="'c'"):
        report = evaluate(y, scores, ["a", "b", "c"], n_bootstrap=50)
    assert report.per_class["c"]["auc"] is None
    assert report.per_class["c"]["recall"] is None
    assert report.per_class["c"]["average_precision"] is None
    assert report.macro_auc == pytest.approx(1.0)
    assert report.intervals["auc[c]"] is None
    assert report.confusion_matrix_normalized[2] == (None, None, None)
    assert any("'c'" in note for note in report.notes)
    assert json.loads(report.to_json())["per_class"]["c"]["auc"] is None
    assert "undefined" in report.to_markdown()


def test_a_single_class_in_y_true_is_reported_as_undefined_not_a_crash():
    y = np.zeros(5, dtype=int)
    scores = np.array([[0.9, 0.1]] * 5)
    with pytest.warns(UndefinedMetricWarning):
        report = evaluate(y, scores, ["nv", "mel"], n_bootstrap=20)
    assert report.macro_auc is None
    assert report.accuracy == 1.0
    assert report.cohen_kappa is None
    assert report.mcc == 0.0
    assert report.operating_points[0]["sensitivity"] is None
    assert any("kappa" in note for note in report.notes)


def test_balanced_accuracy_is_mean_recall_on_a_hand_made_case():
    y = np.array([0, 0, 0, 0, 1])
    scores = np.array([[0.9, 0.1]] * 4 + [[0.8, 0.2]])  # always predicts class 0
    report = evaluate(y, scores, n_bootstrap=0)
    assert report.accuracy == pytest.approx(0.8)
    assert report.balanced_accuracy == pytest.approx(0.5)
    assert report.mcc == 0.0  # the "always nevus" model is worthless, and MCC says so
    assert report.cohen_kappa == pytest.approx(0.0)


def test_one_hot_labels_are_accepted():
    y, scores = _random(n=50, k=3, seed=9)
    a = evaluate(y, scores, n_bootstrap=0)
    b = evaluate(np.eye(3)[y], scores, n_bootstrap=0)
    assert a == b


def test_class_of_interest_is_picked_by_name_or_given():
    y, scores = _random(n=200, k=3, seed=10)
    report = evaluate(y, scores, ["nv", "mel", "bcc"], n_bootstrap=0)
    assert report.positive_class == "mel"
    assert [p["target_specificity"] for p in report.operating_points] == [0.8, 0.9, 0.95]
    assert any("picked by its name" in note for note in report.notes)
    report = evaluate(y, scores, ["a", "b", "c"], n_bootstrap=0)
    assert report.positive_class is None
    assert report.operating_points == ()
    report = evaluate(y, scores, ["a", "b", "c"], positive_class="c", specificities=[0.5])
    assert report.positive_class == "c"
    assert report.operating_points[0]["specificity"] >= 0.5
    assert "sensitivity@specificity=0.5" in report.intervals
    with pytest.raises(ParameterError, match="'positive_class'"):
        evaluate(y, scores, ["a", "b", "c"], positive_class="d")
    with pytest.raises(ParameterError, match="'specificities'"):
        evaluate(y, scores, positive_class=0, specificities=[1.5])


def test_binary_positive_scores_are_accepted():
    report = evaluate([0, 1, 1, 0], [0.1, 0.9, 0.4, 0.3], n_bootstrap=0)
    assert report.macro_auc == pytest.approx(1.0)
    assert report.accuracy == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("y", "scores", "error", "match"),
    [
        ([0, 1], [[0.5, 0.5]], DataError, "2 samples.*1"),
        ([0, 1], [[np.nan, 0.5], [0.5, 0.5]], DataError, "NaN"),
        ([0, 1], [[3.0, -2.0], [0.5, 0.5]], DataError, "probabilities"),
        ([0, 1], [[0.9, 0.8], [0.5, 0.5]], DataError, "sum"),
        ([0, 2], [[0.5, 0.5], [0.5, 0.5]], DataError, "outside"),
        ([0.0, 1.0], [[0.5, 0.5], [0.5, 0.5]], ParameterError, "y_true"),
        ([0, 1], np.zeros((2, 0)), ParameterError, "at least 2"),
        ([], np.zeros((0, 2)), DataError, "empty"),
        ([0, 1], [[0.5, 0.5], [0.5, 0.5]], None, None),
    ],
)
def test_bad_input(y, scores, error, match):
    if error is None:
        _quiet_evaluate(y, scores, n_bootstrap=10)
        return
    with pytest.raises(error, match=match):
        evaluate(y, scores)


def test_wrong_class_names_and_parameters_are_errors():
    y, scores = _random(n=20, k=3)
    with pytest.raises(ParameterError, match="'class_names'"):
        evaluate(y, scores, ["a", "b"])
    with pytest.raises(ParameterError, match="'class_names'"):
        evaluate(y, scores, ["a", "a", "b"])
    with pytest.raises(ParameterError, match="'n_bootstrap'"):
        evaluate(y, scores, n_bootstrap=-1)
    with pytest.raises(ParameterError, match="'ci'"):
        evaluate(y, scores, ci=1.0)


def test_report_round_trips_through_json(tmp_path):
    y, scores = _random(n=120, k=3, seed=11)
    report = evaluate(y, scores, ["nv", "mel", "bcc"], n_bootstrap=100, model_card="HAM sample")
    again = EvaluationReport.from_json(report.to_json(tmp_path / "r.json"))
    assert again == report
    assert again.y_true is None
    full = EvaluationReport.from_json(report.to_json(include_predictions=True))
    assert np.array_equal(full.y_true, y)
    assert np.allclose(full.y_score, scores)
    assert EvaluationReport.from_json(tmp_path / "r.json") == report
    with pytest.raises(ParameterError, match="keys"):
        EvaluationReport.from_dict({**report.to_dict(), "extra": 1})


def test_headline_keeps_the_original_keys_and_interval_lookup():
    y, scores = _random(n=100, k=3, seed=12)
    report = evaluate(y, scores, n_bootstrap=50)
    assert {"accuracy", "balanced_accuracy", "macro_auc"} <= set(report.headline())
    assert report.interval("accuracy") == report.intervals["accuracy"]
    with pytest.raises(ParameterError, match="'metric'"):
        report.interval("acuracy")


@pytest.mark.slow
def test_evaluate_at_isic_2020_scale_on_real_metadata():
    """33,126 real ISIC 2020 labels (1.8% malignant) scored by an age-only risk score."""
    import pandas as pd

    from tests.conftest import shared_dataset

    folder = shared_dataset("isic2020_metadata")
    table = pd.read_csv(folder / "ISIC_2020_Training_GroundTruth_v2_plus_asymmetry.csv")
    y = table["target"].to_numpy(dtype=int)
    age = table["age_approx"].fillna(table["age_approx"].median()).to_numpy(dtype=float)
    risk = 0.45 * (age - age.min()) / (age.max() - age.min())  # always below 0.5
    report = evaluate(y, risk, ["benign", "malignant"], n_bootstrap=200, seed=0)
    assert report.n == 33126
    assert report.per_class["malignant"]["support"] == 584
    assert report.macro_auc == pytest.approx(skm.roc_auc_score(y, risk))
    assert 0.6 < report.macro_auc < 0.8  # older patients carry more melanoma, but not much
    low, high = report.intervals["macro_auc"]
    assert low < report.macro_auc < high
    assert high - low < 0.1
    # accuracy flatters a useless threshold; balanced accuracy and MCC do not
    assert report.accuracy > 0.95
    assert report.balanced_accuracy < 0.6
    assert report.operating_points[1]["sensitivity"] < 0.5


def test_one_sigmoid_column_is_read_as_the_positive_class():
    y = [0, 1, 1, 0, 1, 0]
    p = np.array([0.2, 0.7, 0.4, 0.1, 0.9, 0.6])
    column = evaluate(y, p[:, None], n_bootstrap=20).to_dict()
    flat = evaluate(y, p, n_bootstrap=20).to_dict()
    both = evaluate(y, np.stack([1 - p, p], axis=1), n_bootstrap=20).to_dict()
    assert column == flat == both
