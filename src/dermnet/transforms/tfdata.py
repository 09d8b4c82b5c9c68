"""Running NumPy/OpenCV transforms inside ``tf.data`` with static shapes and dtypes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import fail
from dermnet.transforms.base import Transform

__all__ = ["tf_map"]

_DTYPES = ("uint8", "float16", "float32", "float64")


def tf_map(
    transform: Transform,
    *,
    output_dtype: str | None = None,
) -> Callable[..., Any]:
    """Wrap a transform as a function for ``tf.data.Dataset.map``.

    The returned function takes an image tensor (``HxWxC``, or a batch ``NxHxWxC``),
    optionally followed by other tensors (labels, ...) that it passes through unchanged,
    so it maps over ``(image, label)`` datasets as well as image-only ones. It runs the
    transform in a ``tf.numpy_function`` and sets the output's static shape from
    `Transform.output_shape` (a pipeline ending in a resize has a fully static
    shape, whatever the input size), so Keras models see known dimensions.

    Dtype contract: the output has the input's dtype (uint8 stays uint8, float32 in
    [0, 255] stays float32 in [0, 255]); ``output_dtype`` casts it afterwards, e.g.
    ``"float32"`` for models. Channel-changing transforms (gray with one channel, edges
    as an extra channel) give the channel count ``output_shape`` states.

    OpenCV in ``tf.data`` holds Python's GIL per image, so it scales poorly with
    ``num_parallel_calls``; for training over many epochs write an offline cache with
    `dermnet.transforms.preprocess_folder` (``dermnet preprocess``) instead.

    Args:
        transform: a dermnet transform or `Compose`.
        output_dtype: cast the output to this dtype (``"uint8"``, ``"float16"``,
            ``"float32"`` or ``"float64"``); None keeps the input's dtype.

    Returns:
        ``fn(image, *rest) -> image`` or ``(image, *rest)``.

    Examples:
        >>> import tensorflow as tf
        >>> from dermnet.transforms import Resize, ShadesOfGray, Compose
        >>> ds = tf.data.Dataset.from_tensor_slices(tf.zeros((2, 60, 80, 3), tf.uint8))
        >>> ds = ds.map(tf_map(Compose([ShadesOfGray(), Resize(32)])))
        >>> ds.element_spec
        TensorSpec(shape=(32, 32, 3), dtype=tf.uint8, name=None)
    """
    if not isinstance(transform, Transform):
        raise fail("transform", "tf_map", "a dermnet Transform", transform)
    if output_dtype is not None and output_dtype not in _DTYPES:
        raise fail("output_dtype", "tf_map", f"None or one of {', '.join(_DTYPES)}", output_dtype)
    where = f"tf_map({type(transform).__name__})"

    def fn(image: Any, *rest: Any) -> Any:
        import tensorflow as tf

        image = tf.convert_to_tensor(image)
        shape = image.shape
        if shape.rank not in (3, 4):
            raise ParameterError(
                f"The image tensor given to {where} must have rank 3 (height, width, "
                f"channels) or 4 (batch, ...). Got shape {shape} instead."
            )
        dims = shape.as_list()
        batch, hwc = (dims[0], dims[1:]) if shape.rank == 4 else (None, dims)
        channels = hwc[2]
        if channels is not None and channels not in transform.input_channels:
            raise ParameterError(
                f"The image tensor given to {where} must have "
                f"{' or '.join(map(str, transform.input_channels))} channels. "
                f"Got shape {shape} instead."
            )
        out_hwc = list(transform.output_shape(tuple(hwc)))
        out_shape = [batch, *out_hwc] if shape.rank == 4 else out_hwc
        dtype = image.dtype
        np_dtype = dtype.as_numpy_dtype

        def run(array: np.ndarray) -> np.ndarray:
            out = transform(array)
            if not isinstance(out, np.ndarray):  # pragma: no cover - transforms return arrays
                raise ParameterError(f"{where} returned {type(out).__name__}, not an array.")
            if out.ndim == len(out_shape) - 1:  # HxW gray result: keep the channel axis
                out = out[..., None]
            return out.astype(np_dtype, copy=False)

        out = tf.numpy_function(run, [image], dtype, stateful=False, name="dermnet_transform")
        out = tf.ensure_shape(out, out_shape)
        if output_dtype is not None:
            out = tf.cast(out, output_dtype)
        return (out, *rest) if rest else out

    fn.__name__ = f"tf_map_{type(transform).__name__}"
    import tensorflow as tf

    # Plain Python with no tensor-dependent control flow: autograph has nothing to
    # convert, and skipping it lets a ParameterError reach the caller unwrapped.
    return tf.autograph.experimental.do_not_convert(fn)
