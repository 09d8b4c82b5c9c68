"""`augment_batches` through `make_dataset`: the dihedral augmentation's distribution and seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("tensorflow")

from dermnet.data import Records, make_dataset
from dermnet.transforms import augmentation

#: chi-square with 7 degrees of freedom: exceeded with probability 1e-4 by a right distribution
CHI2_7_CRITICAL = 29.88


def _records(tmp_path, write_image, n=16, size=6):
    """``n`` PNG images with no symmetry (their 8 dihedral views all differ)."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        array = rng.permutation(256)[: size * size * 3].reshape(size, size, 3).astype(np.uint8)
        path = write_image(tmp_path / f"im{i}.png", array)
        rows.append({"image_path": str(path), "label": "ab"[i % 2]})
    return Records(pd.DataFrame(rows), ["a", "b"])


def _views(image):
    return [np.rot90(m, k) for m in (image, image[:, ::-1]) for k in range(4)]


def _which(out, image):
    hits = [i for i, v in enumerate(_views(image)) if np.array_equal(out, v)]
    assert len(hits) == 1, "an output is not exactly one of the 8 views"
    return hits[0]


def _epoch(ds):
    return np.concatenate([x.numpy() for x, _ in ds])


def test_make_dataset_dihedral_gives_the_8_symmetries_each_with_probability_one_eighth(
    tmp_path, write_image
):
    records = _records(tmp_path, write_image)
    plain = _epoch(make_dataset(records, 6, 5))
    ds = make_dataset(records, 6, 5, augment=augmentation("dihedral", seed=0), seed=0)
    epochs = 150  # 2400 draws: a new one for each image each epoch
    out = _epoch(ds.repeat(epochs))
    images = np.tile(plain, (epochs, 1, 1, 1))
    which = [_which(o, image) for o, image in zip(out, images, strict=True)]
    counts = np.bincount(which, minlength=8)
    expected = len(which) / 8
    assert ((counts - expected) ** 2 / expected).sum() < CHI2_7_CRITICAL, counts


def test_make_dataset_dihedral_is_reproducible_with_a_seed(tmp_path, write_image):
    import tensorflow as tf

    records = _records(tmp_path, write_image)

    def epochs(seed, epoch=None, n=2):
        aug = augmentation("dihedral", seed=seed)
        ds = make_dataset(records, 6, 5, augment=aug, seed=seed, epoch=epoch)
        return [_epoch(ds) for _ in range(n)]

    first, again = epochs(0), epochs(0)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)  # same seed, same batches
    assert not np.array_equal(first[0], first[1])  # a new draw each epoch
    assert not np.array_equal(first[0], epochs(1)[0])
    # with an epoch variable (exact resume): an epoch's batches depend only on (seed, epoch)
    variable = tf.Variable(3, dtype=tf.int64)
    resumed = epochs(0, variable, n=1)[0]
    np.testing.assert_array_equal(resumed, epochs(0, tf.Variable(3, dtype=tf.int64), n=1)[0])


# -- the per-image route: layers that only move pixels run on each image before batching ----


def test_pixel_move_augmentations_take_the_per_image_route_and_others_do_not():
    import keras

    from dermnet.data.augmentation import per_image_augmentation
    from dermnet.transforms.augment import RandomDihedral, RandomFlip, RandomRot90

    for aug in (
        augmentation("dihedral", seed=0),
        augmentation("flips", seed=0),
        RandomDihedral(seed=0),
        keras.Sequential([RandomFlip(mode="horizontal"), RandomRot90()]),
    ):
        assert callable(per_image_augmentation(aug)), aug
    for aug in (
        None,
        augmentation("dermoscopy", seed=0),
        augmentation("geometric", seed=0),  # a rotation warps: whole batches
        keras.layers.RandomFlip(),  # Keras's own layer has no per-image draw
        keras.Sequential([]),
        lambda images: images,
    ):
        assert per_image_augmentation(aug) is None, aug


