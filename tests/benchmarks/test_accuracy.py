"""benchmarks/accuracy.py --quick: the whole benchmark path on a small subset of HAM10000."""

import json
from pathlib import Path

import pytest

from dermnet.models import load_model
from tests.conftest import shared_dataset
from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]


def _run(*args):
    return run_example(REPO / "benchmarks" / "accuracy.py", *args)


@pytest.mark.slow
def test_quick_run_trains_both_models_and_writes_the_results(tmp_path):
    root = shared_dataset("ham10000")
    done = _run("--quick", "--root", str(root), "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["split"] == {"train": 600, "val": 300, "group_by": "lesion_id"}
    names = [row["model"] for row in result["rows"]]
    assert names[0].startswith("simple_cnn 64px")
    assert names[1].startswith("fast_cnn 64px + metadata")
    for row in result["rows"]:
        for key in ("balanced_accuracy", "macro_auc", "melanoma_sensitivity", "accuracy"):
            low, high = row[f"{key}_ci"]
            assert 0.0 <= low <= row[key] <= high <= 1.0, (row["model"], key)
    assert set(result["checks"]) == {
        "balanced accuracy >= 0.62",
        "macro AUC >= 0.9",
        "balanced accuracy above the baseline's upper bound",
        "macro AUC above the baseline's upper bound",
    }
    table = (tmp_path / "results.md").read_text()
    assert "QUICK smoke run" in table
    assert table.count("| simple_cnn 64px") == 1
    for name in ("best_model.keras", "metadata_encoder.json", "report_simple_cnn.html"):
        assert (tmp_path / name).stat().st_size > 0
    model = load_model(tmp_path / "best_model.keras")
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
