"""Image validation, dtype and range conversion, and batching shared by the functions.

`check_image` validates an image and names the function or transform in its messages;
`image_function` is the decorator every function of `dermnet.transforms.functional`
that takes an image wears: it checks the image once, for the function, and lets a
per-image function take a batch ``NxHxWxC`` too. The private helpers convert between the
input's dtype and value range and the 8-bit or float32 images OpenCV works on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from dermnet._core.errors import ParameterError

__all__ = ["ANY_CHANNELS", "check_image", "image_function"]

#: Every channel count a size-changing function accepts (1 also admits ``HxW``).
ANY_CHANNELS = (1, 2, 3, 4)

F = TypeVar("F", bound=Callable[..., Any])


def check_image(
    image: object,
    where: str,
    *,
    channels: tuple[int, ...] = (3,),
    batch: bool = False,
) -> np.ndarray:
    """Validate an image for transform ``where``; return it as an ndarray.

    Args:
        image: the image to check.
        where: the function or transform, named in messages.
        channels: the allowed channel counts; when 1 is allowed, ``HxW`` is accepted too.
        batch: also accept a batch ``NxHxWxC``.

    Raises:
        ParameterError: not an array, wrong rank or channel count, unsupported dtype,
            empty, NaN/inf values, or float values outside [0, 255].

    Examples:
        >>> check_image(np.zeros((2, 2), np.uint8), "clahe")
        Traceback (most recent call last):
        ...
        dermnet._core.errors.ParameterError: The 'image' parameter of clahe must have shape (height, width, 3). Got shape (2, 2) instead.
    """  # noqa: E501
    if not isinstance(image, np.ndarray):
        raise ParameterError(
            f"The 'image' parameter of {where} must be a NumPy array. "
            f"Got {type(image).__name__} instead."
        )
    if image.dtype != np.uint8 and not np.issubdtype(image.dtype, np.floating):
        raise ParameterError(
            f"The 'image' parameter of {where} must have dtype uint8 or float. "
            f"Got {image.dtype} instead."
        )
    ok_rank = image.ndim == 3 or (batch and image.ndim == 4)
    if image.ndim == 2 and 1 in channels:
        pass
    elif not ok_rank or image.shape[-1] not in channels:
        shape = f"(height, width, {'|'.join(map(str, channels))})"
        if batch:
            shape += " or (batch, height, width, channels)"
        raise ParameterError(
            f"The 'image' parameter of {where} must have shape {shape}. "
            f"Got shape {image.shape} instead."
        )
    if image.size == 0:
        raise ParameterError(f"The 'image' parameter of {where} is empty (shape {image.shape}).")
    if image.dtype != np.uint8:
        if not np.all(np.isfinite(image)):
            raise ParameterError(f"The 'image' parameter of {where} has NaN or infinite values.")
        low, high = float(image.min()), float(image.max())
        if low < 0.0 or high > 255.0:
            raise ParameterError(
                f"The 'image' parameter of {where} must have float values in [0, 1] or "
                f"[0, 255]. Got values in [{low:g}, {high:g}] instead."
            )
    return image


def _value_max(image: np.ndarray) -> float:
    """255 for uint8 and for float images in 0-255, 1 for float images in 0-1."""
    if image.dtype == np.uint8:
        return 255.0
    return 1.0 if float(image.max(initial=0.0)) <= 1.0 else 255.0


def _restore(out: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Cast ``out`` (float, in ``like``'s range) back to ``like``'s dtype and rank."""
    if out.ndim == 2 and like.ndim == 3:
        out = out[..., None]
    if like.dtype == np.uint8:
        if out.dtype == np.uint8:
            return out
        # float32 at least: np.rint of a small integer dtype would give slow float16
        return np.clip(np.rint(out.astype(np.float32, copy=False)), 0, 255).astype(np.uint8)
    return out.astype(like.dtype, copy=False)


def _to_uint8(image: np.ndarray) -> tuple[np.ndarray, float]:
    """The image as uint8 (float input rounded to 8 bits) and its value maximum."""
    top = _value_max(image)
    if image.dtype == np.uint8:
        return image, top
    return np.clip(np.rint(image * (255.0 / top)), 0, 255).astype(np.uint8), top


def _from_uint8(out: np.ndarray, like: np.ndarray, top: float) -> np.ndarray:
    """Undo `_to_uint8`: back to ``like``'s dtype, range and rank."""
    if out.ndim == 2 and like.ndim == 3:
        out = out[..., None]
    if like.dtype == np.uint8:
        return out
    return (out.astype(np.float32) * (top / 255.0)).astype(like.dtype, copy=False)


def _as_float32(image: np.ndarray) -> np.ndarray:
    return image if image.dtype == np.float32 else image.astype(np.float32)


def _u8_or_float32(image: np.ndarray) -> np.ndarray:
    """uint8 images as they are, float images as float32 (the dtypes OpenCV filters take)."""
    return image if image.dtype == np.uint8 else _as_float32(image)


def _gray(image: np.ndarray) -> np.ndarray:
    """The ``HxW`` gray plane of an RGB or gray image, in the image's dtype."""
    import cv2

    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    return image.reshape(image.shape[0], image.shape[1])


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """An 8-bit gray version of an RGB or gray image (``HxW``)."""
    return _gray(_to_uint8(image)[0])


def _plane(image: np.ndarray) -> np.ndarray:
    """``HxW`` for an ``HxWx1`` image (OpenCV filters return 2-d for it); others unchanged."""
    return image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image


def _on_uint8(
    image: np.ndarray,
    colour: Callable[[np.ndarray], np.ndarray],
    gray: Callable[[np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Run an 8-bit OpenCV operation and return the result in the input's dtype and range.

    ``colour`` gets the uint8 ``HxWx3`` RGB image; ``gray`` (``colour`` when None) the
    uint8 ``HxW`` plane of a gray image. Float input is rounded to 8 bits first.
    """
    u8, top = _to_uint8(image)
    if u8.ndim == 3 and u8.shape[2] == 3:
        out = colour(u8)
    else:
        out = (gray or colour)(u8.reshape(u8.shape[:2]))
    return _from_uint8(out, image, top)


def image_function(channels: tuple[int, ...] = (3,), *, batch: bool = True) -> Callable[[F], F]:
    """Decorate a function whose first parameter is an image.

    The image is checked with `check_image` (messages name the function) before the
    function runs. With ``batch``, a batch ``NxHxWxC`` is also accepted and the function
    is applied image by image (results stacked; tuples of results stacked part by part).

    Args:
        channels: the channel counts the function accepts (1 also admits ``HxW``).
        batch: accept a batch.

    Examples:
        >>> @image_function(channels=(1, 3))
        ... def brightest(image):
        ...     return image.max(axis=(0, 1))
        >>> brightest(np.zeros((2, 4, 4, 3), np.uint8)).shape
        (2, 3)
    """

    def wrap(fn: F) -> F:
        where = fn.__name__

        @functools.wraps(fn)
        def wrapper(image: Any, *args: Any, **kwargs: Any) -> Any:
            if batch and isinstance(image, np.ndarray) and image.ndim == 4 and not len(image):
                raise ParameterError(
                    f"The 'image' parameter of {where} is an empty batch (shape {image.shape})."
                )
            image = check_image(image, where, channels=channels, batch=batch)
            if image.ndim < 4:
                return fn(image, *args, **kwargs)
            results = [fn(img, *args, **kwargs) for img in image]
            if isinstance(results[0], tuple):
                return tuple(np.stack(parts) for parts in zip(*results, strict=True))
            return np.stack(results)

        return wrapper  # type: ignore[return-value]

    return wrap
