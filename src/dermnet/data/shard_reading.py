"""Reading a shard folder in `make_dataset`: parallel interleave, checked counts, sharding.

`make_dataset` calls `shard_elements` when its source is a shard folder (written by
`dermnet.data.shards.write_shards`). The shard files are read in parallel
(``interleave`` over ``TFRecordDataset``), each example is decoded by the same
`dermnet.data.image_decoding.decode_bytes` and `resize_pixels` as a JPEG file, and its
metadata row is gathered from the encoded records table by the example's ``row``. So the
shards and the image files they were written from give the same batches. Pixel shards
(``encoding="pixels"``) hold images already decoded and resized by that same code: they
are read with ``tf.io.decode_raw`` and a reshape, only at the size and options they were
written with (`dermnet.data.shard_pixels.PixelLayout.check_read`).

A shard that ends early (truncated) or holds a corrupted record stops the iteration
with an error naming the shard file and how many of its examples were read (in place of
TensorFlow's bare ``DataLossError``). Under ``tf.distribute`` the dataset carries the
``FILE`` auto-shard policy: each worker reads its own shard files.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet.data.image_decoding import decode_bytes, resize_pixels
from dermnet.data.shard_index import (
    ShardIndex,
    is_shard_folder,
    parse_examples,
    read_shard_index,
)
from dermnet.data.shard_pixels import decode_pixels

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["as_shard_index", "shard_elements", "shard_options"]

_SHUFFLE_BUFFER = 1024
_CHUNK = 64


def as_shard_index(source: Any) -> ShardIndex | None:
    """The `ShardIndex` of ``source`` when it is one or names a shard folder, else ``None``."""
    if isinstance(source, ShardIndex):
        return source
    if isinstance(source, (str, os.PathLike)) and is_shard_folder(source):
        return read_shard_index(source)
    return None


def _checked_chunks(file: tf.Tensor, expected: tf.Tensor) -> tf.data.Dataset:
    """The serialized examples of one shard in chunks; an error naming it when it ends early."""
    import tensorflow as tf

    def report(name: bytes, count: np.int64, want: np.int64) -> bool:
        raise DataError(
            f"Shard {name.decode()} is truncated or corrupted: {int(count)} of its "
            f"{int(want)} examples could be read. Rewrite it (write_shards or `dermnet "
            "shard` with the same records resumes and replaces damaged shards after "
            "verify_shards names them)."
        )

    # Counted in chunks: a scan step (a cond) per example would cost more than reading it.
    chunks = tf.data.TFRecordDataset(file).ignore_errors(log_warning=False).batch(_CHUNK)
    end = tf.data.Dataset.from_tensors(tf.constant([], tf.string))

    def step(count: tf.Tensor, chunk: tf.Tensor) -> Any:
        size = tf.cast(tf.shape(chunk)[0], tf.int64)
        short = tf.logical_and(size == 0, count != expected)
        checked = tf.cond(
            short,
            lambda: tf.numpy_function(report, [file, count, expected], tf.bool, stateful=True),
            lambda: tf.constant(True),
        )
        with tf.control_dependencies([checked]):
            return count + size, tf.identity(chunk)

    return chunks.concatenate(end).scan(tf.constant(0, tf.int64), step)


def shard_elements(
    index: ShardIndex,
    *,
    labels: np.ndarray,
    meta: np.ndarray | None,
    size: tuple[int, int],
    resize: str,
    interpolation: str,
    fast_jpeg: bool,
    shuffle: bool,
    seed: int | None,
    epoch: tf.Variable | None,
    deterministic: bool,
    keep_uint8: bool,
    cycle_length: int | None = None,
) -> tf.data.Dataset:
    """The decoded, resized examples of a shard folder, as `make_dataset` elements.

    Args:
        index: the shard folder's index.
        labels: the records' class indices, one per records row.
        meta: the encoded metadata, one row per records row, or ``None``.
        size: the output ``(height, width)``.
        resize: the resize mode.
        interpolation: the ``tf.image.resize`` method.
        fast_jpeg: decode large JPEGs at reduced scale.
        shuffle: shuffle the shard files each epoch, and the examples in a buffer.
        seed: the shuffle's seed.
        epoch: the epoch variable of exact resume (the file order is then a function of
            ``(seed, epoch)``; the example buffer is seeded by ``seed``).
        deterministic: keep the order fixed.
        keep_uint8: give uint8 images (no ``transforms`` follow).
        cycle_length: shard files read at once (default: up to 8, by CPU count).

    Returns:
        A dataset of dicts with ``label``, `IMAGE_INPUT` and (with ``meta``)
        `METADATA_INPUT`, in shard order when not shuffled.

    Raises:
        ParameterError: pixel shards asked for another size, resize mode, interpolation
            or ``fast_jpeg`` than they were written with (the message names both).
    """
    import tensorflow as tf

    layout = index.pixels
    if layout is not None:
        layout.check_read(size, resize, interpolation, fast_jpeg, index.root)

    from dermnet.data.epoch_order import shuffle_each_epoch

    files = np.asarray(index.files, dtype=object).astype(str)
    counts = np.asarray([s["count"] for s in index.shards], dtype=np.int64)
    columns = {"file": files, "count": counts}
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = shuffle_each_epoch(ds, len(files), seed, epoch, columns)
    cycle = cycle_length or max(1, min(8, len(files), os.cpu_count() or 1))
    label_table = tf.constant(np.asarray(labels, dtype=np.int32))
    meta_table = None if meta is None else tf.constant(np.asarray(meta, dtype=np.float32))

    def parse(chunk: tf.Tensor) -> dict[str, tf.Tensor]:
        # One parse and one gather per chunk of examples, not per example.
        example = parse_examples(chunk)
        row = example["row"]  # a row outside records.csv fails the gather (CPU) by name
        out = {"label": tf.gather(label_table, row)}
        if layout is not None:  # stored decoded and resized: one reshape per chunk
            images = decode_pixels(example["image"], layout)
            out[IMAGE_INPUT] = images if keep_uint8 else tf.cast(images, tf.float32)
        else:
            out["data"] = example["image"]
            out["orientation"] = tf.cast(example["orientation"], tf.int32)
        if meta_table is not None:
            out[METADATA_INPUT] = tf.gather(meta_table, row)
        return out

    # Pixel examples are large (147 KB at 224x224): they cross the parallel interleave in
    # parsed chunks and are split after it, cheaper than one interleave element each.
    chunked = layout is not None

    def examples(item: dict[str, tf.Tensor]) -> tf.data.Dataset:
        chunks = _checked_chunks(item["file"], item["count"]).map(parse)
        return chunks if chunked else chunks.unbatch()

    per_shard = -(-int(counts.max()) // _CHUNK) if chunked else int(counts.max())
    ds = ds.interleave(
        examples,
        cycle_length=cycle,
        # unshuffled: each shard whole, in turn (the records' order), read ahead in parallel
        block_length=1 if shuffle else max(1, per_shard),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    if chunked:
        ds = ds.unbatch()
    if shuffle:
        ds = ds.shuffle(min(_SHUFFLE_BUFFER, index.count), seed=seed, reshuffle_each_iteration=True)

    # Shards written by this version count their turned examples: with none, the graph
    # leaves the orientation step out (as the JPEG path does when no header asks for it).
    upright = all(s.get("turned") == 0 for s in index.shards)

    def load(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        orientation = None if upright else example["orientation"]
        image = decode_bytes(example["data"], orientation, size, resize, fast_jpeg)
        image = resize_pixels(image, size, resize, interpolation)
        out = {k: v for k, v in example.items() if k not in ("data", "orientation")}
        out[IMAGE_INPUT] = tf.cast(image, tf.uint8) if keep_uint8 else image
        return out

    if layout is None:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds.apply(tf.data.experimental.assert_cardinality(index.count))


def shard_options() -> tf.data.Options:
    """Options of a shard dataset: each ``tf.distribute`` worker reads its own files."""
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.FILE
    return options
