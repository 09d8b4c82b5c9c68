"""Fast ``tf.data`` input pipelines built from `Records`."""

from __future__ import annotations

import inspect
import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import (
    check_bool,
    check_image_size,
    check_int,
    check_option,
    check_seed,
)
from dermnet.data.data_config import INTERPOLATIONS, RESIZE_MODES, DataConfig
from dermnet.data.records import Records

if TYPE_CHECKING:
    import tensorflow as tf

    from dermnet.data.image_files import ImageHeader
    from dermnet.data.metadata import MetadataEncoder

__all__ = ["load_images", "make_dataset"]

_LABEL_MODES = ("int", "one_hot", "binary")
_ON_ERROR = ("raise", "skip")
_DISK_SHUFFLE_BUFFER = 1024


def _resize(
    image: tf.Tensor, size: tuple[int, int], mode: str, method: str = "bilinear"
) -> tf.Tensor:
    """Resize a float32 HxWx3 image; antialiased only when shrinking (it costs time).

    ``method`` is a ``tf.image.resize`` method; ``"area"`` and ``"nearest"`` ignore the
    antialias flag.
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
    shrinking = tf.logical_or(shape[0] > size[0], shape[1] > size[1])

    def resize(antialias: bool) -> tf.Tensor:
        if mode == "pad":
            return tf.image.resize_with_pad(
                image, size[0], size[1], method=method, antialias=antialias
            )
        return tf.image.resize(image, size, method=method, antialias=antialias)

    return tf.cond(shrinking, lambda: resize(True), lambda: resize(False))


def _decode_fast(
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

    def full() -> tf.Tensor:
        image = tf.io.decode_image(data, channels=3, expand_animations=False)
        return tf.ensure_shape(image, [None, None, 3])

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
    return tf.cond(is_jpeg, jpeg, full)


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` (a Keras layer: its ``call``) names the parameter ``name``."""
    target = getattr(fn, "call", None)
    if not callable(target):
        target = fn
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def _call_augment(augment: Callable[..., Any]) -> Callable[..., Any]:
    """Call ``augment`` the way it accepts: ``(images, training=True[, seed=...])``."""
    training = _accepts(augment, "training")
    seeded = _accepts(augment, "seed")

    def apply(images: tf.Tensor, seed: tf.Tensor | None) -> tf.Tensor:
        kwargs: dict[str, Any] = {}
        if training:
            kwargs["training"] = True
        if seeded and seed is not None:
            kwargs["seed"] = seed
        return augment(images, **kwargs)

    return apply


def _skip_bad(records: Records, max_pixels: int) -> Records:
    """Decode every image (the shared decoder, in threads) and exclude the unusable ones."""
    from dermnet.data.validation import validate

    report = validate(records, check_duplicates=False, check_classes=False, max_pixels=max_pixels)
    if report.ok:
        return records
    bad = report.problems
    warnings.warn(
        f"make_dataset(on_error='skip') excluded {len(report.bad_rows)} of {len(records)} "
        f"images of {records.name!r}: {report.counts()}; first: "
        f"{bad['image_path'].head(3).tolist()}. They are listed in the dataset's "
        "'excluded' attribute; dermnet.data.validate(records) gives the full report.",
        UserWarning,
        stacklevel=3,
    )
    return report.drop_bad(records)


def _check_headers(records: Records, max_pixels: int, where: str) -> list[ImageHeader]:
    """Read every image's header; raise naming the missing or unreadable files."""
    from dermnet.data.image_files import check_image_files

    report = check_image_files(records, max_pixels=max_pixels)
    skip = (
        "Pass on_error='skip' to leave them out (they are then listed in the dataset's "
        "'excluded' attribute), or exclude them from the records first with "
        "dermnet.data.check_image_files(records).drop_bad(records)."
    )
    missing = [p for p, why in report.bad if why == "no such file"]
    if missing:
        raise MissingFileError(
            f"{len(missing)} image file(s) of {records.name!r} are missing: "
            f"{_shown(missing)}. {skip}"
        )
    if not report.ok:
        raise DataError(f"{where}: {report.summary()} (dataset {records.name!r}). {skip}")
    return [h for h in report.headers if h is not None]


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


