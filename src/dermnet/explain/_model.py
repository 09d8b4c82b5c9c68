"""Private helpers shared by the explainers: model inputs, class scores, batched forward passes.

Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_option, fail

SCORES = ("logit", "probability")
#: How far float images may stray outside [0, 255] (resampling overshoot, rounding).
PIXEL_TOLERANCE = 0.5
_SQUASHES = ("softmax", "sigmoid")


# -- inputs ---------------------------------------------------------------------------------
class ModelInputs:
    """Which input of a Keras model is the image, and how to feed it with the other inputs.

    A plain classifier has one 4-D input. An image+metadata model has a dict (or list) of
    inputs; the image is the one named ``"image"``, else the only 4-D input. The other
    inputs (metadata) are passed through unchanged and are never perturbed.
    """

    def __init__(self, model: Any, where: str) -> None:
        self.where = where
        struct = getattr(model, "input", None)
        if struct is None:
            raise fail("model", where, "a built Keras model with known inputs", model)
        if isinstance(struct, Mapping):
            self.kind = "dict"
            self.keys = [str(k) for k in struct]
            tensors = [struct[k] for k in struct]
        elif isinstance(struct, (list, tuple)):
            self.kind = "list"
            tensors = list(struct)
            self.keys = [str(getattr(t, "name", i)) for i, t in enumerate(tensors)]
        else:
            self.kind = "single"
            tensors = [struct]
            self.keys = [str(getattr(struct, "name", "image"))]
        self.shapes = {k: tuple(t.shape) for k, t in zip(self.keys, tensors, strict=True)}
        rank4 = [k for k in self.keys if len(self.shapes[k]) == 4]
        if "image" in self.shapes and len(self.shapes["image"]) == 4:
            self.image_key = "image"
        elif len(rank4) == 1:
            self.image_key = rank4[0]
        else:
            raise fail(
                "model",
                where,
                "a model with one image input of shape (batch, height, width, channels) "
                "(named 'image' when it has several 4-D inputs)",
                f"inputs {self.shapes}",
            )
        self.image_shape: tuple[Any, ...] = self.shapes[self.image_key][1:]
        self.extra_keys = [k for k in self.keys if k != self.image_key]

    def split(
        self, inputs: Any, where: str | None = None
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Validate user inputs; return float32 images ``(n, h, w, c)`` and the other inputs."""
        where = where or self.where
        extras: dict[str, np.ndarray] = {}
        if isinstance(inputs, Mapping):
            if self.image_key not in inputs:
                raise fail(
                    "images",
                    where,
                    f"a dict with the key {self.image_key!r} (the image input)",
                    f"keys {sorted(map(str, inputs))}",
                )
            images = check_images(inputs[self.image_key], self.image_shape, where)
            missing = [k for k in self.extra_keys if k not in inputs]
            if missing:
                raise fail(
                    "images",
                    where,
                    f"a dict holding every model input {self.keys}",
                    f"no {missing}",
                )
            for key in self.extra_keys:
                value = np.asarray(inputs[key])
                if value.ndim == len(self.shapes[key]) - 1:
                    value = value[None]
                if len(value) != len(images):
                    raise fail(
                        "images",
                        where,
                        f"as many rows in {key!r} as images ({len(images)})",
                        f"{len(value)} rows",
                    )
                extras[key] = value.astype(np.float32)
        else:
            if self.extra_keys:
                raise fail(
                    "images",
                    where,
                    f"a dict {{{', '.join(repr(k) for k in self.keys)}}} for this "
                    "image+metadata model",
                    f"a {type(inputs).__name__}",
                )
            images = check_images(inputs, self.image_shape, where)
        return images, extras

    def feed(self, images: Any, extras: Mapping[str, Any]) -> Any:
        """The model's input structure built from an image batch and the other inputs."""
        if self.kind == "single":
            return images
        values = {self.image_key: images, **extras}
        if self.kind == "dict":
            return values
        return [values[k] for k in self.keys]


def check_images(images: Any, expected: Sequence[Any] | None, where: str) -> np.ndarray:
    """Images as float32 ``(n, h, w, c)`` in [0, 255].

    Clear errors for a wrong shape or dtype, and for float values outside [0, 255] (by
    more than `PIXEL_TOLERANCE`) or not finite; a warning for images that look scaled to
    [0, 1].
    """
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise fail(
            "images",
            where,
            "an array of shape (batch, height, width, channels) or one (height, width, "
            "channels) image",
            f"shape {array.shape}",
        )
    if array.dtype == np.bool_ or not (
        array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)
    ):
        raise fail("images", where, "uint8 or float images in [0, 255]", f"dtype {array.dtype}")
    if len(array) == 0:
        raise fail("images", where, "at least one image", "an empty batch")
    if expected is not None:
        want = tuple(expected)
        got = tuple(array.shape[1:])
        if len(want) == 3 and any(
            w is not None and int(w) != g for w, g in zip(want, got, strict=True)
        ):
            shown = tuple(None if w is None else int(w) for w in want)
            raise fail(
                "images", where, f"images of shape {shown} (the model's input)", f"shape {got}"
            )
    out = array.astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        if not np.all(np.isfinite(out)):
            raise fail("images", where, "finite values in [0, 255]", "NaN or infinite values")
        low, peak = float(out.min()), float(out.max())
        if low < -PIXEL_TOLERANCE or peak > 255.0 + PIXEL_TOLERANCE:
            raise ParameterError(
                f"The 'images' parameter of {where} must be float images with values in "
                f"[0, 255] (dermnet models preprocess inside the model). Got values in "
                f"[{low:.4g}, {peak:.4g}] instead; rescale the images to [0, 255] (for "
                "example undo a normalization, or multiply [0, 1] images by 255)."
            )
        if 0.0 < peak <= 1.0:
            warnings.warn(
                f"{where}: the images look scaled to [0, 1] (max {peak:.3g}); dermnet models "
                "take images in [0, 255] and preprocess them inside the model.",
                UserWarning,
                stacklevel=3,
            )
    return out


