"""What `make_dataset` does with images it cannot use: name them, or leave them out.

With ``on_error="raise"`` every file's header is read first (`check_image_headers`) and a
decode failure during iteration is turned into an error naming the file
(`name_lost_images`); with ``on_error="skip"`` the unusable images are excluded up front
(`drop_unusable_images`) and counted in a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError
from dermnet.data.records import Records

if TYPE_CHECKING:
    import tensorflow as tf

    from dermnet.data.image_files import ImageHeader

__all__ = ["check_image_headers", "drop_unusable_images", "name_lost_images", "shorten_list"]

_CHECK_CHUNK = 64


def drop_unusable_images(records: Records, max_pixels: int) -> Records:
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


def check_image_headers(records: Records, max_pixels: int, where: str) -> list[ImageHeader]:
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
            f"{shorten_list(missing)}. {skip}"
        )
    if not report.ok:
        raise DataError(f"{where}: {report.summary()} (dataset {records.name!r}). {skip}")
    return [h for h in report.headers if h is not None]


def name_lost_images(
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
            shown = shorten_list([f"{p} ({why})" for p, why in bad])
            raise DataError(
                f"make_dataset: {len(bad)} of {n} image file(s) of {name!r} cannot be "
                f"decoded: {shown}. {skip}"
            )
        raise DataError(
            f"make_dataset: image {int(count) + 1} of this pass over {name!r} could not be "
            f"decoded by TensorFlow, although PIL decodes every file. {skip}"
        )

    # The check runs on chunks of elements: a per-element scan step (a cond and its
    # control dependency) cost about a third of a full-resolution JPEG pipeline.
    ds = ds.ignore_errors().batch(_CHECK_CHUNK)
    end = tf.data.Dataset.from_tensors(
        {
            key: tf.fill(
                [1, *[d if d is not None else 1 for d in spec.shape[1:]]],
                tf.cast(-1 if key == "position" else 0, spec.dtype),
            )
            for key, spec in ds.element_spec.items()
        }
    )

    def step(count: tf.Tensor, chunk: dict[str, tf.Tensor]) -> Any:
        positions = chunk["position"]
        at_end = positions[0] < 0
        size = tf.cast(tf.shape(positions)[0], tf.int64)
        lost = tf.logical_and(at_end, count != n)
        if deterministic:
            expected = count + tf.range(size, dtype=tf.int64)
            gap = tf.reduce_any(tf.not_equal(positions, expected))
            lost = tf.logical_or(lost, tf.logical_and(~at_end, gap))
            first = tf.reduce_min(tf.where(positions != expected, expected, count + size))
        else:
            first = count
        checked = tf.cond(
            lost,
            lambda: tf.numpy_function(report, [first], tf.bool, stateful=True),
            lambda: tf.constant(True),
        )
        with tf.control_dependencies([checked]):
            return tf.identity(count) + tf.where(at_end, tf.constant(0, tf.int64), size), chunk

    ds = ds.concatenate(end).scan(tf.constant(0, tf.int64), step)
    ds = ds.filter(lambda chunk: chunk["position"][0] >= 0).unbatch()
    return ds.apply(tf.data.experimental.assert_cardinality(n))


def shorten_list(items: Sequence[str], limit: int = 5) -> str:
    """The first ``limit`` items joined by commas, with the total when there are more."""
    more = f", ... ({len(items)} in all)" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more
