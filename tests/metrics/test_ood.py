"""Tests of out-of-distribution scores and the leave-one-class-out split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dermnet._core.errors import DataError, LeakageError, ParameterError, UnknownNameError
from dermnet.data import Records
from dermnet.metrics import UndefinedMetricWarning
from dermnet.metrics.ood import auroc, fpr_at_tpr, leave_one_class_out, ood_scores_report
from dermnet.metrics.uncertainty import confidence_scores


def test_auroc_matches_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    a = rng.integers(0, 5, 40).astype(float)
    b = rng.integers(0, 4, 30).astype(float)
    expected = roc_auc_score(np.r_[np.ones(40), np.zeros(30)], np.r_[a, b])
    assert auroc(a, b) == pytest.approx(expected)


def test_separable_scores_have_zero_fpr_and_auroc_one():
    known = np.linspace(0.6, 1.0, 50)
    unknown = np.linspace(0.0, 0.5, 30)
    assert fpr_at_tpr(known, unknown) == 0.0
    table = ood_scores_report({"msp": known}, {"msp": unknown}, n_bootstrap=100)
    row = table.iloc[0]
    assert row.auroc == 1.0
    assert row.fpr == 0.0
    assert (row.auroc_low, row.auroc_high, row.fpr_low, row.fpr_high) == (1.0, 1.0, 0.0, 0.0)


def test_fpr_at_tpr_threshold_keeps_the_share_of_known_inputs():
    known = np.arange(1, 21, dtype=float)  # 20 known scores; 95% keeps 19: threshold 2
    assert fpr_at_tpr(known, [1.5, 2.0, 10.0, 0.0]) == 0.5
    assert fpr_at_tpr(known, [1.5], tpr=1.0) == 1.0  # threshold 1 accepts 1.5


def test_planted_ood_set_is_detected_above_chance():
    rng = np.random.default_rng(0)
    logits_in = 3.0 * np.eye(4)[rng.integers(0, 4, 300)] + rng.normal(0, 1, (300, 4))
    logits_out = rng.normal(0, 1, (200, 4))  # no class evidence

    def probs(z):
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    known = confidence_scores(probs(logits_in), logits=logits_in)
    unknown = confidence_scores(probs(logits_out), logits=logits_out)
    table = ood_scores_report(known, unknown, n_bootstrap=200).set_index("score")
    assert set(table.index) == {"max_probability", "negative_entropy", "negative_energy"}
    assert (table.auroc_low > 0.75).all()
    assert (table.fpr_high < 0.8).all()
    assert ((table.auroc_low <= table.auroc) & (table.auroc <= table.auroc_high)).all()


def test_constant_score_warns_and_gets_chance():
    with pytest.warns(UndefinedMetricWarning, match="'flat' is constant"):
        table = ood_scores_report({"flat": np.ones(10)}, {"flat": np.ones(5)}, n_bootstrap=0)
    assert table.iloc[0].auroc == 0.5
    assert table.iloc[0].fpr == 1.0


def test_ood_report_bad_input():
    with pytest.raises(DataError, match="same scores"):
        ood_scores_report({"a": [1.0]}, {"b": [0.0]})
    with pytest.raises(DataError, match="same inputs"):
        ood_scores_report({"a": [1.0, 2.0], "b": [1.0]}, {"a": [0.0], "b": [0.0]})
    with pytest.raises(DataError, match="NaN"):
        ood_scores_report([1.0, np.nan], [0.0])
    with pytest.raises(ParameterError, match="tpr"):
        fpr_at_tpr([1.0], [0.0], tpr=0.0)


def _records():
    frame = pd.DataFrame(
        {
            "image_path": [f"{i}.jpg" for i in range(8)],
            "label": ["nv", "nv", "mel", "bkl", "df", "df", "nv", "mel"],
            "lesion_id": ["L0", "L1", "L2", "L3", "L4", "L4", "L5", "L6"],
        }
    )
    return Records(
        frame, ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"], group_cols=["lesion_id"]
    )


def test_leave_one_class_out_splits_known_and_unknown():
    parts = leave_one_class_out(_records(), "df")
    assert parts.held_out == "df"
    assert parts.known.classes == ("akiec", "bcc", "bkl", "mel", "nv", "vasc")
    assert sorted(parts.known.frame["label"]) == ["bkl", "mel", "mel", "nv", "nv", "nv"]
    assert parts.unknown.frame["label"].tolist() == ["df", "df"]
    assert parts.unknown.role == "test"
    assert parts.known.group_cols == ("lesion_id",)


def test_leave_one_class_out_errors():
    records = _records()
    with pytest.raises(UnknownNameError, match="held_out_class"):
        leave_one_class_out(records, "scc")
    with pytest.raises(DataError, match="'vasc' has no records"):
        leave_one_class_out(records, "vasc")
    frame = records.frame
    frame.loc[0, "lesion_id"] = "L4"  # a lesion labelled nv and df
    leaky = Records(frame, records.classes, group_cols=["lesion_id"])
    with pytest.raises(LeakageError, match="1 lesion_id value"):
        leave_one_class_out(leaky, "df")
