"""Flips and transpositions of images: the pixel moves of the flip and quarter-turn layers.

Each function takes one image (``HxWxC``) or a batch (``NxHxWxC``) and only moves pixels.
With TensorFlow each flip is a reversal of the middle axis of a 3-D view of the images,
TensorFlow's fast path (whole rows, or whole pixels, moved by ``memcpy``): 3-4x faster than
``ops.flip`` on the images' own axes, which visits every value. `FLIPS` and `DIHEDRAL` are
the branches that `dermnet.transforms.augment` runs per image.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from dermnet._core.errors import ParameterError

__all__ = ["DIHEDRAL", "FLIPS", "check_square"]


def _tensorflow(x: Any) -> bool:
    return keras.backend.backend() == "tensorflow" and len(x.shape) in (3, 4)


def _reverse_middle(x: Any, view: Any) -> Any:
    """``x`` reversed along the middle axis of its 3-D reshape ``view``, reshaped back."""
    import tensorflow as tf

    shape = x.shape if x.shape.is_fully_defined() else tf.shape(x)
    return tf.reshape(tf.reverse(tf.reshape(x, view), [1]), shape)


def _flip_rows(x: Any) -> Any:  # up-down
    if _tensorflow(x):
        height, width, channels = _dims(x)
        return _reverse_middle(x, [-1, height, width * channels])
    return ops.flip(x, axis=-3)


def _flip_columns(x: Any) -> Any:  # left-right
    if _tensorflow(x):
        _, width, channels = _dims(x)
        return _reverse_middle(x, [-1, width, channels])
    return ops.flip(x, axis=-2)


def _flip_both(x: Any) -> Any:  # half turn
    if _tensorflow(x):
        height, width, channels = _dims(x)
        return _reverse_middle(x, [-1, height * width, channels])
    return ops.flip(x, axis=(-3, -2))


def _dims(x: Any) -> list[Any]:
    """Height, width and channels of ``x``: static where known, else tensors."""
    import tensorflow as tf

    dynamic = tf.shape(x)
    rank = len(x.shape)
    return [dynamic[i] if x.shape[i] is None else x.shape[i] for i in range(rank - 3, rank)]


def _transpose(x: Any) -> Any:  # rows <-> columns (the main diagonal)
    return ops.swapaxes(x, -3, -2)


def _identity(x: Any) -> Any:
    return x


def _transposed_flip_rows(x: Any) -> Any:  # a quarter turn counter-clockwise (np.rot90)
    return _flip_rows(_transpose(x))


def _transposed_flip_columns(x: Any) -> Any:  # three quarter turns
    return _flip_columns(_transpose(x))


def _transposed_flip_both(x: Any) -> Any:  # the mirror along the antidiagonal
    return _flip_both(_transpose(x))


#: The 4 flips, indexed by (left-right) + 2 * (up-down).
FLIPS = (_identity, _flip_columns, _flip_rows, _flip_both)
#: The 8 symmetries of the square: the 4 flips, then the same after a transposition.
DIHEDRAL = (
    *FLIPS,
    _transpose,
    _transposed_flip_rows,
    _transposed_flip_columns,
    _transposed_flip_both,
)


def check_square(inputs: Any, where: str) -> None:
    """Raise a `ParameterError` naming ``where`` when ``inputs`` are not square images."""
    shape = getattr(inputs, "shape", None)
    if shape is None or len(shape) not in (3, 4):
        return  # the base class names the bad rank
    height, width = shape[-3], shape[-2]
    if height is not None and width is not None and height != width:
        raise ParameterError(
            f"The 'inputs' parameter of {where} must be square images (height == width), "
            f"as a quarter turn swaps height and width. Got shape {tuple(shape)} instead; "
            "crop or resize to a square first."
        )
