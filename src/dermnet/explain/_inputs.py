"""Which input of a Keras model is the image, and the checks of the images given to an
explainer (`ModelInputs`, `check_images`)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.protocols import IMAGE_INPUT
from dermnet._core.validation import fail

__all__ = ["PIXEL_TOLERANCE", "ModelInputs", "check_images"]

#: How far float images may stray outside [0, 255] (resampling overshoot, rounding).
PIXEL_TOLERANCE = 0.5


class ModelInputs:
    """Which input of a Keras model is the image, and how to feed it with the other inputs.

    A plain classifier has one 4-D input. An image+metadata model has a dict (or list) of
    inputs; the image is the one named `IMAGE_INPUT` (``"image"``), else the only 4-D
    input. The other inputs (metadata) are passed through unchanged and are never perturbed.
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
            self.keys = [str(getattr(struct, "name", IMAGE_INPUT))]
        self.shapes = {k: tuple(t.shape) for k, t in zip(self.keys, tensors, strict=True)}
        rank4 = [k for k in self.keys if len(self.shapes[k]) == 4]
        if IMAGE_INPUT in self.shapes and len(self.shapes[IMAGE_INPUT]) == 4:
            self.image_key = IMAGE_INPUT
        elif len(rank4) == 1:
            self.image_key = rank4[0]
        else:
            raise fail(
                "model",
                where,
                "a model with one image input of shape (batch, height, width, channels) "
                f"(named {IMAGE_INPUT!r} when it has several 4-D inputs)",
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
