import re

import numpy as np

from dermnet.metrics import HtmlReport, plot_confusion_matrix, plot_history, plot_roc_curves


def test_html_report_is_self_contained(tmp_path):
    report = HtmlReport("T <1>")
    report.add_heading("Section")
    report.add_paragraph("a & b", note=True)
    report.add_table([{"class": "mel", "recall": 0.5, "auc": None}])
    report.add_figure(plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"]), caption="cm")
    report.add_figure(plot_history({"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}), caption="h")
    y = np.array([0, 1, 0, 1])
    report.add_figure(plot_roc_curves(y, np.eye(2)[y] * 0.8 + 0.1, ["a", "b"]), caption="roc")
    html = report.save(tmp_path / "r.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    assert "T &lt;1&gt;" in html
    assert "a &amp; b" in html
    assert "undefined" in html
    # no reference to any external file or URL
    assert not re.search(r'(src|href)="(?!data:)', html)


def _report(**options):
    from dermnet.data import load_sample, split
    from dermnet.metrics import ModelCard, evaluate

    rng = np.random.default_rng(0)
    parts = split(load_sample("ham10000"), test_size=0.25, seed=0)
    y = parts.test.labels
    scores = rng.dirichlet(np.ones(7), len(y)) * 0.6 + np.eye(7)[y] * 0.4
    card = ModelCard.from_data(parts, model="a test model")
    return evaluate(y, scores, parts.test.classes, n_bootstrap=200, model_card=card, **options)


def test_evaluation_report_html_embeds_every_figure_and_the_model_card(tmp_path):
    report = _report()
    history = {"loss": [1.0, 0.8], "val_loss": [1.1, 0.9]}
    extra = {"Grad-CAM overlays": plot_history({"loss": [1.0, 0.5]})}
    path = report.to_html(
        tmp_path / "report.html", title="HAM <test>", history=history, extra_figures=extra
    )
    html = path.read_text()
    figures = report.figures(history=history)
    assert set(figures) == {
        "class_distribution",
        "confusion_matrix",
        "roc_curves",
        "pr_curves",
        "reliability_diagram",
        "training_curves",
    }
    assert html.count('src="data:image/png;base64,') == len(figures) + 1
    assert "Grad-CAM overlays" in html
    assert not re.search(r'(src|href)\s*=\s*"(?!data:)', html)  # no external file or URL
    assert "<link" not in html
    assert "<script" not in html
    assert "HAM &lt;test&gt;" in html
    for text in ("Model card", "Intended use", "Limitations", "a test model", "Vienna",
                 "percentile bootstrap", "sensitivity of &#x27;mel&#x27;"):  # fmt: skip
        assert text in html, text
    assert "not a medical device" in html.lower()


def test_markdown_report_has_every_section_and_intervals():
    report = _report()
    text = report.to_markdown()
    for heading in (
        "## Summary metrics",
        "## Per class",
        "## Sensitivity of 'mel' at fixed specificity",
        "## Calibration",
        "## Confusion matrix",
        "## Model card",
    ):
        assert heading in text, heading
    low, high = report.intervals["balanced_accuracy"]
    assert f"{low:.3f} to {high:.3f}" in text
    assert "Limitations" in text


def test_report_without_card_or_predictions_still_renders(tmp_path):
    from dermnet.metrics import EvaluationReport, evaluate

    y = np.array([0, 1, 1, 0, 1])
    scores = np.array([[0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.7, 0.3], [0.1, 0.9]])
    bare = EvaluationReport.from_json(evaluate(y, scores, n_bootstrap=0).to_json())
    html = bare.to_html(tmp_path / "r.html").read_text()
    assert "No model card was given" in html
    assert "ROC and precision-recall curves need the predictions" in html
    assert html.count("data:image/png;base64,") == 3  # distribution, confusion, reliability
    assert "No model card was given" in bare.to_markdown().replace("*", "")
