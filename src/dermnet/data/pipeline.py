"""Fast ``tf.data`` input pipelines built from `Records`: `make_dataset` and `load_images`.

The steps live in their own modules: `image_decoding` (decode + resize),
`unreadable_images` (naming or skipping bad files), `epoch_order` (shuffles and seeds per
epoch), `augmentation` (calling an augmentation, seeded) and `cache_fingerprint`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.moved import moved_names
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet._core.validation import (
    check_bool,
    check_image_size,
    check_int,
    check_option,
    check_seed,
)
from dermnet.data.augmentation import (
    augment_batches,
    augment_each_image,
    per_image_augmentation,
)
from dermnet.data.data_config import INTERPOLATIONS, RESIZE_MODES, DataConfig
from dermnet.data.epoch_order import shuffle_cached_each_epoch, shuffle_each_epoch
from dermnet.data.image_decoding import image_reader, resize_pixels
from dermnet.data.pipeline_options import cache_target, encode_metadata
from dermnet.data.records import Records, check_records
from dermnet.data.shard_index import ShardIndex, shard_records
from dermnet.data.shard_reading import as_shard_index, shard_elements, shard_options
from dermnet.data.unreadable_images import (
    check_image_headers,
    drop_unusable_images,
    name_lost_images,
)

if TYPE_CHECKING:
    import tensorflow as tf

    from dermnet.data.image_files import ImageHeader
    from dermnet.data.metadata import MetadataEncoder

__all__ = ["make_dataset"]

_LABEL_MODES = ("int", "one_hot", "binary")
_ON_ERROR = ("raise", "skip")
_DISK_SHUFFLE_BUFFER = 1024


def make_dataset(
    records: Records | ShardIndex | str | os.PathLike[str],
    image_size: int | tuple[int, int] | DataConfig = 224,
    batch_size: int | None = 32,
    *,
    transforms: Callable[[np.ndarray], np.ndarray] | None = None,
    augment: Callable[..., Any] | None = None,
    augment_on: str = "data",
    resize: str | None = None,
    interpolation: str | None = None,
    shuffle: bool = False,
    cache: bool | str | os.PathLike[str] = False,
    seed: int | None = None,
    label_mode: str | None = "int",
    with_metadata: bool = False,
    metadata_encoder: MetadataEncoder | None = None,
    deterministic: bool = True,
    drop_remainder: bool = False,
    on_error: str = "raise",
    fast_jpeg: bool = True,
    epoch: tf.Variable | None = None,
    max_pixels: int | None = None,
) -> tf.data.Dataset:
    """Build a ``tf.data.Dataset`` of ``(image, label)`` from records.

    Images are read and decoded in parallel by the one decoder of
    `dermnet.data.image_files` (JPEG, PNG, BMP, GIF, WebP, TIFF; gray, palette, RGBA,
    CMYK and 16-bit become 8-bit RGB; the EXIF orientation is applied), resized, passed
    through ``transforms`` and returned as float32 in [0, 255], the range dermnet models
    expect (their preprocessing is inside the model).
    With a `DataConfig` as ``image_size``, the config sets the size, resize mode,
    interpolation and preprocessing: the pixels are then exactly those `load_images`
    reads for prediction and explanation.
    Only file names are held until a batch is read: the decoded dataset is kept in memory
    only with ``cache="memory"``. Batches are prefetched with AUTOTUNE.

    Order of work: file names (shuffled first, when not cached) -> decode -> resize ->
    ``transforms`` -> cache -> (shuffle, when cached) -> batch -> ``augment`` -> prefetch.

    Args:
        records: the images and labels: `Records`, or a shard folder (a path or URL that
            `tf.io.gfile` opens, e.g. ``gs://bucket/shards``, or its `ShardIndex`) written
            by `dermnet.data.shards.write_shards`. Shards are read in parallel
            (interleaved), each ``tf.distribute`` worker reading its own shard files
            (auto-shard policy ``FILE``), and give the same batches as the image files
            they were written from (metadata from their ``records.csv``); a truncated or
            corrupted shard stops the iteration with an error naming the shard file.
        image_size: output size, an int or ``(height, width)``, or a `DataConfig` (then
            ``resize``, ``interpolation`` and ``transforms`` must not be given: the
            config's resize, interpolation and preprocessing are used).
        batch_size: images per batch; ``None`` yields single ``(image, label)`` elements
            (to combine per-class streams with ``tf.data.Dataset.sample_from_datasets``).
        transforms: optional per-image preprocessing, a NumPy callable on uint8 ``HxWx3``
            arrays that returns an image of the same size (e.g. a
            `dermnet.transforms.Compose`); applied after resizing, before caching.
        augment: optional random augmentation of the float32 image *batch* in [0, 255],
            applied after batching and after the cache (so it differs every epoch), e.g. a
            Keras layer or ``keras.Sequential`` of augmentation layers. It is called as
            ``augment(images, training=True)`` when it accepts ``training``, else
            ``augment(images)``; a callable that accepts ``seed`` also gets a per-batch
            stateless seed (shape ``(2,)``, int64) drawn from ``seed``, different each
            epoch. With ``batch_size=None`` it is applied per image. An augmentation that
            only moves pixels (``augmentation("dihedral")``, ``"flips"``, or a sequence
            of dermnet's flip, quarter-turn and dihedral layers) is applied to each image
            before batching instead, with a per-image seed: the same distribution at a
            fraction of the cost (at 224 px, 1.1-1.2x the un-augmented pipeline instead
            of 2x).
        augment_on: ``"data"`` (default): ``augment`` runs in the input pipeline, on the
            CPU. ``"model"``: the dataset leaves the images as they are and keeps
            ``augment`` in its ``model_augmentation`` attribute; train
            ``dermnet.transforms.augment_presets.augmenting_model(model, augment)``, which
            runs it inside the model (on the accelerator) in training only.
        resize: ``"stretch"`` (to the size, ignoring aspect), ``"pad"`` (keep aspect, pad
            with black) or ``"crop"`` (keep aspect, centre crop); ``None`` means
            ``"stretch"``. Antialiased when shrinking by over 2x (a JPEG decoded at
            reduced scale is already filtered down to within 2x of the output).
        interpolation: the resampling method of ``tf.image.resize``: ``"bilinear"``,
            ``"bicubic"``, ``"area"`` or ``"nearest"``; ``None`` means ``"bilinear"``.
        shuffle: shuffle the images every epoch (seeded by ``seed``).
        cache: ``False`` (default); ``True`` or ``"memory"`` keeps the decoded, resized
            images in memory after the first epoch (``height*width*3`` bytes each, 4x that
            with ``transforms``); a path caches them in files with that prefix (in an
            existing folder: ``<folder>/dermnet_cache*``); the first epoch must run to the
            end to complete a file cache. A file cache is keyed by content: beside it,
            ``<cache>.fingerprint.json`` records the ordered paths, each file's size and
            modification time, the labels, the metadata, the size, resize, interpolation
            and ``transforms`` config, and the dermnet version; when any of them changed,
            or an interrupted run left the cache half written, the cache is deleted and
            rebuilt with a warning that says why. (A ``transforms`` callable without
            ``to_dict`` or ``get_config`` is known only by its name.)
        seed: seed of the shuffle and of ``augment``'s per-batch seeds; with a seed the
            order is the same on every run.
        label_mode: ``"int"`` (class index, int32), ``"one_hot"`` (float32 vector),
            ``"binary"`` (float32 0/1, two classes only) or ``None`` (images only, for
            prediction).
        with_metadata: yield ``({IMAGE_INPUT: images, METADATA_INPUT: vectors}, label)``,
            the input of image+metadata models (inputs named ``"image"`` and ``"metadata"``,
            `dermnet._core.protocols.IMAGE_INPUT` and ``METADATA_INPUT``).
        metadata_encoder: a `MetadataEncoder` fitted on the training part; when
            ``None``, one is fitted on ``records`` if (and only if) their role is
            ``"train"``.
        deterministic: keep the element order fixed (default). ``False`` lets parallel
            decoding return elements as they finish, which can be faster.
        drop_remainder: drop the last, smaller batch.
        on_error: ``"raise"`` (default): the header of every file is read before
            anything runs (`check_image_files`), and a missing, empty, non-image,
            unsupported or oversized file is an error naming it; a file whose header is
            fine but whose pixels do not decode (a truncated JPEG) stops the iteration
            that reaches it with an error naming the file(s). ``"skip"``: decode every
            image first and leave out missing, unreadable, truncated or oversized ones
            with a warning that counts and names them; they are listed (with the
            records' earlier exclusions) in the returned dataset's ``excluded``
            attribute, a DataFrame with a ``reason`` column.
        fast_jpeg: decode a JPEG much larger than ``image_size`` at 1/2, 1/4 or 1/8 scale
            inside the JPEG decoder (as PIL's draft mode does), several times faster; only
            scales that keep at least the output's resolution are used. ``False`` always
            decodes in full (results then differ slightly, by resampling).
        epoch: an integer ``tf.Variable`` holding the epoch number. With it, the shuffle
            order and ``augment``'s per-batch seeds of an iteration are a pure function of
            ``(seed, epoch)``, read when the iteration starts, instead of depending on how
            many times the dataset was iterated: set it at the start of every epoch
            (`dermnet.train.train_run` does) and a resumed run sees exactly the data of
            an uninterrupted one. This holds without a cache and with the memory cache
            (each epoch then gathers the cached pass in a permuted order); a shuffle
            after a file cache stays exact within one process only.
        max_pixels: the pixel budget per image (height x width), checked from the header
            before decoding; ``None`` means ``$DERMNET_MAX_IMAGE_PIXELS`` or
            `dermnet.data.image_files.MAX_IMAGE_PIXELS` (100 million).

    Returns:
        A dataset of ``(images, labels)`` batches; images are float32
        ``(batch, height, width, 3)`` (``(height, width, 3)`` with ``batch_size=None``).

    Raises:
        MissingFileError: an image file is missing (``on_error="raise"``).
        DataError: an image file cannot be read (``on_error="raise"``; the message names
            it), or none can (``on_error="skip"``).
        ParameterError: a parameter is invalid, ``resize``, ``interpolation`` or
            ``transforms`` are given with a `DataConfig`, or ``with_metadata`` without an
            encoder for records that are not training records.

    Examples:
        >>> from dermnet.data import load_sample
        >>> ds = make_dataset(load_sample("malaria"), 32, batch_size=8, label_mode="one_hot")
        >>> images, labels = next(iter(ds))
        >>> tuple(images.shape), tuple(labels.shape), images.dtype.name
        ((8, 32, 32, 3), (8, 2), 'float32')
    """
    import tensorflow as tf

    where = "make_dataset"
    shards = as_shard_index(records)
    if shards is not None:
        records = shard_records(shards.root)
    records = check_records(records, where)
    if isinstance(image_size, DataConfig):
        config = image_size.validate()
        given = [
            name
            for name, value in (
                ("resize", resize),
                ("interpolation", interpolation),
                ("transforms", transforms),
            )
            if value is not None
        ]
        if given:
            raise ParameterError(
                f"{where} got a DataConfig as 'image_size' and also {given}: the data config "
                "owns the resize mode, interpolation and preprocessing. Set them in the "
                "DataConfig, or pass an int or (height, width) size instead."
            )
        size, resize, interpolation = config.image_size, config.resize, config.interpolation
        transforms = config.transform()
    else:
        size = check_image_size(image_size, "image_size", where)
        resize = check_option(
            "stretch" if resize is None else resize, RESIZE_MODES, "resize", where
        )
        interpolation = check_option(
            "bilinear" if interpolation is None else interpolation,
            INTERPOLATIONS,
            "interpolation",
            where,
        )
    batch_size = check_int(batch_size, "batch_size", where, low=1, allow_none=True)
    if label_mode is not None:
        label_mode = check_option(label_mode, _LABEL_MODES, "label_mode", where)
    if label_mode == "binary" and records.num_classes != 2:
        raise ParameterError(
            f"label_mode='binary' of {where} needs records with 2 classes. "
            f"Got {records.num_classes} ({list(records.classes)}) instead."
        )
    shuffle = check_bool(shuffle, "shuffle", where)
    with_metadata = check_bool(with_metadata, "with_metadata", where)
    deterministic = check_bool(deterministic, "deterministic", where)
    drop_remainder = check_bool(drop_remainder, "drop_remainder", where)
    on_error = check_option(on_error, _ON_ERROR, "on_error", where)
    augment_on = check_option(augment_on, ("data", "model"), "augment_on", where)
    fast_jpeg = check_bool(fast_jpeg, "fast_jpeg", where)
    from dermnet.data.image_files import max_image_pixels

    budget = max_image_pixels(max_pixels, where)
    seed = check_seed(seed, "seed", where)
    cache_to = cache_target(cache, where)
    for name, fn in (("transforms", transforms), ("augment", augment)):
        if fn is not None and not callable(fn):
            raise ParameterError(
                f"The {name!r} parameter of {where} must be callable or None. Got {fn!r} instead."
            )
    if len(records) == 0:
        raise ParameterError(f"The 'records' parameter of {where} must not be empty.")

    if shards is not None and on_error == "skip":
        raise ParameterError(
            f"{where}(on_error='skip') reads image files; the shards of {shards.root} were "
            "checked when written (verify_shards). Use on_error='raise' with shards."
        )
    headers: list[ImageHeader] = []
    if on_error == "skip":
        records = drop_unusable_images(records, budget)
        if len(records) == 0:
            raise DataError(
                f"make_dataset(on_error='skip'): no image of {records.name!r} is usable."
            )
    if records.images is None and shards is None:
        headers = check_image_headers(records, budget, where)
    meta = encode_metadata(records, metadata_encoder, where)[0] if with_metadata else None

    n = len(records)
    keep_uint8 = transforms is None  # cache 1 byte per channel when nothing changes range
    decode = {
        "size": size,
        "resize": resize,
        "interpolation": interpolation,
        "fast_jpeg": fast_jpeg,
    }
    order = {"shuffle": shuffle and cache_to is None, "seed": seed, "epoch": epoch}
    if shards is not None:
        ds = shard_elements(
            shards,
            labels=records.labels,
            meta=meta,
            **decode,
            **order,
            deterministic=deterministic,
            keep_uint8=keep_uint8,
        )
    else:
        ds = _record_elements(
            records,
            headers,
            meta,
            **decode,
            **order,
            max_pixels=budget,
            deterministic=deterministic,
            keep_uint8=keep_uint8,
        )

    if transforms is not None:

        def run(array: np.ndarray) -> np.ndarray:
            out = np.asarray(transforms(array.astype(np.uint8)))
            if out.shape != array.shape:
                raise ValueError(
                    f"make_dataset: 'transforms' must return an image of shape {array.shape}; "
                    f"it returned {out.shape}."
                )
            return out.astype(np.float32)

        def apply(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            image = tf.numpy_function(run, [element[IMAGE_INPUT]], tf.float32, stateful=False)
            return {**element, IMAGE_INPUT: tf.ensure_shape(image, [size[0], size[1], 3])}

        ds = ds.map(apply, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)

    if cache_to is not None:
        if cache_to != "memory":  # a file cache outlives the process: key it by content
            from dermnet.data.cache_fingerprint import (
                CacheFingerprint,
                describe_callable,
                prepare_file_cache,
            )

            settings = {
                "image_size": list(size),
                "resize": resize,
                "interpolation": interpolation,
                "fast_jpeg": fast_jpeg,
                "on_error": on_error,
                "transforms": describe_callable(transforms),
            }
            fingerprint = CacheFingerprint.of(records, metadata=meta, settings=settings)
            prepare_file_cache(Path(cache_to), fingerprint, where)
        ds = ds.cache("" if cache_to == "memory" else str(cache_to))
        if shuffle and cache_to == "memory" and epoch is not None:
            ds = shuffle_cached_each_epoch(ds, n, seed, epoch)
        elif shuffle:
            buffer = n if cache_to == "memory" else min(n, _DISK_SHUFFLE_BUFFER)
            ds = shuffle_each_epoch(ds, buffer, seed, epoch)

    num_classes = records.num_classes

    def output(element: dict[str, tf.Tensor]) -> Any:
        image = tf.cast(element[IMAGE_INPUT], tf.float32)
        x: Any = image
        if meta is not None:
            x = {IMAGE_INPUT: image, METADATA_INPUT: element[METADATA_INPUT]}
        if label_mode is None:
            return x
        label = element["label"]
        if label_mode == "one_hot":
            y = tf.one_hot(label, num_classes, dtype=tf.float32)
        elif label_mode == "binary":
            y = tf.cast(label, tf.float32)
        else:
            y = label
        return x, y

    # An augmentation that only moves pixels runs on each (cached, uint8) image: one move
    # per image, in parallel, instead of a map_fn over each batch.
    per_image = per_image_augmentation(augment) if augment_on == "data" else None
    if per_image is not None:
        ds = augment_each_image(ds, per_image, seed=seed, deterministic=deterministic, epoch=epoch)
    # Batch first, then convert whole batches: one cast per batch instead of one per image,
    # and uint8 batches move 4x fewer bytes.
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(output, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if augment is not None and augment_on == "data" and per_image is None:
        ds = augment_batches(
            ds,
            augment,
            seed=seed,
            deterministic=deterministic,
            with_metadata=meta is not None,
            labelled=label_mode is not None,
            epoch=epoch,
        )
    options = shard_options() if shards is not None else tf.data.Options()
    options.deterministic = deterministic
    result = ds.with_options(options).prefetch(tf.data.AUTOTUNE)
    result.model_augmentation = augment if augment_on == "model" else None
    result.excluded = records.excluded  # what on_error="skip" (and the loaders) left out
    return result


def _record_elements(
    records: Records,
    headers: list[ImageHeader],
    meta: np.ndarray | None,
    *,
    size: tuple[int, int],
    resize: str,
    interpolation: str,
    fast_jpeg: bool,
    max_pixels: int,
    shuffle: bool,
    seed: int | None,
    epoch: tf.Variable | None,
    deterministic: bool,
    keep_uint8: bool,
) -> tf.data.Dataset:
    """The decoded, resized images of records (files or in-memory arrays) as dict elements."""
    import tensorflow as tf

    n = len(records)
    in_memory = records.images
    columns: dict[str, Any] = {
        "index": np.arange(n, dtype=np.int64),
        "label": records.labels.astype(np.int32),
    }
    if in_memory is None:
        columns["path"] = np.asarray(records.paths, dtype=object).astype(str)
        columns["orientation"] = np.array([h.orientation for h in headers], dtype=np.int32)
        columns["pil"] = np.array([not h.tf_decodable for h in headers], dtype=bool)
    if meta is not None:
        columns[METADATA_INPUT] = meta
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle:
        ds = shuffle_each_epoch(ds, n, seed, epoch, columns)

    read = image_reader(
        images=in_memory,
        use_pil=columns.get("pil"),
        size=size,
        resize=resize,
        fast_jpeg=fast_jpeg,
        max_pixels=max_pixels,
        orientations=columns.get("orientation"),
    )

    def load(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        image = resize_pixels(read(element), size, resize, interpolation)
        out = {k: v for k, v in element.items() if k not in ("path", "index", "orientation", "pil")}
        out[IMAGE_INPUT] = tf.cast(image, tf.uint8) if keep_uint8 else image
        return out

    if in_memory is None:  # a file that fails to decode is named, not a bare TF error

        def load_at(position: tf.Tensor, element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            return {**load(element), "position": position}

        ds = ds.enumerate().map(
            load_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic
        )
        ds = name_lost_images(ds, records.paths, records.name, deterministic)
    else:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds


# `load_images` moved beside `ImageBatchReader`; the old path still works, with a warning
# (loaded by name, so this module and image_batches do not import each other).
__getattr__, _moved_dir = moved_names(
    __name__, {"load_images": "dermnet.data.image_batches"}, also="dermnet.data"
)
