"""Subgroup performance: does the model work as well for every group of patients?

`subgroup_report` scores each subgroup (every value of every group column: sex, age
band, body site, skin type, any user column) with the same metric definitions as
`evaluate`, with bootstrap intervals, and compares it with the whole set by a *paired*
bootstrap: each resample of the whole set gives both the subgroup's metric and the
whole set's, so the interval of their difference accounts for the subgroup being part
of the whole. A gap whose interval excludes zero is flagged. Groups smaller than
``min_size`` are listed as too small, never dropped.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import re
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, UnknownNameError
from dermnet._core.validation import check_float, check_int, check_seed, fail
from dermnet.metrics import UndefinedMetricWarning
from dermnet.metrics._engine import MetricEngine, bootstrap_weights
from dermnet.metrics._inputs import check_labels_scores

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "MISSING_GROUP",
    "SUBGROUP_METRICS",
    "SubgroupReport",
    "age_bands",
    "plot_subgroup_gaps",
    "subgroup_report",
]

#: The subgroup label of rows whose group value is missing (NaN, empty, ``unknown``).
MISSING_GROUP = "(missing)"
#: The metrics of the report; sensitivity and specificity are those of the class of
#: interest (argmax decision) and appear only when there is one.
SUBGROUP_METRICS = ("balanced_accuracy", "macro_auc", "sensitivity", "specificity")
_MISSING_STRINGS = ("", "unknown", "nan", "none", "na", "n/a", "null")
_COLUMNS = (
    "variable",
    "group",
    "n",
    "metric",
    "value",
    "low",
    "high",
    "gap",
    "gap_low",
    "gap_high",
    "flagged",
    "status",
)


def age_bands(
    ages: Any, edges: Sequence[float] = (30, 45, 60, 75), *, missing: str = MISSING_GROUP
) -> np.ndarray:
    """Age bands as labels: ``"<30"``, ``"30-44"``, ..., ``"75+"``; missing ages stay missing.

    Args:
        ages: ages in years (NaN or ``None`` for unknown).
        edges: increasing band edges; a band holds ``edge[i] <= age < edge[i + 1]``.
        missing: the label of unknown ages.

    Raises:
        ParameterError: edges not increasing, or ages not numeric.

    Examples:
        >>> age_bands([12, 30, 44.5, 80, None]).tolist()
        ['<30', '30-44', '30-44', '75+', '(missing)']
    """
    where = "age_bands"
    cuts = [float(e) for e in edges]
    if not cuts or any(b <= a for a, b in itertools.pairwise(cuts)):
        raise fail("edges", where, "a non-empty increasing sequence of ages", list(edges))
    try:
        values = pd.to_numeric(pd.Series(list(np.ravel(np.asarray(ages, dtype=object)))))
    except (ValueError, TypeError):
        raise fail("ages", where, "numbers (NaN or None for unknown)", ages) from None

    def label(lo: float, hi: float) -> str:
        return f"{lo:g}-{hi - 1:g}" if float(hi).is_integer() else f"{lo:g}-<{hi:g}"

    labels = [f"<{cuts[0]:g}"] + [label(a, b) for a, b in itertools.pairwise(cuts)]
    labels.append(f"{cuts[-1]:g}+")
    index = np.searchsorted(np.asarray(cuts), values.to_numpy(dtype=np.float64), side="right")
    out = np.array([labels[i] for i in index], dtype=object)
    out[values.isna().to_numpy()] = missing
    return out


def _group_columns(
    groups: Mapping[str, Any] | pd.DataFrame, by: Sequence[str] | None, n: int, where: str
) -> dict[str, np.ndarray]:
    if isinstance(groups, pd.DataFrame):
        table = {str(c): groups[c].to_numpy() for c in groups.columns}
    elif isinstance(groups, Mapping):
        table = {str(k): np.asarray(v, dtype=object) for k, v in groups.items()}
    else:
        raise fail("groups", where, "a mapping of column name to values, or a DataFrame", groups)
    if by is not None:
        names = [by] if isinstance(by, str) else list(by)
        for name in names:
            if name not in table:
                raise UnknownNameError(
                    f"The 'by' parameter of {where} names an unknown group column {name!r}; "
                    f"the columns are {sorted(table)}."
                )
        table = {name: table[name] for name in names}
    if not table:
        raise fail("groups", where, "at least one group column", groups)
    for name, values in table.items():
        if np.ndim(values) != 1 or len(values) != n:
            raise DataError(
                f"{where}: group column {name!r} has {len(np.ravel(values))} values but there "
                f"are {n} predictions; they must match."
            )
    return table


def _labels(values: np.ndarray, name: str, where: str) -> np.ndarray:
    series = pd.Series(values, dtype=object)
    text = series.where(series.notna(), "").astype(str)
    missing = series.isna().to_numpy() | text.str.strip().str.lower().isin(_MISSING_STRINGS)
    out = text.to_numpy(dtype=object)
    if missing.any():
        warnings.warn(
            f"{where}: group column {name!r} has {int(missing.sum())} missing value(s); they "
            f"form the subgroup {MISSING_GROUP!r}.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        out[missing] = MISSING_GROUP
    return out


def _group_order(value: str) -> tuple[bool, int, float, str]:
    """Sort key: numeric-looking labels by their number (age bands ``<30`` before ``30-44``
    before ``75+``), then the others alphabetically, the missing group last."""
    match = re.match(r"^\s*(<)?\s*(-?\d+(?:\.\d+)?)", value)
    if match is None:
        return value == MISSING_GROUP, 1, 0.0, value
    number = float(match.group(2)) - (0.5 if match.group(1) else 0.0)
    return False, 0, number, value


def _interest(positive_class: Any, names: tuple[str, ...], where: str) -> int | None:
    if positive_class is None:
        return 1 if len(names) == 2 else None
    if isinstance(positive_class, str):
        if positive_class in names:
            return names.index(positive_class)
    elif (
        isinstance(positive_class, (int, np.integer))
        and not isinstance(positive_class, bool)
        and 0 <= positive_class < len(names)
    ):
        return int(positive_class)
    raise fail(
        "positive_class", where, f"None, a class name of {list(names)} or an index", positive_class
    )


def _metrics(result: dict[str, np.ndarray], interest: int | None) -> dict[str, np.ndarray]:
    out = {"balanced_accuracy": result["balanced_accuracy"], "macro_auc": result["macro_auc"]}
    if interest is not None:
        out["sensitivity"] = result["recall"][:, interest]
        out["specificity"] = result["specificity"][:, interest]
    return out


def _quantiles(values: np.ndarray, tail: float) -> tuple[float, float]:
    valid = values[~np.isnan(values)]
    if len(valid) * 2 < len(values):  # undefined in more than half of the resamples
        return float("nan"), float("nan")
    low, high = np.quantile(valid, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclasses.dataclass(frozen=True)
class SubgroupReport:
    """The result of `subgroup_report`.

    Attributes:
        table: tidy table, one row per (variable, group, metric) with columns
            ``variable, group, n, metric, value, low, high, gap, gap_low, gap_high,
            flagged, status``; the whole set is the row with variable ``"all"``. ``status``
            is ``"ok"``, ``"too small"`` (metrics not computed) or ``"undefined: ..."``
            (e.g. AUC of a group with one class); its values are then NaN.
        positive_class: the class of interest, or ``None``.
        min_size: groups smaller than this were not scored.
        n_bootstrap: resamples of the paired bootstrap.
        ci: confidence level of the intervals.
    """

    table: pd.DataFrame
    positive_class: str | None
    min_size: int
    n_bootstrap: int
    ci: float

    @property
    def flagged(self) -> pd.DataFrame:
        """The rows whose gap interval excludes zero."""
        return self.table[self.table["flagged"]].reset_index(drop=True)

    def to_markdown(self, *, digits: int = 3) -> str:
        """A Markdown table for reports and model cards (flagged gaps in bold)."""
        head = "| variable | group | n | metric | value [CI] | gap to all [CI] | status |"
        lines = [head, "|---|---|---:|---|---|---|---|"]
        for row in self.table.itertuples(index=False):
            value, gap = _cells(row, digits)
            if row.flagged:
                gap = f"**{gap}**"
            lines.append(
                f"| {row.variable} | {row.group} | {row.n} | {row.metric} | {value} | {gap} "
                f"| {row.status} |"
            )
        note = (
            f"\n\nIntervals: {self.ci:.0%} paired percentile bootstrap ({self.n_bootstrap} "
            f"resamples); gaps in bold exclude zero. Groups under {self.min_size} samples are "
            "listed as too small."
        )
        return "\n".join(lines) + note

    def to_html(self, *, digits: int = 3) -> str:
        """An HTML fragment (a ``<table>`` and a note) for the HTML report."""
        rows = []
        for row in self.table.itertuples(index=False):
            value, gap = _cells(row, digits)
            style = ' style="font-weight:bold;color:#b00"' if row.flagged else ""
            cells = [row.variable, row.group, row.n, row.metric, value, gap, row.status]
            tds = "".join(f"<td>{html.escape(str(c))}</td>" for c in cells[:5])
            tds += f"<td{style}>{html.escape(gap)}</td><td>{html.escape(str(row.status))}</td>"
            rows.append(f"<tr>{tds}</tr>")
        header = "".join(
            f"<th>{h}</th>"
            for h in ("variable", "group", "n", "metric", "value [CI]", "gap to all [CI]", "status")
        )
        return (
            f'<table class="subgroups"><thead><tr>{header}</tr></thead><tbody>'
            + "".join(rows)
            + f"</tbody></table><p>{self.ci:.0%} paired percentile bootstrap "
            f"({self.n_bootstrap} resamples); gaps in red exclude zero; groups under "
            f"{self.min_size} samples are listed as too small.</p>"
        )

    def plot(self, metric: str = "balanced_accuracy") -> Figure:
        """Forest plot of the gaps for one metric; see `plot_subgroup_gaps`."""
        return plot_subgroup_gaps(self, metric)


def _fmt(value: float, low: float, high: float, digits: int) -> str:
    if np.isnan(value):
        return "undefined"
    if np.isnan(low):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _cells(row: Any, digits: int) -> tuple[str, str]:
    if row.status == "too small":
        return "-", "-"
    value = _fmt(row.value, row.low, row.high, digits)
    gap = "" if row.variable == "all" else _fmt(row.gap, row.gap_low, row.gap_high, digits)
    return value, gap


def subgroup_report(
    y_true: Any,
    y_score: Any,
    groups: Mapping[str, Any] | pd.DataFrame,
    classes: Sequence[str] | None = None,
    *,
    by: Sequence[str] | str | None = None,
    positive_class: int | str | None = None,
    min_size: int = 30,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> SubgroupReport:
    """Per-subgroup balanced accuracy, macro AUC, sensitivity and specificity, with gaps.

    Each metric is exactly what `evaluate` computes on the subgroup's rows alone. The
    intervals come from one paired bootstrap: resamples of the whole set, stratified by
    true class; for each, the metric on the resampled subgroup rows and on all resampled
    rows, and their difference (the gap). A gap is flagged when its interval excludes 0.

    Args:
        y_true: int class labels ``(n,)``.
        y_score: probabilities ``(n, classes)`` (or ``(n,)`` for binary).
        groups: group columns, ``{name: values}`` or a DataFrame with one row per
            prediction (e.g. ``records.frame[["sex", "localization"]]``). Missing values
            form the subgroup `MISSING_GROUP` (with a warning).
        classes: class names, one per score column.
        by: the group columns to use (default: all of ``groups``).
        positive_class: the class of interest for sensitivity/specificity (name or
            index); ``None`` takes class 1 of a binary task and none otherwise.
        min_size: subgroups with fewer rows are reported as ``"too small"``, unscored.
        n_bootstrap: resamples (0: no intervals and no flags).
        ci: confidence level.
        seed: bootstrap seed.

    Raises:
        DataError: lengths differ, scores are not probabilities.
        UnknownNameError: ``by`` names a column not in ``groups``.

    Examples:
        >>> y = np.array([0, 1] * 20)
        >>> p = np.where(y == 1, 0.8, 0.2)
        >>> report = subgroup_report(y, p, {"sex": ["f", "f", "m", "m"] * 10}, ["benign", "malignant"],
        ...                          min_size=10, n_bootstrap=50)
        >>> report.table.query("metric == 'sensitivity'")[["group", "value", "flagged"]].values.tolist()
        [['all', 1.0, False], ['f', 1.0, False], ['m', 1.0, False]]
    """  # noqa: E501
    where = "subgroup_report"
    y, scores, names = check_labels_scores(y_true, y_score, classes, where)
    min_size = check_int(min_size, "min_size", where, low=1)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", where, low=0)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(seed, "seed", where)
    interest = _interest(positive_class, names, where)
    columns = _group_columns(groups, by, len(y), where)
    labelled = {name: _labels(values, name, where) for name, values in columns.items()}

    cells: list[tuple[str, str, np.ndarray]] = [("all", "all", np.arange(len(y)))]
    for name, values in labelled.items():
        for value in sorted(set(values), key=_group_order):
            cells.append((name, str(value), np.flatnonzero(values == value)))
    scored = [(i, rows) for i, (_, _, rows) in enumerate(cells) if len(rows) >= min_size]
    engines = {i: MetricEngine(y[rows], scores[rows]) for i, rows in scored}
    point = {
        i: _metrics(engines[i].compute(np.ones((1, len(rows)))), interest) for i, rows in scored
    }

    boot: dict[int, dict[str, np.ndarray]] = {i: {} for i, _ in scored}
    if n_bootstrap:
        rng = np.random.default_rng(seed)
        chunk = max(1, min(n_bootstrap, 2_000_000 // len(y)))
        parts: dict[int, list[dict[str, np.ndarray]]] = {i: [] for i, _ in scored}
        for W in bootstrap_weights(y, n_bootstrap, rng, stratified=True, chunk=chunk):
            for i, rows in scored:
                parts[i].append(_metrics(engines[i].compute(W[:, rows]), interest))
        boot = {
            i: {m: np.concatenate([p[m] for p in parts[i]]) for m in parts[i][0]} for i in parts
        }

    tail = (1.0 - ci) / 2.0
    metrics = [m for m in SUBGROUP_METRICS if interest is not None or m in SUBGROUP_METRICS[:2]]
    records: list[dict[str, Any]] = []
    undefined: list[str] = []
    for i, (variable, group, rows) in enumerate(cells):
        for metric in metrics:
            row: dict[str, Any] = dict.fromkeys(_COLUMNS, float("nan"))
            row.update(variable=variable, group=group, n=len(rows), metric=metric, flagged=False)
            if i not in point:
                row["status"] = "too small"
                records.append(row)
                continue
            value = float(point[i][metric][0])
            row["value"], row["status"] = value, "ok"
            if np.isnan(value):
                row["status"] = f"undefined: {_why(metric, y[rows], interest)}"
                undefined.append(
                    f"{metric} of {variable}={group}: {_why(metric, y[rows], interest)}"
                )
                records.append(row)
                continue
            if n_bootstrap:
                row["low"], row["high"] = _quantiles(boot[i][metric], tail)
                if variable != "all" and 0 in point:
                    row["gap"] = value - float(point[0][metric][0])
                    row["gap_low"], row["gap_high"] = _quantiles(
                        boot[i][metric] - boot[0][metric], tail
                    )
                    row["flagged"] = bool(row["gap_low"] > 0 or row["gap_high"] < 0)
            elif variable != "all" and 0 in point:
                row["gap"] = value - float(point[0][metric][0])
            records.append(row)
    for note in undefined:
        warnings.warn(f"{where}: {note}", UndefinedMetricWarning, stacklevel=2)
    table = pd.DataFrame.from_records(records, columns=list(_COLUMNS))
    table["flagged"] = table["flagged"].astype(bool)
    return SubgroupReport(
        table=table,
        positive_class=names[interest] if interest is not None else None,
        min_size=min_size,
        n_bootstrap=n_bootstrap,
        ci=ci,
    )


def _why(metric: str, y: np.ndarray, interest: int | None) -> str:
    if metric == "macro_auc":
        return "the group has one class only"
    if metric == "sensitivity":
        return "the group has no sample of the class of interest"
    if metric == "specificity":
        return "the group has only samples of the class of interest"
    return "no samples"


def plot_subgroup_gaps(report: SubgroupReport, metric: str = "balanced_accuracy") -> Figure:
    """Forest plot: each subgroup's gap to the whole set with its interval.

    Flagged gaps are red; too-small and undefined groups are listed with their reason
    at zero, so nothing disappears from the figure.
    """
    from matplotlib.figure import Figure

    table = report.table
    if metric not in set(table["metric"]):
        raise UnknownNameError(
            f"The 'metric' parameter of plot_subgroup_gaps must be one of "
            f"{sorted(set(table['metric']))}. Got {metric!r} instead."
        )
    rows = table[(table["metric"] == metric) & (table["variable"] != "all")].reset_index(drop=True)
    fig = Figure(figsize=(6.0, 1.0 + 0.3 * max(len(rows), 1)), layout="constrained")
    ax = fig.add_subplot()
    ypos = np.arange(len(rows))[::-1]
    labels = [f"{r.variable}={r.group} (n={r.n})" for r in rows.itertuples(index=False)]
    for y, row in zip(ypos, rows.itertuples(index=False), strict=True):
        if row.status != "ok" or np.isnan(row.gap):
            ax.text(0, y, f"  {row.status}", va="center", fontsize=8, color="0.4")
        else:
            color = "#b00" if row.flagged else "#246"
            if not np.isnan(row.gap_low):
                ax.plot([row.gap_low, row.gap_high], [y, y], color=color, lw=1.5)
            ax.plot([row.gap], [y], "o", color=color)
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(ypos, labels, fontsize=8)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(f"{metric} gap to the whole set ({report.ci:.0%} paired bootstrap)")
    return fig
