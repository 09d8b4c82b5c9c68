"""examples/leakage_lesson.py: the three protocols run, and each leaks as it should."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "leakage_lesson.py"


def run_script(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return run_example(SCRIPT, *args, timeout=timeout)


@pytest.mark.slow
def test_quick_run_writes_outputs_and_shows_each_leak(tmp_path):
    done = run_script("--quick", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("metrics.json", "report.html", "leakage_table.md", "leakage.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    result = json.loads((tmp_path / "metrics.json").read_text())
    assert result["quick"] is True
    assert "not meaningful" in result["note"]
    arms = result["arms"]
    assert list(arms) == ["random", "oversample", "grouped"]  # the honest arm last
    for arm in arms.values():
        for key in ("accuracy", "balanced_accuracy", "macro_auc"):
            low, high = arm[key]["ci95"]
            assert 0.0 <= low <= arm[key]["value"] <= high <= 1.0, (key, arm[key])
        assert arm["sizes"]["train"] > 0
        assert arm["sizes"]["test"] > 0
    grouped, random_, over = arms["grouped"]["leak"], arms["random"]["leak"], arms["oversample"]
    assert grouped == {
        "shared_lesions": 0,
        "shared_files": 0,
        "test_images_lesion_in_train": 0.0,
        "test_images_file_in_train": 0.0,
    }
    # HAM10000 (real data and the bundled sample) photographs lesions repeatedly.
    assert random_["shared_lesions"] > 0
    assert 0 < random_["test_images_lesion_in_train"] < 1
    assert random_["shared_files"] == 0  # an image-level split never copies an image...
    assert over["leak"]["shared_files"] > 0  # ...oversampling before the split does
    assert over["leak"]["test_images_file_in_train"] > 0.3
    assert "LeakageWarning" in over["warning"]
    assert "allow_unsplit=True" in over["warning"]
    # oversampling to the largest class makes every class as large: a balanced test set
    assert over["sizes"]["test"] > arms["grouped"]["sizes"]["test"]
    table = (tmp_path / "leakage_table.md").read_text().splitlines()
    assert table[0].startswith("| protocol")
    assert len(table) == 5
    assert table[-1].startswith("| lesion-grouped split (honest) | ")
    assert "balanced accuracy" in done.stdout
    assert "not meaningful" in done.stdout


def test_root_without_metadata_exits_with_the_path(tmp_path):
    done = run_inline(SCRIPT, "--root", str(tmp_path), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    assert str(tmp_path) in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr
    assert not (tmp_path / "out").exists()
