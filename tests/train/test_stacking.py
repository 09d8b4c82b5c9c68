"""Stacking on out-of-fold predictions (leak-free) and the ablation table."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from dermnet import DataError, ParameterError
from dermnet.train.stacking import ablation_table, stack_oof


def oof_table(n=120, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(0, 1, (n, 3)) + 1.5 * np.eye(3)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    table = pd.DataFrame(
        {
            "image_path": [f"img_{i}.png" for i in range(n)],
            "group": [f"g{i // 2}" for i in range(n)],
            "label": np.array(["a", "b", "c"])[y],
            "fold": (np.arange(n) // 2) % k,
        }
    )
    for c, name in enumerate("abc"):
        table[f"p_{name}"] = p[:, c]
    return table


def test_stacking_never_scores_a_row_with_its_own_fold():
    table = oof_table()
    result = stack_oof([table])
    fold = 2
    changed = table.copy()
    rows = changed["fold"] == fold
    # other labels and predictions for the rows of fold 2 ...
    changed.loc[rows, "label"] = np.roll(changed.loc[rows, "label"].to_numpy(), 1)
    changed.loc[rows, ["p_a", "p_b", "p_c"]] = 1 / 3
    again = stack_oof([changed])
    # ... leave the stacked scores of fold 2's rows as they were (only features change
    # them, through the same stacker) ...
    same_features = stack_oof([changed.assign(**{c: table[c] for c in ("p_a", "p_b", "p_c")})])
    np.testing.assert_allclose(same_features.oof[rows.to_numpy()], result.oof[rows.to_numpy()])
    # ... but change the scores of every other fold, whose stackers saw them
    others = ~rows.to_numpy()
    assert not np.allclose(again.oof[others], result.oof[others])
    # and the final stacker, fitted on every row, does see them
    assert not np.allclose(again.model.coef_, result.model.coef_)


def test_stacking_combines_several_cv_runs_and_learns():
    a, b = oof_table(seed=0), oof_table(seed=0)
    b = b.sample(frac=1.0, random_state=1)  # another row order: aligned by image path
    result = stack_oof([a, b])
    assert result.oof.shape == (len(a), 3)
    np.testing.assert_allclose(result.oof.sum(1), 1.0)
    y = result.labels
    assert (result.oof.argmax(1) == y).mean() > 0.6
    new = result.predict([a[["p_a", "p_b", "p_c"]].to_numpy()] * 2)
    assert new.shape == (len(a), 3)


def test_stacking_refuses_tables_over_other_images_or_folds():
    a = oof_table()
    with pytest.raises(DataError, match="same images"):
        stack_oof([a, a.iloc[1:]])
    with pytest.raises(DataError, match="same folds"):
        stack_oof([a, a.assign(fold=(a["fold"] + 1) % 4)])
    with pytest.raises(ParameterError, match="non-empty list"):
        stack_oof([])


def test_ablation_gains_have_paired_intervals():
    table = oof_table(n=300)
    y = table["label"].map({"a": 0, "b": 1, "c": 2}).to_numpy()
    good = table[["p_a", "p_b", "p_c"]].to_numpy()
    rng = np.random.default_rng(3)
    noisy = 0.5 * good + 0.5 * rng.dirichlet(np.ones(3), len(y))
    rows = ablation_table(y, {"noisy": noisy, "good": good, "good again": good}, n_bootstrap=300)
    assert [r["variant"] for r in rows] == ["noisy", "good", "good again"]
    assert rows[0]["macro_auc_gain"] is None
    expected_auc = np.mean([roc_auc_score(y == c, good[:, c]) for c in range(3)])
    assert rows[1]["macro_auc"] == pytest.approx(expected_auc)
    assert rows[1]["macro_auc_gain_low"] > 0  # the better model is better on every resample
    assert rows[2]["balanced_accuracy_gain"] == 0.0
    assert rows[2]["balanced_accuracy_gain_low"] == rows[2]["balanced_accuracy_gain_high"] == 0.0
    first = ablation_table(y, {"noisy": noisy, "good": good, "x": good}, compare="first")
    assert first[2]["macro_auc_gain"] == pytest.approx(rows[1]["macro_auc_gain"])


def test_ablation_refuses_bad_input():
    y = np.array([0, 1, 0, 1])
    with pytest.raises(DataError, match="variant 'x'"):
        ablation_table(y, {"x": np.ones((3, 2)) / 2})
    with pytest.raises(ParameterError, match="'metrics' parameter"):
        ablation_table(y, {"x": np.ones((4, 2)) / 2}, metrics=("f1",))
