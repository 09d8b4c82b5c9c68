"""The augmentation layers draw from the distributions they promise (over many draws).

These tests pin the distributions, not the random streams: they held before the layers
were made faster (per-image branches instead of whole-batch selects) and hold after.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from dermnet.transforms import augmentation
from dermnet.transforms.augment import (
    RandomAffine,
    RandomBrightness,
    RandomContrast,
    RandomFlip,
    RandomHue,
    RandomRotation,
    RandomSaturation,
)

N = 4000


def _frequencies(out: np.ndarray, views: list[np.ndarray]) -> np.ndarray:
    flat = out.reshape(len(out), -1)
    keys = np.stack([v.ravel() for v in views])
    match = (flat[:, None, :] == keys[None]).all(axis=-1)
    assert match.sum(axis=1).tolist() == [1] * len(out), "an output is not one of the views"
    return match.mean(axis=0)


def _square() -> np.ndarray:
    return np.arange(4, dtype=np.float32).reshape(2, 2, 1)


def _dihedral_views(image: np.ndarray) -> list[np.ndarray]:
    return [np.rot90(v, k) for v in (image, image[:, ::-1]) for k in range(4)]


def test_dihedral_gives_each_of_the_8_views_with_frequency_one_eighth():
    image = _square()
    out = np.asarray(augmentation("dihedral", seed=3)(np.stack([image] * N), training=True))
    freq = _frequencies(out, _dihedral_views(image))
    # binomial sd at p=1/8, n=4000: 0.0052; 5 sd
    assert np.abs(freq - 1 / 8).max() < 0.027, freq


#: chi-square with 7 degrees of freedom: exceeded with probability 1e-4 by a right distribution
CHI2_7_CRITICAL = 29.88


def chi_square(counts: np.ndarray) -> float:
    """Pearson's statistic of ``counts`` against equal probabilities."""
    expected = counts.sum() / len(counts)
    return float(((counts - expected) ** 2 / expected).sum())


def test_the_chi_square_bound_fails_wrong_distributions():
    rng = np.random.default_rng(0)
    uniform = np.bincount(rng.integers(0, 8, N), minlength=8)
    assert chi_square(uniform) < CHI2_7_CRITICAL
    # a horizontal flip alone before quarter turns, but with the flip drawn at p = 0.4
    skewed = np.bincount(rng.choice(8, N, p=[0.15] * 4 + [0.1] * 4), minlength=8)
    assert chi_square(skewed) > CHI2_7_CRITICAL
    # the 4 flips only (no transposition), each at 1/4
    flips = np.bincount(rng.integers(0, 4, N), minlength=8)
    assert chi_square(flips) > CHI2_7_CRITICAL


@pytest.mark.parametrize("where", ["eager", "tf.data"])
def test_dihedral_counts_of_the_8_symmetries_pass_a_chi_square_bound(where):
    import tensorflow as tf

    image = np.random.default_rng(1).permutation(5 * 5 * 3).reshape(5, 5, 3).astype(np.float32)
    views = _dihedral_views(image)
    layer = augmentation("dihedral", seed=7)
    batch = np.stack([image] * N)
    if where == "eager":
        out = np.asarray(layer(batch, training=True))
    else:  # in a graph, batches of 32 (and a last one of 32 - 4000 % 32)
        ds = tf.data.Dataset.from_tensor_slices(batch).batch(32)
        out = np.concatenate([b.numpy() for b in ds.map(lambda x: layer(x, training=True))])
    counts = np.round(_frequencies(out, views) * N).astype(int)
    assert counts.sum() == N
    assert chi_square(counts) < CHI2_7_CRITICAL, counts


def test_flips_give_each_of_the_4_flips_with_frequency_one_quarter():
    image = np.arange(6, dtype=np.float32).reshape(2, 3, 1)
    out = np.asarray(RandomFlip(seed=5)(np.stack([image] * N), training=True))
    views = [image, image[:, ::-1], image[::-1], image[::-1, ::-1]]
    freq = _frequencies(out, views)
    assert np.abs(freq - 1 / 4).max() < 0.035, freq


