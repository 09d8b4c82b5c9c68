"""The machinery the augmentation layers share, and their registry.

`dermnet.transforms.augment` defines the layers (registered for ``.keras`` files under
the ``dermnet`` package); this module holds what they have in common: the value-range
and parameter checks, `_Augmentation` (validation, seeding, rank 3 or 4 input, the
training flag, clipping), `_AffineBase` (one warp for rotation, zoom and shift),
`_ScaleAroundAnchor` (contrast and saturation), `_Mixing` (MixUp and CutMix), and the
`AUGMENTATIONS` registry. A layer's ``get_config`` is read from its constructors'
signatures (`constructor_config`), so a config cannot drift from ``__init__``.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry
from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail

__all__ = ["AUGMENTATIONS", "constructor_config", "list_augmentations"]

#: The augmentation layer registry: name -> Keras layer class (the built-in layers are
#: defined, and registered, in `dermnet.transforms.augment`).
AUGMENTATIONS: Registry[type[keras.layers.Layer]] = Registry(
    "augmentation", builtins=("dermnet.transforms.augment",)
)

_FILL_MODES = ("reflect", "constant", "nearest", "wrap", "mirror")
_INTERPOLATIONS = ("bilinear", "nearest")


def list_augmentations(pattern: str | None = None) -> list[str]:
    """Names of the registered augmentation layers.

    Examples:
        >>> list_augmentations("random_*")[:3]
        ['random_affine', 'random_brightness', 'random_contrast']
    """
    return AUGMENTATIONS.names(pattern)


def constructor_config(layer: keras.layers.Layer) -> dict[str, Any]:
    """The arguments of a dermnet layer's constructors, by name, JSON-ready.

    The names are read from the ``__init__`` signatures of the layer's classes (its own
    and its dermnet bases, down to ``keras.layers.Layer``; ``**kwargs`` left out) and the
    values from the attributes of the same names, as scikit-learn's ``get_params`` does:
    a layer keeps each argument under its own name. Tuples become lists.

    Examples:
        >>> from dermnet.transforms.augment import RandomZoom
        >>> constructor_config(RandomZoom(zoom_range=(0.8, 1.2), seed=1))["zoom_range"]
        [0.8, 1.2]
    """
    names: list[str] = []
    for cls in type(layer).__mro__:
        if cls is keras.layers.Layer:
            break
        init = cls.__dict__.get("__init__")
        if init is None:
            continue
        for param in list(inspect.signature(init).parameters.values())[1:]:
            variadic = param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD)
            if not variadic and param.name not in names:
                names.append(param.name)
    config = {name: getattr(layer, name) for name in names}
    return {k: list(v) if isinstance(v, tuple) else v for k, v in config.items()}


def _check_value_range(value: Any, where: str) -> tuple[float, float]:
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            ok = False
        else:
            ok = math.isfinite(low) and math.isfinite(high) and low < high
    if not ok:
        raise fail("value_range", where, "a (low, high) pair of finite numbers, low < high", value)
    return low, high


def _check_pair(value: Any, param: str, where: str, *, low: float) -> tuple[float, float]:
    must = f"a (min, max) pair of numbers >= {low}, min <= max"
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise fail(param, where, must, value)
    a = check_float(value[0], param, where, low=low)
    b = check_float(value[1], param, where, low=low)
    if a > b:
        raise fail(param, where, must, value)
    return a, b


def _per_image(images: Any, choice: Any, branches: Sequence[Any]) -> Any:
    """Each image of ``images`` through the branch its ``choice`` (int32, per image) picks.

    ``branches`` are functions of one image (``HxWxC``) or of a batch that keep its
    shape; a branch only moves pixels (flips, quarter turns). With TensorFlow, each image
    runs only its own branch (``map_fn`` over ``switch_case``): several times faster
    than computing every branch for the whole batch and selecting, which other backends
    do.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        def one(item: Any) -> Any:
            image, k = item
            return tf.switch_case(k, [lambda f=f: f(image) for f in branches])

        return tf.map_fn(one, (images, ops.cast(choice, "int32")), fn_output_signature=images.dtype)
    batched = [f(images) for f in branches]
    out = batched[0]
    k = ops.cast(choice, "int32")[:, None, None, None]
    for i, branch in enumerate(batched[1:], start=1):
        out = ops.where(k == i, branch, out)
    return out


def _one_move(image: Any, seed: Any, branches: Sequence[Any]) -> Any:
    """``image`` (one ``HxWxC``, any dtype) through the branch the stateless ``seed`` draws.

    Each branch has probability ``1 / len(branches)``; TensorFlow only (the per-image
    route of `dermnet.data.make_dataset`, which runs in ``tf.data``).
    """
    import tensorflow as tf

    k = tf.random.stateless_uniform([], seed, 0, len(branches), dtype=tf.int32)
    return tf.switch_case(k, [lambda f=f: f(image) for f in branches])


