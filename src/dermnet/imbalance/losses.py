"""Losses for imbalanced classification: focal loss and class-balanced loss (Keras 3).

All three take integer labels (``(batch,)`` or ``(batch, 1)``, what
`dermnet.data.make_dataset` yields by default) or one-hot / soft labels
(``(batch, classes)``), predictions as probabilities (a softmax or sigmoid output, the
default) or logits (``from_logits=True``), and round-trip through ``.keras`` files.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_float, fail
from dermnet.imbalance.weights import effective_number

__all__ = ["BinaryFocalLoss", "CategoricalFocalLoss", "ClassBalancedLoss", "class_balanced_weights"]

_EPSILON = 1e-7  # keras.config.epsilon(), the clipping the Keras cross-entropies use


def _check_alpha(alpha: Any, where: str, *, pair: bool = False) -> float | list[float] | None:
    if alpha is None:
        return None
    if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        high = 1.0 if pair else None
        return check_float(alpha, "alpha", where, low=0.0, high=high)
    try:
        values = [float(a) for a in alpha]
    except (TypeError, ValueError):
        values = []
    ok = values and all(np.isfinite(v) and v >= 0 for v in values)
    if pair:
        ok = ok and len(values) == 2
    if not ok:
        must = (
            "None, a float in [0, 1] (the weight of positives) or a pair (negative, positive)"
            if pair
            else "None, a float >= 0 or a sequence of floats >= 0, one per class"
        )
        raise fail("alpha", where, must, alpha)
    return values


def _log_probabilities(y_pred: Any, from_logits: bool) -> Any:
    if from_logits:
        return ops.log_softmax(y_pred, axis=-1)
    probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
    return ops.log(ops.clip(probs, _EPSILON, 1.0 - _EPSILON))


def _as_one_hot(y_true: Any, y_pred: Any) -> Any:
    """One-hot (or soft) labels shaped like ``y_pred``, from sparse or one-hot labels."""
    k = y_pred.shape[-1]
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    sparse = true_rank == pred_rank - 1 or (true_rank == pred_rank and y_true.shape[-1] == 1)
    if sparse and k != 1:
        if true_rank == pred_rank:
            y_true = ops.squeeze(y_true, axis=-1)
        return ops.one_hot(ops.cast(y_true, "int32"), k, dtype=y_pred.dtype)
    return ops.cast(y_true, y_pred.dtype)


class _FocalLoss(keras.losses.Loss):
    """The parameters, their checks and the config that the focal losses share."""

    #: The loss name when ``name`` is not given.
    default_name = "focal_loss"
    #: Whether ``alpha`` is a binary weight (a float in [0, 1] or a pair).
    binary_alpha = False

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | Sequence[float] | None = None,
        from_logits: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
    ) -> None:
        where = type(self).__name__
        super().__init__(name=name or self.default_name, reduction=reduction)
        self.gamma = check_float(gamma, "gamma", where, low=0.0)
        self.alpha = _check_alpha(alpha, where, pair=self.binary_alpha)
        self.from_logits = check_bool(from_logits, "from_logits", where)

    def get_config(self) -> dict[str, Any]:
        """Every ``__init__`` argument, under its own name."""
        config = super().get_config()
        config.update(gamma=self.gamma, alpha=self.alpha, from_logits=self.from_logits)
        return config


@keras.saving.register_keras_serializable(package="dermnet")
class CategoricalFocalLoss(_FocalLoss):
    """Focal loss for single-label classification over ``k`` classes (Lin et al., 2017).

    ``FL = - sum_c y_c * alpha_c * (1 - p_c) ** gamma * log(p_c)``: the cross-entropy of
    each image scaled down by ``(1 - p_c) ** gamma``, so images the model already gets
    right (``p_c`` near 1) contribute little and training focuses on hard and rare ones.
    ``gamma=0`` with ``alpha=None`` is exactly the categorical cross-entropy.

    Args:
        gamma: the focusing parameter, >= 0 (2.0 in the paper).
        alpha: per-class weights: ``None`` (all 1), one float for every class, or one
            float per class (e.g. the values of `dermnet.imbalance.class_weights`).
        from_logits: ``y_pred`` are logits rather than probabilities.
        reduction: Keras reduction (``"sum_over_batch_size"``, ``"sum"``, ``None``, ...).
        name: the loss name (default ``"categorical_focal_loss"``).

    Examples:
        >>> import numpy as np
        >>> loss = CategoricalFocalLoss(gamma=0.0)
        >>> float(loss(np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]]))) == float(
        ...     keras.losses.SparseCategoricalCrossentropy()(
        ...         np.array([0, 1]), np.array([[0.8, 0.2], [0.4, 0.6]])))
        True
    """

    default_name = "categorical_focal_loss"

    def _alpha_vector(self, k: int) -> Any:
        if self.alpha is None:
            return None
        if isinstance(self.alpha, float):
            return ops.full((k,), self.alpha, dtype=self.dtype)
        if len(self.alpha) != k:
            raise ParameterError(
                f"The 'alpha' parameter of {type(self).__name__} has {len(self.alpha)} "
                f"values but the model predicts {k} classes; give one per class."
            )
        return ops.convert_to_tensor(np.asarray(self.alpha), dtype=self.dtype)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample focal loss, shape ``(batch,)``."""
        y_true = _as_one_hot(y_true, y_pred)
        log_p = _log_probabilities(y_pred, self.from_logits)
        terms = -y_true * log_p
        if self.gamma:
            terms = terms * ops.power(1.0 - ops.exp(log_p), self.gamma)
        alpha = self._alpha_vector(y_pred.shape[-1])
        if alpha is not None:
            terms = terms * alpha
        return ops.sum(terms, axis=-1)