def _raise_on_lost(
    ds: tf.data.Dataset, paths: Sequence[str], name: str, deterministic: bool
) -> tf.data.Dataset:
    """Turn a per-image decode failure into an error that names the file(s).

    ``ds`` yields decoded elements with their ``position`` in this pass. A failing element
    is dropped (``ignore_errors``); a gap in the positions (or, when the order is not
    deterministic, a short count at the end) means an image failed to decode: the files
    are then re-checked with PIL and the error names the culprits and how to skip them.
    """
    import tensorflow as tf

    from dermnet.data.image_files import _undecodable

    n = len(paths)

    def report(count: np.ndarray) -> bool:
        bad = _undecodable(paths)
        skip = (
            "Pass on_error='skip' to make_dataset to leave such files out (they are listed "
            "in the dataset's 'excluded' attribute), or run dermnet.data.validate(records)."
        )
        if bad:
            shown = _shown([f"{p} ({why})" for p, why in bad])
            raise DataError(
                f"make_dataset: {len(bad)} of {n} image file(s) of {name!r} cannot be "
                f"decoded: {shown}. {skip}"
            )
        raise DataError(
            f"make_dataset: image {int(count) + 1} of this pass over {name!r} could not be "
            f"decoded by TensorFlow, although PIL decodes every file. {skip}"
        )

    ds = ds.ignore_errors()
    end = tf.data.Dataset.from_tensors(
        {
            key: tf.fill([d if d is not None else 1 for d in spec.shape], tf.cast(-1, spec.dtype))
            if key == "position"
            else tf.zeros([d if d is not None else 1 for d in spec.shape], spec.dtype)
            for key, spec in ds.element_spec.items()
        }
    )

    def step(count: tf.Tensor, element: dict[str, tf.Tensor]) -> Any:
        position = element["position"]
        at_end = position < 0
        lost = tf.logical_and(at_end, count != n)
        if deterministic:
            lost = tf.logical_or(lost, tf.logical_and(~at_end, position != count))
        checked = tf.cond(
            lost,
            lambda: tf.numpy_function(report, [count], tf.bool, stateful=True),
            lambda: tf.constant(True),
        )
        with tf.control_dependencies([checked]):
            return tf.identity(count) + 1, element

    ds = ds.concatenate(end).scan(tf.constant(0, tf.int64), step)
    ds = ds.filter(lambda element: element["position"] >= 0)
    return ds.apply(tf.data.experimental.assert_cardinality(n))


def _metadata(
    records: Records, encoder: MetadataEncoder | None, where: str
) -> tuple[np.ndarray, MetadataEncoder]:
    from dermnet.data.metadata import MetadataEncoder

    if encoder is None:
        if records.role != "train":
            raise ParameterError(
                f"{where}(with_metadata=True) needs a fitted 'metadata_encoder' for records "
                f"whose role is {records.role!r}: fit it on the training part only, "
                "MetadataEncoder().fit(parts.train), and pass it for every part. (It is "
                "fitted on the records themselves only when their role is 'train'.)"
            )
        encoder = MetadataEncoder().fit(records)
    elif not isinstance(encoder, MetadataEncoder):
        raise ParameterError(
            f"The 'metadata_encoder' parameter of {where} must be a MetadataEncoder. "
            f"Got {type(encoder).__name__} instead."
        )
    return encoder.transform(records), encoder


