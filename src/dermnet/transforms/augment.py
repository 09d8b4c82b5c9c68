"""Seeded random augmentation as Keras layers that run inside the graph.

The layers take float images in ``value_range`` (default [0, 255], what
`dermnet.data.make_dataset` yields and dermnet models expect), of shape ``HxWxC``
or ``NxHxWxC``, and return float32 images of the same shape, clipped to that range. Each
image of a batch gets its own random parameters. They run in a Keras model (active only
when ``training=True``: ``fit`` augments, ``predict`` does not), on a batch tensor in
``tf.data`` (``make_dataset(augment=...)``), and eagerly on NumPy arrays. With a ``seed``
the sequence of random draws is reproducible; every layer is registered for ``.keras``
files under the ``dermnet`` package.

Called eagerly (on NumPy arrays), a layer checks its inputs: values outside
``value_range`` are a `ParameterError`, and images that look scaled to [0, 1] while
``value_range`` is (0, 255) give a warning (the changes, fractions of the range, would be
255 times too strong for them). Inside a graph the outputs are clipped to ``value_range``.

`MixUp` and `CutMix` mix images and labels of a batch, so they take
``(images, labels)`` and return both: map them over a batched ``(images, labels)``
dataset.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import keras
from keras import ops

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry, look_up_option
from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail

__all__ = [
    "AUGMENTATIONS",
    "CutMix",
    "MixUp",
    "RandomAffine",
    "RandomBrightness",
    "RandomContrast",
    "RandomFlip",
    "RandomHue",
    "RandomRot90",
    "RandomRotation",
    "RandomSaturation",
    "RandomTranslation",
    "RandomZoom",
    "augmentation",
    "list_augmentations",
]

#: The augmentation layer registry: name -> Keras layer class.
AUGMENTATIONS: Registry[type[keras.layers.Layer]] = Registry("augmentation")

_FILL_MODES = ("reflect", "constant", "nearest", "wrap", "mirror")
_INTERPOLATIONS = ("bilinear", "nearest")
_FLIP_MODES = ("horizontal_and_vertical", "horizontal", "vertical")


def _register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        cls = keras.saving.register_keras_serializable(package="dermnet")(cls)
        AUGMENTATIONS.register(name, cls)
        return cls

    return wrap


def list_augmentations(pattern: str | None = None) -> list[str]:
    """Names of the registered augmentation layers.

    Examples:
        >>> list_augmentations("random_*")[:3]
        ['random_affine', 'random_brightness', 'random_contrast']
    """
    return AUGMENTATIONS.names(pattern)


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
    assert a is not None
    assert b is not None
    if a > b:
        raise fail(param, where, must, value)
    return a, b


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
        config = super().get_config()
        config.update({"value_range": list(self.value_range), "seed": self.seed})
        return config


# -- geometry --------------------------------------------------------------------------------
@_register("random_flip")
class RandomFlip(_Augmentation):
    """Flip each image left-right and/or up-down with probability 1/2 each.

    Args:
        mode: ``"horizontal_and_vertical"`` (default: lesions have no up or left),
            ``"horizontal"`` or ``"vertical"``.

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.

    Examples:
        >>> import numpy as np
        >>> out = RandomFlip(seed=0)(np.arange(4, dtype="float32").reshape(1, 2, 2, 1))
        >>> sorted(np.asarray(out).ravel().tolist())
        [0.0, 1.0, 2.0, 3.0]
    """

    def __init__(self, mode: str = "horizontal_and_vertical", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = check_option(mode, _FLIP_MODES, "mode", "RandomFlip")

    def augment(self, images: Any) -> Any:
        n = ops.shape(images)[0]
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            flip = self._uniform(n, 0.0, 1.0) < 0.5
            images = ops.where(flip[:, None, None, None], ops.flip(images, axis=2), images)
        if self.mode in ("vertical", "horizontal_and_vertical"):
            flip = self._uniform(n, 0.0, 1.0) < 0.5
            images = ops.where(flip[:, None, None, None], ops.flip(images, axis=1), images)
        return images

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@_register("random_rot90")
class RandomRot90(_Augmentation):
    """Rotate each square image by a random multiple of 90 degrees (0, 90, 180 or 270).

    Each image draws its own number of quarter turns ``k`` in {0, 1, 2, 3}, each with
    probability 1/4. The pixels are only moved, never interpolated, so the output holds
    exactly the input's values. With a horizontal `RandomFlip` before it, this gives each
    of the 8 symmetries of the square with probability 1/8 (``augmentation("dihedral")``).

    Args:
        value_range: the images' (low, high) range (kept for a uniform config; the
            values are not changed).
        seed: random seed, or None.

    Raises:
        ParameterError: the images are not square (a quarter turn would change their
            shape), checked when the layer is called.

    Examples:
        >>> import numpy as np
        >>> image = np.arange(4, dtype="float32").reshape(2, 2, 1)
        >>> out = RandomRot90(seed=0)(np.stack([image] * 8))
        >>> all(any(np.array_equal(o, np.rot90(image, k)) for k in range(4)) for o in out)
        True
    """

    def call(self, inputs: Any, training: bool = True) -> Any:
        x = ops.cast(inputs, self.compute_dtype)
        if len(x.shape) in (3, 4):
            height, width = x.shape[-3], x.shape[-2]
            if height is not None and width is not None and height != width:
                raise ParameterError(
                    "The 'inputs' parameter of RandomRot90 must be square images (height "
                    "== width), as a quarter turn swaps height and width. Got shape "
                    f"{tuple(x.shape)} instead; crop or resize to a square first."
                )
        return super().call(x, training=training)

    def augment(self, images: Any) -> Any:
        n = ops.shape(images)[0]
        k = keras.random.randint((n,), 0, 4, dtype="int32", seed=self.seed_generator)
        k = k[:, None, None, None]
        quarter = ops.flip(ops.transpose(images, (0, 2, 1, 3)), axis=1)  # counter-clockwise
        half = ops.flip(images, axis=(1, 2))
        three = ops.flip(quarter, axis=(1, 2))
        out = ops.where(k == 1, quarter, images)
        out = ops.where(k == 2, half, out)
        return ops.where(k == 3, three, out)


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

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "fill_value": self.fill_value,
        }


def _check_max_angle(value: Any, where: str) -> float:
    angle = check_float(value, "max_angle", where, low=0.0, high=180.0)
    assert angle is not None
    return angle


@_register("random_rotation")
class RandomRotation(_AffineBase):
    """Rotate each image by an angle drawn from [-max_angle, max_angle] degrees.

    The default, 180, draws any angle: a dermoscopy image has no up. Corners are filled
    by reflection (``fill_mode``), so no black wedges appear.

    Args:
        max_angle: the largest rotation in degrees, in [0, 180].

    Other Parameters:
        fill_mode (str): ``"reflect"``, ``"constant"``, ``"nearest"``, ``"wrap"`` or ``"mirror"``.
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill_value (float): the value outside the image for ``fill_mode="constant"``.
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(self, max_angle: float = 180.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_angle = _check_max_angle(max_angle, "RandomRotation")

    def _draw(self, n: Any) -> tuple[Any, Any, Any, Any]:
        limit = math.radians(self.max_angle)
        angle = self._uniform(n, -limit, limit)
        ones = ops.ones_like(angle)
        return angle, ones, 0.0 * angle, 0.0 * angle

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_angle": self.max_angle}


@_register("random_zoom")
class RandomZoom(_AffineBase):
    """Zoom each image by a factor drawn from ``zoom_range`` (>1 zooms in).

    Args:
        zoom_range: ``(min, max)`` zoom factors, each > 0.

    Other Parameters:
        fill_mode (str): see `RandomRotation`.
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill_value (float): the value outside the image for ``fill_mode="constant"``.
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(self, zoom_range: Sequence[float] = (0.9, 1.1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zoom_range = _check_pair(zoom_range, "zoom_range", "RandomZoom", low=0.01)

    def _draw(self, n: Any) -> tuple[Any, Any, Any, Any]:
        zoom = self._uniform(n, *self.zoom_range)
        return 0.0 * zoom, zoom, 0.0 * zoom, 0.0 * zoom

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "zoom_range": list(self.zoom_range)}


@_register("random_translation")
class RandomTranslation(_AffineBase):
    """Shift each image by up to ``fraction`` of its height and width.

    Args:
        fraction: the largest shift as a fraction of the size, in [0, 1].

    Other Parameters:
        fill_mode (str): see `RandomRotation`.
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill_value (float): the value outside the image for ``fill_mode="constant"``.
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(self, fraction: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fraction = check_float(fraction, "fraction", "RandomTranslation", low=0.0, high=1.0)

    def _draw(self, n: Any) -> tuple[Any, Any, Any, Any]:
        f = float(self.fraction)  # type: ignore[arg-type]
        dx = self._uniform(n, -f, f)
        dy = self._uniform(n, -f, f)
        return 0.0 * dx, ops.ones_like(dx), dx, dy

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "fraction": self.fraction}


@_register("random_affine")
class RandomAffine(_AffineBase):
    """Rotation, zoom and translation in one warp (one interpolation instead of three).

    Args:
        max_angle: the largest rotation in degrees, in [0, 180].
        zoom_range: ``(min, max)`` zoom factors, each > 0.
        translate: the largest shift as a fraction of the size, in [0, 1].

    Other Parameters:
        fill_mode (str): see `RandomRotation`.
        interpolation (str): ``"bilinear"`` or ``"nearest"``.
        fill_value (float): the value outside the image for ``fill_mode="constant"``.
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(
        self,
        max_angle: float = 180.0,
        zoom_range: Sequence[float] = (0.9, 1.1),
        translate: float = 0.05,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        where = "RandomAffine"
        self.max_angle = _check_max_angle(max_angle, where)
        self.zoom_range = _check_pair(zoom_range, "zoom_range", where, low=0.01)
        self.translate = check_float(translate, "translate", where, low=0.0, high=1.0)

    def _draw(self, n: Any) -> tuple[Any, Any, Any, Any]:
        limit = math.radians(self.max_angle)
        f = float(self.translate)  # type: ignore[arg-type]
        angle = self._uniform(n, -limit, limit)
        zoom = self._uniform(n, *self.zoom_range)
        return angle, zoom, self._uniform(n, -f, f), self._uniform(n, -f, f)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "max_angle": self.max_angle,
            "zoom_range": list(self.zoom_range),
            "translate": self.translate,
        }


# -- photometric -----------------------------------------------------------------------------
@_register("random_brightness")
class RandomBrightness(_Augmentation):
    """Add a per-image offset drawn from ``[-max_delta, max_delta]`` times the range.

    Args:
        max_delta: the largest offset as a fraction of the value range, in [0, 1].

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(self, max_delta: float = 0.1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_delta = check_float(max_delta, "max_delta", "RandomBrightness", low=0.0, high=1.0)

    def augment(self, images: Any) -> Any:
        span = self.value_range[1] - self.value_range[0]
        d = float(self.max_delta) * span  # type: ignore[arg-type]
        delta = self._uniform(ops.shape(images)[0], -d, d)
        return self._clip(images + delta[:, None, None, None])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_delta": self.max_delta}


@_register("random_contrast")
class RandomContrast(_Augmentation):
    """Scale each image's deviation from its channel means by ``1 ± factor``.

    Args:
        factor: the contrast change, in [0, 1]: factors are drawn from
            ``[1 - factor, 1 + factor]``.

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def __init__(self, factor: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = check_float(factor, "factor", "RandomContrast", low=0.0, high=1.0)

    def augment(self, images: Any) -> Any:
        f = float(self.factor)  # type: ignore[arg-type]
        scale = self._uniform(ops.shape(images)[0], 1.0 - f, 1.0 + f)[:, None, None, None]
        mean = ops.mean(images, axis=(1, 2), keepdims=True)
        return self._clip((images - mean) * scale + mean)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@_register("random_saturation")
class RandomSaturation(_Augmentation):
    """Blend each RGB image with its gray version: saturation times ``1 ± factor``.

    Args:
        factor: the saturation change, in [0, 1].

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    channels = (3,)

    def __init__(self, factor: float = 0.2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.factor = check_float(factor, "factor", "RandomSaturation", low=0.0, high=1.0)

    def augment(self, images: Any) -> Any:
        f = float(self.factor)  # type: ignore[arg-type]
        scale = self._uniform(ops.shape(images)[0], 1.0 - f, 1.0 + f)[:, None, None, None]
        weights = ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=self.compute_dtype)
        gray = ops.sum(images * weights, axis=-1, keepdims=True)
        return self._clip(gray + (images - gray) * scale)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "factor": self.factor}


@_register("random_hue")
class RandomHue(_Augmentation):
    """Rotate each RGB image's hue by up to ``max_delta`` of the colour circle.

    Args:
        max_delta: the largest hue shift as a fraction of the circle, in [0, 0.5].

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    channels = (3,)

    def __init__(self, max_delta: float = 0.05, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_delta = check_float(max_delta, "max_delta", "RandomHue", low=0.0, high=0.5)

    def augment(self, images: Any) -> Any:
        low, high = self.value_range
        d = float(self.max_delta)  # type: ignore[arg-type]
        delta = self._uniform(ops.shape(images)[0], -d, d)[:, None, None]
        unit = ops.clip((images - low) / (high - low), 0.0, 1.0)
        hsv = ops.image.rgb_to_hsv(unit, data_format="channels_last")
        hue = ops.mod(hsv[..., 0] + delta, 1.0)
        hsv = ops.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1)
        rgb = ops.image.hsv_to_rgb(hsv, data_format="channels_last")
        return self._clip(rgb * (high - low) + low)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "max_delta": self.max_delta}


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
        return self.mix(x, y, ops.take(x, order, axis=0), ops.take(y, order, axis=0), lam)

    def mix(self, x: Any, y: Any, x2: Any, y2: Any, lam: Any) -> tuple[Any, Any]:
        raise NotImplementedError

    def compute_output_shape(self, images_shape: Any, labels_shape: Any) -> Any:
        classes = labels_shape[-1] if len(labels_shape) == 2 else self.num_classes
        return images_shape, (images_shape[0], classes)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update({"alpha": self.alpha, "num_classes": self.num_classes, "seed": self.seed})
        return config


@_register("mixup")
class MixUp(_Mixing):
    """MixUp (Zhang et al., 2018): blend each image and label with a random partner.

    ``x = lam * x_i + (1 - lam) * x_j`` and the same for the labels, with ``lam`` drawn
    per image from Beta(alpha, alpha).

    Args:
        alpha: the Beta distribution's parameter, > 0 (0.2 is usual: mostly light mixes).
        num_classes: needed when labels are class indices (they become one-hot).
        seed: random seed, or None.

    Examples:
        >>> import numpy as np
        >>> images = np.stack([np.zeros((4, 4, 3)), np.full((4, 4, 3), 255.0)])
        >>> x, y = MixUp(alpha=0.4, num_classes=2, seed=1)(images, np.array([0, 1]))
        >>> np.allclose(np.asarray(y).sum(axis=1), 1.0), x.shape
        (True, TensorShape([2, 4, 4, 3]))
    """

    def __init__(
        self, alpha: float = 0.2, num_classes: int | None = None, seed: int | None = None, **kw: Any
    ) -> None:
        super().__init__(alpha, num_classes, seed, **kw)

    def mix(self, x: Any, y: Any, x2: Any, y2: Any, lam: Any) -> tuple[Any, Any]:
        w = lam[:, None, None, None]
        v = lam[:, None]
        mixed = x * w + x2 * (1.0 - w)
        # rounding can step past both inputs (255.00002): keep each pixel between them
        mixed = ops.minimum(ops.maximum(mixed, ops.minimum(x, x2)), ops.maximum(x, x2))
        return mixed, y * v + y2 * (1.0 - v)


@_register("cutmix")
class CutMix(_Mixing):
    """CutMix (Yun et al., 2019): paste a random box from a partner image; mix labels by area.

    The box covers about ``1 - lam`` of the image, ``lam`` drawn per image from
    Beta(alpha, alpha); the labels are mixed by the box's actual area after clipping
    to the image.

    Args:
        alpha: the Beta distribution's parameter, > 0 (1.0, uniform, is the paper's).
        num_classes: needed when labels are class indices (they become one-hot).
        seed: random seed, or None.
    """

    def __init__(
        self, alpha: float = 1.0, num_classes: int | None = None, seed: int | None = None, **kw: Any
    ) -> None:
        super().__init__(alpha, num_classes, seed, **kw)

    def mix(self, x: Any, y: Any, x2: Any, y2: Any, lam: Any) -> tuple[Any, Any]:
        shape = ops.shape(x)
        n = shape[0]
        height = ops.cast(shape[1], self.compute_dtype)
        width = ops.cast(shape[2], self.compute_dtype)
        ratio = ops.sqrt(1.0 - lam)
        uniform = keras.random.uniform(
            (2, n), 0.0, 1.0, dtype=self.compute_dtype, seed=self.seed_generator
        )
        cy, cx = uniform[0] * height, uniform[1] * width
        top = ops.clip(ops.round(cy - ratio * height / 2.0), 0.0, height)
        bottom = ops.clip(ops.round(cy + ratio * height / 2.0), 0.0, height)
        left = ops.clip(ops.round(cx - ratio * width / 2.0), 0.0, width)
        right = ops.clip(ops.round(cx + ratio * width / 2.0), 0.0, width)
        rows = ops.cast(ops.arange(shape[1]), self.compute_dtype)[None, :, None]
        cols = ops.cast(ops.arange(shape[2]), self.compute_dtype)[None, None, :]
        inside = (
            (rows >= top[:, None, None])
            & (rows < bottom[:, None, None])
            & (cols >= left[:, None, None])
            & (cols < right[:, None, None])
        )
        mixed = ops.where(inside[..., None], x2, x)
        area = (bottom - top) * (right - left) / (height * width)
        v = (1.0 - area)[:, None]
        return mixed, y * v + y2 * (1.0 - v)


# -- augmentation presets --------------------------------------------------------------------
_AUGMENTATION_SETS = ("dermoscopy", "microscopy", "geometric", "flips", "dihedral")


def _preset_layers(
    name: str, value_range: tuple[float, float], seed: int | None
) -> list[keras.layers.Layer]:
    specs: list[tuple[type[_Augmentation], dict[str, Any]]]
    if name == "dermoscopy":
        specs = [
            (RandomFlip, {}),
            (RandomAffine, {"max_angle": 180.0, "zoom_range": (0.9, 1.1), "translate": 0.05}),
            (RandomBrightness, {"max_delta": 0.1}),
            (RandomContrast, {"factor": 0.15}),
            (RandomSaturation, {"factor": 0.15}),
            (RandomHue, {"max_delta": 0.02}),
        ]
    elif name == "microscopy":
        affine = {"max_angle": 180.0, "zoom_range": (0.95, 1.05), "translate": 0.05}
        specs = [
            (RandomFlip, {}),
            (RandomAffine, {**affine, "fill_mode": "constant"}),
            (RandomBrightness, {"max_delta": 0.1}),
            (RandomContrast, {"factor": 0.1}),
            (RandomSaturation, {"factor": 0.1}),
            (RandomHue, {"max_delta": 0.03}),
        ]
    elif name == "flips":
        specs = [(RandomFlip, {"mode": "horizontal_and_vertical"})]
    elif name == "dihedral":
        # One flip and the four quarter turns give each of the 8 symmetries with
        # probability 1/8 (a vertical flip is a horizontal flip and a half turn).
        specs = [(RandomFlip, {"mode": "horizontal"}), (RandomRot90, {})]
    else:  # "geometric"
        specs = [(RandomFlip, {}), (RandomRotation, {"max_angle": 180.0})]
    return [
        cls(**kw, value_range=value_range, seed=None if seed is None else (seed + i) % 2**32)
        for i, (cls, kw) in enumerate(specs)
    ]


def augmentation(
    name: str = "dermoscopy",
    *,
    seed: int | None = None,
    value_range: Sequence[float] = (0.0, 255.0),
) -> keras.Sequential:
    """A named augmentation pipeline as a ``keras.Sequential`` of dermnet layers.

    - ``"dermoscopy"``: flips, any rotation with zoom 0.9-1.1 and 5% shift (reflected
      borders), brightness ±10%, contrast ±15%, saturation ±15%, hue ±0.02.
    - ``"microscopy"``: the same with black (constant) borders, as cell crops have a
      black background, and milder zoom and colour changes.
    - ``"geometric"``: flips and any rotation only.
    - ``"flips"``: random horizontal and vertical flips only.
    - ``"dihedral"``: exactly the 8 symmetries of the square (flips and quarter turns),
      each with probability 1/8 per image: no interpolation, no borders to fill; for
      square images only.

    Pass it to ``dermnet.data.make_dataset(augment=...)`` or put it first in a model.

    Args:
        name: ``"dermoscopy"``, ``"microscopy"``, ``"geometric"``, ``"flips"`` or
            ``"dihedral"``.
        seed: base seed; layer ``i`` gets ``seed + i`` (None: unseeded).
        value_range: the images' (low, high) range.

    Examples:
        >>> import numpy as np
        >>> aug = augmentation("dermoscopy", seed=0)
        >>> aug(np.full((2, 32, 32, 3), 128.0), training=True).shape
        TensorShape([2, 32, 32, 3])
    """
    name = look_up_option(name, _AUGMENTATION_SETS, param="name", where="augmentation")
    seed = check_seed(seed, "seed", "augmentation")
    value_range = _check_value_range(value_range, "augmentation")
    layers = _preset_layers(name, value_range, seed)
    return keras.Sequential(layers, name=f"dermnet_augmentation_{name}")
