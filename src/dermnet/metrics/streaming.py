"""Streaming Keras metrics for training on imbalanced data: balanced accuracy, macro AUC.

Keras' built-in ``accuracy`` rewards predicting the majority class; these two metrics do
not. Both accumulate sufficient statistics over batches (a confusion matrix; per-class
score histograms), so the epoch value is exact for the whole epoch, not a mean of batch
values. Both accept integer labels (``(batch,)`` or ``(batch, 1)``, what
`dermnet.data.make_dataset` yields) or one-hot labels, and softmax outputs (or a
single sigmoid output for binary tasks).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from dermnet._core.validation import check_bool, check_int

__all__ = ["BalancedAccuracy", "MacroAUC"]


def _probabilities(y_pred: Any, num_classes: int, from_logits: bool) -> Any:
    """Class probabilities ``(batch, num_classes)``; a single sigmoid column is expanded.

    The backend-ops twin of `dermnet._core.protocols.two_class_scores` (that one is NumPy;
    this one runs inside the compiled metric update, on tensors).
    """
    y_pred = ops.cast(y_pred, "float32")
    if len(y_pred.shape) == 1:
        y_pred = ops.expand_dims(y_pred, -1)
    if y_pred.shape[-1] == 1 and num_classes == 2:
        p = ops.sigmoid(y_pred) if from_logits else y_pred
        return ops.concatenate([1.0 - p, p], axis=-1)
    return ops.softmax(y_pred, axis=-1) if from_logits else y_pred


def _true_one_hot(y_true: Any, num_classes: int) -> Any:
    rank = len(y_true.shape)
    if rank >= 2 and y_true.shape[-1] == num_classes and num_classes > 1:
        return ops.cast(ops.one_hot(ops.argmax(y_true, axis=-1), num_classes), "float32")
    y_true = ops.reshape(y_true, (-1,))
    return ops.one_hot(ops.cast(y_true, "int32"), num_classes, dtype="float32")


def _weights(sample_weight: Any, like: Any) -> Any:
    if sample_weight is None:
        return ops.ones_like(like[:, 0])
    return ops.reshape(ops.cast(sample_weight, "float32"), (-1,))


@keras.saving.register_keras_serializable(package="dermnet")
class BalancedAccuracy(keras.metrics.Metric):
    """Balanced accuracy (mean per-class recall) over all batches seen, for ``compile``.

    The ISIC challenge metric. It accumulates the confusion matrix over the epoch and
    averages the recall over the classes seen so far; it equals
    ``sklearn.metrics.balanced_accuracy_score`` on the same predictions. Sample weights
    (including Keras' ``class_weight``) weight the confusion matrix; per-class recall, and
    so balanced accuracy, is unchanged by class weights.

    Args:
        num_classes: number of classes, >= 2.
        from_logits: the model outputs logits (matters only for one sigmoid output).
        name: the metric name (the key in the training history).
        dtype: the result dtype.

    Examples:
        >>> import numpy as np
        >>> metric = BalancedAccuracy(num_classes=2)
        >>> metric.update_state(np.array([0, 0, 0, 1]), np.array([[.9, .1]] * 3 + [[.6, .4]]))
        >>> float(metric.result())
        0.5
    """

    def __init__(
        self,
        num_classes: int,
        from_logits: bool = False,
        name: str = "balanced_accuracy",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int(num_classes, "num_classes", "BalancedAccuracy", low=2)
        self.from_logits = check_bool(from_logits, "from_logits", "BalancedAccuracy")
        k = self.num_classes
        self.confusion = self.add_variable(
            shape=(k, k), initializer="zeros", dtype="float32", name="confusion"
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch to the confusion matrix."""
        k = self.num_classes
        probs = _probabilities(y_pred, k, self.from_logits)
        truth = _true_one_hot(y_true, k)
        predicted = ops.one_hot(ops.argmax(probs, axis=-1), k, dtype="float32")
        weights = _weights(sample_weight, truth)
        self.confusion.assign_add(ops.matmul(ops.transpose(truth * weights[:, None]), predicted))

    def result(self) -> Any:
        """Mean recall over the classes with at least one sample so far (0 before any)."""
        support = ops.sum(self.confusion, axis=1)
        hits = ops.diagonal(self.confusion)
        present = ops.cast(support > 0, "float32")
        recall = hits / ops.maximum(support, 1e-12)
        value = ops.sum(recall * present) / ops.maximum(ops.sum(present), 1.0)
        return ops.cast(value, self.dtype)

    def reset_state(self) -> None:
        """Forget every batch."""
        self.confusion.assign(ops.zeros_like(self.confusion))

    def get_config(self) -> dict[str, Any]:
        """Every ``__init__`` argument, under its own name."""
        config = super().get_config()
        config.update(num_classes=self.num_classes, from_logits=self.from_logits)
        return config


@keras.saving.register_keras_serializable(package="dermnet")
class MacroAUC(keras.metrics.Metric):
    """Macro-averaged one-vs-rest ROC AUC over all batches seen, for ``compile``.

    For each class it accumulates histograms of the predicted probability of positives
    and negatives (``num_bins`` equal-width bins on [0, 1]) and computes the AUC from
    them, counting pairs in the same bin as half (the Mann-Whitney statistic with the
    scores rounded to their bin). The result is the mean over the classes that have both
    positives and negatives so far, like `dermnet.metrics.evaluate`'s ``macro_auc``;
    it approaches scikit-learn's exact value as ``num_bins`` grows (within about 0.005 at
    the default 200 on smooth scores). Unlike ``keras.metrics.AUC(multi_label=True)``, a
    class absent from the data so far does not drag the mean down.

    Args:
        num_classes: number of classes, >= 2.
        num_bins: histogram bins, >= 10.
        from_logits: the model outputs logits (a softmax or sigmoid is applied).
        name: the metric name.
        dtype: the result dtype.

    Examples:
        >>> import numpy as np
        >>> metric = MacroAUC(num_classes=2)
        >>> metric.update_state(np.array([0, 0, 1, 1]),
        ...                     np.array([[.9, .1], [.6, .4], [.65, .35], [.2, .8]]))
        >>> round(float(metric.result()), 2)
        0.75
    """

    def __init__(
        self,
        num_classes: int,
        num_bins: int = 200,
        from_logits: bool = False,
        name: str = "macro_auc",
        dtype: Any = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int(num_classes, "num_classes", "MacroAUC", low=2)
        self.num_bins = check_int(num_bins, "num_bins", "MacroAUC", low=10)
        self.from_logits = check_bool(from_logits, "from_logits", "MacroAUC")
        shape = (self.num_classes, self.num_bins)
        self.positives = self.add_variable(
            shape=shape, initializer="zeros", dtype="float32", name="positives"
        )
        self.negatives = self.add_variable(
            shape=shape, initializer="zeros", dtype="float32", name="negatives"
        )

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch to the per-class histograms."""
        k, b = self.num_classes, self.num_bins
        probs = _probabilities(y_pred, k, self.from_logits)
        truth = _true_one_hot(y_true, k)
        weights = _weights(sample_weight, truth)[:, None]
        bins = ops.clip(ops.cast(ops.floor(probs * b), "int32"), 0, b - 1)
        hot = ops.one_hot(bins, b, dtype="float32")  # (batch, classes, bins)
        self.positives.assign_add(ops.sum(hot * (truth * weights)[:, :, None], axis=0))
        self.negatives.assign_add(ops.sum(hot * ((1.0 - truth) * weights)[:, :, None], axis=0))

    def result(self) -> Any:
        """Mean AUC over the classes with positives and negatives so far (0 before any)."""
        pos, neg = self.positives, self.negatives
        below = ops.cumsum(neg, axis=1) - neg
        n_pos, n_neg = ops.sum(pos, axis=1), ops.sum(neg, axis=1)
        wins = ops.sum(pos * (below + 0.5 * neg), axis=1)
        defined = ops.cast((n_pos > 0) & (n_neg > 0), "float32")
        auc = wins / ops.maximum(n_pos * n_neg, 1e-12)
        value = ops.sum(auc * defined) / ops.maximum(ops.sum(defined), 1.0)
        return ops.cast(value, self.dtype)

    def reset_state(self) -> None:
        """Forget every batch."""
        self.positives.assign(ops.zeros_like(self.positives))
        self.negatives.assign(ops.zeros_like(self.negatives))

    def get_config(self) -> dict[str, Any]:
        """Every ``__init__`` argument, under its own name."""
        config = super().get_config()
        config.update(
            num_classes=self.num_classes, num_bins=self.num_bins, from_logits=self.from_logits
        )
        return config