def make_dataset(
    records: Records,
    image_size: int | tuple[int, int] | DataConfig = 224,
    batch_size: int | None = 32,
    *,
    transforms: Callable[[np.ndarray], np.ndarray] | None = None,
    augment: Callable[..., Any] | None = None,
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
        records: the images and labels.
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
            epoch. With ``batch_size=None`` it is applied per image.
        resize: ``"stretch"`` (to the size, ignoring aspect), ``"pad"`` (keep aspect, pad
            with black) or ``"crop"`` (keep aspect, centre crop); ``None`` means
            ``"stretch"``. Antialiased when shrinking.
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
        with_metadata: yield ``({"image": images, "metadata": vectors}, label)``, the
            input of image+metadata models (inputs named ``"image"`` and ``"metadata"``).
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
    if not isinstance(records, Records):
        raise ParameterError(
            f"The 'records' parameter of {where} must be Records. "
            f"Got {type(records).__name__} instead."
        )
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
    fast_jpeg = check_bool(fast_jpeg, "fast_jpeg", where)
    from dermnet.data.image_files import max_image_pixels

    budget = max_image_pixels(max_pixels, where)
    seed = check_seed(seed, "seed", where)
    cache_to = _cache_target(cache, where)
    for name, fn in (("transforms", transforms), ("augment", augment)):
        if fn is not None and not callable(fn):
            raise ParameterError(
                f"The {name!r} parameter of {where} must be callable or None. Got {fn!r} instead."
            )
    if len(records) == 0:
        raise ParameterError(f"The 'records' parameter of {where} must not be empty.")

    headers: list[ImageHeader] = []
    if on_error == "skip":
        records = _skip_bad(records, budget)
        if len(records) == 0:
            raise DataError(
                f"make_dataset(on_error='skip'): no image of {records.name!r} is usable."
            )
    if records.images is None:
        headers = _check_headers(records, budget, where)
    meta = _metadata(records, metadata_encoder, where)[0] if with_metadata else None

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
        columns["metadata"] = meta
    ds = tf.data.Dataset.from_tensor_slices(columns)
    if shuffle and cache_to is None:
        ds = _shuffle(ds, n, seed, epoch, columns)

    if in_memory is not None:
        pixels = in_memory

        def fetch(index: np.ndarray) -> np.ndarray:
            return pixels[int(index)]

        def read(element: dict[str, tf.Tensor]) -> tf.Tensor:
            image = tf.numpy_function(fetch, [element["index"]], tf.uint8, stateful=False)
            return tf.ensure_shape(image, pixels.shape[1:])
    else:
        from dermnet.data.image_files import decode_image_file

        any_pil = bool(columns["pil"].any())
        any_tf = not bool(columns["pil"].all())

        def pil_decode(path: bytes) -> np.ndarray:
            return decode_image_file(path.decode(), budget)

        def read(element: dict[str, tf.Tensor]) -> tf.Tensor:
            path, orientation = element["path"], element["orientation"]

            def with_tf() -> tf.Tensor:
                data = tf.io.read_file(path)
                if fast_jpeg:
                    image = _decode_fast(data, size, resize, orientation)
                else:
                    image = tf.io.decode_image(data, channels=3, expand_animations=False)
                return _orient(tf.ensure_shape(image, [None, None, 3]), orientation)

            def with_pil() -> tf.Tensor:
                image = tf.numpy_function(pil_decode, [path], tf.uint8, stateful=False)
                return tf.ensure_shape(image, [None, None, 3])

            if any_pil and any_tf:
                return tf.cond(element["pil"], with_pil, with_tf)
            return with_pil() if any_pil else with_tf()

    keep_uint8 = transforms is None  # cache 1 byte per channel when nothing changes range

    def load(element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
        image = _resize(tf.cast(read(element), tf.float32), size, resize, interpolation)
        image = tf.clip_by_value(tf.round(image), 0.0, 255.0)
        out = {k: v for k, v in element.items() if k not in ("path", "index", "orientation", "pil")}
        out["image"] = tf.cast(image, tf.uint8) if keep_uint8 else image
        return out

    if in_memory is None:  # a file that fails to decode is named, not a bare TF error

        def load_at(position: tf.Tensor, element: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
            return {**load(element), "position": position}

        ds = ds.enumerate().map(
            load_at, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic
        )
        ds = _raise_on_lost(ds, records.paths, records.name, deterministic)
    else:
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)

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
            image = tf.numpy_function(run, [element["image"]], tf.float32, stateful=False)
            return {**element, "image": tf.ensure_shape(image, [size[0], size[1], 3])}

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
            ds = _shuffle_cached(ds, n, seed, epoch)
        elif shuffle:
            buffer = n if cache_to == "memory" else min(n, _DISK_SHUFFLE_BUFFER)
            ds = _shuffle(ds, buffer, seed, epoch)

    num_classes = records.num_classes

    def output(element: dict[str, tf.Tensor]) -> Any:
        image = tf.cast(element["image"], tf.float32)
        x: Any = {"image": image, "metadata": element["metadata"]} if meta is not None else image
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

    # Batch first, then convert whole batches: one cast per batch instead of one per image,
    # and uint8 batches move 4x fewer bytes.
    if batch_size is not None:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    ds = ds.map(output, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    if augment is not None:
        ds = _augment(
            ds, augment, seed, deterministic, meta is not None, label_mode is not None, epoch
        )
    options = tf.data.Options()
    options.deterministic = deterministic
    result = ds.with_options(options).prefetch(tf.data.AUTOTUNE)
    result.excluded = records.excluded  # what on_error="skip" (and the loaders) left out
    return result


def load_images(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    data_config: DataConfig,
    *,
    batch_size: int = 32,
) -> np.ndarray:
    """Read image files as model input, exactly as `make_dataset` does with the same config.

    The files go through `make_dataset`'s own decode, resize and preprocessing code
    (``make_dataset(records, data_config, label_mode=None)``), so a model sees the same
    pixels in prediction and explanation as in training and evaluation (the EXIF
    orientation applied, every colour mode made RGB). Every file is first checked
    (`check_image_files` with ``decode=True``: its header read, then decoded at reduced
    scale with PIL, which finds empty, truncated, oversized and non-image files), so a bad
    file is named by its path.

    Args:
        paths: image files (JPEG, PNG, BMP, GIF, WebP, TIFF), or one file.
        data_config: the `DataConfig` (size, resize, interpolation, preprocessing).
        batch_size: images decoded per step (memory, not results, depends on it).

    Returns:
        float32 ``(n, height, width, 3)`` in [0, 255], in the order of ``paths``.

    Raises:
        MissingFileError: files do not exist (the message names them).
        DataError: files cannot be decoded as images (the message names them).
        ParameterError: a parameter is invalid.

    Examples:
        >>> from dermnet.data import DataConfig, sample_path
        >>> files = sorted(sample_path("malaria").rglob("*.png"))[:2]
        >>> load_images(files, DataConfig((32, 24), resize="pad")).shape
        (2, 32, 24, 3)
    """
    import pandas as pd
    import tensorflow as tf

    where = "load_images"
    if not isinstance(data_config, DataConfig):
        raise ParameterError(
            f"The 'data_config' parameter of {where} must be a DataConfig. "
            f"Got {type(data_config).__name__} instead."
        )
    config = data_config.validate()
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise ParameterError(
            f"The 'paths' parameter of {where} must be a file path or a list of file paths. "
            f"Got {paths!r} instead."
        )
    files = [os.fspath(p) for p in paths]
    if not files:
        raise ParameterError(f"The 'paths' parameter of {where} must name at least one file.")
    missing = [p for p in files if not os.path.isfile(p)]
    if missing:
        raise MissingFileError(f"{len(missing)} image file(s) do not exist: {_shown(missing)}")
    from dermnet.data.image_files import check_image_files

    report = check_image_files(files, decode=True)
    if not report.ok:
        bad = [f"{path} ({problem})" for path, problem in report.bad]
        raise DataError(f"{len(bad)} file(s) are not readable images: {_shown(bad)}")

    frame = pd.DataFrame({"image_path": files, "label": "image"})
    records = Records(frame, ["image"], name="images")
    ds = make_dataset(records, config, batch_size, label_mode=None)
    try:
        batches = [np.asarray(batch) for batch in ds.as_numpy_iterator()]
    except tf.errors.OpError as exc:  # a file PIL reads but TensorFlow does not
        first = (exc.message or "").split("DataError: ", 1)[-1].splitlines()
        raise DataError(first[0] if first else f"{where}: {exc}") from None
    return np.concatenate(batches).astype(np.float32, copy=False)


def _shown(items: Sequence[str], limit: int = 5) -> str:
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _cache_target(cache: Any, where: str) -> str | Path | None:
    if cache is False or cache is None:
        return None
    if cache is True or cache == "memory":
        return "memory"
    if isinstance(cache, (str, os.PathLike)) and str(cache):
        path = Path(cache)
        if path.is_dir():
            path = path / "dermnet_cache"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    raise ParameterError(
        f"The 'cache' parameter of {where} must be False, True, 'memory' or a file path. "
        f"Got {cache!r} instead."
    )


def _augment(
    ds: tf.data.Dataset,
    augment: Callable[..., Any],
    seed: int | None,
    deterministic: bool,
    with_metadata: bool,
    labelled: bool,
    epoch: tf.Variable | None = None,
) -> tf.data.Dataset:
    import tensorflow as tf

    apply = _call_augment(augment)
    seeded = _accepts(augment, "seed")
    if epoch is not None and not seeded:
        generators = _seed_generators(augment)
        base = 0 if seed is None else seed

        def reseed(e: tf.Tensor, inner: tf.data.Dataset) -> tf.data.Dataset:
            # Stateful random layers restart from a state that is a function of
            # (seed, epoch), at the start of each iteration.
            for i, generator in enumerate(generators):
                state = _epoch_seed(base + 7919 * (i + 1), e)
                generator.state.assign(tf.cast(state, generator.state.dtype))
            return inner

        ds = _per_epoch(ds, epoch, reseed)

    def images_of(x: Any) -> tf.Tensor:
        return x["image"] if with_metadata else x

    def with_images(x: Any, images: tf.Tensor) -> Any:
        return {**x, "image": images} if with_metadata else images

    if seeded:
        if epoch is None:
            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
        else:
            base = 0 if seed is None else seed

            @tf.autograph.experimental.do_not_convert
            def batch_seeds(e: tf.Tensor, steps: tf.data.Dataset) -> tf.data.Dataset:
                @tf.autograph.experimental.do_not_convert
                def one(i: tf.Tensor) -> tf.Tensor:
                    return tf.random.experimental.stateless_fold_in(_epoch_seed(base, e), i)

                return steps.map(one)

            seeds = _per_epoch(tf.data.Dataset.counter(), epoch, batch_seeds)
        ds = tf.data.Dataset.zip((ds, seeds))

        def run_seeded(element: Any, s: tf.Tensor) -> Any:
            x, y = element if labelled else (element, None)
            out = with_images(x, tf.cast(apply(images_of(x), s), tf.float32))
            return (out, y) if labelled else out

        fn = run_seeded
    else:

        def run(*element: Any) -> Any:
            x = element[0]
            out = with_images(x, tf.cast(apply(images_of(x), None), tf.float32))
            return (out, element[1]) if labelled else out

        fn = run
    # Stateful random layers draw from one seed stream: calling them in a fixed order is
    # what makes a seeded layer give the same augmentations on every run.
    if deterministic and not seeded:
        return ds.map(fn)
    return ds.map(fn, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)


def _epoch_seed(seed: int, epoch: tf.Tensor) -> tf.Tensor:
    """A stateless seed pair (int64, shape ``(2,)``) that depends only on (seed, epoch)."""
    import tensorflow as tf

    return tf.random.experimental.stateless_fold_in(
        tf.constant([seed % 2**31, 0x5EED], tf.int64), tf.cast(epoch, tf.int64)
    )


def _per_epoch(
    ds: tf.data.Dataset,
    epoch: tf.Variable,
    build: Callable[[tf.Tensor, tf.data.Dataset], tf.data.Dataset],
) -> tf.data.Dataset:
    """``build(e, ds)``, entered anew at each iteration with ``e`` read from ``epoch`` then.

    The cardinality of ``ds`` is kept (Keras and the schedules need it).
    """
    import tensorflow as tf

    cardinality = ds.cardinality()

    @tf.autograph.experimental.do_not_convert
    def enter(_: tf.Tensor) -> tf.data.Dataset:
        return build(tf.cast(epoch.read_value(), tf.int64), ds)

    out = tf.data.Dataset.from_tensors(tf.constant(0, tf.int64)).flat_map(enter)
    if int(cardinality) >= 0:
        out = out.apply(tf.data.experimental.assert_cardinality(cardinality))
    return out


def _shuffle(
    ds: tf.data.Dataset,
    buffer: int,
    seed: int | None,
    epoch: tf.Variable | None,
    columns: dict[str, Any] | None = None,
) -> tf.data.Dataset:
    """Shuffle every iteration.

    With ``epoch`` and the ``columns`` that ``ds`` slices (the file names, before
    decoding), the order is a stateless permutation of (seed, epoch). A shuffle after a
    cache (no ``columns``) reshuffles per iteration, as `tf.data` does: exact within one
    process only.
    """
    import tensorflow as tf

    if epoch is None or columns is None:
        return ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    base = 0 if seed is None else seed
    tensors = {key: tf.constant(value) for key, value in columns.items()}
    n = int(ds.cardinality())

    @tf.autograph.experimental.do_not_convert
    def row(i: tf.Tensor) -> dict[str, tf.Tensor]:
        return {key: tf.gather(t, i) for key, t in tensors.items()}

    def permuted(e: tf.Tensor, _: tf.data.Dataset) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=_epoch_seed(base, e)
        )
        return tf.data.Dataset.from_tensor_slices(order).map(row)

    return _per_epoch(ds, epoch, permuted)


def _shuffle_cached(
    ds: tf.data.Dataset, n: int, seed: int | None, epoch: tf.Variable
) -> tf.data.Dataset:
    """Shuffle a memory-cached pass by a stateless permutation of (seed, epoch).

    A ``tf.data`` shuffle after a cache cannot take a seed computed at run time, so each
    epoch reads the whole cached pass as one element, gathers it in the permuted order and
    splits it again: the order of epoch ``e`` depends only on (seed, e), in any process
    (what exact resume needs). The cached pass is held twice for a moment (it is in memory
    already).
    """
    import tensorflow as tf

    base = 0 if seed is None else seed

    def permuted(e: tf.Tensor, cached: tf.data.Dataset) -> tf.data.Dataset:
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=_epoch_seed(base, e)
        )

        def gather(everything: Any) -> Any:
            return tf.nest.map_structure(lambda t: tf.gather(t, order), everything)

        return cached.batch(n).map(gather).unbatch()

    return _per_epoch(ds, epoch, permuted)


def _seed_generators(augment: Any) -> list[Any]:
    """The Keras ``SeedGenerator``s of a layer (and of the layers inside it), in order."""
    found: list[Any] = []
    flatten = getattr(augment, "_flatten_layers", None)
    layers = list(flatten()) if callable(flatten) else []
    for layer in layers:
        for generator in getattr(layer, "_seed_generators", ()):
            if all(generator is not g for g in found):
                found.append(generator)
    return found
