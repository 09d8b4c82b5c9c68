"""Calling a random augmentation on a ``tf.data`` pipeline: one helper, seeded one way.

`make_dataset` and `dermnet.imbalance.balanced_dataset` both augment through
`augment_batches`, so the same seed gives the same augmented batches in both. An
augmentation that only moves pixels per image (`per_image_augmentation`: the dihedral,
flip and quarter-turn layers) runs in `make_dataset` on each image before batching
instead (`augment_each_image`): one move per image, on the cached uint8 pixels, in
parallel, with no per-batch ``map_fn``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dermnet._core.protocols import IMAGE_INPUT
from dermnet.data.epoch_order import epoch_seed, per_epoch

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["augment_batches", "augment_each_image", "per_image_augmentation"]


def augment_batches(
    ds: tf.data.Dataset,
    augment: Callable[..., Any],
    *,
    seed: int | None,
    deterministic: bool = True,
    with_metadata: bool = False,
    labelled: bool = True,
    epoch: tf.Variable | None = None,
) -> tf.data.Dataset:
    """``ds`` with ``augment`` applied to the images of each element, reproducibly.

    ``augment`` (a Keras layer, ``keras.Sequential`` or any callable on a float32 image
    batch in [0, 255]) is called as ``augment(images, training=True)`` when it accepts
    ``training``; a callable that accepts ``seed`` also gets a per-element stateless
    seed (shape ``(2,)``, int64) drawn from ``seed``, different each iteration (each
    epoch), the same on every run. A callable without ``seed`` (stateful Keras random
    layers) is called in a fixed order when ``deterministic``, so a layer built with a
    seed gives the same augmentations on every run. With ``epoch`` (an integer
    ``tf.Variable``), the seeds of an iteration depend only on ``(seed, epoch)``.

    Args:
        ds: elements ``image``, ``(image, label)``, ``{IMAGE_INPUT: ..., ...}`` or
            ``({IMAGE_INPUT: ..., ...}, label)``.
        augment: the augmentation.
        seed: the seed of the per-element seeds and of the stateful layers' restarts.
        deterministic: keep the order of the calls fixed.
        with_metadata: the inputs are a dict; only its `IMAGE_INPUT` entry is augmented.
        labelled: the elements are ``(inputs, label)`` pairs.
        epoch: the epoch variable of exact resume, or ``None``.

    Returns:
        The augmented dataset; images are float32.
    """
    import tensorflow as tf

    apply = _augment_caller(augment)
    seeded = _accepts(augment, "seed")
    if epoch is not None and not seeded:
        generators = _seed_generators(augment)
        base = 0 if seed is None else seed

        def reseed(e: tf.Tensor, inner: tf.data.Dataset) -> tf.data.Dataset:
            # Stateful random layers restart from a state that is a function of
            # (seed, epoch), at the start of each iteration.
            for i, generator in enumerate(generators):
                state = epoch_seed(base + 7919 * (i + 1), e)
                generator.state.assign(tf.cast(state, generator.state.dtype))
            return inner

        ds = per_epoch(ds, epoch, reseed)

    def images_of(x: Any) -> tf.Tensor:
        return x[IMAGE_INPUT] if with_metadata else x

    def with_images(x: Any, images: tf.Tensor) -> Any:
        return {**x, IMAGE_INPUT: images} if with_metadata else images

    if seeded:
        ds = tf.data.Dataset.zip((ds, _seed_stream(seed, epoch)))

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


def per_image_augmentation(augment: Any) -> Callable[[Any, Any], Any] | None:
    """``augment`` as a function of one image and a stateless seed, where it has one.

    It has one when ``augment`` is a layer with an ``augment_image(image, seed)`` method
    (the layers that only move pixels: `dermnet.transforms.RandomDihedral`,
    ``RandomFlip``, ``RandomRot90``) or a ``keras.Sequential`` of only such layers (e.g.
    ``augmentation("dihedral")``); layer ``i`` of a sequence draws from the seed folded
    with ``i``. Anything else (warps, colour changes, any other callable) gives ``None``
    and is applied to whole batches by `augment_batches`.

    Args:
        augment: the augmentation.

    Returns:
        ``apply(image, seed)`` on one ``HxWxC`` image of any dtype and a seed of shape
        ``(2,)``, or ``None``.
    """
    layers = getattr(augment, "layers", None) if _is_sequential(augment) else [augment]
    if not layers:
        return None
    steps = [getattr(layer, "augment_image", None) for layer in layers]
    if not all(callable(step) for step in steps):
        return None

    def apply(image: Any, seed: Any) -> Any:
        import tensorflow as tf

        for i, step in enumerate(steps):
            image = step(image, tf.random.experimental.stateless_fold_in(seed, i))
        return image

    return apply


def augment_each_image(
    ds: tf.data.Dataset,
    apply: Callable[[Any, Any], Any],
    *,
    seed: int | None,
    deterministic: bool = True,
    epoch: tf.Variable | None = None,
) -> tf.data.Dataset:
    """``ds`` (unbatched dict elements) with ``apply`` on each `IMAGE_INPUT`, reproducibly.

    Each element gets its own stateless seed drawn from ``seed`` as `augment_batches`
    draws one per batch: different each iteration, the same on every run, and with
    ``epoch`` a function of ``(seed, epoch)`` only. The images keep their dtype.

    Args:
        ds: elements ``{IMAGE_INPUT: image, ...}``, one image each.
        apply: from `per_image_augmentation`.
        seed: the seed of the per-element seeds.
        deterministic: keep the order of the elements.
        epoch: the epoch variable of exact resume, or ``None``.

    Returns:
        The augmented dataset.
    """
    import tensorflow as tf

    @tf.autograph.experimental.do_not_convert  # plain Python: its errors reach the caller
    def run(element: dict[str, Any], s: tf.Tensor) -> dict[str, Any]:
        return {**element, IMAGE_INPUT: apply(element[IMAGE_INPUT], s)}

    cardinality = ds.cardinality()
    out = tf.data.Dataset.zip((ds, _seed_stream(seed, epoch))).map(
        run, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic
    )
    if int(cardinality) >= 0:  # the seed stream's is unknown: keep the images' (schedules need it)
        out = out.apply(tf.data.experimental.assert_cardinality(cardinality))
    return out


def _seed_stream(seed: int | None, epoch: tf.Variable | None) -> tf.data.Dataset:
    """Stateless seeds (int64, shape ``(2,)``), one per element, new each iteration."""
    import tensorflow as tf

    if epoch is None:
        return tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    base = 0 if seed is None else seed

    @tf.autograph.experimental.do_not_convert
    def step_seeds(e: tf.Tensor, steps: tf.data.Dataset) -> tf.data.Dataset:
        @tf.autograph.experimental.do_not_convert
        def one(i: tf.Tensor) -> tf.Tensor:
            return tf.random.experimental.stateless_fold_in(epoch_seed(base, e), i)

        return steps.map(one)

    return per_epoch(tf.data.Dataset.counter(), epoch, step_seeds)


def _is_sequential(augment: Any) -> bool:
    import keras

    return isinstance(augment, keras.Sequential)


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


def _augment_caller(augment: Callable[..., Any]) -> Callable[..., Any]:
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