# -- class scores ---------------------------------------------------------------------------
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


@contextlib.contextmanager
def capture_output(layer: Any, store: dict[str, Any]) -> Iterator[None]:
    """Record ``layer``'s output during a forward pass (works at any nesting depth).

    Re-wiring a nested backbone's inner layer into a new functional model fails with
    "Graph disconnected"; recording the tensor while the whole model runs does not.
    """
    own = layer.__dict__.get("call")  # an instance-level call, if the layer had one
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        store["features"] = out
        return out

    layer.call = call
    try:
        yield
    finally:
        if own is None:
            del layer.call  # back to the class's method
        else:
            layer.call = own


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


class _RetracingFilter:
    """Drops TensorFlow's "triggered tf.function retracing" warning for dermnet's functions.

    Each explainer compiles its own small functions (one per model and setting), which TF
    counts as retracing of "the same" function; the warning would only alarm users.
    """

    def filter(self, record: Any) -> bool:
        message = record.getMessage()
        ours = ("_compiled", "_features_fn", "_scores_fn")
        return not (
            "triggered tf.function retracing" in message and any(o in message for o in ours)
        )


_FILTER_INSTALLED = False


def quiet_retracing() -> None:
    """Install `_RetracingFilter` on TensorFlow's logger (once)."""
    global _FILTER_INSTALLED
    if not _FILTER_INSTALLED:
        import tensorflow as tf

        tf.get_logger().addFilter(_RetracingFilter())
        _FILTER_INSTALLED = True


class Predictor:
    """A compiled, batched forward pass: ``predict(images, extras) -> scores``.

    Used by LIME, SHAP, Score-CAM and the faithfulness curves: one ``tf.function`` per
    model, called on fixed-size batches (the last batch is padded) so it is traced once.
    """

    def __init__(
        self, model: Any, *, batch_size: int = 64, score: str = "probability", where: str = ""
    ) -> None:
        self.model = model
        self.inputs = ModelInputs(model, where)
        self.batch_size = batch_size
        self.score = check_option(score, SCORES, "score", where)
        self.k = num_outputs(model, where)
        self._fn: Any = None
        self.removed_: str | None = None
        #: Images scored so far (padding excluded): the number of model evaluations.
        self.images_seen_ = 0

    def _compiled(self) -> Any:
        import tensorflow as tf

        if self._fn is None:
            quiet_retracing()
            model, inputs, use_logits = self.model, self.inputs, self.score == "logit"

            def forward(images: Any, extras: dict[str, Any]) -> Any:
                with logits_mode(model, use_logits) as removed:
                    self.removed_ = removed
                    return model(inputs.feed(images, extras), training=False)

            self._fn = tf.function(forward, reduce_retracing=True)
        return self._fn

    def __call__(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None) -> Any:
        """Scores ``(n, k)`` float32 for float32 images ``(n, h, w, c)``; extras row-aligned."""
        fn = self._compiled()
        extras = dict(extras or {})
        n = len(images)
        self.images_seen_ += n
        out = np.empty((n, self.k), np.float32)
        b = self.batch_size
        for start in range(0, n, b):
            stop = min(start + b, n)
            chunk = np.asarray(images[start:stop], np.float32)
            ex = {k: np.asarray(v[start:stop], np.float32) for k, v in extras.items()}
            m = len(chunk)
            size = _bucket(m, b)
            if size > m:  # pad to a few fixed sizes: the function is traced a few times only
                pad = size - m
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)])
                ex = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in ex.items()}
            out[start:stop] = np.asarray(fn(chunk, ex))[:m]
        return out


def _bucket(m: int, b: int) -> int:
    """The padded batch size for ``m`` images: the next power of two, at most ``b``."""
    size = 1
    while size < m:
        size *= 2
    return min(size, b) if m <= b else m


_PREDICTORS: Any = None


def predictor(
    model: Any, *, batch_size: int = 64, score: str = "probability", where: str = ""
) -> Predictor:
    """A cached `Predictor` for ``model`` (one compiled function per model and setting)."""
    import weakref

    global _PREDICTORS
    if _PREDICTORS is None:
        _PREDICTORS = weakref.WeakKeyDictionary()
    try:
        cache = _PREDICTORS.setdefault(model, {})
    except TypeError:  # not weak-referenceable: no caching
        return Predictor(model, batch_size=batch_size, score=score, where=where)
    key = (batch_size, score)
    if key not in cache:
        cache[key] = Predictor(model, batch_size=batch_size, score=score, where=where)
    return cache[key]


def repeat_extras(extras: Mapping[str, np.ndarray], index: int, n: int) -> dict[str, np.ndarray]:
    """Row ``index`` of every extra input, repeated ``n`` times."""
    return {k: np.repeat(v[index : index + 1], n, axis=0) for k, v in extras.items()}


def normalize_positive(maps: np.ndarray) -> np.ndarray:
    """Keep the positive part and scale each map to peak 1 (all-zero maps stay zero)."""
    maps = np.maximum(np.asarray(maps, np.float32), 0.0)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, *([1] * (maps.ndim - 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(peak > 0, maps / np.where(peak > 0, peak, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
