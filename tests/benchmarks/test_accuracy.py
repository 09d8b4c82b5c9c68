"""benchmarks/accuracy.py --quick: the whole benchmark path on a small subset of HAM10000."""

import json
from pathlib import Path

import pandas as pd
import pytest

from dermnet.models import load_model
from tests.conftest import shared_dataset
from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]


def _run(*args):
    return run_example(REPO / "benchmarks" / "accuracy.py", *args)


@pytest.mark.slow
def test_quick_run_trains_both_recipes_and_writes_the_results(tmp_path):
    root = shared_dataset("ham10000")
    done = _run("--quick", "--root", str(root), "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["settings"]["quick"] is True
    assert result["settings"]["recipes"] == ["baseline_cnn", "cpu_best"]
    assert result["split"] == {"train": 700, "val": 150, "test": 150}  # 70/15/15 of 1000
    for key, split in (("rows", "val"), ("test_rows", "test")):
        names = [row["model"] for row in result[key]]
        assert names[0].startswith("baseline_cnn: simple_cnn 64px")
        assert names[1].startswith("cpu_best: fast_cnn 64px + metadata")
        for row in result[key]:
            assert row["split"] == split
            for metric in ("balanced_accuracy", "macro_auc", "melanoma_sensitivity", "accuracy"):
                low, high = row[f"{metric}_ci"]
                assert 0.0 <= low <= row[metric] <= high <= 1.0, (row["model"], metric)
    assert set(result["checks"]) == {
        "balanced accuracy >= 0.62",
        "macro AUC >= 0.9",
        "balanced accuracy above the baseline's upper bound",
        "macro AUC above the baseline's upper bound",
    }
    table = (tmp_path / "results.md").read_text()
    assert "QUICK smoke run" in table
    assert table.count("| baseline_cnn: simple_cnn 64px") == 2  # validation and test tables
    for recipe in ("baseline_cnn", "cpu_best"):
        for name in ("model.keras", "report.html", "metrics.json", "metrics_val.json"):
            assert (tmp_path / recipe / name).stat().st_size > 0, (recipe, name)
        parts = pd.read_csv(tmp_path / recipe / "split.csv")
        assert parts["role"].value_counts().to_dict() == {"train": 700, "val": 150, "test": 150}
        assert (parts.groupby("lesion_id")["role"].nunique() == 1).all()  # grouped by lesion
    assert (tmp_path / "cpu_best" / "metadata_encoder.json").stat().st_size > 0
    model = load_model(tmp_path / "cpu_best" / "model.keras")
    assert set(model.input) == {"image", "metadata"}


def test_missing_data_is_a_clear_error(tmp_path):
    done = run_inline(
        REPO / "benchmarks" / "accuracy.py",
        "--root",
        str(tmp_path),
        "--output",
        str(tmp_path / "out"),
    )
    assert done.returncode == 1
    assert str(tmp_path) in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr
