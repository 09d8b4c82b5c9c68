"""examples/malaria_cells.py in quick mode: outputs, intervals and its invariants."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "malaria_cells.py"


def run_script(*args: str) -> subprocess.CompletedProcess[str]:
    return run_example(SCRIPT, *args)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("malaria_cells")
    done = run_script("--quick", "--output", str(out))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "sensitivity" in done.stdout
    assert "not meaningful" in done.stdout
    return out


@pytest.mark.slow
def test_quick_run_writes_the_outputs(quick_run: Path) -> None:
    for name in ("metrics.json", "learning_curves.png", "report.html", "history.csv",
                 "split.csv", "predictions.csv", "model.keras"):  # fmt: skip
        assert (quick_run / name).stat().st_size > 0, name
    result = json.loads((quick_run / "metrics.json").read_text())
    assert result["quick"] is True
    for key in ("accuracy", "balanced_accuracy", "auc", "sensitivity", "specificity"):
        entry = result["test"][key]
        assert 0.0 <= entry["low"] <= entry["value"] <= entry["high"] <= 1.0, (key, entry)
    history = result["history"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert len(history["loss"]) == result["early_stopping"]["epochs_run"]
    predictions = pd.read_csv(quick_run / "predictions.csv")
    assert len(predictions) == result["data"]["split"]["test"]


@pytest.mark.slow
def test_early_stopping_restored_the_best_epoch(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    stop = result["early_stopping"]
    val_loss = pd.read_csv(quick_run / "history.csv")["val_loss"]
    assert stop["best_epoch"] == int(val_loss.idxmin()) + 1
    assert stop["best_val_loss"] == pytest.approx(val_loss.min(), rel=1e-5)
    # The model the recipe evaluated is the best epoch's, not the last epoch's.
    assert stop["restored_val_loss"] == pytest.approx(val_loss.min(), rel=1e-4, abs=1e-5)


@pytest.mark.slow
def test_no_slide_is_shared_between_the_parts(quick_run: Path) -> None:
    result = json.loads((quick_run / "metrics.json").read_text())
    assert result["data"]["shared_slides"] == {"train_val": 0, "train_test": 0, "val_test": 0}
    split = pd.read_csv(quick_run / "split.csv")
    assert split.groupby("slide_id")["role"].nunique().max() == 1
    names = split["image_id"].map(lambda p: Path(p).name)
    slides = names.map(lambda n: re.match(r"C\d+", n).group(0))
    assert (slides == split["slide_id"]).all()
    assert result["data"]["groups"]["slides"] == split["slide_id"].nunique()


def test_a_root_without_malaria_cells_exits_with_the_path(tmp_path: Path) -> None:
    empty = tmp_path / "no_cells"
    empty.mkdir()
    done = run_inline(SCRIPT, "--quick", "--root", str(empty), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    assert str(empty) in done.stderr
    assert "Parasitized" in done.stderr
    assert not (tmp_path / "out" / "metrics.json").exists()
