"""The order of a pipeline's elements per epoch: shuffles and seeds that depend on (seed, epoch).

With an ``epoch`` variable, `make_dataset`'s shuffle and its augmentation seeds are pure
functions of ``(seed, epoch)`` read when an iteration starts, so a resumed run sees
exactly the data of an uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["epoch_seed", "per_epoch", "shuffle_cached_each_epoch", "shuffle_each_epoch"]


def epoch_seed(seed: int, epoch: tf.Tensor) -> tf.Tensor:
    """A stateless seed pair (int64, shape ``(2,)``) that depends only on (seed, epoch)."""
    import tensorflow as tf

    return tf.random.experimental.stateless_fold_in(
        tf.constant([seed % 2**31, 0x5EED], tf.int64), tf.cast(epoch, tf.int64)
    )


def per_epoch(
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


def shuffle_each_epoch(
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
            tf.range(n, dtype=tf.int64), seed=epoch_seed(base, e)
        )
        return tf.data.Dataset.from_tensor_slices(order).map(row)

    return per_epoch(ds, epoch, permuted)


def shuffle_cached_each_epoch(
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
            tf.range(n, dtype=tf.int64), seed=epoch_seed(base, e)
        )

        def gather(everything: Any) -> Any:
            return tf.nest.map_structure(lambda t: tf.gather(t, order), everything)

        return cached.batch(n).map(gather).unbatch()

    return per_epoch(ds, epoch, permuted)
