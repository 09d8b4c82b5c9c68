"""examples/ham10000_7class.py in quick mode: outputs, intervals and its invariants."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "ham10000_7class.py"
MODELS = ("simple_cnn", "mobilenet_v2")


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return run_example(SCRIPT, *args)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ham10000_7class")
    done = run_script("--quick", "--output", str(out), "--weights", "none")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "balanced_accuracy" in done.stdout.replace(" ", "_")
    assert "not meaningful" in done.stdout
    return out


def check_interval(entry: dict) -> None:
    assert 0.0 <= entry["low"] <= entry["value"] <= entry["high"] <= 1.0, entry


@pytest.mark.slow
def test_quick_run_writes_the_outputs(quick_run: Path) -> None:
    for name in (
        "metrics.json",
        "report.html",
        "report_simple_cnn.html",
        "predictions.csv",
        "split.csv",
        "gradcam_correct.png",
        "gradcam_wrong.png",
        *[f"history_{m}.{ext}" for m in MODELS for ext in ("csv", "png")],
        *[f"{m}.keras" for m in MODELS],
    ):
        assert (quick_run / name).stat().st_size > 0, name
    result = json.loads((quick_run / "metrics.json").read_text())
    assert result["quick"] is True
    assert result["elapsed_s"] > 0
    for model in MODELS:
        entry = result["models"][model]
        for key in ("balanced_accuracy", "macro_auc", "melanoma_sensitivity"):
            check_interval(entry[key])
        assert set(entry["recall"]) == set(result["data"]["test_class_counts"])
        history = pd.read_csv(quick_run / f"history_{model}.csv")
        assert len(history) == entry["epochs_run"] >= 1
        assert {"loss", "val_loss"} <= set(history.columns)


@pytest.mark.slow
def test_both_models_are_evaluated_on_the_same_test_images(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    simple, mobile = (result["models"][m] for m in MODELS)
    assert simple["n_test"] == mobile["n_test"] == result["data"]["split"]["test"]
    assert simple["test_images_sha1"] == mobile["test_images_sha1"]
    assert simple["test_labels_sha1"] == mobile["test_labels_sha1"]
    predictions = pd.read_csv(quick_run / "predictions.csv")
    split = pd.read_csv(quick_run / "split.csv")
    test_ids = split.loc[split["role"] == "test", "image_id"]
    assert sorted(predictions["image_id"]) == sorted(test_ids)
    assert predictions[[f"{m}_pred" for m in MODELS]].notna().all().all()


@pytest.mark.slow
def test_no_lesion_is_shared_between_the_parts(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    assert result["data"]["shared_lesions"] == {"train_val": 0, "train_test": 0, "val_test": 0}
    split = pd.read_csv(quick_run / "split.csv")
    assert split.groupby("lesion_id")["role"].nunique().max() == 1
    assert split["image_id"].is_unique


@pytest.mark.slow
def test_gradcam_figures_hold_what_their_names_say(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    predictions = pd.read_csv(quick_run / "predictions.csv").set_index("image_id")
    gradcam = result["gradcam"]
    assert gradcam["wrong"], "a 2-epoch model gets some test images wrong"
    for kind, same in (("correct", True), ("wrong", False)):
        for item in gradcam[kind]:
            assert (item["true"] == item["pred"]) is same, item
            row = predictions.loc[item["image_id"]]
            assert row["label"] == item["true"]
            assert row["mobilenet_v2_pred"] == item["pred"]


def test_a_root_without_ham10000_exits_with_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "not_ham"
    empty.mkdir()
    done = run_inline(SCRIPT, "--quick", "--root", str(empty), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    assert str(empty) in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()
