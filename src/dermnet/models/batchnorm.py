"""BatchNorm helpers: momentum, and re-estimating the moving statistics after training.

Why this matters: Keras' MobileNetV2/V3 use a BatchNorm momentum of 0.999, so the moving
mean and variance (what the model uses in inference mode) forget their initial values
with a time constant of about 1,000 steps. After a short training run from scratch they
still describe the random initial network, and in inference mode the model predicts one
class for every image even though it learned well (its training-mode predictions are
good). `dermnet.models.create_model` therefore sets a momentum suited to the run
(``bn_momentum="auto"``), and `recalibrate_batchnorm` re-estimates the statistics
of a trained model from data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from dermnet._core.validation import check_bool, check_float, check_int, fail

__all__ = ["batchnorm_layers", "recalibrate_batchnorm", "set_bn_momentum"]


def _sublayers(model: Any) -> Iterator[Any]:
    for layer in getattr(model, "layers", ()):
        yield layer
        if hasattr(layer, "layers"):
            yield from _sublayers(layer)


def batchnorm_layers(model: Any) -> list[Any]:
    """Every ``keras.layers.BatchNormalization`` in ``model``, nested models included."""
    import keras

    return [
        layer for layer in _sublayers(model) if isinstance(layer, keras.layers.BatchNormalization)
    ]


def set_bn_momentum(model: Any, momentum: float) -> int:
    """Set the momentum of every BatchNorm layer in ``model`` (before it is trained).

    The value is stored in each layer's config, so it survives ``.keras`` round trips.
    Call it before the first ``fit``/``compile``: a traced training step keeps the old
    value.

    Args:
        model: a Keras model (nested backbones included).
        momentum: the new momentum, in [0, 1). Keras updates
            ``moving = momentum * moving + (1 - momentum) * batch_statistic``.

    Returns:
        The number of BatchNorm layers changed.

    Examples:
        >>> from dermnet.models import create_model
        >>> model = create_model("mobilenet_v2", 2, input_shape=(32, 32, 3), bn_momentum=None)
        >>> {layer.momentum for layer in batchnorm_layers(model)}
        {0.999}
        >>> set_bn_momentum(model, 0.9)
        52
    """
    momentum = check_float(
        momentum, "momentum", "set_bn_momentum", low=0.0, high=1.0, high_open=True
    )
    layers = batchnorm_layers(model)
    for layer in layers:
        layer.momentum = momentum
    return len(layers)


def _batches(data: Any, batch_size: int) -> Iterable[Any]:
    """Model inputs from a ``tf.data.Dataset`` of ``(x, y)``/``x``, or an array of images."""
    if isinstance(data, np.ndarray):
        return (data[i : i + batch_size] for i in range(0, len(data), batch_size))
    if isinstance(data, dict):
        n = len(next(iter(data.values())))
        return (
            {k: v[i : i + batch_size] for k, v in data.items()} for i in range(0, n, batch_size)
        )
    if hasattr(data, "element_spec") or (
        hasattr(data, "__iter__") and not isinstance(data, (str, bytes))
    ):
        return (batch[0] if isinstance(batch, tuple) else batch for batch in data)
    raise fail(
        "data",
        "recalibrate_batchnorm",
        "a tf.data.Dataset of (inputs, labels) or inputs, or an array of images",
        type(data).__name__,
    )


def recalibrate_batchnorm(
    model: Any,
    data: Any,
    *,
    steps: int | None = 100,
    batch_size: int = 32,
    reset: bool = True,
) -> int:
    """Re-estimate the moving statistics of a trained model's BatchNorm layers from data.

    Runs forward passes in training mode (no weight update) and sets each trainable
    BatchNorm layer's moving mean and variance to the average of the batch statistics over
    the batches seen (PyTorch's ``torch.optim.swa_utils.update_bn`` does the same).
    Frozen BatchNorm layers (``trainable=False``, e.g. a frozen pretrained backbone) run
    in inference mode and keep their statistics. Use the training images without
    augmentation. Dropout layers are active during these passes; in models whose dropout
    sits inside the backbone (EfficientNet's stochastic depth), that adds a little noise.

    Args:
        model: a trained Keras model.
        data: a ``tf.data.Dataset`` yielding ``(inputs, labels)`` or ``inputs``, an array
            of images ``(n, h, w, 3)``, or a dict of arrays for image+metadata models.
        steps: at most this many batches (``None``: all of ``data``).
        batch_size: batch size when ``data`` is an array.
        reset: start from zero instead of mixing in the old statistics.

    Returns:
        The number of batches used.

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("compact_cnn", 2, input_shape=(16, 16, 3))
        >>> images = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
        >>> recalibrate_batchnorm(model, images, batch_size=4)
        2
    """
    where = "recalibrate_batchnorm"
    steps = check_int(steps, "steps", where, low=1, allow_none=True)
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    reset = check_bool(reset, "reset", where)
    layers = [layer for layer in batchnorm_layers(model) if layer.trainable]
    if not layers:
        return 0
    import tensorflow as tf

    saved = [layer.momentum for layer in layers]
    means = [np.zeros(layer.moving_mean.shape, np.float64) for layer in layers]
    variances = [np.zeros(layer.moving_variance.shape, np.float64) for layer in layers]
    if not reset:  # the old statistics count as one batch
        means = [layer.moving_mean.numpy().astype(np.float64) for layer in layers]
        variances = [layer.moving_variance.numpy().astype(np.float64) for layer in layers]
    used = 0
    try:
        # With momentum 0 a training-mode pass leaves each layer's batch statistics in its
        # moving mean and variance; they are summed here and averaged at the end. The
        # pass is traced once (graph mode), so this costs about one forward pass per batch.
        for layer in layers:
            layer.momentum = 0.0
        forward = tf.function(lambda inputs: model(inputs, training=True), reduce_retracing=True)
        for batch in _batches(data, batch_size):
            if steps is not None and used >= steps:
                break
            forward(batch)
            for i, layer in enumerate(layers):
                means[i] += layer.moving_mean.numpy()
                variances[i] += layer.moving_variance.numpy()
            used += 1
    finally:
        for layer, value in zip(layers, saved, strict=True):
            layer.momentum = value
    count = used + (0 if reset else 1)
    if used:
        for i, layer in enumerate(layers):
            layer.moving_mean.assign((means[i] / count).astype("float32"))
            layer.moving_variance.assign((variances[i] / count).astype("float32"))
    if used == 0:
        raise fail("data", where, "a non-empty dataset or array", "no batches")
    return used
