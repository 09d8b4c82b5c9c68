"""Old module paths of `dermnet.metrics` keep working: public ones with a DeprecationWarning
that names the new place, private ones as plain re-exports."""

from __future__ import annotations

import importlib

import pytest

import dermnet.metrics as metrics


@pytest.mark.parametrize(
    ("old", "name"),
    [
        ("dermnet.metrics.report", "HtmlReport"),
        ("dermnet.metrics.scores", "EvaluationReport"),
        ("dermnet.metrics.scores", "UndefinedMetricWarning"),
        ("dermnet.metrics.scores", "bootstrap_intervals"),
        ("dermnet.metrics.scores", "evaluate"),
    ],
)
def test_old_public_modules_warn_and_give_the_same_objects(old, name):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} is deprecated; import {name} from"):
        value = getattr(module, name)
    assert value is getattr(metrics, name)


def test_old_public_modules_know_only_the_moved_names():
    scores = importlib.import_module("dermnet.metrics.scores")
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        scores.nothing  # noqa: B018


def test_old_private_modules_re_export_without_warning(recwarn):
    from dermnet.metrics import _checks, _weighted_metrics
    from dermnet.metrics._engine import MetricEngine
    from dermnet.metrics._inputs import check_labels_scores
    from dermnet.metrics._render import report_summary
    from dermnet.metrics.report_text import report_summary as moved_summary

    assert MetricEngine is _weighted_metrics.MetricEngine
    assert check_labels_scores is _checks.check_labels_scores
    assert report_summary is moved_summary
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]
