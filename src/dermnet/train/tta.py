"""Test-time augmentation: average a classifier's probabilities over flipped and rotated copies.

Skin lesions and cells have no "up": a dermoscopic image rotated by 90 degrees or mirrored
is as valid as the original, so averaging the predictions over the eight symmetries of the
square (the dihedral group) removes some of the model's orientation noise for free at
training time and at 8x the prediction cost.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.protocols import IMAGE_INPUT
from dermnet._core.validation import check_int, check_option

__all__ = ["TTA_TRANSFORMS", "CompiledForward", "compiled_forward", "predict_tta"]

#: The transform sets `predict_tta` knows, with the number of views each gives.
TTA_TRANSFORMS: dict[str, int] = {"none": 1, "flips": 4, "dihedral": 8}

_WHERE = "predict_tta"


class CompiledForward:
    """A model's inference pass, ``model(x, training=False)``, compiled once per input layout.

    `keras.Model.predict` builds a new data adapter on every call and retraces its
    predict function whenever the batch shape changes (the last, shorter batch of every
    call does), which dominates when a stream of small batches is scored. Here each input
    layout (the per-example shapes and dtypes, and the dict keys) is traced once into a
    ``tf.function`` with a ``None`` batch dimension and reused by every later call,
    whatever its batch size. Get the one of a model with `compiled_forward`.

    Attributes:
        traces: how many times a graph was traced (one per input layout).

    Examples:
        >>> import keras, numpy as np
        >>> inputs = keras.Input((4, 4, 1))
        >>> pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
        >>> forward = compiled_forward(model)
        >>> x = np.zeros((5, 4, 4, 1), "float32")
        >>> forward(x).shape, forward(x[:2]).shape, forward.traces
        ((5, 2), (2, 2), 1)
    """

    def __init__(self, model: Any) -> None:
        try:
            self._model = weakref.ref(model)  # the cache must not keep the model alive
        except TypeError:
            self._model = lambda: model
        self._functions: dict[Any, Any] = {}
        self._lock = threading.Lock()
        self.traces = 0

    def _function(self, key: Any, specs: Any) -> Any:
        import tensorflow as tf

        with self._lock:
            function = self._functions.get(key)
            if function is None:
                model_ref = self._model

                def forward(x: Any) -> Any:
                    self.traces += 1
                    model = model_ref()
                    if model is None:  # pragma: no cover - the caller holds the model
                        raise RuntimeError("the model of this CompiledForward was deleted")
                    return model(x, training=False)

                function = tf.function(forward, input_signature=[specs])
                self._functions[key] = function
            return function

    def __call__(self, inputs: np.ndarray | Mapping[str, np.ndarray]) -> np.ndarray:
        """The model's output for a batch (an array, or a dict of arrays), as numpy.

        An empty batch only traces the graph (a way to trace it before the first batch
        arrives) and returns an empty output of the model's output shape.
        """
        import tensorflow as tf

        def spec(array: np.ndarray) -> Any:
            return tf.TensorSpec([None, *array.shape[1:]], tf.as_dtype(array.dtype))

        if isinstance(inputs, Mapping):
            arrays = {k: np.asarray(v) for k, v in inputs.items()}
            key: Any = tuple((k, v.shape[1:], v.dtype.str) for k, v in sorted(arrays.items()))
            function = self._function(key, {k: spec(v) for k, v in arrays.items()})
            x: Any = {k: tf.convert_to_tensor(v) for k, v in arrays.items()}
        else:
            array = np.asarray(inputs)
            key = (array.shape[1:], array.dtype.str)
            function = self._function(key, spec(array))
            x = tf.convert_to_tensor(array)
        if not len(tf.nest.flatten(x)[0]):
            # traced, not run (oneDNN convolutions reject 0 rows); later batches reuse it
            output = function.get_concrete_function(x).structured_outputs
            return np.zeros((0, *tuple(output.shape[1:])), output.dtype.as_numpy_dtype)
        return np.asarray(function(x))


_FORWARDS: weakref.WeakKeyDictionary[Any, CompiledForward] = weakref.WeakKeyDictionary()
_FORWARDS_LOCK = threading.Lock()


def compiled_forward(model: Any) -> CompiledForward:
    """The `CompiledForward` of ``model``: made on the first call, the same one afterwards.

    Args:
        model: a Keras model.

    Returns:
        The model's `CompiledForward` (cached while the model lives).
    """
    with _FORWARDS_LOCK:
        try:
            forward = _FORWARDS.get(model)
            if forward is None:
                forward = _FORWARDS[model] = CompiledForward(model)
        except TypeError:  # not weak-referenceable: compiled, but not cached
            forward = CompiledForward(model)
        return forward


def _views(images: np.ndarray, transforms: str) -> list[np.ndarray]:
    """The transformed copies of a batch (N, H, W, C), identity first."""
    if transforms == "none":
        return [images]
    if transforms == "flips":
        return [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    out = []
    for k in range(4):
        rotated = np.rot90(images, k, axes=(1, 2))
        out += [rotated, rotated[:, :, ::-1]]
    return out


def _as_model_dtype(value: Any) -> np.ndarray:
    """Floating arrays in Keras' float type, as `keras.Model.predict` converts them."""
    array = np.asarray(value)
    if np.issubdtype(array.dtype, np.floating):
        import keras

        return array.astype(keras.backend.floatx(), copy=False)
    return array


