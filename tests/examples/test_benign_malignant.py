"""examples/benign_malignant.py in quick mode: outputs, intervals and its invariants."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "benign_malignant.py"
MODELS = ("compact_cnn", "vgg16")


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return run_example(SCRIPT, *args)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("benign_malignant")
    done = run_script("--quick", "--output", str(out), "--weights", "none")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sensitivity" in done.stdout
    assert "not meaningful" in done.stdout
    return out


def check_interval(entry: dict) -> None:
    assert 0.0 <= entry["low"] <= entry["value"] <= entry["high"] <= 1.0, entry


@pytest.mark.slow
def test_quick_run_writes_the_outputs(quick_run: Path) -> None:
    for name in ("metrics.json", "report.html", "report_compact_cnn.html", "roc.png",
                 "predictions.csv", *[f"history_{m}.csv" for m in MODELS]):  # fmt: skip
        assert (quick_run / name).stat().st_size > 0, name
    result = json.loads((quick_run / "metrics.json").read_text())
    assert result["quick"] is True
    assert result["data"]["shared_lesions_train_test"] == 0
    for model in MODELS:
        entry = result["models"][model]
        check_interval(entry["auc"])
        assert set(entry["thresholds"]) == {"default", "youden", "sensitivity_0.90"}
        assert entry["thresholds"]["default"]["threshold"] == 0.5
        for point in entry["thresholds"].values():
            check_interval(point["sensitivity"])
            check_interval(point["specificity"])


@pytest.mark.slow
def test_thresholds_come_from_the_validation_split_only(quick_run: Path) -> None:
    from dermnet.imbalance import tune_threshold

    result = json.loads((quick_run / "metrics.json").read_text())
    rows = pd.read_csv(quick_run / "predictions.csv")
    val = rows[rows["role"] == "val"]
    y_val = (val["label"] == "malignant").to_numpy().astype(int)
    counts = result["data"]["val_class_counts"]
    for model in MODELS:
        tuned = result["models"][model]["tuned_on"]
        assert tuned["split"] == "val"
        assert (tuned["n_positive"], tuned["n_negative"]) == (counts["malignant"], counts["benign"])
        p_val = val[f"{model}_p_malignant"].to_numpy()
        youden = tune_threshold(y_val, p_val, "youden")
        screen = tune_threshold(y_val, p_val, "sensitivity", target=0.9)
        points = result["models"][model]["thresholds"]
        assert points["youden"]["threshold"] == youden.threshold
        assert points["sensitivity_0.90"]["threshold"] == screen.threshold
        assert screen.sensitivity >= 0.9
        # On validation, the threshold gives what tune_threshold reported there.
        assert tuned["youden"]["sensitivity"] == pytest.approx(youden.sensitivity)


@pytest.mark.slow
def test_test_metrics_match_the_saved_predictions(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    rows = pd.read_csv(quick_run / "predictions.csv")
    test = rows[rows["role"] == "test"]
    assert len(test) == result["data"]["split"]["test"]
    assert not set(test["lesion_id"]) & set(rows.loc[rows["role"] == "val", "lesion_id"])
    y = (test["label"] == "malignant").to_numpy()
    assert set(test.loc[y, "dx"]) <= {"mel", "bcc", "akiec"}
    for model in MODELS:
        p = test[f"{model}_p_malignant"].to_numpy()
        for point in result["models"][model]["thresholds"].values():
            decided = p >= point["threshold"]
            assert point["sensitivity"]["value"] == pytest.approx(decided[y].mean())
            assert point["specificity"]["value"] == pytest.approx((~decided[~y]).mean())


def test_a_root_without_ham10000_exits_with_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "not_ham"
    empty.mkdir()
    done = run_inline(SCRIPT, "--quick", "--root", str(empty), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    assert str(empty) in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()
