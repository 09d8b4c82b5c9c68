import numpy as np
import pytest

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


def test_confusion_matrix_figure_shows_the_row_shares_and_counts():
    fig = plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"])
    ax, colorbar = fig.axes  # the matrix and its colour bar
    assert colorbar.get_label() == "<colorbar>"
    np.testing.assert_allclose(ax.images[0].get_array(), [[0.75, 0.25], [0.0, 1.0]])
    assert [t.get_text() for t in ax.texts] == ["0.75\n(3)", "0.25\n(1)", "0.00\n(0)", "1.00\n(4)"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted", "true")
    assert ax.get_title() == "Confusion matrix (row-normalized)"
    counts = plot_confusion_matrix([[3, 1], [0, 4]], ["a", "b"], normalize=False, title="T")
    assert [t.get_text() for t in counts.axes[0].texts] == ["3", "1", "0", "4"]
    assert counts.axes[0].get_title() == "T"


def test_history_figure_draws_one_panel_per_metric_with_train_and_validation():
    logs = {
        "loss": [1.0, 0.5],
        "val_loss": [1.1, 0.7],
        "balanced_accuracy": [0.4, 0.6],
        "learning_rate": [1e-3, 1e-4],
    }
    fig = plot_history(logs)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "balanced_accuracy"]
    loss, accuracy = fig.axes
    assert [line.get_label() for line in loss.get_lines()] == ["train", "validation"]
    train, val = loss.get_lines()
    assert train.get_xdata().tolist() == [1, 2]
    assert train.get_ydata().tolist() == [1.0, 0.5]
    assert val.get_ydata().tolist() == [1.1, 0.7]
    assert [line.get_label() for line in accuracy.get_lines()] == ["train"]
    assert accuracy.get_lines()[0].get_ydata().tolist() == [0.4, 0.6]
    assert loss.get_xlabel() == "epoch"


def test_curves_of_one_sigmoid_column_equal_those_of_two_columns():
    y, p = _data(k=2)
    for plot in (plot_roc_curves, plot_pr_curves):
        one = plot(y, p[:, 1], ["benign", "malignant"]).axes[0].get_lines()
        two = plot(y, np.stack([1 - p[:, 1], p[:, 1]], 1), ["benign", "malignant"])
        two_lines = two.axes[0].get_lines()
        assert [line.get_label() for line in one] == [line.get_label() for line in two_lines]
        for a, b in zip(one, two_lines, strict=True):
            np.testing.assert_allclose(a.get_ydata(), b.get_ydata())
