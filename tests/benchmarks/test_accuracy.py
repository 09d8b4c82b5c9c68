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
    done = _run(
        "--quick", "--members", "2", "--image-only", "--root", str(root), "--output", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads((tmp_path / "results.json").read_text())
    assert result["settings"]["quick"] is True
    assert result["settings"]["recipes"] == ["baseline_cnn", "cpu_best"]
    assert result["split"] == {"train": 700, "val": 150, "test": 150}  # 70/15/15 of 1000
    for key, split in (("rows", "val"), ("test_rows", "test")):
        names = [row["model"] for row in result[key]]
        assert names[0].startswith("baseline_cnn: simple_cnn 64px")
        assert names[1].startswith("cpu_best: fast_cnn 64px + metadata")
        assert names[1].endswith("ensemble of 2")
        assert names[2].startswith("cpu_best_image_only: fast_cnn 64px, TTA")
        assert len(names) == 3
        for row in result[key]:
            assert row["split"] == split
            for metric in ("balanced_accuracy", "macro_auc", "melanoma_sensitivity", "accuracy"):
                low, high = row[f"{metric}_ci"]
                assert 0.0 <= low <= row[metric] <= high <= 1.0, (row["model"], metric)
    assert set(result["checks"]) == {  # the targets
        "balanced accuracy >= 0.7",
        "macro AUC >= 0.95",
        "balanced accuracy above the baseline's upper bound",
        "macro AUC above the baseline's upper bound",
        "image-only balanced accuracy >= 0.66",
        "image-only balanced accuracy above the baseline's upper bound",
    }
    steps = [row["variant"] for row in result["ablation"]]
    assert steps == [
        "one model",
        "+ TTA",
        "+ ensemble",
        "+ logit adjustment",
        "image only (every step)",
        "+ metadata (every step)",
    ]
    by_step = {row["variant"]: row for row in result["ablation"]}
    # the last step of the chain is the ensemble folder's own scores
    assert by_step["+ logit adjustment"]["balanced_accuracy"] == pytest.approx(
        result["rows"][1]["balanced_accuracy"], abs=1e-6
    )
    for row in result["ablation"][1:4]:
        low, high = row["balanced_accuracy_gain_low"], row["balanced_accuracy_gain_high"]
        assert low <= row["balanced_accuracy_gain"] <= high
    table = (tmp_path / "results.md").read_text()
    assert "QUICK smoke run" in table
    assert table.count("| baseline_cnn: simple_cnn 64px") == 2  # validation and test tables
    assert "| + logit adjustment |" in table
    folders = {
        "baseline_cnn": tmp_path / "baseline_cnn",
        "cpu_best": tmp_path / "cpu_best" / "ensemble",
        "cpu_best_image_only": tmp_path / "cpu_best_image_only" / "ensemble",
    }
    splits = []
    for recipe, folder in folders.items():
        for name in ("model.keras", "report.html", "metrics.json", "metrics_val.json"):
            assert (folder / name).stat().st_size > 0, (recipe, name)
        parts = pd.read_csv(folder / "split.csv")
        assert parts["role"].value_counts().to_dict() == {"train": 700, "val": 150, "test": 150}
        assert (parts.groupby("lesion_id")["role"].nunique() == 1).all()  # grouped by lesion
        splits.append(parts.set_index("image_path")["role"].sort_index())
    for other in splits[1:]:  # every recipe and member is scored on the same seed-0 split
        pd.testing.assert_series_equal(splits[0], other)
    for i in range(2):
        member = pd.read_csv(tmp_path / "cpu_best" / f"member_{i}" / "split.csv")
        roles = member.set_index("image_path")["role"].sort_index()
        pd.testing.assert_series_equal(splits[0], roles)
    assert (folders["cpu_best"] / "metadata_encoder.json").stat().st_size > 0
    model = load_model(folders["cpu_best"] / "model.keras")
    assert set(model.input) == {"image", "metadata"}
    assert not isinstance(load_model(folders["cpu_best_image_only"] / "model.keras").input, dict)


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


def test_a_bad_set_override_is_a_usage_error(tmp_path):
    script = REPO / "benchmarks" / "accuracy.py"
    done = run_inline(script, "--set", "epochs", "--root", str(tmp_path))
    assert done.returncode == 2
    assert "--set takes KEY=VALUE" in done.stderr
    assert "'epochs'" in done.stderr
