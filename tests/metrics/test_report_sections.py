"""Report sections: subgroups and selective prediction in the Markdown, HTML, card and JSON."""

import json

import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.metrics import EvaluationReport, evaluate
from dermnet.metrics.report_sections import ReportSection, abstention_section, subgroup_section
from dermnet.metrics.subgroups import subgroup_report
from dermnet.metrics.uncertainty import AbstentionThreshold, choose_abstention_threshold


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    sex = np.array(["f", "m"] * (n // 2))
    # planted disparity: the model is near-perfect for "f" and guesses for "m"
    good = np.where(y == 1, 0.9, 0.1)
    bad = rng.uniform(0.05, 0.95, n)
    p = np.where(sex == "f", good, bad)
    return y, np.c_[1 - p, p], sex


def test_subgroup_section_rows_flag_and_figure():
    y, scores, sex = _data()
    report = subgroup_report(y, scores, {"sex": sex}, ["benign", "malignant"], n_bootstrap=200)
    section = subgroup_section(report)
    assert section.key == "subgroups"
    rows = [r for r in section.rows if r["metric"] == "balanced_accuracy"]
    assert [r["group"] for r in rows] == ["all", "f", "m"]
    assert all("(flagged)" in r["gap to all [CI]"] for r in rows[1:])  # both differ from all
    assert section.data["n_flagged"] == len(report.flagged) > 0
    assert "balanced_accuracy of sex=m" in section.text
    caption, png = section.figures[0]
    assert png.startswith(b"\x89PNG")
    assert "balanced_accuracy" in caption
    # the numbers are the report's, JSON-ready (NaN -> None)
    json.dumps(section.to_dict())


def test_subgroup_section_rejects_other_input():
    with pytest.raises(ParameterError, match="SubgroupReport"):
        subgroup_section({"table": []})


def test_abstention_section_reports_the_threshold_on_these_data():
    conf = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.55])
    correct = np.array([1, 1, 1, 0, 1, 0], bool)
    rule = AbstentionThreshold(0.8, 0.1, None, 0.5, 0.0, 10)  # chosen elsewhere
    section = abstention_section(conf, correct, threshold=rule)
    t = section.data["threshold"]
    assert t["coverage_here"] == pytest.approx(0.5)  # 0.95, 0.9, 0.8 kept
    assert t["risk_here"] == 0.0
    assert t["n_abstained"] == 3
    assert t["risk_here_low"] == 0.0 < t["risk_here_high"] < 1.0  # Wilson interval
    assert section.data["aurc"] >= section.data["optimal_aurc"]
    assert section.data["risk_at_full_coverage"] == pytest.approx(2 / 6)
    assert "applied unchanged" in section.text


def test_abstention_section_without_threshold_has_curve_and_note():
    section = abstention_section([0.9, 0.5], [1, 0], note="No abstention.json.")
    assert section.data["threshold"] is None
    assert section.text.endswith("No abstention.json.")
    assert len(section.figures) == 1


def test_report_renders_and_round_trips_sections(tmp_path):
    y, scores, sex = _data()
    report = evaluate(y, scores, ["benign", "malignant"], n_bootstrap=50)
    conf, correct = scores.max(1), scores.argmax(1) == y
    rule = choose_abstention_threshold(conf, correct, target_coverage=0.5)
    sub = subgroup_section(subgroup_report(y, scores, {"sex": sex}, n_bootstrap=50))
    full = report.with_sections(sub, abstention_section(conf, correct, threshold=rule))
    assert [s.key for s in full.sections] == ["subgroups", "abstention"]
    markdown = full.to_markdown()
    assert "## Subgroups" in markdown
    assert "## Selective prediction (abstention)" in markdown
    assert "**Subgroups.**" in full.model_card_markdown()
    page = full.to_html(tmp_path / "r.html").read_text()
    assert "Subgroups" in page
    assert page.count("data:image/png") >= len(report.figures()) + 2
    back = EvaluationReport.from_json(full.to_json())
    assert back.section("abstention") == full.section("abstention")
    assert back.section("subgroups").rows == full.section("subgroups").rows
    # a section with the same key replaces the old one
    again = full.with_sections(abstention_section(conf, correct))
    assert [s.key for s in again.sections] == ["subgroups", "abstention"]
    assert again.section("abstention").data["threshold"] is None
    assert report.section("subgroups") is None


def test_bad_sections_are_refused():
    y, scores, _ = _data(40)
    report = evaluate(y, scores, n_bootstrap=0)
    with pytest.raises(ParameterError, match="ReportSection"):
        report.with_sections({"key": "x"})
    with pytest.raises(ParameterError, match="key, title and text"):
        ReportSection.from_dict({"title": "x"})
