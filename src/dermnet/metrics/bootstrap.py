"""Percentile bootstrap intervals of every headline and per-class metric.

All resamples are evaluated at once as weightings of the samples
(`dermnet.metrics._weighted_metrics.MetricEngine`), so the intervals equal those computed
on the resampled arrays, only faster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dermnet._core.validation import check_bool, check_float, check_int, check_seed, fail
from dermnet.metrics._checks import check_labels_scores
from dermnet.metrics._weighted_metrics import MetricEngine, bootstrap_weights

__all__ = [
    "HEADLINE_METRICS",
    "bootstrap_intervals",
    "check_bootstrap_args",
    "check_specificities",
    "interval_keys",
    "run_bootstrap",
]

#: The metrics that get bootstrap intervals (besides per-class recall, specificity, AUC
#: and the sensitivity at each specificity for the class of interest).
HEADLINE_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_auc",
    "macro_f1",
    "weighted_f1",
    "cohen_kappa",
    "mcc",
    "ece",
    "brier",
)
_PER_CLASS_INTERVALS = ("recall", "specificity", "auc")
#: Above this many samples x resamples the bootstrap runs in chunks (memory bound).
_CHUNK_CELLS = 2_000_000


def check_bootstrap_args(
    where: str, n_resamples: Any, ci: Any, seed: Any, stratified: Any, *, name: str, low: int
) -> tuple[int, float, int | None, bool]:
    """The bootstrap settings checked: ``(n_resamples, ci, seed, stratified)``.

    ``name`` is the caller's name of the resample count (``n_bootstrap`` in `evaluate`)
    and ``low`` its least value (0 turns the intervals off there).
    """
    return (
        check_int(n_resamples, name, where, low=low),
        check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True),
        check_seed(seed, "seed", where),
        check_bool(stratified, "stratified", where),
    )


def check_specificities(specificities: Any, where: str) -> tuple[float, ...]:
    """The target specificities as floats in (0, 1)."""
    try:
        values = tuple(float(s) for s in specificities)
    except TypeError:
        raise fail(
            "specificities", where, "a sequence of floats in (0, 1)", specificities
        ) from None
    for value in values:
        check_float(value, "specificities", where, low=0.0, high=1.0, low_open=True, high_open=True)
    return values


def interval_keys(
    names: tuple[str, ...], specs: tuple[float, ...], interest: int | None
) -> dict[str, tuple[str, int | None]]:
    """Interval key -> (engine metric, column): ``"accuracy"``, ``"recall[mel]"``,
    ``"sensitivity@specificity=0.9"``, ..."""
    keys: dict[str, tuple[str, int | None]] = {m: (m, None) for m in HEADLINE_METRICS}
    for metric in _PER_CLASS_INTERVALS:
        for c, name in enumerate(names):
            keys[f"{metric}[{name}]"] = (metric, c)
    if interest is not None and specs:
        for j, s in enumerate(specs):
            keys[f"sensitivity@specificity={s:g}"] = ("sensitivity_at_specificity", j)
    return keys


def bootstrap_intervals(
    y_true: Any,
    y_score: Any,
    *,
    n_resamples: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
    stratified: bool = True,
    positive_class: int | None = None,
    specificities: Sequence[float] = (),
    n_bins: int = 15,
    class_names: Sequence[str] | None = None,
) -> tuple[dict[str, tuple[float, float] | None], dict[str, int]]:
    """Percentile bootstrap intervals of the headline and per-class metrics.

    Samples are resampled with replacement ``n_resamples`` times (within each true class
    when ``stratified``, so every class keeps its count and its metrics stay defined);
    each metric is computed on every resample, and the interval is the pair of
    ``(1 - ci) / 2`` and ``(1 + ci) / 2`` quantiles. All resamples are evaluated at once
    with vectorised weighted metrics, exactly equal to computing them on the resampled
    arrays.

    Args:
        y_true: int class labels ``(n,)``.
        y_score: probabilities ``(n, classes)`` or ``(n,)``.
        n_resamples: number of bootstrap resamples, >= 1.
        ci: confidence level, in (0, 1).
        seed: the seed; the same seed gives the same intervals.
        stratified: resample within each true class.
        positive_class: class index for ``sensitivity@specificity=s`` intervals.
        specificities: the specificities for those.
        n_bins: calibration bins for ECE.
        class_names: names used in the per-class keys (default: indices).

    Returns:
        ``(intervals, undefined)``: ``{metric: (low, high)}`` (``None`` when the metric is
        undefined in more than half of the resamples) and ``{metric: resamples where it
        was undefined}`` for the metrics undefined in some resamples.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 2, 200)
        >>> p = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.25, 200), 0, 1)
        >>> intervals, _ = bootstrap_intervals(y, p, n_resamples=200)
        >>> low, high = intervals["accuracy"]
        >>> 0.75 < low < high < 0.95
        True
    """
    where = "bootstrap_intervals"
    y, scores, names = check_labels_scores(y_true, y_score, class_names, where)
    n_resamples, ci, seed, stratified = check_bootstrap_args(
        where, n_resamples, ci, seed, stratified, name="n_resamples", low=1
    )
    specs = check_specificities(specificities, where)
    n_bins = check_int(n_bins, "n_bins", where, low=1)
    if positive_class is not None:
        positive_class = check_int(
            positive_class, "positive_class", where, low=0, high=scores.shape[1] - 1
        )
    engine = MetricEngine(
        y, scores, n_bins=n_bins, positive_class=positive_class, specificities=specs
    )
    return run_bootstrap(engine, y, names, specs, positive_class, n_resamples, ci, seed, stratified)


def run_bootstrap(
    engine: MetricEngine,
    y: np.ndarray,
    names: tuple[str, ...],
    specs: tuple[float, ...],
    interest: int | None,
    n_resamples: int,
    ci: float,
    seed: int | None,
    stratified: bool,
) -> tuple[dict[str, tuple[float, float] | None], dict[str, int]]:
    """The percentile intervals of every key of `interval_keys`, from ``engine`` on
    ``n_resamples`` bootstrap weightings; ``(intervals, undefined resamples per key)``."""
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // max(1, len(y))))
    results = [
        engine.compute(W)
        for W in bootstrap_weights(y, n_resamples, rng, stratified=stratified, chunk=chunk)
    ]
    merged = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    keys = interval_keys(names, specs, interest)
    tail = (1.0 - ci) / 2.0
    intervals: dict[str, tuple[float, float] | None] = {}
    undefined: dict[str, int] = {}
    for key, (metric, index) in keys.items():
        if metric not in merged:
            continue
        values = merged[metric] if index is None else merged[metric][:, index]
        bad = int(np.isnan(values).sum())
        if bad:
            undefined[key] = bad
        valid = values[~np.isnan(values)]
        if len(valid) * 2 < len(values):
            intervals[key] = None
            continue
        low, high = np.quantile(valid, [tail, 1.0 - tail])
        intervals[key] = (float(low), float(high))
    return intervals, undefined
