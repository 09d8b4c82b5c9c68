"""Extra sections of an `EvaluationReport`: subgroup performance and selective prediction.

A `ReportSection` is plain data (a title, a paragraph, table rows, JSON numbers and PNG
figures), so the Markdown, HTML, model-card and JSON renderings of a report show it
without knowing what computed it. `subgroup_section` builds one from a
`SubgroupReport`; `abstention_section` from the confidences and correctness of the
evaluated predictions, with an abstention threshold chosen on validation data.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.validation import fail

__all__ = ["ReportSection", "abstention_section", "subgroup_section"]


@dataclasses.dataclass(frozen=True)
class ReportSection:
    """One extra section of an evaluation report.

    Attributes:
        key: what it is (``"subgroups"``, ``"abstention"``); a report holds one per key.
        title: the heading.
        text: a paragraph of plain text.
        rows: table rows (dicts with the same keys), already formatted for reading.
        data: the numbers as JSON-ready values (written to ``metrics.json``).
        figures: ``(caption, PNG bytes)`` pairs for the HTML page (not serialized).
    """

    key: str
    title: str
    text: str
    rows: tuple[dict[str, Any], ...] = ()
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    figures: tuple[tuple[str, bytes], ...] = dataclasses.field(
        default=(), repr=False, compare=False
    )

    def to_dict(self) -> dict[str, Any]:
        """Everything but the figures, JSON-ready."""
        return {
            "key": self.key,
            "title": self.title,
            "text": self.text,
            "rows": [dict(r) for r in self.rows],
            "data": _jsonable(self.data),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReportSection:
        """Rebuild from `to_dict` (without figures)."""
        if not isinstance(data, Mapping) or not {"key", "title", "text"} <= set(data):
            raise fail("data", "ReportSection.from_dict", "a dict with key, title and text", data)
        return cls(
            key=str(data["key"]),
            title=str(data["title"]),
            text=str(data["text"]),
            rows=tuple(dict(r) for r in data.get("rows", ())),
            data=dict(data.get("data", {})),
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _png(figure: Any) -> bytes:
    from dermnet.metrics.plots import figure_to_png

    return figure_to_png(figure)


# -- subgroups ------------------------------------------------------------------------------
def subgroup_section(report: Any, *, metric: str = "balanced_accuracy") -> ReportSection:
    """The section of a `dermnet.metrics.subgroups.SubgroupReport`, with its forest plot.

    Args:
        report: a `SubgroupReport`.
        metric: the metric of the forest plot.
    """
    from dermnet.metrics.subgroups import SubgroupReport, _cells

    if not isinstance(report, SubgroupReport):
        raise fail("report", "subgroup_section", "a SubgroupReport", type(report).__name__)
    rows = []
    for row in report.table.itertuples(index=False):
        value, gap = _cells(row, 3)
        rows.append(
            {
                "variable": row.variable,
                "group": row.group,
                "n": int(row.n),
                "metric": row.metric,
                "value [CI]": value,
                "gap to all [CI]": gap + (" (flagged)" if row.flagged else ""),
                "status": row.status,
            }
        )
    flagged = report.flagged
    found = (
        "; ".join(f"{r.metric} of {r.variable}={r.group}" for r in flagged.itertuples())
        if len(flagged)
        else "none"
    )
    text = (
        f"Each subgroup scored alone, with its gap to the whole set. {report.ci:.0%} paired "
        f"percentile bootstrap ({report.n_bootstrap} resamples); a gap is flagged when its "
        f"interval excludes zero. Groups under {report.min_size} images are listed as too "
        f"small. Class of interest: {report.positive_class or 'none'}. Flagged gaps: {found}."
    )
    figures = ()
    if metric in set(report.table["metric"]):
        caption = f"Subgroup gaps in {metric} to the whole set (red: interval excludes zero)."
        figures = ((caption, _png(report.plot(metric))),)
    data = {
        "positive_class": report.positive_class,
        "min_size": report.min_size,
        "n_bootstrap": report.n_bootstrap,
        "ci": report.ci,
        "n_flagged": len(flagged),
        "table": report.table.to_dict(orient="records"),
    }
    return ReportSection("subgroups", "Subgroups", text, tuple(rows), _jsonable(data), figures)


# -- selective prediction -----------------------------------------------------------------
def _wilson(errors: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = errors / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def abstention_section(
    confidence: Any,
    correct: Any,
    *,
    threshold: Any = None,
    chosen_here: bool = False,
    score: str = "max_probability",
    note: str | None = None,
) -> ReportSection:
    """Risk-coverage curve, AURC and the abstention threshold's coverage and risk.

    Args:
        confidence: ``(n,)`` confidences of the evaluated predictions (higher = surer).
        correct: ``(n,)`` whether each prediction is right.
        threshold: an `AbstentionThreshold` (or ``None``: curve and AURC only).
        chosen_here: the threshold was chosen on these data (validation), so its risk
            here is optimistic; otherwise it was chosen elsewhere and applied.
        score: the name of the confidence score.
        note: a sentence to add (e.g. why there is no threshold).
    """
    from dermnet.metrics.uncertainty import (
        apply_abstention,
        aurc,
        optimal_aurc,
        risk_coverage_curve,
    )

    c = np.asarray(confidence, dtype=np.float64)
    ok = np.asarray(correct).astype(bool)
    coverage, risk, _ = risk_coverage_curve(c, ok)
    area, best = aurc(c, ok), optimal_aurc(ok)
    data: dict[str, Any] = {
        "score": score,
        "n": len(c),
        "aurc": area,
        "optimal_aurc": best,
        "risk_at_full_coverage": float(1.0 - ok.mean()),
        "threshold": None,
    }
    rows: list[dict[str, Any]] = [
        {"quantity": "AURC (lower is better)", "value": f"{area:.4f}"},
        {"quantity": "optimal AURC (errors ranked last)", "value": f"{best:.4f}"},
        {"quantity": "risk at full coverage", "value": f"{1.0 - ok.mean():.4f}"},
    ]
    text = (
        f"Selective prediction with the {score} confidence: keeping the most confident "
        "predictions first, the risk (error rate) at each coverage."
    )
    marker = None
    if threshold is not None:
        abstain = apply_abstention(c, threshold)
        kept = ~abstain
        n_kept = int(kept.sum())
        errors = int((~ok[kept]).sum())
        at_risk = errors / n_kept if n_kept else float("nan")
        low, high = _wilson(errors, n_kept)
        at_cov = n_kept / len(c)
        marker = (at_cov, at_risk)
        target = (
            f"target risk {threshold.target_risk:g}"
            if threshold.target_risk is not None
            else f"target coverage {threshold.target_coverage:g}"
        )
        where = (
            "chosen on these (validation) data, so the risk here is optimistic"
            if chosen_here
            else f"chosen on validation ({threshold.n} images) and applied unchanged"
        )
        text += (
            f" Abstention threshold {threshold.threshold:.4g} ({target}; {where}): coverage "
            f"{at_cov:.3f}, risk {at_risk:.3f} [95% Wilson {low:.3f}, {high:.3f}], "
            f"{int(abstain.sum())} of {len(c)} abstained."
        )
        data["threshold"] = {
            **threshold.to_dict(),
            "chosen_here": chosen_here,
            "coverage_here": at_cov,
            "risk_here": at_risk,
            "risk_here_low": low,
            "risk_here_high": high,
            "n_abstained": int(abstain.sum()),
        }
        rows += [
            {"quantity": "abstention threshold", "value": f"{threshold.threshold:.4g}"},
            {"quantity": "coverage at threshold", "value": f"{at_cov:.3f}"},
            {
                "quantity": "risk at threshold [95% CI]",
                "value": f"{at_risk:.3f} [{low:.3f}, {high:.3f}]",
            },
        ]
    if note:
        text += f" {note}"
    figure = _risk_coverage_figure(coverage, risk, area, marker)
    caption = "Risk-coverage curve (dot: the abstention threshold)."
    return ReportSection(
        "abstention",
        "Selective prediction (abstention)",
        text,
        tuple(rows),
        _jsonable(data),
        ((caption, _png(figure)),),
    )


def _risk_coverage_figure(
    coverage: np.ndarray, risk: np.ndarray, area: float, marker: tuple[float, float] | None
) -> Any:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    ax = fig.add_subplot()
    ax.step(coverage, risk, where="post", color="#246", label=f"AURC {area:.3f}")
    if marker is not None and not math.isnan(marker[1]):
        ax.plot([marker[0]], [marker[1]], "o", color="#b00", label="threshold")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(bottom=0.0)
    ax.set_xlabel("coverage")
    ax.set_ylabel("risk (error rate of kept)")
    ax.legend(loc="upper left", fontsize=8)
    return fig
