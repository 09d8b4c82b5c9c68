"""`evaluate`: every classification metric of predicted probabilities, with intervals."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import check_int, fail
from dermnet.metrics._checks import check_labels_scores
from dermnet.metrics._weighted_metrics import MetricEngine
from dermnet.metrics.bootstrap import check_bootstrap_args, check_specificities, run_bootstrap
from dermnet.metrics.card import ModelCard
from dermnet.metrics.evaluation_report import EvaluationReport, none_if_nan

__all__ = ["UndefinedMetricWarning", "evaluate"]

#: Class names picked as the class of interest when ``positive_class="auto"``.
_INTEREST_NAMES = ("mel", "melanoma", "malignant")


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the data given (e.g. AUC of a class absent from y_true)."""


def _resolve_interest(positive_class: Any, names: tuple[str, ...], notes: list[str]) -> int | None:
    where = "evaluate"
    if positive_class is None:
        return None
    if isinstance(positive_class, str) and positive_class == "auto":
        if len(names) == 2:
            return 1
        lowered = [n.lower() for n in names]
        for candidate in _INTEREST_NAMES:
            if candidate in lowered:
                index = lowered.index(candidate)
                notes.append(
                    f"Class of interest: {names[index]!r} (picked by its name; choose "
                    "another with --positive-class on the command line, positive_class= "
                    "in Python)."
                )
                return index
        return None
    if isinstance(positive_class, str):
        if positive_class in names:
            return names.index(positive_class)
        raise fail(
            "positive_class", where, f"'auto', None, or one of {list(names)}", positive_class
        )
    is_int = isinstance(positive_class, (int, np.integer)) and not isinstance(positive_class, bool)
    if is_int and 0 <= positive_class < len(names):
        return int(positive_class)
    raise fail(
        "positive_class",
        where,
        f"'auto', None, a class name or an index < {len(names)}",
        positive_class,
    )


