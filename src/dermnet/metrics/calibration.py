"""Calibration: expected calibration error, Brier score, reliability curves and
temperature scaling fitted on validation data."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, LeakageError, LeakageWarning, ParameterError
from dermnet._core.validation import check_bool, check_float, check_int, fail
from dermnet.metrics._checks import check_labels_scores
from dermnet.metrics._weighted_metrics import bin_edges, bin_index

__all__ = [
    "TemperatureScaler",
    "brier_score",
    "expected_calibration_error",
    "reliability_curve",
]


def expected_calibration_error(y_true: Any, y_score: Any, n_bins: int = 15) -> float:
    """Expected calibration error of the top-label confidence (Guo et al., 2017).

    Predictions are put in ``n_bins`` equal-width bins by their confidence (the highest
    probability); ECE is the mean over bins of ``|accuracy - mean confidence|`` weighted by
    the bin's share of samples. 0 is perfect calibration.

    Args:
        y_true: int class indices ``(n,)``.
        y_score: probabilities ``(n, classes)`` (or ``(n,)`` for binary).
        n_bins: number of bins, >= 1.

    Examples:
        >>> expected_calibration_error([0, 1, 1, 0], [[0.9, 0.1], [0.2, 0.8], [0.7, 0.3],
        ...                                           [0.6, 0.4]], n_bins=5)
        0.25
    """
    n_bins = check_int(n_bins, "n_bins", "expected_calibration_error", low=1)
    y, scores, _ = check_labels_scores(y_true, y_score, None, "expected_calibration_error")
    confidence = scores.max(axis=1)
    gap = (scores.argmax(axis=1) == y) - confidence
    sums = np.bincount(bin_index(confidence, n_bins), weights=gap, minlength=n_bins)
    return float(np.round(np.abs(sums).sum() / len(y), 12))


def brier_score(y_true: Any, y_score: Any) -> float:
    """Brier score: mean squared distance between the probabilities and the one-hot truth.

    Multi-class: ``mean_i sum_c (p_ic - y_ic) ** 2`` (0 best, 2 worst). Binary (two
    columns or 1-D scores): the usual ``mean_i (p_i - y_i) ** 2`` of the positive class
    (0 best, 1 worst); both match ``sklearn.metrics.brier_score_loss``.

    Examples:
        >>> brier_score([0, 1], [0.2, 0.6])
        0.1
    """
    y, scores, _ = check_labels_scores(y_true, y_score, None, "brier_score")
    per_sample = np.sum((scores - np.eye(scores.shape[1])[y]) ** 2, axis=1)
    if scores.shape[1] == 2:
        per_sample = per_sample / 2.0
    return float(np.round(per_sample.mean(), 12))


def reliability_curve(
    y_true: Any, y_score: Any, n_bins: int = 15, *, class_index: int | None = None
) -> dict[str, list[float]]:
    """The points of a reliability diagram, one per non-empty bin.

    With ``class_index=None`` (default) the top-label confidence is binned and compared
    with the accuracy in each bin (what ECE summarises). With a ``class_index`` the
    probability of that class is binned and compared with how often the class is the
    truth (one-vs-rest; the same numbers as ``sklearn.calibration.calibration_curve``).

    Args:
        y_true: int class indices ``(n,)``.
        y_score: probabilities ``(n, classes)`` or ``(n,)``.
        n_bins: equal-width bins on [0, 1].
        class_index: the class for a one-vs-rest curve, or ``None`` for top-label.

    Returns:
        ``{"bin_lower", "bin_upper", "count", "predicted", "observed"}``, lists of equal
        length: the bin edges, its number of samples, the mean predicted probability and
        the observed frequency (accuracy, or share of the class).

    Examples:
        >>> curve = reliability_curve([0, 1, 1, 0], [0.1, 0.8, 0.7, 0.4], n_bins=2,
        ...                           class_index=1)
        >>> curve["predicted"], curve["observed"]
        ([0.25, 0.75], [0.0, 1.0])
    """
    where = "reliability_curve"
    n_bins = check_int(n_bins, "n_bins", where, low=1)
    y, scores, _ = check_labels_scores(y_true, y_score, None, where)
    if class_index is None:
        predicted = scores.max(axis=1)
        observed = (scores.argmax(axis=1) == y).astype(np.float64)
    else:
        class_index = check_int(class_index, "class_index", where, low=0, high=scores.shape[1] - 1)
        predicted = scores[:, class_index]
        observed = (y == class_index).astype(np.float64)
    bins = bin_index(predicted, n_bins)
    count = np.bincount(bins, minlength=n_bins)
    mean_p = np.bincount(bins, weights=predicted, minlength=n_bins)
    mean_o = np.bincount(bins, weights=observed, minlength=n_bins)
    edges = bin_edges(n_bins)
    keep = np.flatnonzero(count > 0)
    return {
        "bin_lower": [float(edges[b]) for b in keep],
        "bin_upper": [float(edges[b + 1]) for b in keep],
        "count": [int(count[b]) for b in keep],
        "predicted": [float(np.round(mean_p[b] / count[b], 12)) for b in keep],
        "observed": [float(np.round(mean_o[b] / count[b], 12)) for b in keep],
    }


def _log_probs(y_score: Any, from_logits: bool, where: str) -> np.ndarray:
    scores = np.asarray(y_score, dtype=np.float64)
    if scores.ndim == 1:
        if from_logits:
            logits = scores
        else:
            p = np.clip(scores, 1e-12, 1 - 1e-12)
            logits = np.log(p) - np.log1p(-p)
        scores = np.stack([np.zeros_like(logits), logits], axis=1)
        return scores - np.logaddexp(0.0, logits)[:, None]
    if scores.ndim != 2 or scores.shape[1] < 2:
        raise fail("y_score", where, "an (n,) or (n, classes >= 2) array", f"shape {scores.shape}")
    if not np.all(np.isfinite(scores)):
        raise DataError(f"{where}: y_score has NaN or infinite values.")
    if from_logits:
        return scores - _logsumexp(scores)
    if scores.min() < -1e-6 or scores.max() > 1 + 1e-6:
        raise DataError(
            f"{where}: y_score must be probabilities in [0, 1]; for logits pass "
            f"from_logits=True. Got values from {scores.min():.3g} to {scores.max():.3g}."
        )
    return np.log(np.clip(scores, 1e-12, 1.0))


def _logsumexp(z: np.ndarray) -> np.ndarray:
    top = z.max(axis=1, keepdims=True)
    return top + np.log(np.exp(z - top).sum(axis=1, keepdims=True))


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(z - _logsumexp(z))


def _nll(log_p: np.ndarray, y: np.ndarray, temperature: float) -> float:
    z = log_p / temperature
    return float(np.mean(_logsumexp(z)[:, 0] - z[np.arange(len(y)), y]))


class TemperatureScaler:
    """Temperature scaling (Guo et al., 2017), fitted on validation data.

    Divides the logits by one temperature ``T`` chosen to minimise the negative
    log-likelihood on the validation split. ``T > 1`` softens over-confident predictions.
    The predicted class never changes, so accuracy, balanced accuracy and the confusion
    matrix stay the same (and the AUC of a binary task), while ECE and log loss usually
    improve; one-vs-rest AUCs of a multi-class task can move slightly, because scaling
    changes how one class's probability ranks across images. Probabilities are accepted
    directly: ``log(p)`` differs from the logits by a per-row constant, which a softmax
    ignores, so scaling ``log(p) / T`` is exactly temperature scaling.

    scikit-learn style: the constructor only stores parameters; `fit` validates and
    learns ``temperature_``.

    Args:
        from_logits: the scores given to ``fit``/``transform`` are logits, not probabilities.
        min_temperature: lower bound of the search, > 0.
        max_temperature: upper bound of the search.

    Attributes:
        temperature_: the fitted temperature.
        nll_before_: validation negative log-likelihood before scaling.
        nll_after_: validation negative log-likelihood after scaling.
        n_samples_: validation samples used.

    Examples:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> y = rng.integers(0, 3, 500)
        >>> logits = 4.0 * (np.eye(3)[y] + rng.normal(0, 0.7, (500, 3)))  # over-confident
        >>> scaler = TemperatureScaler(from_logits=True).fit(y, logits)
        >>> scaler.temperature_ > 1.5, scaler.nll_after_ < scaler.nll_before_
        (True, True)
    """

    def __init__(
        self,
        *,
        from_logits: bool = False,
        min_temperature: float = 0.05,
        max_temperature: float = 20.0,
    ) -> None:
        self.from_logits = from_logits
        self.min_temperature = min_temperature
        self.max_temperature = max_temperature

    def fit(self, y_true: Any, y_score: Any, *, allow_unsplit: bool = False) -> TemperatureScaler:
        """Fit the temperature on validation labels and scores.

        Args:
            y_true: validation int labels, or the validation Records (role checked:
                ``"train"`` and ``"test"`` are refused; ``None`` needs ``allow_unsplit``).
            y_score: validation probabilities (or logits with ``from_logits=True``),
                ``(n, classes)`` or ``(n,)`` for binary.
            allow_unsplit: accept Records whose role is ``None``, with a warning.

        Returns:
            ``self``.
        """
        from scipy.optimize import minimize_scalar

        where = "TemperatureScaler.fit"
        from_logits = check_bool(self.from_logits, "from_logits", "TemperatureScaler")
        low = check_float(
            self.min_temperature, "min_temperature", "TemperatureScaler", low=0.0, low_open=True
        )
        high = check_float(self.max_temperature, "max_temperature", "TemperatureScaler", low=low)
        y = _validation_labels(y_true, where, check_bool(allow_unsplit, "allow_unsplit", where))
        log_p = _log_probs(y_score, from_logits, where)
        if y.ndim != 1 or len(y) != len(log_p):
            raise DataError(f"{where}: y_true has {len(y)} samples but y_score has {len(log_p)}.")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= log_p.shape[1]:
            raise fail("y_true", where, f"int class indices in [0, {log_p.shape[1] - 1}]", y)
        result = minimize_scalar(
            lambda t: _nll(log_p, y, float(np.exp(t))),
            bounds=(np.log(low), np.log(high)),
            method="bounded",
            options={"xatol": 1e-6},
        )
        self.temperature_ = float(np.exp(result.x))
        self.nll_before_ = _nll(log_p, y, 1.0)
        self.nll_after_ = _nll(log_p, y, self.temperature_)
        self.n_samples_ = len(y)
        self.binary_ = np.ndim(y_score) == 1
        if np.isclose(self.temperature_, low, rtol=1e-3) or np.isclose(
            self.temperature_, high, rtol=1e-3
        ):
            warnings.warn(
                f"TemperatureScaler: the fitted temperature {self.temperature_:.3g} is at the "
                f"bound of the search [{low}, {high}]; the scores may be degenerate.",
                UserWarning,
                stacklevel=2,
            )
        return self

    def transform(self, y_score: Any) -> np.ndarray:
        """Calibrated probabilities for new scores (same shape as given)."""
        if not hasattr(self, "temperature_"):
            raise ParameterError("This TemperatureScaler is not fitted yet; call fit() first.")
        scores = np.asarray(y_score, dtype=np.float64)
        log_p = _log_probs(scores, self.from_logits, "TemperatureScaler.transform")
        probs = _softmax(log_p / self.temperature_)
        return probs[:, 1] if scores.ndim == 1 else probs

    def fit_transform(self, y_true: Any, y_score: Any) -> np.ndarray:
        """Fit on validation data and return its calibrated probabilities."""
        return self.fit(y_true, y_score).transform(y_score)

    def to_dict(self) -> dict[str, Any]:
        """Parameters and fitted temperature as a JSON-serializable dict."""
        from dermnet._version import __version__

        return {
            "class_name": "TemperatureScaler",
            "dermnet_version": __version__,
            "config": {
                "from_logits": self.from_logits,
                "min_temperature": self.min_temperature,
                "max_temperature": self.max_temperature,
            },
            "temperature": getattr(self, "temperature_", None),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TemperatureScaler:
        """Rebuild a (fitted) scaler from `to_dict` output."""
        if not isinstance(data, dict) or data.get("class_name") != "TemperatureScaler":
            raise fail("data", "TemperatureScaler.from_dict", "a dict from to_dict()", data)
        scaler = cls(**data["config"])
        if data.get("temperature") is not None:
            scaler.temperature_ = float(data["temperature"])
        return scaler

    def __repr__(self) -> str:
        fitted = f", temperature_={self.temperature_:.4g}" if hasattr(self, "temperature_") else ""
        return f"TemperatureScaler(from_logits={self.from_logits}{fitted})"


def _validation_labels(y_true: Any, where: str, allow_unsplit: bool) -> np.ndarray:
    if hasattr(y_true, "labels") and hasattr(y_true, "role"):
        role = y_true.role
        if role in ("train", "test"):
            raise LeakageError(
                f"{where} refuses records whose role is {role!r}: calibration is fitted on the "
                "validation split only. Pass split(...).val."
            )
        if role is None:
            if not allow_unsplit:
                raise LeakageError(
                    f"{where} cannot tell whether these records are the validation split "
                    "(role=None). Pass split(...).val or allow_unsplit=True."
                )
            warnings.warn(
                f"{where}: records with role=None used because allow_unsplit=True.",
                LeakageWarning,
                stacklevel=3,
            )
        return np.asarray(y_true.labels)
    return np.asarray(y_true)
