"""Classification scores that stay honest on imbalanced data, with bootstrap intervals."""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import check_bool, check_float, check_int, check_seed, fail
from dermnet.metrics._engine import MetricEngine, bootstrap_weights
from dermnet.metrics._inputs import check_labels_scores
from dermnet.metrics.card import ModelCard

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "HEADLINE_METRICS",
    "EvaluationReport",
    "UndefinedMetricWarning",
    "bootstrap_intervals",
    "evaluate",
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
#: Class names picked as the class of interest when ``positive_class="auto"``.
_INTEREST_NAMES = ("mel", "melanoma", "malignant")
#: Above this many samples x resamples the bootstrap runs in chunks (memory bound).
_CHUNK_CELLS = 2_000_000


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined for the data given (e.g. AUC of a class absent from y_true)."""


def _none_if_nan(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


@dataclasses.dataclass(frozen=True)
class EvaluationReport:
    """The result of `evaluate` (and `evaluate_model`).

    Metrics that are undefined for the data (e.g. the AUC of a class absent from
    ``y_true``) are ``None``, with the reason in `notes`; nothing is silently
    reported as 0.

    Attributes:
        class_names: the classes, in label order.
        n: number of samples.
        accuracy: share of correct top-1 predictions.
        balanced_accuracy: mean per-class recall over the classes present in ``y_true``
            (the ISIC challenge metric).
        macro_auc: mean one-vs-rest ROC AUC over the classes where it is defined, or
            ``None`` if it is defined for none.
        per_class: ``{class: {"precision", "recall", "specificity", "f1", "support", "auc",
            "average_precision"}}``; recall is the sensitivity; ``None`` where undefined.
        confusion_matrix: counts, rows = true class, columns = predicted class.
        notes: undefined metrics and other caveats, in words.
        macro_f1: unweighted mean F1 over the classes present in ``y_true`` or predicted.
        weighted_f1: F1 averaged with the class supports as weights.
        micro_auc: ROC AUC of all one-vs-rest decisions pooled.
        macro_average_precision: mean per-class average precision (area under the
            precision-recall curve) over the classes where it is defined.
        micro_average_precision: average precision of all one-vs-rest decisions pooled.
        cohen_kappa: Cohen's kappa of the top-1 predictions.
        mcc: Matthews correlation coefficient (multi-class form).
        log_loss: mean negative log-likelihood of the true class.
        confusion_matrix_normalized: each row divided by its support (the per-class
            recall on the diagonal); ``None`` rows for absent classes.
        positive_class: the class of interest (e.g. melanoma), or ``None``.
        operating_points: for the class of interest, one dict per chosen specificity:
            ``{"target_specificity", "threshold", "sensitivity", "specificity"}``: the best
            sensitivity reachable with at least that specificity, one-vs-rest.
        calibration: ``{"ece", "mce", "brier", "n_bins", "reliability"}``: expected and
            maximum calibration error of the top-label confidence, the Brier score, and the
            reliability curve (see `reliability_curve`).
        intervals: bootstrap confidence intervals, ``{metric: (low, high)}``, for the
            headline metrics, ``"recall[c]"``, ``"specificity[c]"``, ``"auc[c]"`` of each
            class and ``"sensitivity@specificity=0.90"`` for the class of interest.
        bootstrap: how the intervals were computed: method, resamples, level, seed,
            stratification.
        model_card: the model card, or ``None``.
        y_true: the labels evaluated (kept for figures; not in `to_dict` unless asked).
        y_score: the probabilities evaluated (likewise).
    """

    class_names: tuple[str, ...]
    n: int
    accuracy: float
    balanced_accuracy: float
    macro_auc: float | None
    per_class: dict[str, dict[str, float | int | None]]
    confusion_matrix: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...] = ()
    macro_f1: float | None = None
    weighted_f1: float | None = None
    micro_auc: float | None = None
    macro_average_precision: float | None = None
    micro_average_precision: float | None = None
    cohen_kappa: float | None = None
    mcc: float | None = None
    log_loss: float | None = None
    confusion_matrix_normalized: tuple[tuple[float | None, ...], ...] = ()
    positive_class: str | None = None
    operating_points: tuple[dict[str, float | None], ...] = ()
    calibration: dict[str, Any] = dataclasses.field(default_factory=dict)
    intervals: dict[str, tuple[float, float] | None] = dataclasses.field(default_factory=dict)
    bootstrap: dict[str, Any] = dataclasses.field(default_factory=dict)
    model_card: ModelCard | None = None
    y_true: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)
    y_score: np.ndarray | None = dataclasses.field(default=None, repr=False, compare=False)

    # -- access -----------------------------------------------------------------------
    def headline(self) -> dict[str, float | None]:
        """The headline numbers: accuracy, balanced accuracy, macro AUC, macro F1, MCC."""
        return {
            "accuracy": self.accuracy,
            "balanced_accuracy": self.balanced_accuracy,
            "macro_auc": self.macro_auc,
            "macro_f1": self.macro_f1,
            "mcc": self.mcc,
        }

    def interval(self, metric: str) -> tuple[float, float] | None:
        """The bootstrap interval of ``metric`` (a key of `intervals`), or ``None``."""
        if metric not in self.intervals and self.intervals:
            raise fail(
                "metric", "EvaluationReport.interval", f"one of {sorted(self.intervals)}", metric
            )
        return self.intervals.get(metric)

    def with_model_card(self, card: ModelCard | Any) -> EvaluationReport:
        """A copy with a model card (a `ModelCard`, or anything
        `ModelCard.from_data` takes: a description, Records, a Split)."""
        if not isinstance(card, ModelCard):
            card = ModelCard.from_data(card)
        return dataclasses.replace(self, model_card=card)

    # -- serialization ----------------------------------------------------------------
    def to_dict(self, *, include_predictions: bool = False) -> dict[str, Any]:
        """A JSON-serializable dict of everything in the report.

        Args:
            include_predictions: also include ``y_true`` and ``y_score`` (lets
                `from_dict` rebuild the ROC and PR figures).
        """
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            if field.name in ("y_true", "y_score", "model_card"):
                continue
            out[field.name] = _jsonable(getattr(self, field.name))
        out["model_card"] = (
            _jsonable(dataclasses.asdict(self.model_card)) if self.model_card else None
        )
        if include_predictions and self.y_true is not None and self.y_score is not None:
            out["y_true"] = np.asarray(self.y_true).tolist()
            out["y_score"] = np.asarray(self.y_score).tolist()
        return out

    def to_json(
        self, path: str | Path | None = None, *, indent: int = 2, include_predictions: bool = False
    ) -> str:
        """The report as JSON text; also written to ``path`` if given."""
        text = json.dumps(self.to_dict(include_predictions=include_predictions), indent=indent)
        if path is not None:
            Path(path).write_text(text + "\n", encoding="utf-8")
        return text

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationReport:
        """Rebuild a report from `to_dict` (or parsed `to_json`) output."""
        if not isinstance(data, Mapping) or "class_names" not in data:
            raise fail(
                "data", "EvaluationReport.from_dict", "a dict from to_dict()", type(data).__name__
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise fail(
                "data", "EvaluationReport.from_dict", f"only the keys {sorted(known)}", unknown
            )
        values = dict(data)
        values["class_names"] = tuple(values["class_names"])
        values["confusion_matrix"] = tuple(tuple(r) for r in values["confusion_matrix"])
        values["confusion_matrix_normalized"] = tuple(
            tuple(r) for r in values.get("confusion_matrix_normalized", ())
        )
        values["notes"] = tuple(values.get("notes", ()))
        values["operating_points"] = tuple(values.get("operating_points", ()))
        values["intervals"] = {
            k: (tuple(v) if v is not None else None) for k, v in values.get("intervals", {}).items()
        }
        card = values.get("model_card")
        if card is not None:
            card = dict(card)
            card["limitations"] = tuple(card.get("limitations", ()))
            values["model_card"] = ModelCard(**card)
        if values.get("y_true") is not None:
            values["y_true"] = np.asarray(values["y_true"], dtype=np.int64)
            values["y_score"] = np.asarray(values["y_score"], dtype=np.float64)
        return cls(**values)

    @classmethod
    def from_json(cls, source: str | Path) -> EvaluationReport:
        """Read a report written by `to_json` (a path or the JSON text)."""
        text = str(source)
        if not text.lstrip().startswith("{"):
            text = Path(source).read_text(encoding="utf-8")
        return cls.from_dict(json.loads(text))

    # -- rendering ----------------------------------------------------------------------
    def summary(self, *, digits: int = 2) -> str:
        """A compact plain-text table for a terminal, like scikit-learn's
        ``classification_report``: one row per class (precision, sensitivity, specificity,
        F1, ROC AUC, support), then accuracy, balanced accuracy, macro AUC (the ROC AUC of
        the positive class for two classes) and the sensitivity of the class of interest
        at each specificity; each with its bootstrap interval ``[low, high]`` when the
        report has intervals. Undefined values read ``-``. About 20 lines for 7 classes,
        under 100 columns; `to_markdown` has everything.

        Args:
            digits: decimals of every value and interval.

        Returns:
            The table as text, ending with a newline.

        Examples:
            >>> report = evaluate([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4],
            ...                   [0.7, 0.3]], ["benign", "malignant"], specificities=[0.9],
            ...                   n_bootstrap=0)
            >>> print(report.summary())
            4 images, 2 classes. No intervals computed.
            <BLANKLINE>
            class      precision  sensitivity  specificity    F1   AUC  support
            benign          0.67         1.00         0.50  0.80  1.00        2
            malignant       1.00         0.50         1.00  0.67  1.00        2
            <BLANKLINE>
            accuracy                                      0.75
            balanced accuracy                             0.75
            ROC AUC                                       1.00
            malignant sensitivity at specificity >= 0.90  1.00
            <BLANKLINE>

            With intervals (the default), each value is followed by ``[low, high]``.
        """
        from dermnet.metrics._render import report_summary

        digits = check_int(digits, "digits", "EvaluationReport.summary", low=0, high=6)
        return report_summary(self, digits=digits)

    def to_markdown(self) -> str:
        """A Markdown report: headline metrics with intervals, per-class table, confusion
        matrix, operating points, calibration, the model card and the notes."""
        from dermnet.metrics._render import report_markdown

        return report_markdown(self)

    def model_card_markdown(self) -> str:
        """The model card alone as a Markdown document (for ``model_card.md``): model,
        training, data, split, population, intended use, the headline metrics with their
        intervals, and the limitations (those of the card and those computed from the
        numbers). A report without a card gets the default card and says so; the same as
        ``card.to_markdown(report)``."""
        from dermnet.metrics._render import report_card_markdown

        return report_card_markdown(self)

    def figures(self, *, history: Any = None) -> dict[str, Figure]:
        """The report's figures by name: class distribution, confusion matrix, ROC and PR
        curves per class (need the predictions), reliability diagram, and training curves
        when ``history`` (a Keras ``History`` or its dict) is given."""
        from dermnet.metrics._render import report_figures

        return report_figures(self, history=history)

    def to_html(
        self,
        path: str | Path,
        *,
        title: str | None = None,
        history: Any = None,
        extra_figures: Mapping[str, Any] | None = None,
    ) -> Path:
        """Write one self-contained HTML file (figures embedded as data URIs, no external
        references) with every metric, the figures and the model card; return its path.

        Args:
            path: the file to write.
            title: the page title.
            history: training history for the training-curves figure.
            extra_figures: more figures to embed, ``{caption: matplotlib figure or PNG
                bytes}`` (e.g. Grad-CAM overlays).
        """
        from dermnet.metrics._render import report_html

        return report_html(self, path, title=title, history=history, extra_figures=extra_figures)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


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


def _check_specificities(specificities: Any) -> tuple[float, ...]:
    try:
        values = tuple(float(s) for s in specificities)
    except TypeError:
        raise fail(
            "specificities", "evaluate", "a sequence of floats in (0, 1)", specificities
        ) from None
    for value in values:
        check_float(
            value, "specificities", "evaluate", low=0.0, high=1.0, low_open=True, high_open=True
        )
    return values


def _interval_keys(
    names: tuple[str, ...], specs: tuple[float, ...], interest: int | None
) -> dict[str, tuple[str, int | None]]:
    keys: dict[str, tuple[str, int | None]] = {m: (m, None) for m in HEADLINE_METRICS}
    for metric in _PER_CLASS_INTERVALS:
        for c, name in enumerate(names):
            keys[f"{metric}[{name}]"] = (metric, c)
    if interest is not None and specs:
        for j, s in enumerate(specs):
            keys[f"sensitivity@specificity={s:g}"] = ("sensitivity_at_specificity", j)
    return keys


def _value(result: dict[str, np.ndarray], metric: str, index: int | None) -> np.ndarray:
    values = result[metric]
    return values if index is None else values[:, index]


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
    n_resamples = check_int(n_resamples, "n_resamples", where, low=1)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(seed, "seed", where)
    stratified = check_bool(stratified, "stratified", where)
    specs = tuple(float(s) for s in specificities)
    engine = MetricEngine(
        y, scores, n_bins=n_bins, positive_class=positive_class, specificities=specs
    )
    return _bootstrap(engine, y, names, specs, positive_class, n_resamples, ci, seed, stratified)


def _bootstrap(
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
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_CELLS // max(1, len(y))))
    results = [
        engine.compute(W)
        for W in bootstrap_weights(y, n_resamples, rng, stratified=stratified, chunk=chunk)
    ]
    merged = {key: np.concatenate([r[key] for r in results]) for key in results[0]}
    keys = _interval_keys(names, specs, interest)
    tail = (1.0 - ci) / 2.0
    intervals: dict[str, tuple[float, float] | None] = {}
    undefined: dict[str, int] = {}
    for key, (metric, index) in keys.items():
        if metric not in merged:
            continue
        values = _value(merged, metric, index)
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
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", where, low=0)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    stratified = check_bool(stratified, "stratified", where)
    seed = check_seed(seed, "seed", where)
    n_bins = check_int(n_bins, "n_bins", where, low=1)
    specs = _check_specificities(specificities)
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
            aucs.append(_none_if_nan(point["auc"][c]))
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
            "recall": _none_if_nan(point["recall"][c]),
            "specificity": _none_if_nan(point["specificity"][c]),
            "f1": float(point["f1"][c]),
            "support": int(support[c]),
            "auc": aucs[c],
            "average_precision": aps[c],
        }
        for c in range(k)
    }
    defined_aps = [a for a in aps if a is not None]
    kappa = _none_if_nan(point["cohen_kappa"])
    mcc = _none_if_nan(point["mcc"])
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
        intervals, missing = _bootstrap(
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
        macro_auc=_none_if_nan(point["macro_auc"]),
        per_class=per_class,
        confusion_matrix=confusion,
        notes=tuple(undefined + notes),
        macro_f1=_none_if_nan(point["macro_f1"]),
        weighted_f1=_none_if_nan(point["weighted_f1"]),
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
    return _none_if_nan(point[key])
