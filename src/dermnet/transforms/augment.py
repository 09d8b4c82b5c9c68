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
255 times too strong for them). Inside a graph the outputs are clipped to ``value_range``,
except those of the layers that only move pixels (`RandomFlip`, `RandomRot90`,
`RandomDihedral`), whose outputs hold exactly the input's values.

`MixUp` and `CutMix` mix images and labels of a batch, so they take
``(images, labels)`` and return both: map them over a batched ``(images, labels)``
dataset.

The machinery the layers share (checks, seeding, the affine warp, label mixing) and the
`AUGMENTATIONS` registry live in `dermnet.transforms._augment_base`; the named pipelines
(`augmentation`) in `dermnet.transforms.augment_presets`. This module defines the layers,
each registered under its name and for ``.keras`` files.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import keras
from keras import ops

from dermnet._core.validation import check_float, check_option
from dermnet.transforms._augment_base import (
    AUGMENTATIONS,
    _AffineBase,
    _Augmentation,
    _check_max_angle,
    _check_pair,
    _Mixing,
    _one_move,
    _per_image,
    _ScaleAroundAnchor,
    list_augmentations,
)
from dermnet.transforms._pixel_moves import DIHEDRAL, FLIPS, check_square
from dermnet.transforms.augment_presets import augmentation

