"""Known behaviour of the augmentation layers on constructed batches."""

import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet import transforms as T


def _checker(n=4, size=16):
    yy, xx = np.mgrid[:size, :size]
    board = (((yy // 4) + (xx // 4)) % 2 * 200 + 20).astype(np.float32)
    rgb = np.stack([board, board * 0.8, board * 0.5], axis=-1)
    return np.stack([rgb] * n)


def test_flip_only_permutes_pixels_and_draws_per_image():
    x = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3, 1)
    x = np.concatenate([x] * 8)  # 16 identical pairs
    out = np.asarray(T.RandomFlip(seed=0)(x))
    for image, flipped in zip(x, out, strict=True):
        candidates = [image, image[:, ::-1], image[::-1], image[::-1, ::-1]]
        assert any(np.array_equal(flipped, c) for c in candidates)
    assert len({out[i].tobytes() for i in range(0, 16, 2)}) > 1  # not all the same draw


def test_rotation_by_a_right_angle_moves_a_pixel_to_the_side():
    x = np.zeros((1, 5, 5, 1), np.float32)
    x[0, 0, 2, 0] = 255.0  # top middle
    layer = T.RandomRotation(seed=0, fill_mode="constant")
    one = np.ones(1, np.float32)
    zero = np.zeros(1, np.float32)
    out = np.asarray(layer._warp(x, np.array([np.pi / 2], np.float32), one, zero, zero))
    assert out[0, 2, 0, 0] == pytest.approx(255.0)  # now middle left
    assert out.sum() == pytest.approx(255.0)
    shifted = np.asarray(layer._warp(x, zero, one, np.array([0.2], np.float32), zero))
    assert shifted[0, 0, 3, 0] == pytest.approx(255.0)  # 0.2 of the width = 1 pixel right
    zoomed = np.asarray(layer._warp(x, zero, 2 * one, zero, zero))
    assert zoomed[0, 0, 2, 0] == 0.0  # zooming in pushes the edge pixel out of view


def test_rotation_keeps_a_centred_disc_and_fills_corners_by_reflection():
    yy, xx = np.mgrid[:33, :33]
    disc = (((yy - 16) ** 2 + (xx - 16) ** 2) < 64).astype(np.float32) * 200 + 30
    x = np.repeat(disc[None, ..., None], 8, axis=0)
    out = np.asarray(T.RandomRotation(seed=1)(x))
    assert np.abs(out - x).mean() < 3.0  # a disc looks the same at any angle
    assert out.min() >= 29.0  # no black wedges in the corners


def test_brightness_contrast_saturation_hue_known_effects():
    x = _checker()
    bright = np.asarray(T.RandomBrightness(0.2, seed=0)(x))
    offsets = (bright - x)[:, 8, 8, 0]
    assert np.all(np.abs(offsets) <= 0.2 * 255 + 1e-3)
    mid = x.mean(axis=(1, 2))
    contrast = np.asarray(T.RandomContrast(0.09, seed=0)(x))  # no clipping at 0.09
    np.testing.assert_allclose(contrast.mean(axis=(1, 2)), mid, rtol=1e-4)  # mean kept
    assert np.ptp(contrast.std(axis=(1, 2, 3))) > 1.0  # spread changed, per image
    gray = np.repeat(x[..., :1], 3, axis=-1)
    np.testing.assert_allclose(np.asarray(T.RandomSaturation(0.9, seed=0)(gray)), gray)
    np.testing.assert_allclose(np.asarray(T.RandomHue(0.3, seed=0)(gray)), gray, atol=1e-3)
    hue = np.asarray(T.RandomHue(0.3, seed=0)(x))
    np.testing.assert_allclose(hue.max(axis=-1), x.max(axis=-1), atol=1e-2)  # value kept
    assert np.abs(hue - x).max() > 10


def test_mixup_blends_images_and_labels_with_the_same_weight():
    images = np.stack([np.full((4, 4, 3), v, np.float32) for v in (0.0, 100.0, 200.0)])
    x, y = T.MixUp(alpha=1.0, num_classes=3, seed=2)(images, np.array([0, 1, 2]))
    x, y = np.asarray(x), np.asarray(y)
    values = np.array([0.0, 100.0, 200.0])
    np.testing.assert_allclose(x[:, 0, 0, 0], y @ values, rtol=1e-5, atol=1e-3)


def test_cutmix_mixes_labels_by_the_pasted_area():
    images = np.stack([np.full((20, 20, 1), v, np.float32) for v in (0.0, 1.0, 2.0, 3.0)])
    onehot = np.eye(4, dtype=np.float32)
    x, y = T.CutMix(alpha=1.0, seed=4)(images, onehot)
    x, y = np.asarray(x), np.asarray(y)
    for i in range(4):
        counts = np.array([(x[i] == v).mean() for v in range(4)])
        np.testing.assert_allclose(counts, y[i], atol=1e-6)


def test_augmentation_in_tf_data_same_seed_same_epoch():
    import tensorflow as tf

    def run():
        layer = T.augmentation("dermoscopy", seed=11)
        ds = tf.data.Dataset.from_tensor_slices(_checker(8)).batch(4)
        ds = ds.map(lambda x: layer(x, training=True))
        return np.concatenate([b.numpy() for b in ds])

    np.testing.assert_array_equal(run(), run())


def test_augmentation_presets():
    for name in ("dermoscopy", "microscopy", "geometric", "flips", "dihedral"):
        model = T.augmentation(name, seed=0)
        out = model(_checker(), training=True)
        assert tuple(out.shape) == (4, 16, 16, 3)
    seeds = [layer.seed for layer in T.augmentation("dermoscopy", seed=5).layers]
    assert seeds == list(range(5, 5 + len(seeds)))
    with pytest.raises(UnknownNameError, match="Did you mean 'dermoscopy'"):
        T.augmentation("dermoscopi")


def test_augmentation_is_a_make_dataset_augment_callable():
    """The contract with data.make_dataset(augment=...): float32 batch in [0, 255]."""
    import inspect

    import tensorflow as tf

    aug = T.augmentation("dermoscopy", seed=0)
    assert "training" in inspect.signature(aug.call).parameters
    batch = tf.constant(_checker())
    out = aug(batch, training=True)
    assert out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0.0
    assert float(tf.reduce_max(out)) <= 255.0


def _dihedral(image):
    """The 8 symmetries of the square: 4 quarter turns of the image and of its mirror."""
    return [np.rot90(m, k) for m in (image, image[:, ::-1]) for k in range(4)]


def _which(out, candidates):
    hits = [i for i, c in enumerate(candidates) if np.array_equal(out, c)]
    assert len(hits) == 1, "the output is not exactly one of the candidate transforms"
    return hits[0]


def _distinct_images(n, size=6):
    """Random images with no symmetry (their 8 dihedral transforms all differ), in [0, 255]."""
    rng = np.random.default_rng(0)
    m = n * size * size * 3
    values = rng.permutation(m) * (255.0 / m)  # m distinct values inside the value range
    return values.reshape(n, size, size, 3).astype(np.float32)


def test_random_rot90_turns_each_image_by_its_own_quarter_turns():
    x = _distinct_images(64)
    out = np.asarray(T.RandomRot90(seed=5)(x))
    ks = [
        _which(o, [np.rot90(image, k) for k in range(4)]) for image, o in zip(x, out, strict=True)
    ]
    assert sorted(set(ks)) == [0, 1, 2, 3]
    assert min(np.bincount(ks)) >= 8  # about 16 each
    single = np.asarray(T.RandomRot90(seed=5)(x[0]))  # one HxWxC image
    assert _which(single, [np.rot90(x[0], k) for k in range(4)]) in range(4)
    np.testing.assert_array_equal(np.asarray(T.RandomRot90(seed=5)(x, training=False)), x)


def test_random_rot90_config_round_trip_and_square_only():
    layer = T.RandomRot90(seed=9, value_range=(0.0, 1.0))
    config = layer.get_config()
    rebuilt = T.RandomRot90.from_config(config)
    assert rebuilt.get_config() == config
    assert config["seed"] == 9
    x = _distinct_images(16) / 255.0  # the layer's value_range is (0, 1)
    np.testing.assert_array_equal(np.asarray(rebuilt(x)), np.asarray(layer(x)))
    with pytest.raises(ParameterError, match=r"must be square images.*\(2, 6, 8, 3\)"):
        T.RandomRot90(seed=0)(np.zeros((2, 6, 8, 3), np.float32))


def test_dihedral_set_gives_exactly_the_8_symmetries_each_about_equally():
    x = _distinct_images(256)
    out = np.asarray(T.augmentation("dihedral", seed=2)(x, training=True))
    which = [_which(o, _dihedral(image)) for image, o in zip(x, out, strict=True)]
    counts = np.bincount(which, minlength=8)
    assert counts.min() >= 16, counts  # all 8 occur, about 32 each
    eval_out = T.augmentation("dihedral", seed=2)(x, training=False)
    np.testing.assert_array_equal(np.asarray(eval_out), x)


def test_flips_set_gives_the_4_flips_only():
    x = _distinct_images(64)
    out = np.asarray(T.augmentation("flips", seed=0)(x, training=True))
    flips = [
        _which(o, [image, image[:, ::-1], image[::-1], image[::-1, ::-1]])
        for image, o in zip(x, out, strict=True)
    ]
    assert sorted(set(flips)) == [0, 1, 2, 3]
    eval_out = T.augmentation("flips", seed=0)(x, training=False)
    np.testing.assert_array_equal(np.asarray(eval_out), x)


# -- outputs stay inside value_range (issue 13) ----------------------------------------------
def _strong(name, value_range):
    """Each registered augmentation at its strongest settings, with ``value_range``."""
    from dermnet.transforms.augment import AUGMENTATIONS

    strong = {
        "random_brightness": {"max_delta": 1.0},
        "random_contrast": {"factor": 1.0},
        "random_saturation": {"factor": 1.0},
        "random_hue": {"max_delta": 0.5},
        "random_zoom": {"zoom_range": (0.5, 2.0)},
        "random_translation": {"fraction": 1.0},
        "random_affine": {"zoom_range": (0.5, 2.0), "translate": 1.0},
    }
    cls = AUGMENTATIONS.get(name)
    if name in ("mixup", "cutmix"):
        return cls(alpha=1.0, num_classes=2, seed=3)
    return cls(**strong.get(name, {}), value_range=value_range, seed=3)


def _noise(high, n=8, size=12):
    """Random pixels that touch both ends of [0, high]."""
    x = np.random.default_rng(0).uniform(0.0, high, (n, size, size, 3)).astype(np.float32)
    x[:, 0, 0] = 0.0
    x[:, -1, -1] = high
    return x


def _run(layer, images):
    if isinstance(layer, (T.MixUp, T.CutMix)):
        return np.asarray(layer(images, np.arange(len(images)) % 2)[0])
    return np.asarray(layer(images, training=True))


@pytest.mark.parametrize("high", [1.0, 255.0], ids=["unit", "byte"])
@pytest.mark.parametrize("name", T.list_augmentations())
def test_every_augmentation_keeps_outputs_inside_value_range(name, high):
    import tensorflow as tf

    images = _noise(high)
    layer = _strong(name, (0.0, high))
    for _ in range(3):  # several draws
        out = _run(layer, images)
        assert out.shape == images.shape
        assert out.min() >= 0.0, (name, out.min())
        assert out.max() <= high, (name, out.max())
    # the same inside a graph (tf.data), where nothing is checked but the output is clipped
    ds = tf.data.Dataset.from_tensor_slices(images).batch(4)
    ds = ds.map(lambda x: _run_graph(layer, x))
    out = np.concatenate([b.numpy() for b in ds])
    assert out.min() >= 0.0
    assert out.max() <= high


def _run_graph(layer, x):
    if isinstance(layer, (T.MixUp, T.CutMix)):
        return layer(x, tf_labels(x))[0]
    return layer(x, training=True)


def tf_labels(x):
    import tensorflow as tf

    return tf.zeros(tf.shape(x)[0], tf.int32)


def test_brightness_delta_is_a_fraction_of_the_range_on_unit_images():
    x = np.full((64, 4, 4, 3), 0.5, np.float32)
    out = np.asarray(T.RandomBrightness(0.1, value_range=(0, 1), seed=0)(x))
    offsets = out[:, 0, 0, 0] - 0.5
    assert np.abs(offsets).max() <= 0.1 + 1e-6  # 0.1 of the range [0, 1], not 0.1 * 255
    assert np.abs(offsets).max() > 0.05  # and really drawn up to about that
    np.testing.assert_allclose(out, out[:, :1, :1, :1] * np.ones_like(out))  # one per image
    byte = np.asarray(T.RandomBrightness(0.1, seed=0)(x * 255.0))
    np.testing.assert_allclose(byte, out * 255.0, rtol=1e-5)  # the same draws, scaled


@pytest.mark.parametrize(
    "name", [n for n in T.list_augmentations() if n not in ("mixup", "cutmix")]
)
def test_unit_images_with_the_default_byte_range_give_a_warning(name):
    images = _noise(1.0)
    with pytest.warns(UserWarning, match=r"scaled to \[0, 1\].*value_range=\(0, 1\)"):
        _run(_strong(name, (0.0, 255.0)), images)


@pytest.mark.parametrize(
    "name", [n for n in T.list_augmentations() if n not in ("mixup", "cutmix")]
)
def test_eager_inputs_outside_value_range_are_a_parameter_error(name):
    layer = _strong(name, (0.0, 1.0))
    cls = type(layer).__name__
    with pytest.raises(
        ParameterError,
        match=rf"'inputs' parameter of {cls} must hold values in its value_range \[0, 1\]\. "
        r"Got values in \[0, 255\] instead",
    ):
        _run(layer, _noise(255.0))
    bad = _noise(1.0)
    bad[0, 1, 1, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        _run(layer, bad)
    # not training: the input comes back as it is, unchecked
    np.testing.assert_array_equal(np.asarray(layer(_noise(255.0), training=False)), _noise(255.0))
