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
