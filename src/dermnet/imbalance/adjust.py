"""Post-hoc logit adjustment: balanced-error decisions from a model trained on skewed data."""

from __future__ import annotations

from typing import Any

import numpy as np

from dermnet._core.validation import check_float, fail
from dermnet.imbalance.weights import _as_labels

__all__ = ["logit_adjust"]


def logit_adjust(scores: Any, prior: Any, *, tau: float = 1.0) -> np.ndarray:
    """Divide class probabilities by the training prior (to a power) and renormalise.

    A classifier trained with plain cross-entropy on imbalanced data estimates
    ``p(class | image)`` under the training prior, and its arg-max favours the frequent
    classes. The decision that minimises the *balanced* error (the mean per-class error,
    i.e. maximises balanced accuracy) is the arg-max of ``p(class | image) / prior(class)``
    (Menon et al., "Long-tail learning via logit adjustment", ICLR 2021). Subtracting
    ``tau * log(prior)`` from the logits does exactly that; ``tau=1`` is the theoretical
    value, so nothing is tuned on validation or test data.

    Unlike class weights, the model trains on the unweighted loss and the prior
    correction is applied once, at prediction time (the best recipe of
    ``benchmarks/accuracy.py`` works this way).

    Args:
        scores: probabilities, shape ``(N, K)`` with rows summing to 1 (a softmax output).
        prior: the class frequencies of the *training* split: ``K`` counts or proportions
            (``np.bincount(y_train, minlength=K)``), or the training Records.
        tau: the strength of the correction; 0 returns ``scores`` unchanged.

    Returns:
        float32 ``(N, K)`` probabilities proportional to ``scores / prior**tau``.

    Raises:
        ParameterError: scores that are not a 2-D probability array, a prior of the wrong
            length or with a class of zero frequency, or a negative ``tau``.
        LeakageError: validation or test Records passed as the prior.

    Examples:
        >>> import numpy as np
        >>> p = np.array([[0.6, 0.4]])  # the frequent class 0 wins ...
        >>> logit_adjust(p, [0.8, 0.2]).round(3)  # ... until its 4x prior is divided out
        array([[0.273, 0.727]], dtype=float32)
    """
    where = "logit_adjust"
    tau = check_float(tau, "tau", where, low=0.0)
    probs = np.asarray(scores, dtype="float64")
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise fail("scores", where, "an (N, K) array of class probabilities, K >= 2", probs.shape)
    if not np.all(np.isfinite(probs)) or probs.min() < 0:
        raise fail("scores", where, "finite probabilities >= 0", "negative or non-finite values")
    if not np.allclose(probs.sum(1), 1.0, atol=1e-3):
        raise fail("scores", where, "rows that sum to 1 (softmax outputs)", "other row sums")
    k = probs.shape[1]
    if hasattr(prior, "labels") and hasattr(prior, "num_classes"):
        labels, _ = _as_labels(prior, where)  # refuses validation/test records
        freq = np.bincount(labels, minlength=k).astype("float64")
    else:
        freq = np.asarray(prior, dtype="float64")
    if freq.shape != (k,):
        raise fail("prior", where, f"{k} class frequencies (one per column of scores)", freq.shape)
    if not np.all(np.isfinite(freq)) or freq.min() <= 0:
        raise fail("prior", where, "frequencies > 0 for every class", freq.tolist())
    freq = freq / freq.sum()
    adjusted = probs / freq**tau
    return (adjusted / adjusted.sum(1, keepdims=True)).astype("float32")
