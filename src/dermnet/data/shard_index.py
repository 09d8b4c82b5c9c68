"""The shard folder format: its index, its records table and its examples, read back.

`dermnet.data.shards.write_shards` writes a shard folder; this module is what every reader
needs of it (`make_dataset`'s shard path in `dermnet.data.shard_reading`, `dermnet
predict`, `verify_shards`): `read_shard_index`, `shard_records`, `parse_examples`. It
imports nothing that reads images, so the input pipeline can depend on it while the
writer (which runs that pipeline to make pixel shards) depends on the pipeline.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError
from dermnet.data.shard_pixels import ENCODINGS, PixelLayout

if TYPE_CHECKING:
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
]

#: The index file of a shard folder.
INDEX_FILE = "index.json"
#: The records table of a shard folder.
RECORDS_FILE = "records.csv"
#: The newest shard folder layout version `read_shard_index` understands (JPEG shards
#: are written as schema 1, pixel shards as 2, so an older dermnet refuses them by name).
SHARD_SCHEMA = 2


@dataclasses.dataclass(frozen=True)
class ShardIndex:
    """What ``index.json`` says about a shard folder.

    Attributes:
        root: the folder (a local path or a URL `tf.io.gfile` opens).
        classes: the class names in their fixed order.
        name: the dataset name of the records.
        group_cols: the records' group columns.
        metadata_cols: the records' metadata columns.
        shards: one dict per shard file: ``file``, ``count``, ``sha256``, ``bytes``, ``first``
            (the records row of its first example).
        max_side: the longest image side the images were re-encoded to, or ``None``.
        encoding: ``"jpeg"`` (encoded images) or ``"pixels"`` (decoded and resized).
        pixels: the `PixelLayout` of pixel shards (size, resize, interpolation), or ``None``.
        count: the number of examples in all shards.
    """

    root: str
    classes: tuple[str, ...]
    name: str
    group_cols: tuple[str, ...]
    metadata_cols: tuple[str, ...]
    shards: tuple[dict[str, Any], ...]
    max_side: int | None
    encoding: str = "jpeg"
    pixels: PixelLayout | None = None

    @property
    def count(self) -> int:
        return sum(int(s["count"]) for s in self.shards)

    @property
    def files(self) -> list[str]:
        """The shard files, joined to `root`."""
        return [_join(self.root, s["file"]) for s in self.shards]


def _join(root: str, name: str) -> str:
    return posixpath.join(root, name) if "://" in root else os.path.join(root, name)


def _gfile() -> Any:
    import tensorflow as tf

    return tf.io.gfile


def read_shard_index(root: str | os.PathLike[str]) -> ShardIndex:
    """Read ``index.json`` of a shard folder.

    Raises:
        MissingFileError: the folder has no index (or an interrupted `write_shards` left
            only a partial one: the message says to run it again).
        DataError: the index is not valid JSON, is of a newer schema, or does not list its
            shards with their counts.
    """
    root = os.fspath(root)
    gfile = _gfile()
    path = _join(root, INDEX_FILE)
    if not gfile.exists(path):
        if gfile.exists(path + ".partial"):
            raise MissingFileError(
                f"The shard folder {root} is incomplete: write_shards was interrupted "
                "(index.json.partial is there). Run write_shards (or `dermnet shard`) again "
                "with the same records to finish it."
            )
        raise MissingFileError(f"{root} is not a shard folder: it has no {INDEX_FILE}.")
    try:
        with gfile.GFile(path) as handle:
            data = json.load(handle)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} is not a valid shard index: {exc}") from None
    schema = data.get("schema")
    if schema not in (1, SHARD_SCHEMA):
        raise DataError(
            f"{path} has shard schema {schema!r}; this dermnet reads schemas 1 to {SHARD_SCHEMA}. "
            "Upgrade dermnet or rewrite the shards."
        )
    try:
        shards = tuple(
            {
                "file": str(s["file"]),
                "count": int(s["count"]),
                "sha256": str(s["sha256"]),
                "bytes": int(s["bytes"]),
                "first": int(s["first"]),
                **({"turned": int(s["turned"])} if "turned" in s else {}),
            }
            for s in data["shards"]
        )
        index = ShardIndex(
            root=root,
            classes=tuple(str(c) for c in data["classes"]),
            name=str(data.get("name", "shards")),
            group_cols=tuple(data.get("group_cols", ())),
            metadata_cols=tuple(data.get("metadata_cols", ())),
            shards=shards,
            max_side=data.get("max_side"),
            encoding=str(data.get("encoding", "jpeg")),
            pixels=PixelLayout.from_dict(data["pixels"]) if data.get("pixels") else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path} does not list its shards properly: {exc!r}") from None
    pixels = index.encoding == "pixels"
    if index.encoding not in ENCODINGS or pixels != (index.pixels is not None):
        raise DataError(f"{path} has encoding {index.encoding!r} without a matching layout.")
    if index.count != int(data.get("count", index.count)):
        raise DataError(
            f"{path} says it holds {data.get('count')} images, but its shards add up to "
            f"{index.count}."
        )
    return index


def shard_records(root: str | os.PathLike[str]) -> Records:
    """The `Records` of a shard folder (from ``records.csv``), in shard order.

    Raises:
        DataError: ``records.csv`` has a different number of rows than the index.
    """
    import pandas as pd

    from dermnet.data.records import Records

    index = read_shard_index(root)
    path = _join(index.root, RECORDS_FILE)
    gfile = _gfile()
    if not gfile.exists(path):
        raise MissingFileError(f"The shard folder {index.root} has no {RECORDS_FILE}.")
    with gfile.GFile(path) as handle:
        frame = pd.read_csv(handle, dtype={c: str for c in index.group_cols}, keep_default_na=True)
    if len(frame) != index.count:
        raise DataError(
            f"{path} has {len(frame)} rows but {_join(index.root, INDEX_FILE)} lists "
            f"{index.count} images: the index does not match its shards' records."
        )
    return Records(
        frame,
        index.classes,
        name=index.name,
        group_cols=index.group_cols,
        metadata_cols=index.metadata_cols,
    )


def is_shard_folder(source: Any) -> bool:
    """Whether ``source`` is a path (or URL) of a folder with a shard ``index.json``."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    try:
        return bool(_gfile().exists(_join(os.fspath(source), INDEX_FILE)))
    except Exception:  # an unreachable URL scheme: not a shard folder we can read
        return False


