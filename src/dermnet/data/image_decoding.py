"""Reading an image's pixels and resizing them in TensorFlow: the one decode+resize.

`make_dataset` (and through it `load_images`, `balanced_dataset` and every recipe)
turns each element into pixels with `image_reader` and sizes them with
`resize_pixels`: a file is decoded by TensorFlow's decoders (a large JPEG at reduced
scale, the EXIF orientation applied) or, for the modes TensorFlow decodes differently,
by PIL's `dermnet.data.image_files.decode_image_file`; in-memory arrays are fetched
from `Records.images`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["decode_bytes", "image_reader", "resize_pixels"]


def resize_pixels(
    image: tf.Tensor, size: tuple[int, int], resize: str, interpolation: str
) -> tf.Tensor:
    """An ``HxWx3`` image resized to ``size`` as float32 whole numbers in [0, 255].

    Args:
        image: the pixels (any numeric dtype).
        size: ``(height, width)``.
        resize: ``"stretch"``, ``"pad"`` or ``"crop"`` (see `make_dataset`).
        interpolation: a ``tf.image.resize`` method.
    """
    import tensorflow as tf

    image = _resize_float(tf.cast(image, tf.float32), size, resize, interpolation)
    return tf.clip_by_value(tf.round(image), 0.0, 255.0)


def image_reader(
    *,
    images: np.ndarray | None,
    use_pil: np.ndarray | None,
    size: tuple[int, int],
    resize: str,
    fast_jpeg: bool,
    max_pixels: int,
    orientations: np.ndarray | None = None,
) -> Callable[[dict[str, tf.Tensor]], tf.Tensor]:
    """The function that gives an element's pixels, uint8 ``HxWx3`` RGB, upright.

    What is known of all files beforehand is used to leave steps out of the graph: with
    no file for PIL, no branch to it; with every ``orientations`` 1, no orientation step.

    Args:
        images: the records' in-memory pixels; the element then has an ``index``.
        use_pil: without ``images``, per file whether PIL decodes it (else TensorFlow);
            the element then has a ``path``, an EXIF ``orientation`` and a ``pil`` flag.
        size: the output size, for decoding a large JPEG at reduced scale.
        resize: the resize mode, for the same.
        fast_jpeg: decode a large JPEG at 1/2, 1/4 or 1/8 scale when the output allows.
        max_pixels: the pixel budget of a PIL decode.
        orientations: the files' EXIF orientations, when known (``None``: any).
    """
    import tensorflow as tf

    if images is not None:
        pixels = images

        def fetch(index: np.ndarray) -> np.ndarray:
            return pixels[int(index)]

        def read_array(element: dict[str, tf.Tensor]) -> tf.Tensor:
            image = tf.numpy_function(fetch, [element["index"]], tf.uint8, stateful=False)
            return tf.ensure_shape(image, pixels.shape[1:])

        return read_array

    from dermnet.data.image_files import decode_image_file

    flags = np.zeros(0, dtype=bool) if use_pil is None else np.asarray(use_pil, dtype=bool)
    any_pil, any_tf = bool(flags.any()), not bool(flags.all())
    turned = orientations is None or bool(np.any(np.asarray(orientations)[~flags] != 1))

    def pil_decode(path: bytes) -> np.ndarray:
        return decode_image_file(path.decode(), max_pixels)

    def read_file(element: dict[str, tf.Tensor]) -> tf.Tensor:
        path = element["path"]

        def with_tf() -> tf.Tensor:
            orientation = element["orientation"] if turned else None
            return decode_bytes(tf.io.read_file(path), orientation, size, resize, fast_jpeg)

        def with_pil() -> tf.Tensor:
            image = tf.numpy_function(pil_decode, [path], tf.uint8, stateful=False)
            return tf.ensure_shape(image, [None, None, 3])

        if any_pil and any_tf:
            return tf.cond(element["pil"], with_pil, with_tf)
        return with_pil() if any_pil else with_tf()

    return read_file


def decode_bytes(
    data: tf.Tensor,
    orientation: tf.Tensor | None,
    size: tuple[int, int],
    resize: str,
    fast_jpeg: bool,
) -> tf.Tensor:
    """Decode encoded image bytes (a file TensorFlow decodes as PIL does) to upright RGB.

    The one decode of `make_dataset` for files and shards and of `ImageBatchReader`.

    Args:
        data: the encoded bytes (a scalar string tensor).
        orientation: the EXIF orientation to apply (1-8), or ``None`` when upright.
        size: the output size, for decoding a large JPEG at reduced scale.
        resize: the resize mode, for the same.
        fast_jpeg: decode a large JPEG at 1/2, 1/4 or 1/8 scale when the output allows.

    Returns:
        uint8 ``HxWx3``.
    """
    image = _decode_scaled(data, size, resize, orientation) if fast_jpeg else _decode_full(data)
    return image if orientation is None else _orient(image, orientation)


def _decode_full(data: tf.Tensor) -> tf.Tensor:
    """Decode any format TensorFlow reads to uint8 RGB ``HxWx3`` at full size."""
    import tensorflow as tf

    image = tf.io.decode_image(data, channels=3, expand_animations=False)
    return tf.ensure_shape(image, [None, None, 3])


def _resize_float(
    image: tf.Tensor, size: tuple[int, int], mode: str, method: str = "bilinear"
) -> tf.Tensor:
    """Resize a float32 HxWx3 image; antialiased only when shrinking over 2x (it costs time).

    A shrink by at most 2x per side loses little to aliasing with bilinear sampling, and
    antialiasing (``scale_and_translate``) costs about 3x the plain resize: a JPEG decoded
    at reduced scale (`_decode_scaled`) has already been filtered down to within 2x of
    the output. ``method`` is a ``tf.image.resize`` method; ``"area"`` and ``"nearest"``
    ignore the antialias flag.
    """
    import tensorflow as tf

    shape = tf.shape(image)[:2]
    if mode == "crop":  # centre crop to the target aspect, then resize
        hw = tf.cast(shape, tf.float32)
        target = size[0] / size[1]
        h = tf.minimum(hw[0], hw[1] * target)
        w = tf.minimum(hw[1], hw[0] / target)
        top = tf.cast((hw[0] - h) / 2, tf.int32)
        left = tf.cast((hw[1] - w) / 2, tf.int32)
        image = tf.image.crop_to_bounding_box(
            image, top, left, tf.cast(h, tf.int32), tf.cast(w, tf.int32)
        )
        shape = tf.shape(image)[:2]
    shrinking = tf.logical_or(shape[0] > 2 * size[0], shape[1] > 2 * size[1])

    def resize(antialias: bool) -> tf.Tensor:
        if mode == "pad":
            return _resize_with_pad(image, shape, size, method, antialias)
        return tf.image.resize(image, size, method=method, antialias=antialias)

    return tf.cond(shrinking, lambda: resize(True), lambda: resize(False))


def _resize_with_pad(
    image: tf.Tensor, shape: tf.Tensor, size: tuple[int, int], method: str, antialias: bool
) -> tf.Tensor:
    """Resize keeping the aspect ratio to fit ``size``, centred on black.

    The fitted size is computed in integers (``tf.image.resize_with_pad`` computes it in
    floats, and a graph optimiser's reordering can then move it by a pixel: the same
    image would differ between a ``tf.function`` and a ``tf.data`` map).
    """
    import tensorflow as tf

    h, w = tf.cast(shape[0], tf.int64), tf.cast(shape[1], tf.int64)
    th, tw = tf.constant(size[0], tf.int64), tf.constant(size[1], tf.int64)
    height_bound = h * tw >= w * th  # the height reaches the target first
    new_h = tf.where(height_bound, th, tf.maximum((h * tw) // w, 1))
    new_w = tf.where(height_bound, tf.maximum((w * th) // h, 1), tw)
    resized = tf.image.resize(
        image, tf.cast(tf.stack([new_h, new_w]), tf.int32), method=method, antialias=antialias
    )
    top = tf.cast((th - new_h) // 2, tf.int32)
    left = tf.cast((tw - new_w) // 2, tf.int32)
    return tf.image.pad_to_bounding_box(resized, top, left, size[0], size[1])


def _decode_scaled(
    data: tf.Tensor, size: tuple[int, int], mode: str, orientation: tf.Tensor | None = None
) -> tf.Tensor:
    """Decode an image to uint8 RGB; a large JPEG is decoded at 1/2, 1/4 or 1/8 scale.

    libjpeg can scale in the DCT domain while decoding (what PIL's ``draft`` mode does),
    several times faster than a full decode. The largest scale is picked that still leaves
    the image at least as large as what the resize keeps of it, so no detail the output
    could show is lost. Other formats are decoded in full. ``orientation`` (the EXIF
    orientation, applied afterwards by the caller) swaps height and width when 5-8.
    """
    import tensorflow as tf

    def jpeg() -> tf.Tensor:
        hw = tf.cast(tf.image.extract_jpeg_shape(data)[:2], tf.float32)
        if orientation is not None:  # 5-8 turn the image by 90 degrees
            hw = tf.where(orientation >= 5, hw[::-1], hw)
        h, w = hw[0], hw[1]
        th, tw = float(size[0]), float(size[1])
        if mode == "pad":
            room = tf.maximum(h / th, w / tw)
        elif mode == "crop":
            ratio = th / tw
            room = tf.minimum(tf.minimum(h, w * ratio) / th, tf.minimum(w, h / ratio) / tw)
        else:
            room = tf.minimum(h / th, w / tw)
        index = tf.reduce_sum(tf.cast(room >= tf.constant([2.0, 4.0, 8.0]), tf.int32))
        branches = [
            (lambda r=r: tf.io.decode_jpeg(data, channels=3, ratio=r)) for r in (1, 2, 4, 8)
        ]
        return tf.ensure_shape(tf.switch_case(index, branches), [None, None, 3])

    is_jpeg = tf.equal(tf.strings.substr(data, 0, 3), b"\xff\xd8\xff")
    return tf.cond(is_jpeg, jpeg, lambda: _decode_full(data))


def _orient(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """Apply an EXIF orientation (1-8) to an ``HxWxC`` image, as PIL's ``exif_transpose``."""
    import tensorflow as tf

    def transpose(x: tf.Tensor) -> tf.Tensor:
        return tf.transpose(x, [1, 0, 2])

    branches = [
        lambda: image,
        lambda: image[:, ::-1],
        lambda: image[::-1, ::-1],
        lambda: image[::-1],
        lambda: transpose(image),
        lambda: tf.image.rot90(image, k=3),
        lambda: transpose(image[::-1, ::-1]),
        lambda: tf.image.rot90(image, k=1),
    ]
    index = tf.clip_by_value(tf.cast(orientation, tf.int32) - 1, 0, 7)
    return tf.ensure_shape(tf.switch_case(index, branches), [None, None, 3])
