import numpy as np
import pytest
from matplotlib.figure import Figure

from dermnet import ParameterError
from dermnet.data import load_sample, split
from dermnet.metrics import (
    figure_to_png,
    plot_class_distribution,
    plot_confusion_matrix,
    plot_history,
    plot_pr_curves,
    plot_reliability_diagram,
    plot_roc_curves,
    reliability_curve,
)


def _data(n=120, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    p = rng.dirichlet(np.ones(k), n) * 0.5 + np.eye(k)[y] * 0.5
    return y, p


def _is_png(fig):
    return figure_to_png(fig).startswith(b"\x89PNG")


def test_roc_and_pr_curves_draw_one_curve_per_class_present():
    y, p = _data()
    y[y == 2] = 0  # class 'c' absent: no curve, no crash
    roc = plot_roc_curves(y, p, ["a", "b", "c"])
    assert len(roc.axes[0].get_lines()) == 2 + 1  # two classes and the diagonal
    pr = plot_pr_curves(y, p, ["a", "b", "c"])
    labels = [line.get_label() for line in pr.axes[0].get_lines()]
    assert sum(label.startswith(("a ", "b ")) for label in labels) == 2
    assert any("AP" in label for label in labels)
    assert _is_png(roc)
    assert _is_png(pr)


def test_reliability_diagram_from_data_or_a_curve():
    y, p = _data()
    fig = plot_reliability_diagram(y, p, 10)
    curve = reliability_curve(y, p, 10)
    main, hist = fig.axes
    assert len(main.patches) == 2 * len(curve["count"])  # observed bars and gap bars
    assert [int(b.get_height()) for b in hist.patches] == curve["count"]
    assert "ECE" in main.get_title()
    again = plot_reliability_diagram(curve=curve)
    assert again.axes[0].get_title() == main.get_title()
    one_class = plot_reliability_diagram(y, p, 5, class_index=1)
    assert "class 1" in one_class.axes[0].get_title()


@pytest.mark.parametrize(
    "source",
    ["records", "split", "mapping_of_records", "mapping_of_counts", "labels"],
)
def test_class_distribution_accepts_every_form(source):
    records = load_sample("ham10000")
    parts = split(records, test_size=0.25, val_size=0.15, seed=0)
    forms = {
        "records": (records, None, 1),
        "split": (parts, None, 3),
        "mapping_of_records": ({"train": parts.train, "test": parts.test}, None, 2),
        "mapping_of_counts": ({"train": parts.train.class_counts()}, None, 1),
        "labels": (records.labels, records.classes, 1),
    }
    data, names, splits = forms[source]
    fig = plot_class_distribution(data, names)
    bars = fig.axes[0].patches
    assert len(bars) == 7 * splits
    heights = sorted(int(b.get_height()) for b in bars)
    if source in ("records", "labels"):
        assert heights == sorted(records.class_counts().values())
    assert _is_png(fig)
    with pytest.raises(ParameterError, match="'counts'"):
        plot_class_distribution(np.array([0.5, 1.5]))


def test_existing_figures_still_work():
    assert isinstance(plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"]), Figure)
    fig = plot_history(
        {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "balanced_accuracy": [0.4, 0.6]}
    )
    assert len(fig.axes) == 2
