"""Sharded datasets: records and their image bytes in TFRecord shards plus an index.

Archives of 100,000 dermoscopic images at up to 6000x4000 pixels are read fastest, and
from anywhere (`gs://`, `s3://`, a local folder), as a few hundred large files rather
than a folder of JPEGs. `write_shards` packs `Records` into shards; `make_dataset` reads
a shard folder like a list of records and gives the same outputs as the JPEGs.

A shard folder holds::

    index.json                      schema, classes, shard files with counts and SHA-256
    records.csv                     the records table (every column; one row per image)
    shard-00000-of-00012.tfrecord   ...

Each example holds the image bytes (the original file where TensorFlow decodes it as
PIL does; otherwise, or when ``max_side`` asks for smaller images, the upright RGB image
re-encoded: JPEG at ``quality`` when resized, lossless PNG when not; or, with
``encoding="pixels"``, the uint8 pixels already decoded and resized to the training
size, see `dermnet.data.shard_pixels`), the EXIF orientation still to apply, the label
index and the row of ``records.csv``. The labels,
groups and metadata live in ``records.csv``, so a reader rebuilds the `Records` without
touching the shards.

Writing is parallel (one thread per shard: reading, decoding and encoding release the
GIL), resumable (a finished shard of the same records and options is kept; a shard is
written to a temporary name and renamed) and shows progress.
`verify_shards` re-reads every shard and checks its count and checksum.

The format as readers see it (the index, the records table, the example spec) is in
`dermnet.data.shard_index`, re-exported here; `make_dataset`'s shard path
(`dermnet.data.shard_reading`) reads through it without importing the writer.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import posixpath
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.progress import Progress
from dermnet._core.validation import check_int, fail
from dermnet.data.shard_index import (
    INDEX_FILE,
    RECORDS_FILE,
    SHARD_SCHEMA,
    ShardIndex,
    _gfile,
    _join,
    example_rows,
    is_shard_folder,
    parse_example,
    parse_examples,
    read_shard_index,
    shard_records,
)
from dermnet.data.shard_pixels import PixelLayout, pixel_layout

if TYPE_CHECKING:
    import pandas as pd

    from dermnet.data.data_config import DataConfig
    from dermnet.data.records import Records

__all__ = [
    "INDEX_FILE",
    "RECORDS_FILE",
    "SHARD_SCHEMA",
    "ShardIndex",
    "example_rows",
    "is_shard_folder",
    "parse_example",
    "parse_examples",
    "read_shard_index",
    "shard_records",
    "verify_shards",
    "write_shards",
]

_WHERE = "write_shards"


# -- writing --------------------------------------------------------------------------------
def _image_bytes(path: str, max_side: int | None, quality: int) -> tuple[bytes, int, int, int]:
    """The bytes to store for one image file, its orientation still to apply, and its size.

    Returns ``(data, orientation, height, width)``; height and width are of the stored
    (unoriented) image. Raises `DataError` naming the file when it cannot be read.
    """
    import cv2

    from dermnet.data.image_files import decode_image_file, read_image_header

    header = read_image_header(path)
    side = max(header.height, header.width)
    too_big = max_side is not None and side > max_side
    if header.tf_decodable and not too_big:
        with open(path, "rb") as handle:
            return handle.read(), header.orientation, header.height, header.width
    pixels = decode_image_file(path)  # upright RGB
    height, width = pixels.shape[:2]
    if max_side is not None and too_big:
        scale = max_side / max(height, width)
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
        height, width = pixels.shape[:2]
        ok, encoded = cv2.imencode(".jpg", pixels[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        ok, encoded = cv2.imencode(".png", pixels[..., ::-1])
    if not ok:  # pragma: no cover - OpenCV encodes any uint8 RGB image
        raise DataError(f"{path}: could not be re-encoded for the shard")
    return encoded.tobytes(), 1, height, width


def _example(data: bytes, orientation: int, label: int, row: int) -> bytes:
    import tensorflow as tf

    feature = tf.train.Feature
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "image": feature(bytes_list=tf.train.BytesList(value=[data])),
                "orientation": feature(int64_list=tf.train.Int64List(value=[orientation])),
                "label": feature(int64_list=tf.train.Int64List(value=[label])),
                "row": feature(int64_list=tf.train.Int64List(value=[row])),
            }
        )
    )
    return example.SerializeToString()


def _write_one_shard(
    target: str,
    images: Iterable[tuple[bytes, int]],
    labels: Sequence[int],
    rows: Sequence[int],
) -> dict[str, Any]:
    """Write one shard to ``target`` (through a temporary name); return its index entry.

    ``images`` gives each example's stored bytes and orientation still to apply. Runs in
    a worker thread. A file that cannot be read raises `DataError` naming it.
    """
    import tensorflow as tf

    gfile = tf.io.gfile
    partial = target + ".partial"
    digest = hashlib.sha256()
    turned = 0
    with tf.io.TFRecordWriter(partial) as writer:
        for (data, orientation), label, row in zip(images, labels, rows, strict=True):
            turned += int(orientation != 1)
            record = _example(data, orientation, int(label), int(row))
            digest.update(record)
            writer.write(record)
    gfile.rename(partial, target, overwrite=True)
    return {
        "file": posixpath.basename(target.replace(os.sep, "/")),
        "count": len(rows),
        "sha256": digest.hexdigest(),
        "bytes": int(gfile.stat(target).length),
        "first": int(rows[0]) if len(rows) else 0,
        # examples with an EXIF orientation still to apply: with none in any shard,
        # reading leaves the orientation step out
        "turned": turned,
    }


def _shard_name(i: int, n: int) -> str:
    return f"shard-{i:05d}-of-{n:05d}.tfrecord"


def write_shards(
    records: Records,
    out: str | os.PathLike[str],
    *,
    shard_size: int = 1024,
    max_side: int | None = None,
    quality: int = 95,
    encoding: str = "jpeg",
    image_size: int | tuple[int, int] | DataConfig | None = None,
    resize: str | None = None,
    interpolation: str | None = None,
    fast_jpeg: bool = True,
    workers: int | None = None,
    resume: bool = True,
    progress: bool = True,
) -> ShardIndex:
    """Write ``records`` and their images into TFRecord shards plus an index.

    Args:
        records: the images to pack (from any loader; in-memory array datasets are not
            supported: they are small enough to read as they are).
        out: the shard folder (local, or any URL `tf.io.gfile` writes, e.g. ``gs://``).
        shard_size: images per shard (the last shard holds the rest). About 100-200 MB per
            shard reads well; 1,024 HAM10000 JPEGs at 600x450 are about 60 MB.
        max_side: re-encode images whose longer side is over this many pixels to that size
            (JPEG at ``quality``); ``None`` keeps every image at its own size.
        quality: JPEG quality of re-encoded images, 50-100.
        encoding: ``"jpeg"`` (default): store the image files (re-encoded at
            ``max_side``), readable at any size. ``"pixels"``: store uint8 pixels already
            decoded and resized to ``image_size`` by `make_dataset`'s own decode+resize,
            so reading needs no decode and no resize (`dermnet.data.shard_pixels`);
            `make_dataset` then reads them only at that size and these options.
        image_size: with ``encoding="pixels"``, the stored ``(height, width)`` (an int
            for a square), or a `DataConfig` (its size, resize mode and interpolation;
            its preprocessing runs when reading, as for image files).
        resize: with pixels, the resize mode (default ``"stretch"``; see `make_dataset`).
        interpolation: with pixels, the resize method (default ``"bilinear"``).
        fast_jpeg: with pixels, decode large JPEGs at reduced scale (as `make_dataset`).
        workers: threads writing shards in parallel (default: the CPU count, at most 8).
        resume: keep shards a previous, interrupted call finished (same records and
            options, checked by the checksum in its partial index); ``False`` rewrites all.
        progress: show a progress bar on standard error.

    Returns:
        The `ShardIndex` of the folder.

    Raises:
        DataError: an image cannot be read (the message names the file); nothing is
            skipped silently: check the files first with `check_image_files` and drop bad
            ones with `Records.exclude` if you want a partial archive.
        ParameterError: a bad option.

    Examples:
        >>> index = write_shards(records, "shards/ham10000", shard_size=1000)  # doctest: +SKIP
        >>> ds = make_dataset("shards/ham10000", image_size=224)  # doctest: +SKIP
    """
    from dermnet.data.records import Records

    if not isinstance(records, Records):
        raise fail("records", _WHERE, "a Records table (from a dermnet loader)", records)
    if records.images is not None:
        raise ParameterError(
            f"write_shards packs image files; the records of dataset {records.name!r} hold "
            "their images in memory (an array dataset), which make_dataset reads as they are."
        )
    if len(records) == 0:
        raise ParameterError("The 'records' parameter of write_shards holds no images.")
    shard_size = check_int(shard_size, "shard_size", _WHERE, low=1)
    if max_side is not None:
        max_side = check_int(max_side, "max_side", _WHERE, low=16)
    quality = check_int(quality, "quality", _WHERE, low=50, high=100)
    layout = pixel_layout(encoding, image_size, resize, interpolation, fast_jpeg, max_side, _WHERE)
    workers = check_int(workers, "workers", _WHERE, low=1, allow_none=True)
    workers = workers or min(8, os.cpu_count() or 1)
    root = os.fspath(out)
    gfile = _gfile()
    gfile.makedirs(root)

    frame = records.frame
    n = len(frame)
    n_shards = math.ceil(n / shard_size)
    settings: dict[str, Any] = {
        "schema": 1 if layout is None else SHARD_SCHEMA,
        "classes": list(records.classes),
        "name": records.name,
        "group_cols": list(records.group_cols),
        "metadata_cols": list(records.metadata_cols),
        "max_side": max_side,
        "quality": quality,
        "shard_size": shard_size,
        "table_sha256": _table_digest(frame),
    }
    if layout is not None:
        settings.update(encoding="pixels", pixels=layout.to_dict())
    partial_index = _join(root, INDEX_FILE + ".partial")
    done: dict[str, dict[str, Any]] = {}
    if resume:
        done = _finished_shards(root, settings)
    with gfile.GFile(_join(root, RECORDS_FILE), "w") as handle:
        frame.to_csv(handle, index=False)

    paths = frame["image_path"].astype(str).tolist()
    labels = records.labels.tolist()
    jobs = []
    for i in range(n_shards):
        name = _shard_name(i, n_shards)
        rows = list(range(i * shard_size, min(n, (i + 1) * shard_size)))
        if name in done and _shard_intact(_join(root, name), done[name]):
            continue
        done.pop(name, None)
        jobs.append((name, rows))

    def save_partial() -> None:
        with gfile.GFile(partial_index, "w") as handle:
            json.dump({"settings": settings, "shards": list(done.values())}, handle)

    def write(name: str, rows: list[int]) -> dict[str, Any]:
        if layout is None:
            images: Iterable[tuple[bytes, int]] = (
                _image_bytes(paths[r], max_side, quality)[:2] for r in rows
            )
        else:
            images = ((p.tobytes(), 1) for p in shard_pixels(records.subset(rows), layout))
        return _write_one_shard(_join(root, name), images, [labels[r] for r in rows], rows)

    total = n - sum(int(s["count"]) for s in done.values())
    with Progress(total, label="shards", unit="img", enabled=progress) as bar:
        if jobs and workers > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
                futures = {pool.submit(write, name, rows): (name, rows) for name, rows in jobs}
                for future in as_completed(futures):
                    name, rows = futures[future]
                    done[name] = future.result()
                    save_partial()
                    bar.update(len(rows))
        else:
            for name, rows in jobs:
                done[name] = write(name, rows)
                save_partial()
                bar.update(len(rows))

    shards = [done[_shard_name(i, n_shards)] for i in range(n_shards)]
    index = {**settings, "count": n, "shards": shards}
    with gfile.GFile(_join(root, INDEX_FILE), "w") as handle:
        json.dump(index, handle, indent=2)
    if gfile.exists(partial_index):
        gfile.remove(partial_index)
    return read_shard_index(root)


def _finished_shards(root: str, settings: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The shards an earlier call with the same records and options finished."""
    gfile = _gfile()
    for name in (INDEX_FILE + ".partial", INDEX_FILE):
        path = _join(root, name)
        if not gfile.exists(path):
            continue
        try:
            with gfile.GFile(path) as handle:
                previous = json.load(handle)
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        same = previous.get("settings", {k: previous.get(k) for k in settings}) == settings
        if same:
            return {s["file"]: s for s in previous.get("shards", [])}
    return {}


def _table_digest(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return hashlib.sha256(buffer.getvalue().encode()).hexdigest()


def _shard_intact(path: str, entry: dict[str, Any]) -> bool:
    """Whether the shard file exists with the size its (partial) index entry records."""
    gfile = _gfile()
    return gfile.exists(path) and int(gfile.stat(path).length) == int(entry.get("bytes", -1))


def verify_shards(root: str | os.PathLike[str], *, progress: bool = False) -> ShardIndex:
    """Re-read every shard of a folder and check its example count and SHA-256.

    Returns:
        The `ShardIndex`.

    Raises:
        DataError: a shard is missing, truncated or corrupted, or its count or checksum
            differs from the index; the message names the shard file.
    """
    import tensorflow as tf

    index = read_shard_index(root)
    gfile = _gfile()
    with Progress(index.count, label="verify", unit="img", enabled=progress) as bar:
        for entry, path in zip(index.shards, index.files, strict=True):
            if not gfile.exists(path):
                raise DataError(f"Shard {path} listed in the index is missing.")
            digest = hashlib.sha256()
            count = 0
            try:
                for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
                    digest.update(record)
                    count += 1
            except tf.errors.DataLossError as exc:
                raise DataError(
                    f"Shard {path} is truncated or corrupted after {count} images: "
                    f"{exc.message.splitlines()[0]}"
                ) from None
            if count != entry["count"]:
                raise DataError(
                    f"Shard {path} holds {count} images; the index says {entry['count']}."
                )
            if digest.hexdigest() != entry["sha256"]:
                raise DataError(f"Shard {path} does not match its checksum in the index.")
            bar.update(count)
    return index


def shard_pixels(records: Records, layout: PixelLayout, batch: int = 32) -> Iterator[np.ndarray]:
    """The uint8 ``HxWx3`` pixels of ``records``, in order, as `make_dataset` reads them.

    The same decode+resize as `make_dataset` at ``layout`` (it is that function), so
    pixel shards and the image files give the same batches. A file that cannot be read
    raises `DataError` (or `MissingFileError`) naming it.
    """
    from dermnet.data.pipeline import make_dataset

    dataset = make_dataset(
        records,
        layout.image_size,
        batch,
        resize=layout.resize,
        interpolation=layout.interpolation,
        fast_jpeg=layout.fast_jpeg,
        label_mode=None,
    )
    for images in dataset.as_numpy_iterator():
        # whole numbers in [0, 255] (resize_pixels rounds and clips): the cast is exact
        yield from images.astype(np.uint8)