def predict_tta(
    model: Any,
    inputs: np.ndarray | Mapping[str, np.ndarray],
    *,
    transforms: str = "dihedral",
    batch_size: int = 64,
) -> np.ndarray:
    """Predict with test-time augmentation: the mean of the model's outputs over the views.

    Args:
        model: a Keras classifier (e.g. from `dermnet.models.create_model`) whose
            output is probabilities (softmax or sigmoid).
        inputs: images ``(N, H, W, C)`` as the model takes them (dermnet models: float
            0-255), or a dict ``{"image": images, "metadata": vectors}`` for image+metadata
            models; only the images are transformed.
        transforms: ``"dihedral"`` (the 8 rotations by 90 degrees and their mirror images;
            square images only), ``"flips"`` (identity, horizontal, vertical, both) or
            ``"none"`` (plain prediction).
        batch_size: images per forward pass; all the views of these images go through
            the model together (``batch_size`` times the number of views rows), through
            the model's `compiled_forward` (traced once, whatever the batch sizes).

    Returns:
        float32 array with the model's output shape, e.g. ``(N, num_classes)``, averaged
        over the views.

    Raises:
        ParameterError: unknown ``transforms``, non-square images with ``"dihedral"``,
            inputs that are not a 4-D batch, or a dict without an ``"image"`` entry.

    Examples:
        >>> import keras, numpy as np
        >>> inputs = keras.Input((4, 4, 1))
        >>> pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
        >>> x = np.random.default_rng(0).random((3, 4, 4, 1)).astype("float32")
        >>> # global pooling is orientation-invariant, so the views all agree
        >>> bool(np.allclose(predict_tta(model, x), model.predict(x, verbose=0), atol=1e-6))
        True
    """
    check_option(transforms, TTA_TRANSFORMS, "transforms", _WHERE)
    check_int(batch_size, "batch_size", _WHERE, low=1)
    if isinstance(inputs, Mapping):
        if IMAGE_INPUT not in inputs:
            raise ParameterError(
                f"The 'inputs' parameter of {_WHERE} must be an image batch or a dict with an "
                f"{IMAGE_INPUT!r} entry. Got a dict with keys {sorted(inputs)} instead."
            )
        images = np.asarray(inputs[IMAGE_INPUT])
        others = {k: _as_model_dtype(v) for k, v in inputs.items() if k != IMAGE_INPUT}
    else:
        images, others = np.asarray(inputs), None
    if images.ndim != 4:
        raise ParameterError(
            f"The 'inputs' parameter of {_WHERE} must be a batch of images (N, H, W, C). "
            f"Got an array of shape {images.shape} instead."
        )
    if transforms == "dihedral" and images.shape[1] != images.shape[2]:
        raise ParameterError(
            f"The 'transforms' parameter of {_WHERE} can be 'dihedral' only for square "
            f"images (a 90-degree rotation changes the shape). Got images of "
            f"{images.shape[1]}x{images.shape[2]}; use transforms='flips'."
        )

    forward = compiled_forward(model)
    n = len(images)
    chunks = []
    for start in range(0, max(n, 1), batch_size):  # an empty batch gives an empty output
        part = images[start : start + batch_size]
        views = _views(part, transforms)
        stacked = np.concatenate([np.asarray(v, dtype="float32") for v in views])
        x: Any = stacked
        if others is not None:
            x = {IMAGE_INPUT: stacked}
            for key, value in others.items():
                x[key] = np.concatenate([value[start : start + batch_size]] * len(views))
        out = np.asarray(forward(x), dtype="float64")
        out = out.reshape(len(views), len(part), *out.shape[1:])
        total = out[0]
        for view in out[1:]:  # summed in the order of the views, as one at a time did
            total = total + view
        chunks.append((total / len(views)).astype("float32"))
    return np.concatenate(chunks)
