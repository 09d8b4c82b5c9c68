"""The cross-validation report: pooled out-of-fold metrics, per-fold metrics, their spread.

Written by `dermnet.train.cross_validate` into the CV folder as ``cv_metrics.json`` and
one self-contained ``report.html`` (`dermnet.metrics.HtmlReport`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from dermnet.train.run_folder import replace_atomic, temporary_sibling, write_json

__all__ = ["SPREAD_METRICS", "fold_spread", "summarize"]

#: The metrics whose spread across folds is reported.
SPREAD_METRICS = ("accuracy", "balanced_accuracy", "macro_auc", "macro_f1", "mcc")


def fold_spread(reports: list[Any]) -> dict[str, dict[str, float | None]]:
    """Mean, sample standard deviation, min and max of each metric over the folds.

    Examples:
        >>> from types import SimpleNamespace as R
        >>> folds = [R(accuracy=0.5, balanced_accuracy=0.4, macro_auc=None, macro_f1=0.1,
        ...            mcc=0.0), R(accuracy=0.7, balanced_accuracy=0.6, macro_auc=0.8,
        ...            macro_f1=0.3, mcc=0.2)]
        >>> spread = fold_spread(folds)
        >>> spread["accuracy"]["mean"], round(spread["accuracy"]["sd"], 4)
        (0.6, 0.1414)
        >>> spread["macro_auc"]["n"], spread["macro_auc"]["sd"]
        (1, None)
    """
    out: dict[str, dict[str, float | None]] = {}
    for name in SPREAD_METRICS:
        values = np.array(
            [getattr(r, name) for r in reports if getattr(r, name) is not None], dtype=float
        )
        if len(values) == 0:
            out[name] = {"mean": None, "sd": None, "min": None, "max": None, "n": 0}
            continue
        out[name] = {
            "mean": float(values.mean()),
            "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
            "min": float(values.min()),
            "max": float(values.max()),
            "n": len(values),
        }
    return out


def _with_interval(report: Any, name: str) -> str:
    value = getattr(report, name)
    if value is None:
        return "undefined"
    ci = (report.intervals or {}).get(name)
    return f"{value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def _fmt(value: Any) -> Any:
    return "n/a" if value is None else value


def summarize(
    cv_dir: Path, info: dict[str, Any], oof: Any, *, n_bootstrap: int = 1000
) -> tuple[Any, list[Any], dict[str, dict[str, float | None]]]:
    """Evaluate the out-of-fold predictions; write ``cv_metrics.json`` and ``report.html``.

    Returns:
        ``(pooled report, per-fold reports, spread)``.
    """
    import warnings

    from dermnet.metrics import HtmlReport, UndefinedMetricWarning, evaluate

    classes = list(info["classes"])
    lookup = {c: i for i, c in enumerate(classes)}
    scores = oof[[f"p_{c}" for c in classes]].to_numpy(dtype=np.float64)
    labels = oof["label"].astype(str).map(lookup).to_numpy(dtype=np.int64)
    seed = int(info.get("seed", 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        pooled = evaluate(labels, scores, classes, n_bootstrap=n_bootstrap, seed=seed)
        folds = sorted(int(f) for f in oof["fold"].unique())
        per_fold = []
        for f in folds:
            rows = (oof["fold"] == f).to_numpy()
            per_fold.append(
                evaluate(labels[rows], scores[rows], classes, n_bootstrap=n_bootstrap, seed=seed)
            )
    spread = fold_spread(per_fold)
    headline = ("accuracy", "balanced_accuracy", "macro_auc", "macro_f1", "mcc")
    write_json(
        cv_dir / "cv_metrics.json",
        {
            "k": info["k"],
            "group_by": info.get("group_by"),
            "images": len(oof),
            "pooled": pooled.to_dict(),
            "folds": [
                {"fold": f, "images": r.n, **r.headline(), "intervals": _intervals(r)}
                for f, r in zip(folds, per_fold, strict=True)
            ],
            "spread": spread,
        },
    )
    config = info["run"]
    html = HtmlReport(
        f"dermnet cross-validation: {config.get('model')}, {info['k']} folds "
        f"grouped by {info.get('group_by') or 'image'}"
    )
    html.add_paragraph(
        f"{len(oof)} images in {info['k']} folds; no {info.get('group_by') or 'image'} is in "
        "two folds. Each image is scored once, by the model of the fold that held it out "
        f"(out-of-fold). Intervals: 95% stratified bootstrap, {n_bootstrap} resamples."
    )
    html.add_heading("Pooled out-of-fold metrics")
    html.add_table([{"metric": m, "value": _with_interval(pooled, m)} for m in headline])
    html.add_heading("Per fold")
    html.add_table(
        [
            {"fold": f, "images": r.n, **{m: _with_interval(r, m) for m in headline}}
            for f, r in zip(folds, per_fold, strict=True)
        ]
    )
    html.add_heading("Spread across folds")
    html.add_table(
        [{"metric": m, **{k: _fmt(v) for k, v in s.items() if k != "n"}} for m, s in spread.items()]
    )
    html.add_paragraph(
        "The spread across folds shows how much a score moves with the data a model sees; "
        "a test set from other clinics (e.g. the ISIC 2018 test set against HAM10000) "
        "usually scores lower than any fold.",
        note=True,
    )
    html.add_heading("Pooled per-class recall")
    html.add_table(
        [
            {"class": c, **{m: v.get(m) for m in ("support", "recall", "auc")}}
            for c, v in pooled.per_class.items()
        ]
    )
    figures = pooled.figures()
    for name in ("confusion_matrix", "roc_curves"):
        if name in figures:
            html.add_figure(figures[name], caption=f"Pooled out-of-fold {name.replace('_', ' ')}")
    path = cv_dir / "report.html"
    html.save(temporary_sibling(path))
    replace_atomic(temporary_sibling(path), path)
    return pooled, per_fold, spread


def _intervals(report: Any) -> dict[str, list[float]]:
    out = {}
    for name in ("accuracy", "balanced_accuracy", "macro_auc"):
        ci = (report.intervals or {}).get(name)
        if ci is not None:
            out[name] = [float(ci[0]), float(ci[1])]
    return out
