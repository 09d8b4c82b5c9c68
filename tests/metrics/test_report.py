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
