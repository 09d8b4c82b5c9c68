"""Tests of subgroup performance with paired-bootstrap gaps."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dermnet._core.errors import DataError, ParameterError, UnknownNameError
from dermnet.metrics import UndefinedMetricWarning, evaluate
from dermnet.metrics.subgroups import (
    MISSING_GROUP,
    SubgroupReport,
    age_bands,
    plot_subgroup_gaps,
    subgroup_report,
)

CLASSES = ["nv", "mel", "bcc"]


def _data(n=600, seed=0, worse=None, noise=0.6):
    """Three-class scores; rows of group ``worse`` get much noisier scores."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    sex = np.array(["female", "male"] * (n // 2))
    logits = 2.0 * np.eye(3)[y] + rng.normal(0, noise, (n, 3))
    if worse is not None:
        rows = sex == worse
        logits[rows] = 0.3 * np.eye(3)[y[rows]] + rng.normal(0, 1.0, (int(rows.sum()), 3))
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, p, sex


def _row(report: SubgroupReport, variable: str, group: str, metric: str) -> pd.Series:
    t = report.table
    hit = t[(t.variable == variable) & (t.group == group) & (t.metric == metric)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_subgroup_metrics_equal_the_metrics_of_the_subgroup_alone():
    y, p, sex = _data()
    report = subgroup_report(y, p, {"sex": sex}, CLASSES, positive_class="mel", n_bootstrap=200)
    for group in ("female", "male"):
        rows = sex == group
        alone = evaluate(y[rows], p[rows], CLASSES, positive_class=None, n_bootstrap=0)
        assert _row(report, "sex", group, "balanced_accuracy").value == pytest.approx(
            alone.balanced_accuracy
        )
        assert _row(report, "sex", group, "macro_auc").value == pytest.approx(alone.macro_auc)
        assert _row(report, "sex", group, "sensitivity").value == pytest.approx(
            alone.per_class["mel"]["recall"]
        )
        assert _row(report, "sex", group, "specificity").value == pytest.approx(
            alone.per_class["mel"]["specificity"]
        )
    whole = evaluate(y, p, CLASSES, n_bootstrap=0)
    assert _row(report, "all", "all", "balanced_accuracy").value == pytest.approx(
        whole.balanced_accuracy
    )
    # intervals cover the point estimates
    ok = report.table[report.table.status == "ok"]
    assert ((ok.low <= ok.value) & (ok.value <= ok.high)).all()
    gaps = ok[ok.variable != "all"]
    assert ((gaps.gap_low <= gaps.gap) & (gaps.gap <= gaps.gap_high)).all()


def test_planted_disparity_is_flagged_and_identical_groups_are_not():
    y, p, sex = _data(worse="male")
    report = subgroup_report(y, p, {"sex": sex}, CLASSES, positive_class="mel", n_bootstrap=300)
    male = _row(report, "sex", "male", "balanced_accuracy")
    assert male.gap < -0.1
    assert male.gap_high < 0
    assert male.flagged
    assert _row(report, "sex", "male", "macro_auc").flagged

    y, p, _ = _data(seed=1)
    same = np.array(["a", "b"] * 300)  # the same model, groups drawn at random
    report = subgroup_report(y, p, {"site": same}, CLASSES, n_bootstrap=300)
    assert not report.table.flagged.any()
    assert report.flagged.empty


def test_small_groups_are_reported_as_too_small_not_hidden():
    y, p, sex = _data()
    site = np.array(["trunk"] * 590 + ["scalp"] * 10)
    report = subgroup_report(y, p, {"site": site, "sex": sex}, CLASSES, min_size=30, n_bootstrap=50)
    scalp = report.table[(report.table.variable == "site") & (report.table.group == "scalp")]
    assert len(scalp) == 2  # balanced accuracy and macro AUC (no class of interest)
    assert (scalp.status == "too small").all()
    assert (scalp.n == 10).all()
    assert scalp.value.isna().all()
    assert not scalp.flagged.any()
    assert "too small" in report.to_markdown()
    assert "scalp" in report.to_html()


def test_one_class_group_is_undefined_with_a_warning():
    y, p, _ = _data()
    only_nv = np.where(y == 0, "x", "y")
    with pytest.warns(UndefinedMetricWarning, match="macro_auc of g=x: the group has one class"):
        report = subgroup_report(y, p, {"g": only_nv}, CLASSES, n_bootstrap=20)
    row = _row(report, "g", "x", "macro_auc")
    assert row.status.startswith("undefined")
    assert np.isnan(row.value)
    assert not row.flagged


def test_missing_group_values_form_an_explicit_group():
    y, p, sex = _data()
    sex = sex.astype(object)
    sex[:40] = None
    sex[40:50] = "unknown"
    with pytest.warns(UndefinedMetricWarning, match="50 missing value"):
        report = subgroup_report(y, p, {"sex": sex}, CLASSES, n_bootstrap=0)
    row = _row(report, "sex", MISSING_GROUP, "balanced_accuracy")
    assert row.n == 50
    assert row.status == "ok"
    assert np.isnan(row.low)
    assert not row.flagged


def test_dataframe_groups_and_by_selection():
    y, p, sex = _data()
    frame = pd.DataFrame({"sex": sex, "age": np.linspace(10, 90, 600)})
    frame["age_band"] = age_bands(frame["age"])
    report = subgroup_report(y, p, frame, CLASSES, by=["age_band"], n_bootstrap=0)
    assert set(report.table.variable) == {"all", "age_band"}
    shown = report.table[report.table.variable == "age_band"].group.unique().tolist()
    assert shown == ["<30", "30-44", "45-59", "60-74", "75+"]  # age order, not text order
    with pytest.raises(UnknownNameError, match="unknown group column 'sx'"):
        subgroup_report(y, p, frame, CLASSES, by=["sx"])


def test_bad_input_errors():
    y, p, sex = _data()
    with pytest.raises(DataError, match="has 599 values but there are 600"):
        subgroup_report(y, p, {"sex": sex[:-1]}, CLASSES)
    with pytest.raises(DataError, match="y_true has 599 samples"):
        subgroup_report(y[:-1], p, {"sex": sex[:-1]}, CLASSES)
    with pytest.raises(ParameterError, match="positive_class"):
        subgroup_report(y, p, {"sex": sex}, CLASSES, positive_class="scc")
    with pytest.raises(ParameterError, match="min_size"):
        subgroup_report(y, p, {"sex": sex}, CLASSES, min_size=0)


def test_age_bands():
    bands = age_bands([0, 29.9, 30, 59, 60, 75, np.nan], edges=(30, 60, 75))
    assert bands.tolist() == ["<30", "<30", "30-59", "30-59", "60-74", "75+", MISSING_GROUP]
    with pytest.raises(ParameterError, match="increasing"):
        age_bands([1], edges=(60, 30))
    with pytest.raises(ParameterError, match="ages"):
        age_bands(["old"])


def test_forest_plot_draws_each_group():
    y, p, sex = _data(worse="male")
    report = subgroup_report(y, p, {"sex": sex}, CLASSES, n_bootstrap=50)
    fig = plot_subgroup_gaps(report, "macro_auc")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert sorted(labels) == ["sex=female (n=300)", "sex=male (n=300)"]
    with pytest.raises(UnknownNameError, match="sensitivity"):
        plot_subgroup_gaps(report, "sensitivity")  # no class of interest in a 3-class task
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert "**" in report.to_markdown()  # the planted gap is bold
