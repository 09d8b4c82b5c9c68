"""The class score an explainer follows: logits or probabilities of the model's output
(`logits_mode` leaves out an output softmax or sigmoid), and the class of each image.

Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from dermnet._core.validation import fail

__all__ = ["SCORES", "check_classes", "logits_mode", "num_outputs", "output_layer", "squash"]

#: What an explainer may follow: the pre-softmax logit or the output probability.
SCORES = ("logit", "probability")
_SQUASHES = ("softmax", "sigmoid")


def output_layer(model: Any) -> Any | None:
    """The layer that produces the model's (first) output, descending into nested models."""
    layer = None
    outputs = getattr(model, "outputs", None)
    if outputs:
        history = getattr(outputs[0], "_keras_history", None)
        layer = getattr(history, "operation", None)
    if layer is None and getattr(model, "layers", None):
        layer = model.layers[-1]
    if layer is not None and layer is not model and hasattr(layer, "layers"):
        inner = output_layer(layer)
        return inner if inner is not None else layer
    return layer


def _squash_name(layer: Any) -> str | None:
    """'softmax' or 'sigmoid' when ``layer`` ends in that squashing function, else None."""
    import keras

    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None)
    return name if name in _SQUASHES else None


@contextlib.contextmanager
def logits_mode(model: Any, enabled: bool) -> Iterator[str | None]:
    """While active, the model returns pre-softmax (or pre-sigmoid) scores.

    Yields the name of the removed function (``None`` when nothing was removed, e.g. the
    model already outputs logits). Only the Python attributes of the output layer change,
    and they are restored on exit; use it while tracing a ``tf.function``.
    """
    import keras

    layer = output_layer(model) if enabled else None
    name = _squash_name(layer) if layer is not None else None
    if name is None:
        yield None
        return
    if isinstance(layer, (keras.layers.Softmax, keras.layers.Activation)):
        own = layer.__dict__.get("call")

        def identity(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            return inputs

        layer.call = identity
        try:
            yield name
        finally:
            if own is None:
                del layer.call
            else:
                layer.call = own
        return
    original = layer.activation
    layer.activation = keras.activations.linear
    try:
        yield name
    finally:
        layer.activation = original


def squash(scores: Any, name: str | None) -> Any:
    """Apply the removed output function again (probabilities from logits)."""
    import tensorflow as tf

    if name == "softmax":
        return tf.nn.softmax(scores, axis=-1)
    if name == "sigmoid":
        return tf.math.sigmoid(scores)
    return scores


def num_outputs(model: Any, where: str) -> int:
    shape = getattr(model, "output_shape", None)
    if not isinstance(shape, tuple) or len(shape) != 2 or shape[-1] is None:
        raise fail("model", where, "a classifier with one output of shape (batch, classes)", shape)
    return int(shape[-1])


def check_classes(class_index: Any, n: int, k: int, where: str) -> np.ndarray:
    """Class indices, one per image; ``-1`` marks "the predicted class"."""
    if class_index is None:
        return np.full(n, -1, np.int32)
    values = np.asarray(class_index)
    if values.dtype == np.bool_ or not np.issubdtype(values.dtype, np.integer):
        raise fail("class_index", where, "None, an int or one int per image", class_index)
    if values.ndim > 1 or (values.ndim == 1 and len(values) != n):
        raise fail("class_index", where, f"None, an int or {n} ints (one per image)", class_index)
    values = np.broadcast_to(values, (n,)).astype(np.int64)
    if values.min() < 0 or values.max() >= k:
        raise fail("class_index", where, f"class indices in [0, {k - 1}]", class_index)
    return values.astype(np.int32)
