import re

import numpy as np
import pytest

from dermnet.metrics import (
    HtmlReport,
    UndefinedMetricWarning,
    format_interval,
    plot_confusion_matrix,
    plot_history,
    plot_roc_curves,
)


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
    value = report.balanced_accuracy
    row = f"| balanced accuracy (mean recall) | {value:.3f} [{low:.3f}, {high:.3f}] |"
    assert row in text.splitlines()
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


def _binary_report(**options):
    from dermnet.metrics import evaluate

    y = [0, 1, 1, 0]
    scores = [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]]
    return evaluate(y, scores, ["benign", "malignant"], **options)


def test_summary_is_a_compact_table_with_known_values_and_no_intervals_when_none():
    text = _binary_report(n_bootstrap=0, specificities=[0.9]).summary()
    lines = text.splitlines()
    assert lines[0] == "4 images, 2 classes. No intervals computed."
    # benign: precision 2/3, recall 2/2, specificity 1/2, F1 0.8, AUC 1.0, support 2
    assert lines[3].split() == ["benign", "0.67", "1.00", "0.50", "0.80", "1.00", "2"]
    assert lines[4].split() == ["malignant", "1.00", "0.50", "1.00", "0.67", "1.00", "2"]
    assert "balanced accuracy" in text
    assert text.count("0.75") == 2
    assert "ROC AUC 1.00" in " ".join(text.split())  # two classes: ROC AUC, no macro AUC row
    assert "macro AUC" not in text
    assert lines[-1].split()[-1] == "1.00"
    assert lines[-1].startswith("malignant sensitivity at specificity >= 0.90  ")
    assert "[" not in text
    # columns line up: every value of a column ends at the same position
    header, *rows = lines[2:5]
    assert {len(r) for r in rows} == {len(header)}
    assert _binary_report(n_bootstrap=0).summary(digits=3).splitlines()[3].split()[1] == "0.667"


def test_summary_shows_each_headline_figure_with_its_interval():
    report = _binary_report(n_bootstrap=200, seed=0, specificities=[0.9])
    text = report.summary()
    assert "95% bootstrap interval (200 resamples)" in text.splitlines()[0]
    for label, key in (
        ("accuracy", "accuracy"),
        ("balanced accuracy", "balanced_accuracy"),
        ("ROC AUC", "auc[malignant]"),
        ("malignant sensitivity at specificity >= 0.90", "sensitivity@specificity=0.9"),
    ):
        low, high = report.interval(key)
        line = next(line for line in text.splitlines() if line.startswith(label + "  "))
        assert line.endswith(f"[{low:.2f}, {high:.2f}]"), line
    low, high = report.interval("recall[benign]")
    assert f"1.00 [{low:.2f}, {high:.2f}]" in text.splitlines()[3]


def test_summary_of_seven_classes_fits_a_terminal_and_marks_undefined_values():
    from dermnet.metrics import evaluate

    rng = np.random.default_rng(0)
    names = ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"]
    y = rng.choice(6, 300)  # no 'vasc' in y_true: its recall and AUC are undefined
    scores = rng.dirichlet(np.ones(7), 300) * 0.6 + np.eye(7)[y] * 0.4
    with pytest.warns(UndefinedMetricWarning, match="'vasc'"):
        report = evaluate(y, scores, names, n_bootstrap=100)
    lines = report.summary().splitlines()
    assert len(lines) <= 20
    assert max(len(line) for line in lines) <= 100
    assert lines[0].startswith("300 images, 7 classes. [low, high]: 95% bootstrap interval")
    assert sum("[" in line for line in lines[1:]) == 7 + 3 + 3  # classes, headline, mel at spec
    vasc = next(line for line in lines if line.startswith("vasc"))
    assert vasc.split()[2] == "-"
    assert vasc.split()[-1] == "0"
    assert "macro AUC (one-vs-rest)" in lines[-6]
    assert lines[-1].startswith("-: undefined on these data.")
    assert f"{len(report.notes)} note(s) in the full report." in lines[-1]


RUN_INFO = {
    "model": "fast_cnn",
    "weights": None,
    "image_size": [64, 64],
    "dataset": "ham10000",
    "num_images": 10015,
    "classes": ["akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"],
    "split": {"train": 7000, "val": 1500, "test": 1515},
    "group_by": "lesion_id",
    "seed": 0,
    "recipe": "cpu_best",
    "epochs": 16,
    "training": "AdamW, cosine schedule.",
    "evaluated_on": "test",
}


def test_model_card_from_a_run_fills_the_markdown_card_and_the_html_page(tmp_path):
    from dermnet.metrics import ModelCard

    report = _report().with_model_card(ModelCard.from_run_info(RUN_INFO))
    card_md = report.model_card_markdown()
    assert card_md.startswith("# Model card\n")
    assert "not described" not in card_md
    for text in ("**Model.** fast_cnn, trained from scratch", "**Training.** Recipe cpu_best",
                 "16 epochs", "test 1515", "lesion_id", "Vienna", "64x64", "Not a medical device",
                 "**Limitations.**", "sensitivity of 'mel' at specificity >= 0.9"):  # fmt: skip
        assert text in card_md, text
    low, high = report.interval("balanced_accuracy")
    shown = format_interval(report.balanced_accuracy, low, high)
    assert f"| balanced accuracy (mean recall) | {shown} |" in card_md
    assert report.model_card.to_markdown(report) == card_md
    alone = report.model_card.to_markdown()  # the card without a report: no metrics
    assert "Metrics with intervals" not in alone
    assert "**Training.** Recipe cpu_best, 16 epochs, seed 0. AdamW, cosine schedule." in alone
    assert "- Input size: images are resized to 64x64 pixels" in alone
    assert "## Model card" in report.to_markdown()  # the full report keeps its card section
    html = report.to_html(tmp_path / "report.html").read_text()
    assert "not described" not in html
    assert "Headline metrics" in html
    assert f"<td>{shown}</td>" in html
    assert html.index("Headline metrics") < html.index("Per class")  # intervals come first
    for text in ("<h3>Training</h3>", "Recipe cpu_best, 16 epochs", "trained from scratch"):
        assert text in html, text


def test_report_text_speaks_to_readers_not_to_python():
    report = _binary_report(n_bootstrap=0)
    without = report.to_markdown()
    assert "n_bootstrap" not in without
    assert "No bootstrap intervals were computed" in without
    from dermnet.metrics import evaluate

    names = ["nv", "mel", "bcc"]
    y = np.array([0, 1, 2, 0, 1, 2])
    note = evaluate(y, np.eye(3)[y] * 0.7 + 0.1, names, n_bootstrap=0).notes[0]
    assert "--positive-class" in note