def parse_example(serialized: Any) -> dict[str, Any]:
    """Parse one serialized shard example into ``image`` (bytes), ``orientation``,
    ``label`` and ``row`` tensors (used by `make_dataset`)."""
    import tensorflow as tf

    return tf.io.parse_single_example(serialized, _example_spec())


def parse_examples(serialized: Any) -> dict[str, Any]:
    """Parse a vector of serialized shard examples at once, as `parse_example` does one.

    One ``parse_example`` call on a chunk of examples costs a fraction of one call per
    example (`make_dataset` parses the shards in chunks).
    """
    import tensorflow as tf

    return tf.io.parse_example(serialized, _example_spec())


def _example_spec() -> dict[str, Any]:
    import tensorflow as tf

    return {
        "image": tf.io.FixedLenFeature([], tf.string),
        "orientation": tf.io.FixedLenFeature([], tf.int64),
        "label": tf.io.FixedLenFeature([], tf.int64),
        "row": tf.io.FixedLenFeature([], tf.int64),
    }


def example_rows(root: str | os.PathLike[str]) -> np.ndarray:
    """The records row of every example, in shard order (for tests and `dermnet predict`)."""
    index = read_shard_index(root)
    return np.concatenate(
        [np.arange(s["first"], s["first"] + s["count"]) for s in index.shards]
        or [np.zeros(0, np.int64)]
    )
