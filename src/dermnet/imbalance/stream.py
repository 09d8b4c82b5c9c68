"""A class-balanced ``tf.data`` stream: one stream per class, mixed with chosen weights."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_int, check_option, check_seed, fail
from dermnet.imbalance.guard import ensure_training_split

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["balanced_dataset", "sampling_weights"]

_NAMED_WEIGHTS = ("uniform", "sqrt", "original")
_NAMED_EPOCHS = ("same", "max", "min")
_RESERVED = ("batch_size", "shuffle", "seed", "records", "image_size", "augment")


def sampling_weights(
    counts: Any,
    weights: str | Mapping[Any, float] | Sequence[float] = "uniform",
    *,
    class_names: Sequence[str] | None = None,
    where: str = "sampling_weights",
) -> np.ndarray:
    """The probability of drawing each class in a balanced stream.

    Args:
        counts: training images per class.
        weights: ``"uniform"`` (every class equally often; the default), ``"sqrt"``
            (proportional to the square root of the class size, halfway to the natural
            frequencies), ``"original"`` (the natural frequencies), a sequence with one
            weight per class, or a mapping ``{class name or index: weight}`` (classes not in
            it get 0). Weights need not sum to 1.
        class_names: the class names, to accept names as mapping keys and in messages.
        where: the calling function, for messages.

    Returns:
        Probabilities per class (sum 1). Classes without images get 0; with a named
        scheme they are skipped with a warning, and an explicit positive weight for one
        is an error.

    Examples:
        >>> sampling_weights([60, 30, 10]).round(3).tolist()
        [0.333, 0.333, 0.333]
        >>> sampling_weights([60, 30, 10], "original").round(3).tolist()
        [0.6, 0.3, 0.1]
    """
    counts = np.asarray(counts, dtype=np.float64)
    k = len(counts)
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    empty = counts == 0
    if isinstance(weights, str):
        weights = check_option(weights, _NAMED_WEIGHTS, "weights", where)
        raw = {"uniform": np.ones(k), "sqrt": np.sqrt(counts), "original": counts}[weights]
        raw = np.where(empty, 0.0, raw)
        if empty.any():
            warnings.warn(
                f"{where}: class(es) {[names[i] for i in np.flatnonzero(empty)]} have no "
                "training images; the stream cannot draw them and skips them.",
                UserWarning,
                stacklevel=3,
            )
    else:
        if isinstance(weights, Mapping):
            raw = np.zeros(k)
            for key, value in weights.items():
                if isinstance(key, str) and key in names and class_names is not None:
                    index = names.index(key)
                elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                    index = int(key)
                else:
                    index = -1
                if not 0 <= index < k:
                    raise fail("weights", where, f"a mapping keyed by class names {names}", key)
                raw[index] = value
        else:
            raw = np.asarray(weights, dtype=np.float64)
            if raw.shape != (k,):
                raise fail("weights", where, f"{k} weights, one per class", list(raw))
        raw = raw.astype(np.float64)
        if not np.all(np.isfinite(raw)) or np.any(raw < 0):
            raise fail("weights", where, "finite weights >= 0", raw.tolist())
        bad = np.flatnonzero(empty & (raw > 0)).tolist()
        if bad:
            raise DataError(
                f"{where}: class(es) {[names[i] for i in bad]} have no training images but a "
                "positive sampling weight. Give them weight 0 or check the split."
            )
    total = raw.sum()
    if total <= 0:
        raise fail("weights", where, "weights with a positive sum", raw.tolist())
    return raw / total


def _per_class_elements(
    records: Any, image_size: Any, seed: int | None, buffer: int, options: dict[str, Any]
) -> tf.data.Dataset:
    """Unbatched, shuffled, endlessly repeated elements of one class.

    The rows are put in a seeded random order *before* decoding (so a bounded shuffle
    buffer suffices and memory stays small at any image size), decoded by
    `dermnet.data.make_dataset` (cached there if asked), then reshuffled on every
    pass through a buffer of ``buffer`` images.
    """
    from dermnet.data import make_dataset

    order = np.random.default_rng(seed).permutation(len(records))
    records = records.subset(order)
    ds = make_dataset(records, image_size, None, shuffle=False, **options)  # unbatched
    size = min(len(records), buffer)
    return ds.shuffle(size, seed=seed, reshuffle_each_iteration=True).repeat()


def balanced_dataset(
    records: Any,
    image_size: int | tuple[int, int] = 224,
    batch_size: int = 32,
    *,
    weights: str | Mapping[Any, float] | Sequence[float] = "uniform",
    samples_per_epoch: int | str | None = "same",
    augment: Callable[..., Any] | None = None,
    shuffle_buffer: int = 256,
    seed: int | None = 0,
    holdout: Any = None,
    allow_unsplit: bool = False,
    **options: Any,
) -> tf.data.Dataset:
    """A class-balanced stream of training batches: oversampling and undersampling on the fly.

    One shuffled, endlessly repeated stream per class (each built with
    `dermnet.data.make_dataset`) is mixed by
    ``tf.data.Dataset.sample_from_datasets`` with the chosen class probabilities, then
    batched. Rare classes are therefore seen again and again (oversampling without copies
    on disk or in memory) and large classes are seen in part each epoch (undersampling),
    while every image keeps its own random augmentation. The same seed gives the same
    stream; each epoch draws a new, seeded order.

    Args:
        records: the training records (``split(...).train``); refused otherwise (see
            `ensure_training_split`).
        image_size: output size, an int or ``(height, width)``.
        batch_size: images per batch.
        weights: class probabilities, see `sampling_weights` (default
            ``"uniform"``: every class equally often).
        samples_per_epoch: images per pass over the dataset: ``"same"`` (default: as many
            as the records hold), ``"max"`` (classes x largest class, so the largest class
            is seen about once per epoch), ``"min"`` (classes x smallest class, the
            undersampling budget), an int, or ``None`` for an endless stream (then pass
            ``steps_per_epoch`` to ``fit``).
        augment: a callable on the float32 image batch in [0, 255] applied after batching
            (e.g. a Keras augmentation layer), called as `make_dataset` calls it
            (`dermnet.data.augmentation.augment_batches`): with ``training=True`` when it
            takes that argument, with a per-batch stateless seed drawn from ``seed`` when it
            takes ``seed``, and in a fixed order otherwise, so the same ``seed`` (and a
            layer built with the same seed) gives the same augmented batches.
        shuffle_buffer: images per class held in memory for shuffling. Each class's rows
            are put in a random order before decoding and reshuffled through this buffer
            on every pass, so memory stays bounded at large image sizes; classes smaller
            than the buffer are fully reshuffled each pass.
        seed: the seed of the shuffles and of the class draws.
        holdout: evaluation records that must share nothing with ``records``.
        allow_unsplit: accept records whose role is ``None``, with a warning.
        **options: passed to `dermnet.data.make_dataset` (``transforms``, ``resize``,
            ``cache``, ``label_mode``, ...).

    Returns:
        A ``tf.data.Dataset`` of ``(images, labels)`` batches, shaped like
        `dermnet.data.make_dataset`'s.

    Raises:
        LeakageError: the records are not (only) a training split.
        DataError: a class with a positive weight has no images.
    """
    import tensorflow as tf

    where = "balanced_dataset"
    ensure_training_split(records, where=where, holdout=holdout, allow_unsplit=allow_unsplit)
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    buffer = check_int(shuffle_buffer, "shuffle_buffer", where, low=1)
    seed = check_seed(seed, "seed", where)
    reserved = sorted(set(options) & set(_RESERVED))
    if reserved:
        raise ParameterError(
            f"balanced_dataset sets {reserved} itself; pass batch_size, seed and augment as "
            "its own arguments."
        )
    if augment is not None and not callable(augment):
        raise fail("augment", where, "a callable or None", augment)
    options = _shared_metadata_encoder(records, options)
    labels = records.labels
    counts = np.bincount(labels, minlength=records.num_classes)
    probs = sampling_weights(counts, weights, class_names=records.classes, where=where)
    present = np.flatnonzero(probs > 0)
    if isinstance(samples_per_epoch, str):
        mode = check_option(samples_per_epoch, _NAMED_EPOCHS, "samples_per_epoch", where)
        drawn = counts[present]
        total = {
            "same": len(records),
            "max": len(present) * int(drawn.max()),
            "min": len(present) * int(drawn.min()),
        }[mode]
    else:
        total = check_int(samples_per_epoch, "samples_per_epoch", where, low=1, allow_none=True)

    streams = []
    for c in present:
        rows = np.flatnonzero(labels == c)
        class_seed = None if seed is None else (seed + 7919 * (int(c) + 1)) % 2**32
        streams.append(
            _per_class_elements(records.subset(rows), image_size, class_seed, buffer, options)
        )
    ds = tf.data.Dataset.sample_from_datasets(
        streams,
        weights=[float(p) for p in probs[present]],
        seed=seed,
        rerandomize_each_iteration=True,
    )
    if total is not None:
        ds = ds.take(total)
    ds = ds.batch(batch_size)
    if augment is not None:
        from dermnet.data.augmentation import augment_batches

        ds = augment_batches(
            ds,
            augment,
            seed=seed,
            deterministic=bool(options.get("deterministic", True)),
            with_metadata=bool(options.get("with_metadata", False)),
            labelled=options.get("label_mode", "int") is not None,
        )
    return ds.prefetch(tf.data.AUTOTUNE)


def _shared_metadata_encoder(records: Any, options: dict[str, Any]) -> dict[str, Any]:
    """With ``with_metadata=True`` and no encoder, fit one on all training records.

    Otherwise each per-class call of ``make_dataset`` would fit its own encoder on one
    class, and the same metadata value would be encoded differently per class.
    """
    if not options.get("with_metadata") or options.get("metadata_encoder") is not None:
        return options
    from dermnet.data import MetadataEncoder

    return {**options, "metadata_encoder": MetadataEncoder().fit(records)}
