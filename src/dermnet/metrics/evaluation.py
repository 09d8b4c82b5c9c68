"""Evaluate a Keras model on a dataset: one pass, labels and predictions kept together."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.validation import check_int, check_option, fail

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from dermnet.metrics.evaluation_report import EvaluationReport

__all__ = ["collect_predictions", "evaluate_model"]

_ACTIVATIONS = ("softmax", "sigmoid")


def _labels(y: np.ndarray, where: str) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot (or smoothed) labels
        return y.argmax(axis=1).astype(np.int64)
    y = y.reshape(-1) if y.ndim == 2 else y
    if y.ndim != 1:
        raise fail("dataset", where, "labels of shape (batch,) or (batch, classes)", y.shape)
    integral = np.issubdtype(y.dtype, np.integer) or (
        np.all(np.isfinite(y)) and np.all(y == np.round(y))
    )
    if not integral:
        raise DataError(f"{where}: the dataset's labels are not class indices: {y[:5]}.")
    return y.astype(np.int64)


def _activate(out: np.ndarray, activation: str | None) -> np.ndarray:
    if activation == "softmax":
        z = out - out.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-out))
    return out


def collect_predictions(
    model: keras.Model,
    dataset: tf.data.Dataset | Iterable[Any],
    *,
    activation: str | None = None,
    output: str | int | None = None,
    max_batches: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over ``dataset`` once and return the labels and the scores together.

    Labels and predictions come from the *same* pass over the data, so a shuffled dataset
    cannot misalign them (reading the labels in a second pass over a shuffling dataset is
    a classic silent bug).

    Args:
        model: a Keras model (any inputs, e.g. ``{"image", "metadata"}`` dicts).
        dataset: a ``tf.data.Dataset`` (or any iterable) of ``(x, y)`` or
            ``(x, y, sample_weight)`` batches; ``y`` int labels ``(batch,)`` /
            ``(batch, 1)`` or one-hot ``(batch, classes)``.
        activation: ``None`` (the model outputs probabilities, the dermnet default),
            ``"softmax"`` or ``"sigmoid"`` to turn logits into probabilities.
        output: for a model with several outputs, the name or index of the class output.
        max_batches: stop after this many batches (for a quick look; default: all).

    Returns:
        ``(y_true, y_score)``: int labels ``(n,)`` and scores ``(n, classes)``, or ``(n,)``
        for a single sigmoid output.

    Raises:
        ParameterError: an endless dataset, batches that are not ``(x, y)`` pairs.
    """
    import tensorflow as tf

    where = "collect_predictions"
    if activation is not None:
        activation = check_option(activation, _ACTIVATIONS, "activation", where)
    max_batches = check_int(max_batches, "max_batches", where, low=1, allow_none=True)
    if not hasattr(model, "predict_on_batch"):
        raise fail("model", where, "a keras.Model", type(model).__name__)
    if isinstance(dataset, tf.data.Dataset):
        if dataset.cardinality() == tf.data.INFINITE_CARDINALITY and max_batches is None:
            raise fail(
                "dataset", where, "a finite dataset (add .take(n) or pass max_batches)", "endless"
            )
    elif not isinstance(dataset, Iterable):
        raise fail("dataset", where, "a tf.data.Dataset or an iterable of (x, y)", dataset)
    labels, scores = [], []
    for i, batch in enumerate(dataset):
        if max_batches is not None and i >= max_batches:
            break
        if not isinstance(batch, (tuple, list)) or len(batch) not in (2, 3):
            raise fail(
                "dataset", where, "batches of (x, y) or (x, y, sample_weight)", type(batch).__name__
            )
        x, y = batch[0], batch[1]
        out = model.predict_on_batch(x)
        if isinstance(out, dict):
            if output is None:
                raise fail("output", where, f"one of the model's outputs {sorted(out)}", None)
            out = out[output]
        elif isinstance(out, (list, tuple)):
            if output is None:
                raise fail("output", where, f"an index < {len(out)} (several outputs)", None)
            out = out[output]
        out = np.asarray(out, dtype=np.float64)
        y = np.asarray(y)
        if len(out) != len(y):
            raise DataError(f"{where}: batch {i} has {len(y)} labels but {len(out)} predictions.")
        labels.append(_labels(y, where))
        scores.append(out)
    if not labels:
        raise DataError(f"{where}: the dataset yielded no batches.")
    y_score = _activate(np.concatenate(scores), activation)
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    return np.concatenate(labels), y_score


def evaluate_model(
    model: keras.Model,
    dataset: Any,
    class_names: Sequence[str] | None = None,
    *,
    activation: str | None = None,
    output: str | int | None = None,
    **options: Any,
) -> EvaluationReport:
    """Evaluate a Keras classifier on a dataset of ``(x, y)`` batches.

    Runs `collect_predictions` (one pass: labels and scores together) and
    `evaluate`.

    Args:
        model: the classifier.
        dataset: batches of ``(x, y)``; ``x`` may be a dict such as
            ``{"image", "metadata"}``; ``y`` int labels or one-hot.
        class_names: the class names (e.g. ``records.classes``).
        activation: ``"softmax"``/``"sigmoid"`` if the model outputs logits.
        output: the class output of a multi-output model.
        **options: passed to `evaluate` (``positive_class``,
            ``specificities``, ``n_bootstrap``, ``seed``, ``model_card``, ...).

    Returns:
        The `EvaluationReport`, holding the predictions for its
        figures.
    """
    from dermnet.metrics.classification import evaluate

    y_true, y_score = collect_predictions(model, dataset, activation=activation, output=output)
    return evaluate(y_true, y_score, class_names, **options)