class _Augmentation(keras.layers.Layer):
    """Shared machinery: validation, seeding, rank 3/4 input, training flag, dtype."""

    #: Channel counts the layer needs (None: any).
    channels: tuple[int, ...] | None = None

    def __init__(
        self,
        *,
        value_range: Sequence[float] = (0.0, 255.0),
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = type(self).__name__
        self.value_range = _check_value_range(value_range, where)
        self.seed = check_seed(seed, "seed", where)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def call(self, inputs: Any, training: bool = True) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        rank = len(x.shape)
        where = type(self).__name__
        if rank not in (3, 4):
            raise ParameterError(
                f"The 'inputs' parameter of {where} must be an image (height, width, "
                f"channels) or a batch (batch, height, width, channels). Got shape "
                f"{tuple(x.shape)} instead."
            )
        known = x.shape[-1]
        if self.channels is not None and known is not None and known not in self.channels:
            raise ParameterError(
                f"The 'inputs' parameter of {where} must have "
                f"{' or '.join(map(str, self.channels))} channels. Got shape "
                f"{tuple(x.shape)} instead."
            )
        if not training:
            return x
        self._check_values(x)
        out = self.augment(x[None])[0] if rank == 3 else self.augment(x)
        return self._clip(out)

    def _check_values(self, x: Any) -> None:
        """Eager inputs only: values inside `value_range`, and not [0, 1] images in [0, 255].

        Inside a graph (``tf.data``, ``fit``) nothing can be checked without a cost on
        every batch; the outputs are clipped to `value_range` there as everywhere.
        """
        import tensorflow as tf

        if not tf.executing_eagerly() or not hasattr(x, "numpy"):
            return
        values = x.numpy()
        if values.size == 0:
            return
        where = type(self).__name__
        low, high = self.value_range
        found_low, found_high = float(values.min()), float(values.max())
        if not (math.isfinite(found_low) and math.isfinite(found_high)):
            raise ParameterError(
                f"The 'inputs' parameter of {where} must hold finite values. Got NaN or "
                "infinite values instead."
            )
        tolerance = 1e-3 * (high - low)
        if found_low < low - tolerance or found_high > high + tolerance:
            raise ParameterError(
                f"The 'inputs' parameter of {where} must hold values in its value_range "
                f"[{low:g}, {high:g}]. Got values in [{found_low:.4g}, {found_high:.4g}] "
                "instead; pass value_range=(low, high) matching the images (for example "
                "value_range=(0, 1) for images scaled to [0, 1])."
            )
        if low == 0.0 and high > 2.0 and 0.0 < found_high <= 1.0:
            warnings.warn(
                f"{where}: the images look scaled to [0, 1] (max {found_high:.3g}) but "
                f"value_range is ({low:g}, {high:g}); pass value_range=(0, 1), or the "
                f"changes are {high:g} times too strong for these images.",
                UserWarning,
                stacklevel=3,
            )

    def augment(self, images: Any) -> Any:
        """Augment a float batch ``NxHxWxC``."""
        raise NotImplementedError

    def _uniform(self, n: Any, low: float, high: float) -> Any:
        return keras.random.uniform(
            (n,), minval=low, maxval=high, dtype=self.compute_dtype, seed=self.seed_generator
        )

    def _clip(self, images: Any) -> Any:
        return ops.clip(images, self.value_range[0], self.value_range[1])

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **constructor_config(self)}


