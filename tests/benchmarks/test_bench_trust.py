"""benchmarks/bench_trust.py --loco --quick: leave-one-class-out OOD on a HAM10000 subset."""

import json
import re
from pathlib import Path

import pytest

from tests.conftest import shared_dataset
from tests.examples.conftest import run_example

REPO = Path(__file__).resolve().parents[2]
SCORES = [
    "max_probability",
    "negative_entropy",
    "negative_energy",
    "negative_tta_disagreement",
]


def _rows(markdown: str) -> dict[str, list[str]]:
    rows = {}
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in SCORES:
            rows[cells[0]] = cells
    return rows


@pytest.mark.slow
def test_quick_leave_one_class_out_reports_every_score_with_intervals(tmp_path):
    root = shared_dataset("ham10000")
    script = REPO / "benchmarks" / "bench_trust.py"
    done = run_example(
        script, "--loco", "mel", "--quick", "--ham10000", str(root), "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    text = (tmp_path / "bench_trust_loco.md").read_text()
    assert "## Unknown lesions: mel held out" in text
    assert "--quick: 300 images, numbers meaningless" in text
    rows = _rows(text)
    assert list(rows) == SCORES
    n_out = {int(cells[2]) for cells in rows.values()}
    assert len(n_out) == 1
    assert f"all {n_out.pop()} mel images" in text
    for name, cells in rows.items():
        auroc, low, high, fpr, fpr_low, fpr_high = (float(c) for c in cells[3:9])
        assert 0.0 <= low <= auroc <= high <= 1.0, name
        assert 0.0 <= fpr_low <= fpr <= fpr_high <= 1.0, name
    # the model never saw the held-out class
    config = json.loads((tmp_path / "loco_mel" / "config.json").read_text())
    assert "mel" not in config["classes"]
    assert len(config["classes"]) == 6
    assert re.search(r"Training \d+\.\d min", text)


@pytest.mark.slow  # reads the real HAM10000 table
def test_an_unknown_class_is_a_clear_error():
    shared_dataset("ham10000")
    done = run_example(REPO / "benchmarks" / "bench_trust.py", "--loco", "melanoma", "--quick")
    assert done.returncode == 2
    assert "bench_trust:" in done.stderr
    assert "melanoma" in done.stderr
