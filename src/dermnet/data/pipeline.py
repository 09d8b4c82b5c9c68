"""Fast ``tf.data`` input pipelines built from :class:`~dermnet.data.Records`."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from dermnet._core.validation import (
    check_bool,
    check_image_size,
    check_int,
    check_option,
    check_seed,
)
from dermnet.data.records import Records

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["make_dataset"]

_LABEL_MODES = ("int", "one_hot")
_RESIZE_MODES = ("stretch", "pad", "crop")


def _resize(image: tf.Tensor, size: tuple[int, int], mode: str) -> tf.Tensor:
    import tensorflow as tf

    if mode == "stretch":
        return tf.image.resize(image, size, method="bilinear", antialias=True)
    if mode == "pad":
        return tf.image.resize_with_pad(image, size[0], size[1], antialias=True)
    # centre crop to the target aspect, then resize
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    target = size[0] / size[1]
    h = tf.minimum(shape[0], shape[1] * target)
    w = tf.minimum(shape[1], shape[0] / target)
    top = tf.cast((shape[0] - h) / 2, tf.int32)
    left = tf.cast((shape[1] - w) / 2, tf.int32)
    image = tf.image.crop_to_bounding_box(
        image, top, left, tf.cast(h, tf.int32), tf.cast(w, tf.int32)
    )
    return tf.image.resize(image, size, method="bilinear", antialias=True)


def make_dataset(
    records: Records,
    image_size: int | tuple[int, int] = 224,
    batch_size: int = 32,
    *,
    transforms: Callable[[np.ndarray], np.ndarray] | None = None,
    resize: str = "stretch",
    shuffle: bool = False,
    cache: bool = False,
    seed: int | None = None,
    label_mode: str = "int",
) -> tf.data.Dataset:
    """Build a batched ``tf.data.Dataset`` of ``(image, label)`` from records.

    Images are decoded in parallel (JPEG, PNG, BMP; palette and RGBA become RGB), resized,
    passed through ``transforms`` (a NumPy callable such as a
    :class:`dermnet.transforms.Compose`) and returned as float32 in [0, 255], the range
    dermnet models expect. Batches are prefetched with AUTOTUNE.

    Args:
        records: the images and labels.
        image_size: output size, an int or ``(height, width)``.
        batch_size: images per batch.
        transforms: optional per-image preprocessing on uint8 ``HxWx3`` arrays, applied
            after resizing (runs in a ``tf.numpy_function``; for heavy OpenCV work prefer
            an offline cache).
        resize: ``"stretch"``, ``"pad"`` (keep aspect, pad with black) or ``"crop"``
            (keep aspect, centre crop).
        shuffle: shuffle the images every epoch (seeded by ``seed``).
        cache: keep decoded images in memory after the first epoch.
        seed: shuffle seed; with a seed the order is the same on every run.
        label_mode: ``"int"`` (class index) or ``"one_hot"``.

    Returns:
        A dataset yielding ``(images, labels)`` batches; images have shape
        ``(batch, height, width, 3)``.
    """
    import tensorflow as tf

    where = "make_dataset"
    size = check_image_size(image_size, "image_size", where)
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    resize = check_option(resize, _RESIZE_MODES, "resize", where)
    label_mode = check_option(label_mode, _LABEL_MODES, "label_mode", where)
    shuffle = check_bool(shuffle, "shuffle", where)
    cache = check_bool(cache, "cache", where)
    seed = check_seed(seed, "seed", where)

    paths = tf.constant(records.paths, dtype=tf.string)
    labels = tf.constant(records.labels, dtype=tf.int32)
    num_classes = records.num_classes

    def load(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        data = tf.io.read_file(path)
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        image = tf.ensure_shape(image, [None, None, 3])
        image = _resize(tf.cast(image, tf.float32), size, resize)
        image = tf.clip_by_value(tf.round(image), 0.0, 255.0)
        return image, label

    def apply(image: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        def run(array: np.ndarray) -> np.ndarray:
            out = np.asarray(transforms(array.astype(np.uint8)))  # type: ignore[misc]
            return out.astype(np.float32)

        image = tf.numpy_function(run, [image], tf.float32, stateful=False)
        image = tf.ensure_shape(image, [size[0], size[1], 3])
        return image, label

    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if transforms is not None:
        ds = ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    if label_mode == "one_hot":
        ds = ds.map(
            lambda x, y: (x, tf.one_hot(y, num_classes)), num_parallel_calls=tf.data.AUTOTUNE
        )
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