class _AffineBase(_Augmentation):
    """Rotation, zoom and translation drawn per image, applied as one warp."""

    def __init__(
        self,
        *,
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = type(self).__name__
        self.fill_mode = check_option(fill_mode, _FILL_MODES, "fill_mode", where)
        self.interpolation = check_option(interpolation, _INTERPOLATIONS, "interpolation", where)
        self.fill_value = check_float(fill_value, "fill_value", where)

    def _draw(self, n: Any) -> tuple[Any, Any, Any, Any]:
        """Per-image angle (radians), zoom, and shifts as fractions of width and height."""
        raise NotImplementedError

    def augment(self, images: Any) -> Any:
        n = ops.shape(images)[0]
        angle, zoom, shift_x, shift_y = self._draw(n)
        return self._warp(images, angle, zoom, shift_x, shift_y)

    def _warp(self, images: Any, angle: Any, zoom: Any, shift_x: Any, shift_y: Any) -> Any:
        """Rotate by ``angle`` (radians), zoom, and shift by fractions of the size."""
        shape = ops.shape(images)
        height = ops.cast(shape[1], self.compute_dtype)
        width = ops.cast(shape[2], self.compute_dtype)
        cos, sin = ops.cos(angle) / zoom, ops.sin(angle) / zoom
        cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
        # Output pixel (x, y) samples the input at A (p - c) + c - t, A = R(angle) / zoom.
        a2 = cx - cos * cx + sin * cy - shift_x * width
        b2 = cy - sin * cx - cos * cy - shift_y * height
        zeros = ops.zeros_like(cos)
        transform = ops.stack([cos, -sin, a2, sin, cos, b2, zeros, zeros], axis=1)
        out = ops.image.affine_transform(
            images,
            transform,
            interpolation=self.interpolation,
            fill_mode=self.fill_mode,
            fill_value=self.fill_value,
            data_format="channels_last",
        )
        return self._clip(out)


def _check_max_angle(value: Any, where: str) -> float:
    return check_float(value, "max_angle", where, low=0.0, high=180.0)


class _ScaleAroundAnchor(_Augmentation):
    """Scale each image's deviation from an anchor (`anchor`) by a factor in ``1 ± factor``."""

    def __init__(self, factor: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = check_float(factor, "factor", type(self).__name__, low=0.0, high=1.0)

    def anchor(self, images: Any) -> Any:
        """What the deviations are measured from, broadcastable to ``images``."""
        raise NotImplementedError

    def augment(self, images: Any) -> Any:
        f = self.factor
        scale = self._uniform(ops.shape(images)[0], 1.0 - f, 1.0 + f)[:, None, None, None]
        anchor = self.anchor(images)
        return self._clip(anchor + (images - anchor) * scale)


# -- batch mixing ----------------------------------------------------------------------------
class _Mixing(keras.layers.Layer):
    """Shared machinery of MixUp and CutMix: labels, partner permutation, validation."""

    def __init__(
        self,
        alpha: float,
        num_classes: int | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = type(self).__name__
        self.alpha = check_float(alpha, "alpha", where, low=0.0, low_open=True)
        self.num_classes = check_int(num_classes, "num_classes", where, low=2, allow_none=True)
        self.seed = check_seed(seed, "seed", where)
        self.seed_generator = keras.random.SeedGenerator(self.seed)

    def _labels(self, labels: Any) -> Any:
        where = type(self).__name__
        labels = ops.convert_to_tensor(labels)
        if len(labels.shape) == 1:
            if self.num_classes is None:
                raise ParameterError(
                    f"{where} got integer class labels of shape {tuple(labels.shape)}; pass "
                    f"num_classes=... to {where} or give one-hot labels (batch, classes)."
                )
            return ops.one_hot(ops.cast(labels, "int32"), self.num_classes)
        if len(labels.shape) != 2:
            raise ParameterError(
                f"The 'labels' parameter of {where} must be class indices (batch,) or "
                f"one-hot/probabilities (batch, classes). Got shape {tuple(labels.shape)} "
                "instead."
            )
        return ops.cast(labels, self.compute_dtype)

    def call(self, images: Any, labels: Any, training: bool = True) -> tuple[Any, Any]:
        where = type(self).__name__
        x = ops.cast(images, self.compute_dtype)
        if len(x.shape) != 4:
            raise ParameterError(
                f"The 'images' parameter of {where} must be a batch (batch, height, width, "
                f"channels). Got shape {tuple(x.shape)} instead."
            )
        y = ops.cast(self._labels(labels), self.compute_dtype)
        if not training:
            return x, y
        n = ops.shape(x)[0]
        order = keras.random.shuffle(ops.arange(n), seed=self.seed_generator)
        lam = keras.random.beta(
            (n,), self.alpha, self.alpha, dtype=self.compute_dtype, seed=self.seed_generator
        )
        mixed, share = self.mix(x, ops.take(x, order, axis=0), lam)
        share = share[:, None]  # each image's share of its own label
        return mixed, y * share + ops.take(y, order, axis=0) * (1.0 - share)

    def mix(self, x: Any, x2: Any, lam: Any) -> tuple[Any, Any]:
        """Mix each image of ``x`` with its partner in ``x2`` (``lam`` drawn per image).

        Returns:
            The mixed images, and the share of each image's own label (``(batch,)``).
        """
        raise NotImplementedError

    def compute_output_shape(self, images_shape: Any, labels_shape: Any) -> Any:
        classes = labels_shape[-1] if len(labels_shape) == 2 else self.num_classes
        return images_shape, (images_shape[0], classes)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **constructor_config(self)}