def test_the_per_image_route_keeps_uint8_pixels_and_gives_float32_batches(tmp_path, write_image):
    import tensorflow as tf

    from dermnet.data.augmentation import per_image_augmentation

    image = tf.constant(np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    apply = per_image_augmentation(augmentation("dihedral", seed=0))
    out = apply(image, tf.constant([1, 2], tf.int64)).numpy()
    assert out.dtype == np.uint8
    assert any(np.array_equal(out, v) for v in _views(image.numpy()))
    records = _records(tmp_path, write_image, n=4)
    x, _ = next(iter(make_dataset(records, 6, 4, augment=augmentation("dihedral", seed=0))))
    assert x.dtype == tf.float32
    assert x.shape == (4, 6, 6, 3)


@pytest.mark.parametrize(
    ("mode", "allowed"),
    [("horizontal", (0, 6)), ("vertical", (0, 2)), ("horizontal_and_vertical", (0, 2, 4, 6))],
)
def test_make_dataset_random_flip_draws_each_allowed_flip_equally(
    tmp_path, write_image, mode, allowed
):
    from dermnet.transforms.augment import RandomFlip

    records = _records(tmp_path, write_image)
    plain = _epoch(make_dataset(records, 6, 8))
    epochs = 40  # 640 draws
    ds = make_dataset(records, 6, 8, augment=RandomFlip(mode=mode, seed=0), seed=0)
    out = _epoch(ds.repeat(epochs))
    which = [_which(o, i) for o, i in zip(out, np.tile(plain, (epochs, 1, 1, 1)), strict=True)]
    # _views: index 0 the image, 2 a half turn (both flips), 4 the mirror (left-right),
    # 6 the mirror turned twice (up-down)
    lookup = {"horizontal": {0: 0, 4: 6}, "vertical": {0: 0, 6: 2}}
    counts = np.bincount(which, minlength=8)
    if mode != "horizontal_and_vertical":
        which = [lookup[mode].get(w, w) for w in which]
        counts = np.bincount(which, minlength=8)
    assert set(np.flatnonzero(counts)) == set(allowed), counts
    expected = len(which) / len(allowed)
    chi2 = sum((counts[k] - expected) ** 2 / expected for k in allowed)
    assert chi2 < 21.1, counts  # chi-square, 3 degrees of freedom at most, p = 1e-4


def test_make_dataset_random_rot90_draws_the_four_turns_equally(tmp_path, write_image):
    from dermnet.transforms.augment import RandomRot90

    records = _records(tmp_path, write_image)
    plain = _epoch(make_dataset(records, 6, 8))
    epochs = 40
    out = _epoch(make_dataset(records, 6, 8, augment=RandomRot90(seed=0), seed=0).repeat(epochs))
    which = [_which(o, i) for o, i in zip(out, np.tile(plain, (epochs, 1, 1, 1)), strict=True)]
    counts = np.bincount(which, minlength=8)
    assert counts[4:].sum() == 0, counts  # turns only, never a mirror image
    expected = len(which) / 4
    assert ((counts[:4] - expected) ** 2 / expected).sum() < 21.1, counts


def test_a_non_square_image_on_the_per_image_route_names_the_layer(tmp_path, write_image):
    from dermnet._core.errors import ParameterError

    records = _records(tmp_path, write_image, n=2)
    with pytest.raises(ParameterError, match=r"RandomDihedral.*square"):
        make_dataset(records, (6, 8), 2, augment=augmentation("dihedral", seed=0))


def test_the_per_image_route_keeps_the_number_of_batches_known(tmp_path, write_image):
    # fit's cosine schedule and warm-up need it; the per-image seed stream has none
    import tensorflow as tf

    records = _records(tmp_path, write_image, n=10)
    aug = augmentation("dihedral", seed=0)
    for epoch in (None, tf.Variable(0, dtype=tf.int64)):
        ds = make_dataset(records, 6, 4, augment=aug, seed=0, epoch=epoch, shuffle=True)
        assert int(ds.cardinality()) == 3
        assert sum(int(x.shape[0]) for x, _ in ds) == 10