def evaluate(
    y_true: Any,
    y_score: Any,
    class_names: Sequence[str] | None = None,
    *,
    positive_class: int | str | None = "auto",
    specificities: Sequence[float] = (0.8, 0.9, 0.95),
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    stratified: bool = True,
    seed: int | None = 0,
    n_bins: int = 15,
    model_card: ModelCard | Any = None,
) -> EvaluationReport:
    """Score predictions with every metric that matters on imbalanced medical data.

    Computes accuracy, balanced accuracy, per-class precision, recall (sensitivity),
    specificity, F1, support, ROC AUC and average precision, macro and weighted F1, macro
    and micro AUC and average precision, Cohen's kappa, MCC, log loss, the confusion
    matrix (counts and row-normalised), sensitivity at chosen specificities for a class of
    interest, calibration (ECE, Brier score, reliability curve), and seeded bootstrap
    intervals for the headline and per-class metrics.

    Args:
        y_true: integer class labels ``(n,)`` (or one-hot rows).
        y_score: predicted probabilities ``(n, num_classes)`` (rows summing to 1, a softmax
            output) or ``(n,)`` for the positive class of a binary task.
        class_names: the class names, one per column of ``y_score``.
        positive_class: the class of interest for the operating points: a name or index;
            ``"auto"`` (default) takes class 1 of a binary task, else a class named
            ``mel``, ``melanoma`` or ``malignant`` if there is one; ``None`` for none.
        specificities: the specificities at which to report the class of interest's
            sensitivity.
        n_bootstrap: bootstrap resamples for the intervals (0 for none).
        ci: confidence level of the intervals.
        stratified: resample within each true class (keeps class counts fixed).
        seed: the bootstrap seed.
        n_bins: equal-width bins for ECE and the reliability curve.
        model_card: a `ModelCard`, or what `ModelCard.from_data` takes (a
            description, the split's Records); ``None`` leaves it to be added later.

    Returns:
        An `EvaluationReport`. Undefined metrics (the AUC of a class absent from
        ``y_true``, kappa when every label and prediction is one class, ...) are ``None``
        with a note and an `UndefinedMetricWarning`, not an error.

    Raises:
        DataError: mismatched lengths, NaN scores, scores that are not probabilities,
            labels outside the classes.

    Examples:
        >>> report = evaluate([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], ["a", "b"],
        ...                   n_bootstrap=0)
        >>> round(report.balanced_accuracy, 3), report.per_class["b"]["recall"]
        (0.75, 0.5)
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    where = "evaluate"
    y, scores, names = check_labels_scores(y_true, y_score, class_names, where)
    n_bootstrap, ci, seed, stratified = check_bootstrap_args(
        where, n_bootstrap, ci, seed, stratified, name="n_bootstrap", low=0
    )
    n_bins = check_int(n_bins, "n_bins", where, low=1)
    specs = check_specificities(specificities, where)
    k = len(names)
    notes: list[str] = []
    undefined: list[str] = []
    interest = _resolve_interest(positive_class, names, notes)

    engine = MetricEngine(y, scores, n_bins=n_bins, positive_class=interest, specificities=specs)
    point = {key: value[0] for key, value in engine.compute(np.ones((1, len(y)))).items()}
    support = np.bincount(y, minlength=k)
    one_hot = np.eye(k)[y]

    aucs: list[float | None] = []
    aps: list[float | None] = []
    for c in range(k):
        positives = int(support[c])
        if positives == 0:
            aucs.append(None)
            aps.append(None)
            undefined.append(
                f"AUC, recall and average precision of class {names[c]!r} are undefined: it "
                "has no samples in y_true."
            )
        elif positives == len(y):
            aucs.append(None)
            aps.append(1.0)
            undefined.append(
                f"AUC and specificity of class {names[c]!r} are undefined: it has only "
                "samples in y_true."
            )
        else:
            aucs.append(none_if_nan(point["auc"][c]))
            aps.append(float(average_precision_score(y == c, scores[:, c])))
    present = support > 0
    if not present.all():
        notes.append(
            "Balanced accuracy averages recall over the classes present in y_true "
            f"({int(present.sum())} of {k})."
        )
    per_class = {
        names[c]: {
            "precision": float(point["precision"][c]),
            "recall": none_if_nan(point["recall"][c]),
            "specificity": none_if_nan(point["specificity"][c]),
            "f1": float(point["f1"][c]),
            "support": int(support[c]),
            "auc": aucs[c],
            "average_precision": aps[c],
        }
        for c in range(k)
    }
    defined_aps = [a for a in aps if a is not None]
    kappa = none_if_nan(point["cohen_kappa"])
    mcc = none_if_nan(point["mcc"])
    if kappa is None:
        undefined.append("Cohen's kappa is undefined: labels and predictions are all one class.")
    if len(np.unique(y)) == 1 or len(np.unique(scores.argmax(axis=1))) == 1:
        notes.append(
            "MCC is 0 by convention (as in scikit-learn): all labels or all predictions are "
            "one class, so its denominator is 0."
        )
    micro_auc = float(roc_auc_score(one_hot, scores, average="micro"))
    micro_ap = float(average_precision_score(one_hot, scores, average="micro"))
    eps = np.finfo(np.float64).eps  # the clipping of sklearn.metrics.log_loss
    true_p = np.clip(scores[np.arange(len(y)), y], eps, 1.0 - eps)

    operating: list[dict[str, float | None]] = []
    if interest is not None and specs:
        operating = _operating_points(y, scores, interest, specs, point, undefined, names)

    confusion = _confusion(y, scores, k)
    normalized = tuple(
        tuple(v / sum(row) for v in row) if sum(row) else tuple(None for _ in row)
        for row in confusion
    )
    calibration = _calibration(y, scores, n_bins, point)

    intervals: dict[str, tuple[float, float] | None] = {}
    boot: dict[str, Any] = {}
    if n_bootstrap:
        intervals, missing = run_bootstrap(
            engine, y, names, specs, interest if operating else None, n_bootstrap, ci, seed,
            stratified,
        )  # fmt: skip
        for key in [k for k, v in intervals.items() if v is not None]:
            if _point_of(key, per_class, point, operating, specs, names) is None:
                intervals[key] = None  # no interval for a metric undefined on the data
        boot = {
            "method": "percentile bootstrap",
            "n_resamples": n_bootstrap,
            "ci": ci,
            "seed": seed,
            "stratified": stratified,
            "undefined_resamples": missing,
        }
        partly = {k: v for k, v in missing.items() if intervals.get(k) is not None}
        if partly:
            shown = ", ".join(f"{k} ({v})" for k, v in list(partly.items())[:5])
            notes.append(
                f"Some bootstrap resamples left metrics undefined and were skipped for them: "
                f"{shown} of {n_bootstrap}."
            )
    for note in undefined:
        warnings.warn(note, UndefinedMetricWarning, stacklevel=2)
    card = None
    if model_card is not None:
        card = model_card if isinstance(model_card, ModelCard) else ModelCard.from_data(model_card)
    return EvaluationReport(
        class_names=names,
        n=len(y),
        accuracy=float(point["accuracy"]),
        balanced_accuracy=float(point["balanced_accuracy"]),
        macro_auc=none_if_nan(point["macro_auc"]),
        per_class=per_class,
        confusion_matrix=confusion,
        notes=tuple(undefined + notes),
        macro_f1=none_if_nan(point["macro_f1"]),
        weighted_f1=none_if_nan(point["weighted_f1"]),
        micro_auc=micro_auc,
        macro_average_precision=float(np.mean(defined_aps)) if defined_aps else None,
        micro_average_precision=micro_ap,
        cohen_kappa=kappa,
        mcc=mcc,
        log_loss=float(-np.mean(np.log(true_p))),
        confusion_matrix_normalized=normalized,
        positive_class=names[interest] if interest is not None else None,
        operating_points=tuple(operating),
        calibration=calibration,
        intervals=intervals,
        bootstrap=boot,
        model_card=card,
        y_true=y,
        y_score=scores,
    )


def _confusion(y: np.ndarray, scores: np.ndarray, k: int) -> tuple[tuple[int, ...], ...]:
    cm = np.bincount(y * k + scores.argmax(axis=1), minlength=k * k).reshape(k, k)
    return tuple(tuple(int(v) for v in row) for row in cm)


def _calibration(
    y: np.ndarray, scores: np.ndarray, n_bins: int, point: dict[str, Any]
) -> dict[str, Any]:
    from dermnet.metrics.calibration import reliability_curve

    curve = reliability_curve(y, scores, n_bins)
    gaps = [abs(o - p) for o, p in zip(curve["observed"], curve["predicted"], strict=True)]
    return {
        "ece": float(point["ece"]),
        "mce": float(max(gaps)) if gaps else None,
        "brier": float(point["brier"]),
        "n_bins": n_bins,
        "reliability": curve,
    }


def _operating_points(
    y: np.ndarray,
    scores: np.ndarray,
    interest: int,
    specs: tuple[float, ...],
    point: dict[str, Any],
    undefined: list[str],
    names: tuple[str, ...],
) -> list[dict[str, float | None]]:
    from dermnet.imbalance import tune_threshold

    positives = int(np.sum(y == interest))
    if positives == 0 or positives == len(y):
        undefined.append(
            f"Sensitivity at specificity for {names[interest]!r} is undefined: it has "
            f"{'no' if positives == 0 else 'only'} samples in y_true."
        )
        return [
            {"target_specificity": s, "threshold": None, "sensitivity": None, "specificity": None}
            for s in specs
        ]
    points = []
    for j, s in enumerate(specs):
        chosen = tune_threshold(y, scores, "specificity", target=s, positive_class=interest)
        if not np.isclose(chosen.sensitivity, point["sensitivity_at_specificity"][j]):
            raise DataError("internal: sensitivity at specificity disagrees")  # pragma: no cover
        points.append(
            {
                "target_specificity": s,
                "threshold": chosen.threshold,
                "sensitivity": chosen.sensitivity,
                "specificity": chosen.specificity,
            }
        )
    return points


def _point_of(
    key: str,
    per_class: dict[str, dict[str, Any]],
    point: dict[str, Any],
    operating: list[dict[str, Any]],
    specs: tuple[float, ...],
    names: tuple[str, ...],
) -> float | None:
    if "[" in key:
        metric, name = key[:-1].split("[", 1)
        return per_class[name][metric]
    if key.startswith("sensitivity@specificity="):
        j = [f"{s:g}" for s in specs].index(key.split("=", 1)[1])
        return operating[j]["sensitivity"]
    return none_if_nan(point[key])