__all__ = [
    "AUGMENTATIONS",
    "CutMix",
    "MixUp",
    "RandomAffine",
    "RandomBrightness",
    "RandomContrast",
    "RandomDihedral",
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

_FLIP_MODES = ("horizontal_and_vertical", "horizontal", "vertical")


def _register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        cls = keras.saving.register_keras_serializable(package="dermnet")(cls)
        AUGMENTATIONS.register(name, cls)
        return cls

    return wrap


#: The quarter turns counter-clockwise, as ``np.rot90(image, k)`` for k = 0, 1, 2, 3.
_QUARTER_TURNS = tuple(DIHEDRAL[i] for i in (0, 5, 3, 6))


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
        horizontal = self.mode in ("horizontal", "horizontal_and_vertical")
        vertical = self.mode in ("vertical", "horizontal_and_vertical")
        choice = ops.zeros((n,), dtype="int32")
        if horizontal:
            choice = choice + ops.cast(self._uniform(n, 0.0, 1.0) < 0.5, "int32")
        if vertical:
            choice = choice + 2 * ops.cast(self._uniform(n, 0.0, 1.0) < 0.5, "int32")
        return _per_image(images, choice, FLIPS)

    def augment_image(self, image: Any, seed: Any) -> Any:
        """One ``HxWxC`` image (any dtype) flipped as the stateless ``seed`` (shape (2,)) draws.

        The same distribution as the layer's per-batch draw; `dermnet.data.make_dataset`
        calls it on each image before batching (faster than moving whole batches).
        """
        if self.mode == "horizontal":
            return _one_move(image, seed, FLIPS[:2])
        if self.mode == "vertical":
            return _one_move(image, seed, FLIPS[::2])
        return _one_move(image, seed, FLIPS)

    def _clip(self, images: Any) -> Any:
        return images  # pixels are only moved: the values are the input's


@_register("random_rot90")
class RandomRot90(_Augmentation):
    """Rotate each square image by a random multiple of 90 degrees (0, 90, 180 or 270).

    Each image draws its own number of quarter turns ``k`` in {0, 1, 2, 3}, each with
    probability 1/4. The pixels are only moved, never interpolated, so the output holds
    exactly the input's values. With a horizontal `RandomFlip` before it, this gives each
    of the 8 symmetries of the square with probability 1/8, as `RandomDihedral` does in one step
    (``augmentation("dihedral")``).

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
        check_square(inputs, type(self).__name__)
        return super().call(inputs, training=training)

    def augment(self, images: Any) -> Any:
        n = ops.shape(images)[0]
        k = keras.random.randint((n,), 0, 4, dtype="int32", seed=self.seed_generator)
        # counter-clockwise, as np.rot90: k quarter turns
        return _per_image(images, k, _QUARTER_TURNS)

    def augment_image(self, image: Any, seed: Any) -> Any:
        """One square ``HxWxC`` image (any dtype) turned as the stateless ``seed`` draws.

        The same distribution as the layer's per-batch draw; `dermnet.data.make_dataset`
        calls it on each image before batching.
        """
        check_square(image, type(self).__name__)
        return _one_move(image, seed, _QUARTER_TURNS)

    def _clip(self, images: Any) -> Any:
        return images  # pixels are only moved: the values are the input's


@_register("random_dihedral")
class RandomDihedral(_Augmentation):
    """Apply to each square image one of the 8 symmetries of the square, each with p = 1/8.

    The symmetries are the four quarter turns of the image and of its mirror image
    (``np.rot90(image, k)`` and ``np.rot90(image[:, ::-1], k)``), the views of
    ``dermnet.train.predict_tta(transforms="dihedral")``. Each image draws its own. The
    pixels are only moved, never interpolated, so the output holds exactly the input's
    values: no borders to fill. It gives the same distribution as a horizontal
    `RandomFlip` followed by `RandomRot90`, in one step instead of two.

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
        >>> views = [np.rot90(m, k) for m in (image, image[:, ::-1]) for k in range(4)]
        >>> out = RandomDihedral(seed=0)(np.stack([image] * 8))
        >>> all(any(np.array_equal(o, v) for v in views) for o in out)
        True
    """

    def call(self, inputs: Any, training: bool = True) -> Any:
        check_square(inputs, type(self).__name__)
        return super().call(inputs, training=training)

    def augment(self, images: Any) -> Any:
        n = ops.shape(images)[0]
        k = keras.random.randint((n,), 0, 8, dtype="int32", seed=self.seed_generator)
        return _per_image(images, k, DIHEDRAL)

    def augment_image(self, image: Any, seed: Any) -> Any:
        """One square ``HxWxC`` image (any dtype) moved by the symmetry the ``seed`` draws.

        ``seed`` is a stateless seed (shape (2,)); each of the 8 symmetries has
        probability 1/8, as in the per-batch draw. `dermnet.data.make_dataset` calls it
        on each image before batching: one move per image on the cached pixels, without
        the per-batch ``map_fn`` (at 224 px it takes about a sixth of the pipeline's time
        instead of half).
        """
        check_square(image, type(self).__name__)
        return _one_move(image, seed, DIHEDRAL)

    def _clip(self, images: Any) -> Any:
        return images  # pixels are only moved: the values are the input's


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
        f = self.fraction
        dx = self._uniform(n, -f, f)
        dy = self._uniform(n, -f, f)
        return 0.0 * dx, ops.ones_like(dx), dx, dy


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
        f = self.translate
        angle = self._uniform(n, -limit, limit)
        zoom = self._uniform(n, *self.zoom_range)
        return angle, zoom, self._uniform(n, -f, f), self._uniform(n, -f, f)


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
        d = self.max_delta * span
        delta = self._uniform(ops.shape(images)[0], -d, d)
        return self._clip(images + delta[:, None, None, None])


@_register("random_contrast")
class RandomContrast(_ScaleAroundAnchor):
    """Scale each image's deviation from its channel means by ``1 ± factor``.

    Args:
        factor: the contrast change, in [0, 1]: factors are drawn from
            ``[1 - factor, 1 + factor]``.

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    def anchor(self, images: Any) -> Any:
        return ops.mean(images, axis=(1, 2), keepdims=True)


@_register("random_saturation")
class RandomSaturation(_ScaleAroundAnchor):
    """Blend each RGB image with its gray version: saturation times ``1 ± factor``.

    Args:
        factor: the saturation change, in [0, 1].

    Other Parameters:
        value_range (tuple[float, float]): the images' (low, high) range.
        seed (int | None): random seed, or None.
    """

    channels = (3,)

    def anchor(self, images: Any) -> Any:
        weights = ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=self.compute_dtype)
        return ops.sum(images * weights, axis=-1, keepdims=True)


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
        d = self.max_delta
        delta = self._uniform(ops.shape(images)[0], -d, d)[:, None, None]
        unit = ops.clip((images - low) / (high - low), 0.0, 1.0)
        hsv = ops.image.rgb_to_hsv(unit, data_format="channels_last")
        hue = ops.mod(hsv[..., 0] + delta, 1.0)
        hsv = ops.stack([hue, hsv[..., 1], hsv[..., 2]], axis=-1)
        rgb = ops.image.hsv_to_rgb(hsv, data_format="channels_last")
        return self._clip(rgb * (high - low) + low)


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

    def mix(self, x: Any, x2: Any, lam: Any) -> tuple[Any, Any]:
        w = lam[:, None, None, None]
        mixed = x * w + x2 * (1.0 - w)
        # rounding can step past both inputs (255.00002): keep each pixel between them
        return ops.minimum(ops.maximum(mixed, ops.minimum(x, x2)), ops.maximum(x, x2)), lam


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

    def mix(self, x: Any, x2: Any, lam: Any) -> tuple[Any, Any]:
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
        return mixed, 1.0 - area