@keras.saving.register_keras_serializable(package="dermnet")
class BinaryFocalLoss(_FocalLoss):
    """Focal loss for binary (or multi-label, one sigmoid per label) outputs.

    ``FL = - alpha_t * (1 - p_t) ** gamma * log(p_t)`` with ``p_t`` the predicted
    probability of the true label. ``gamma=0`` with ``alpha=None`` is exactly the binary
    cross-entropy. Labels may be soft (label smoothing).

    Args:
        gamma: the focusing parameter, >= 0.
        alpha: ``None`` (no weighting), a float ``a`` in [0, 1] (positives weigh ``a``,
            negatives ``1 - a``; the paper uses 0.25), or a pair ``(negative, positive)``
            of weights >= 0, e.g. from `dermnet.imbalance.class_weights`.
        from_logits: ``y_pred`` are logits rather than probabilities.
        reduction: Keras reduction.
        name: the loss name (default ``"binary_focal_loss"``).

    Examples:
        >>> import numpy as np
        >>> y, p = np.array([[1.0], [0.0]]), np.array([[0.9], [0.3]])
        >>> bool(np.isclose(float(BinaryFocalLoss(gamma=0.0)(y, p)),
        ...                 float(keras.losses.BinaryCrossentropy()(y, p))))
        True
    """

    default_name = "binary_focal_loss"
    binary_alpha = True

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Per-sample focal loss (mean over the last axis), shape ``(batch,)``."""
        if len(y_pred.shape) == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        y_true = ops.reshape(ops.cast(y_true, y_pred.dtype), ops.shape(y_pred))
        if self.from_logits:
            log_p = -ops.softplus(-y_pred)
            log_q = -ops.softplus(y_pred)
            p = ops.sigmoid(y_pred)
        else:
            p = ops.clip(y_pred, _EPSILON, 1.0 - _EPSILON)
            log_p, log_q = ops.log(p), ops.log(1.0 - p)
        terms = -(y_true * log_p + (1.0 - y_true) * log_q)
        if self.gamma:
            p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
            terms = terms * ops.power(1.0 - p_t, self.gamma)
        if self.alpha is not None:
            negative, positive = (
                (1.0 - self.alpha, self.alpha) if isinstance(self.alpha, float) else self.alpha
            )
            terms = terms * (y_true * positive + (1.0 - y_true) * negative)
        return ops.mean(terms, axis=-1)


def class_balanced_weights(samples_per_class: Sequence[int], beta: float) -> np.ndarray:
    """Per-class weights ``(1 - beta) / (1 - beta**n_c)``, scaled to sum to the class count.

    The weighting of Cui et al., "Class-Balanced Loss Based on Effective Number of
    Samples" (CVPR 2019).

    Examples:
        >>> class_balanced_weights([100, 10], 0.9).round(3).tolist()
        [0.789, 1.211]
    """
    counts = np.asarray(samples_per_class, dtype=np.float64)
    weights = 1.0 / effective_number(counts, beta)
    return weights * len(counts) / weights.sum()


@keras.saving.register_keras_serializable(package="dermnet")
class ClassBalancedLoss(CategoricalFocalLoss):
    """Class-balanced loss (Cui et al., CVPR 2019): focal or cross-entropy loss weighted by
    the inverse effective number of samples of the true class.

    Class ``c`` with ``n_c`` training images gets the weight ``(1 - beta) / (1 - beta**n_c)``,
    scaled so the weights sum to the number of classes. ``beta=0`` gives no reweighting;
    ``beta`` near 1 approaches inverse class frequency. ``gamma=0`` (the default) weights
    the softmax cross-entropy; ``gamma > 0`` weights the focal loss.

    Args:
        samples_per_class: training images per class, in class order (e.g.
            ``list(train.class_counts().values())``); every class needs at least one.
        beta: in [0, 1); the paper uses 0.9, 0.99, 0.999 or 0.9999 (larger for larger
            datasets).
        gamma: focusing parameter, >= 0.
        from_logits: ``y_pred`` are logits rather than probabilities.
        reduction: Keras reduction.
        name: the loss name.

    Examples:
        >>> loss = ClassBalancedLoss([90, 10], beta=0.99)
        >>> [round(a, 3) for a in loss.alpha]
        [0.277, 1.723]
    """

    def __init__(
        self,
        samples_per_class: Sequence[int],
        beta: float = 0.999,
        gamma: float = 0.0,
        from_logits: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str = "class_balanced_loss",
    ) -> None:
        where = "ClassBalancedLoss"
        counts = np.asarray(samples_per_class)
        if (
            counts.ndim != 1
            or counts.size < 2
            or not np.issubdtype(counts.dtype, np.integer)
            or counts.min() < 1
        ):
            raise fail(
                "samples_per_class",
                where,
                "a sequence of at least 2 ints >= 1 (training images per class)",
                samples_per_class,
            )
        beta = check_float(beta, "beta", where, low=0.0, high=1.0, high_open=True)
        alpha = class_balanced_weights(counts, beta).tolist()
        super().__init__(
            gamma=gamma, alpha=alpha, from_logits=from_logits, reduction=reduction, name=name
        )
        self.samples_per_class = [int(c) for c in counts]
        self.beta = beta

    def get_config(self) -> dict[str, Any]:
        """Every ``__init__`` argument, under its own name."""
        config = super().get_config()
        del config["alpha"]  # derived from samples_per_class and beta
        config.update(samples_per_class=self.samples_per_class, beta=self.beta)
        return config