@pytest.mark.parametrize("layer", ["rotation", "affine"])
def test_rotation_angles_lie_in_range_and_are_roughly_uniform(layer):
    import tensorflow as tf

    if layer == "rotation":
        aug = RandomRotation(max_angle=30.0, seed=1)
    else:
        aug = RandomAffine(max_angle=30.0, zoom_range=(0.9, 1.1), translate=0.05, seed=1)
    angle, zoom, dx, dy = (np.asarray(v) for v in aug._draw(tf.constant(N)))
    limit = math.radians(30.0)
    assert angle.min() >= -limit
    assert angle.max() <= limit
    counts, _ = np.histogram(angle, bins=10, range=(-limit, limit))
    assert np.abs(counts / N - 0.1).max() < 0.03, counts
    if layer == "affine":
        assert zoom.min() >= 0.9
        assert zoom.max() <= 1.1
        assert np.abs(dx).max() <= 0.05
        assert np.abs(dy).max() <= 0.05
        assert dx.std() > 0.02  # spread over the range, not stuck


def test_rotation_turns_a_pixel_by_an_angle_within_the_range():
    # A bright dot right of the centre moves on a circle; its angle is the rotation.
    size = 41
    image = np.zeros((size, size, 1), np.float32)
    image[20, 35] = 255.0
    out = np.asarray(RandomRotation(max_angle=45.0, seed=2)(np.stack([image] * 200)))
    angles = []
    for o in out:
        y, x = np.unravel_index(np.argmax(o[..., 0]), o.shape[:2])
        angles.append(math.degrees(math.atan2(y - 20, x - 20)))
    angles = np.asarray(angles)
    assert np.abs(angles).max() <= 45.0 + 5.0
    assert angles.min() < -25.0
    assert angles.max() > 25.0


def test_colour_jitter_stays_within_its_bounds():
    rng = np.random.default_rng(0)
    base = rng.uniform(60, 190, (1, 8, 8, 3)).astype(np.float32)
    batch = np.repeat(base, 2000, axis=0)
    # brightness: a per-image offset in [-0.1, 0.1] * 255, roughly uniform
    out = np.asarray(RandomBrightness(max_delta=0.1, seed=0)(batch))
    delta = (out - batch).mean(axis=(1, 2, 3))
    assert np.abs(delta).max() <= 25.5 + 1e-3
    assert abs(delta.std() - 25.5 / math.sqrt(3)) < 1.5
    # contrast: deviations from the channel means scaled by a factor in [0.85, 1.15]
    out = np.asarray(RandomContrast(factor=0.15, seed=0)(batch))
    dev_in = batch - batch.mean(axis=(1, 2), keepdims=True)
    dev_out = out - out.mean(axis=(1, 2), keepdims=True)
    scale = (dev_out * dev_in).sum(axis=(1, 2, 3)) / (dev_in**2).sum(axis=(1, 2, 3))
    assert scale.min() >= 0.85 - 1e-4
    assert scale.max() <= 1.15 + 1e-4
    assert scale.min() < 0.88
    assert scale.max() > 1.12
    # saturation: deviations from the gray image scaled by a factor in [0.85, 1.15]
    out = np.asarray(RandomSaturation(factor=0.15, seed=0)(batch))
    gray = (batch * [0.299, 0.587, 0.114]).sum(-1, keepdims=True)
    gray_out = (out * [0.299, 0.587, 0.114]).sum(-1, keepdims=True)
    d_in, d_out = batch - gray, out - gray_out
    scale = (d_out * d_in).sum(axis=(1, 2, 3)) / (d_in**2).sum(axis=(1, 2, 3))
    assert scale.min() >= 0.85 - 1e-3
    assert scale.max() <= 1.15 + 1e-3
    # hue: a shift of at most 0.02 of the circle
    import colorsys

    red = np.zeros((500, 1, 1, 3), np.float32)
    red[..., 0], red[..., 1] = 200.0, 40.0
    out = np.asarray(RandomHue(max_delta=0.02, seed=0)(red))[:, 0, 0] / 255.0
    hue0 = colorsys.rgb_to_hsv(200 / 255, 40 / 255, 0.0)[0]
    shifts = np.array([colorsys.rgb_to_hsv(*px)[0] - hue0 for px in out])
    shifts = (shifts + 0.5) % 1.0 - 0.5
    assert np.abs(shifts).max() <= 0.02 + 1e-3
    assert shifts.min() < -0.012
    assert shifts.max() > 0.012
