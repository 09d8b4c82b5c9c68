"""Known behaviour of the preprocessing functions on constructed images."""

import cv2
import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet.transforms import functional as F
from dermnet.transforms.functional.geometry import _crop_box

SKIN = (220, 170, 150)
LESION = (110, 70, 60)
HAIR = (35, 25, 25)


def _tinted(dtype=np.uint8):
    rng = np.random.default_rng(0)
    base = rng.uniform(60, 180, size=(16, 16, 1))
    image = np.concatenate([base * 1.3, base, base * 0.6], axis=2)
    return image.astype(dtype)


def _dermoscopy_scene(size=128, hair_width=3, seed=0):
    """Skin with mild noise, a large dark lesion disc, a thin dark hair across both.

    Returns the image, the clean image (no hair), the hair mask and the lesion mask.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    lesion = (yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size * 0.22) ** 2
    clean = np.empty((size, size, 3), np.float64)
    clean[:] = SKIN
    clean[lesion] = LESION
    clean += rng.normal(0, 3, clean.shape)
    clean = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
    hair = np.abs((yy - 0.35 * xx) - size * 0.15) < hair_width / 2  # a slanted line
    image = clean.copy()
    image[hair] = HAIR
    return image, clean, hair, lesion


# -- hair removal ----------------------------------------------------------------------------
@pytest.mark.parametrize("hair_width", [2, 3, 5])
def test_hair_removal_removes_a_dark_line_and_keeps_the_lesion(hair_width):
    image, clean, hair, lesion = _dermoscopy_scene(hair_width=hair_width)
    out, mask = F.remove_hair(image, kernel_size=17, return_mask=True)
    assert out.dtype == np.uint8
    assert out.shape == image.shape
    # The hair is found: nearly all of it is in the mask, and the lesion's inside is not
    # (its rim may be, where a cross-shaped element does not fit the curved border).
    assert mask[hair].mean() > 0.98
    from_hair = cv2.distanceTransform((~hair).astype(np.uint8), cv2.DIST_L2, 3)
    from_rim = cv2.distanceTransform(lesion.astype(np.uint8), cv2.DIST_L2, 3)
    inner = lesion & (from_hair > 8) & (from_rim > 4)
    assert not mask[inner].any()
    # Residual: on the hair pixels, the result is within 10 gray levels of the clean
    # skin on average (the hair was about 160 levels darker; the noise alone gives ~3),
    # and within 15 of the clean lesion where the hair crossed it.
    for region, bound in ((hair & ~lesion, 10), (hair & lesion, 15)):
        err = np.abs(out[region].astype(int) - clean[region].astype(int)).mean()
        before = np.abs(image[region].astype(int) - clean[region].astype(int)).mean()
        assert before > 50
        assert err < bound
    # The lesion blob is kept: its interior is untouched and its dark area is the same.
    np.testing.assert_array_equal(out[inner], image[inner])
    dark_before = (clean.mean(axis=2) < 140).sum()
    dark_after = (out.mean(axis=2) < 140).sum()
    assert abs(dark_after - dark_before) / dark_before < 0.02


def test_hair_mask_without_hair_is_empty_but_for_the_lesion_rim_and_float_input_works():
    _, clean, _, lesion = _dermoscopy_scene()
    mask = F.hair_mask(clean)
    rim = cv2.distanceTransform((~lesion).astype(np.uint8), cv2.DIST_L2, 3) + (
        cv2.distanceTransform(lesion.astype(np.uint8), cv2.DIST_L2, 3)
    )
    assert mask.mean() < 0.02
    assert rim[mask].max() <= 4
    image, *_ = _dermoscopy_scene()
    x = image.astype(np.float32) / 255.0
    out, mask = F.remove_hair(x, return_mask=True)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[~mask], x[~mask])
    assert out.max() <= 1.0


def test_hair_removal_on_a_batch_matches_image_by_image():
    a, *_ = _dermoscopy_scene(seed=1)
    b, *_ = _dermoscopy_scene(seed=2)
    batch = np.stack([a, b])
    out, masks = F.remove_hair(batch, return_mask=True)
    assert out.shape == batch.shape
    assert masks.shape == (2, 128, 128)
    np.testing.assert_array_equal(out[1], F.remove_hair(b))


# -- colour constancy ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_shades_of_gray_equalises_channel_means_and_keeps_dtype(dtype):
    image = _tinted(dtype)
    out = F.shades_of_gray(image, p=1)  # p=1 is Gray World: equal channel means
    assert out.dtype == image.dtype
    means = out.astype(np.float64).mean(axis=(0, 1))
    assert means.max() - means.min() < 1.5
    assert np.ptp(image.mean(axis=(0, 1))) > 40


def test_shades_of_gray_p6_equalises_the_channel_p_norms():
    image = _tinted()
    out = F.shades_of_gray(image, p=6).astype(np.float64)
    norms = np.power(np.mean(out**6, axis=(0, 1)), 1 / 6)
    assert np.ptp(norms) < 2.0
    before = np.power(np.mean(image.astype(np.float64) ** 6, axis=(0, 1)), 1 / 6)
    assert np.ptp(before) > 50


def test_shades_of_gray_uint8_fast_path_matches_the_float_formula():
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    for p in (1.0, 2.5, 6.0):
        x = image.astype(np.float64)
        ill = np.power(np.mean(x**p, axis=(0, 1)), 1 / p)
        gains = np.sqrt(np.sum(ill**2) / 3) / ill
        expected = np.clip(np.rint(np.clip(x * gains, 0, 255)), 0, 255).astype(np.uint8)
        np.testing.assert_array_equal(F.shades_of_gray(image, p), expected)


def test_shades_of_gray_float_unit_range_stays_in_range():
    image = _tinted(np.float32) / 255.0
    out = F.shades_of_gray(image)
    assert out.max() <= 1.0
    assert out.min() >= 0.0


def test_gray_world_is_shades_of_gray_with_p1():
    image = _tinted()
    np.testing.assert_array_equal(F.gray_world(image), F.shades_of_gray(image, p=1))


def test_max_rgb_maps_the_brightest_values_to_equal_levels():
    image = _tinted()
    out = F.max_rgb(image).astype(np.float64)
    tops = out.reshape(-1, 3).max(axis=0)
    assert np.ptp(tops) <= 1.0
    # the uint8 histogram percentile equals NumPy's inverted_cdf percentile
    p = 90.0
    hist = F.max_rgb(image, percentile=p)
    flt = F.max_rgb(image.astype(np.float32), percentile=p)
    assert np.abs(hist.astype(float) - flt).max() <= 1.0


# -- contrast --------------------------------------------------------------------------------
def _local_std(gray, tile=8):
    h, w = gray.shape
    blocks = gray[: h - h % tile, : w - w % tile].reshape(h // tile, tile, w // tile, tile)
    return blocks.astype(np.float64).std(axis=(1, 3)).mean()


def test_clahe_raises_local_contrast_and_keeps_hue():
    rng = np.random.default_rng(0)
    texture = 110 + 10 * rng.random((64, 64))  # low-contrast texture
    image = np.dstack([texture * 1.2, texture, texture * 0.8]).astype(np.uint8)
    out = F.clahe(image, clip_limit=3.0, tile_grid_size=4)
    gray_in = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    gray_out = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY)
    assert _local_std(gray_out) > 1.5 * _local_std(gray_in)
    hue_in = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)[..., 0].astype(int)
    hue_out = cv2.cvtColor(out, cv2.COLOR_RGB2HSV)[..., 0].astype(int)
    assert np.median(np.abs(hue_in - hue_out)) <= 2


def test_equalize_histogram_spreads_a_narrow_histogram():
    ramp = np.tile(np.arange(100, 132, dtype=np.uint8), (8, 1))
    out = F.equalize_histogram(np.dstack([ramp] * 3))
    assert out.min() < 10
    assert out.max() == 255
    gray = F.equalize_histogram(ramp[..., None])
    assert gray.shape == (8, 32, 1)


# -- smoothing, sharpening, edges ------------------------------------------------------------
def test_gaussian_blur_keeps_the_mean_and_lowers_the_variance():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (32, 32, 3)).astype(np.float32)
    out = F.gaussian_blur(image, sigma=2.0)
    assert abs(out.mean() - image.mean()) < 0.01
    assert out.std() < 0.5 * image.std()


def test_median_removes_salt_and_pepper_and_float_matches_uint8():
    image = np.full((16, 16, 3), 120, np.uint8)
    image[4, 4] = 255
    image[9, 9] = 0
    out = F.median_blur(image, 3)
    assert (out == 120).all()
    flt = F.median_blur(image.astype(np.float32) / 255.0, 7)
    np.testing.assert_allclose(flt, 120 / 255.0, atol=1e-6)


def test_bilateral_keeps_a_step_and_smooths_noise():
    rng = np.random.default_rng(0)
    step = np.zeros((32, 32), np.float32)
    step[:, 16:] = 200
    noisy = np.clip(step + rng.normal(0, 5, step.shape), 0, 255).astype(np.uint8)
    out = F.bilateral_filter(noisy, diameter=7, sigma_color=30, sigma_space=5).astype(float)
    assert out[:, :14].std() < noisy[:, :14].std()
    assert out[:, 17:].mean() - out[:, :15].mean() > 190


def test_nl_means_reduces_noise_but_keeps_an_edge():
    rng = np.random.default_rng(0)
    step = np.zeros((48, 48, 3), np.float32)
    step[:, 24:] = 180
    noisy = np.clip(step + rng.normal(0, 12, step.shape), 0, 255).astype(np.uint8)
    out = F.denoise_nl_means(noisy, strength=15).astype(float)
    clean_err = np.abs(out - step).mean()
    assert clean_err < 0.6 * np.abs(noisy.astype(float) - step).mean()
    assert out[:, 26:].mean() - out[:, :22].mean() > 170


def test_unsharp_mask_overshoots_at_edges_and_amount_zero_is_identity():
    step = np.full((8, 16, 3), 60, np.uint8)
    step[:, 8:] = 160
    out = F.unsharp_mask(step, sigma=1.0, amount=1.5).astype(int)
    assert out[0, 8, 0] > 160
    assert out[0, 7, 0] < 60
    np.testing.assert_array_equal(F.unsharp_mask(step, amount=0.0), step)
    # a threshold above the detail leaves the image unchanged
    np.testing.assert_array_equal(F.unsharp_mask(step, amount=1.0, threshold=200), step)


def test_edge_maps_on_a_step():
    step = np.zeros((10, 10, 3), np.uint8)
    step[:, 5:] = 200
    sobel = F.edge_map(step, "sobel")
    assert sobel.shape == (10, 10, 1)
    assert sobel[5, :, 0].tolist() == [0, 0, 0, 0, 200, 200, 0, 0, 0, 0]
    lap = F.edge_map(step, "laplacian")[5, :, 0]
    assert lap.tolist() == [0, 0, 0, 0, 200, 200, 0, 0, 0, 0]
    canny = F.edge_map(step, "canny")
    assert set(np.unique(canny)) <= {0, 255}
    assert canny[5, 4:6, 0].max() == 255


def test_enhance_edges_channel_and_blend():
    step = np.zeros((10, 10, 3), np.float32)
    step[:, 5:] = 0.8
    channel = F.enhance_edges(step, "sobel", mode="channel")
    assert channel.shape == (10, 10, 4)
    np.testing.assert_array_equal(channel[..., :3], step)
    np.testing.assert_allclose(channel[5, 4:6, 3], [0.8, 0.8], atol=1e-6)
    blend = F.enhance_edges(step, "sobel", mode="blend", alpha=0.5)
    assert blend.shape == step.shape
    np.testing.assert_allclose(blend[5, 4], 0.4, atol=1e-6)
    gray = F.enhance_edges(step[..., 0], mode="channel")
    assert gray.shape == (10, 10, 2)


# -- colour spaces ---------------------------------------------------------------------------
_CV_CODES = {
    "hsv": cv2.COLOR_RGB2HSV,
    "hls": cv2.COLOR_RGB2HLS,
    "lab": cv2.COLOR_RGB2LAB,
    "ycrcb": cv2.COLOR_RGB2YCrCb,
    "gray": cv2.COLOR_RGB2GRAY,
}


@pytest.mark.parametrize("space", sorted(_CV_CODES))
def test_uint8_colour_conversions_agree_with_opencv(space):
    image = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    expected = cv2.cvtColor(image, _CV_CODES[space])
    out = F.convert_color(image, space)
    np.testing.assert_array_equal(out.reshape(expected.shape), expected)


@pytest.mark.parametrize("space", sorted(_CV_CODES))
def test_float_colour_conversions_match_the_uint8_encoding(space):
    image = np.random.default_rng(1).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    u8 = F.convert_color(image, space).astype(np.float64)
    flt = F.convert_color(image.astype(np.float32) / 255.0, space).astype(np.float64)
    assert flt.min() >= 0.0
    assert flt.max() <= 1.0
    if space in ("hsv", "hls"):  # 8-bit hue is degrees / 2; float hue is degrees / 360
        hue = np.abs(flt[..., 0] * 180.0 - u8[..., 0])
        assert np.minimum(hue, 180 - hue).max() <= 1.0
        flt, u8 = flt[..., 1:], u8[..., 1:]
    assert np.abs(flt * 255.0 - u8).max() <= 1.5


def test_gray_with_three_channels_repeats_the_gray_value():
    image = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    out = F.convert_color(image, "gray", channels=3)
    assert out.shape == (5, 6, 3)
    np.testing.assert_array_equal(out[..., 0], cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
    np.testing.assert_array_equal(out[..., 0], out[..., 2])


def test_bad_colour_space_and_channels():
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(UnknownNameError, match=r"'space' parameter of convert_color.*'hsv'"):
        F.convert_color(image, "hsb")
    with pytest.raises(ParameterError, match="'channels' parameter of convert_color"):
        F.convert_color(image, "hsv", channels=1)
    with pytest.raises(ParameterError, match="'channels' parameter of convert_color"):
        F.convert_color(image, "gray", channels=2)


# -- geometry --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "size"), [("stretch", (8, 8)), ("pad", (10, 20)), ("crop", (10, 10))]
)
def test_resize_modes_shape_and_dtype(mode, size):
    image = np.full((20, 40, 3), 200, np.uint8)
    out = F.resize(image, size, mode)
    assert out.shape == (*size, 3)
    assert out.dtype == np.uint8


def test_resize_pad_keeps_aspect_with_black_bars():
    image = np.full((20, 40, 3), 200, np.uint8)
    out = F.resize(image, (20, 20), "pad")
    assert out[0].max() == 0
    assert out[-1].max() == 0
    assert out[10, 10].tolist() == [200, 200, 200]


def test_resize_keeps_channels_and_nearest_keeps_labels():
    mask = np.zeros((30, 40), np.uint8)
    mask[10:20, 5:25] = 3
    out = F.resize(mask, (15, 20), "stretch", interpolation="nearest")
    assert out.shape == (15, 20)
    assert set(np.unique(out)) == {0, 3}
    four = F.resize(np.zeros((30, 40, 4), np.float32), 16)
    assert four.shape == (16, 16, 4)
    assert four.dtype == np.float32


def test_center_crop_cuts_the_middle():
    image = np.arange(7 * 9, dtype=np.uint8).reshape(7, 9)
    out = F.center_crop(image, (3, 5))
    np.testing.assert_array_equal(out, image[2:5, 2:7])
    with pytest.raises(ParameterError, match="'size' parameter of center_crop"):
        F.center_crop(image, 8)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("square", [False, True])
def test_crop_to_mask_keeps_the_whole_mask(seed, square):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    mask = np.zeros((60, 80), bool)
    for _ in range(3):  # a few blobs anywhere, edges included
        cy, cx, r = rng.integers(0, 60), rng.integers(0, 80), rng.integers(2, 12)
        yy, xx = np.ogrid[:60, :80]
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    margin = float(rng.uniform(0, 0.3))
    top, left, bottom, right = _crop_box(image.shape, mask, margin, square)
    crop = F.crop_to_mask(image, mask, margin=margin, square=square)
    np.testing.assert_array_equal(crop, image[top:bottom, left:right])
    assert mask[top:bottom, left:right].sum() == mask.sum()
    t, lft, b, r = F.mask_bbox(mask)
    assert top <= t
    assert lft >= left
    assert b <= bottom
    assert r <= right


def test_crop_to_mask_margin_and_errors():
    image = np.zeros((100, 100, 3), np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[40:60, 30:50] = 1
    assert F.crop_to_mask(image, mask, margin=0.0).shape == (20, 20, 3)
    assert F.crop_to_mask(image, mask, margin=0.5).shape == (40, 40, 3)
    with pytest.raises(ParameterError, match="no foreground"):
        F.crop_to_mask(image, np.zeros((100, 100), bool))
    with pytest.raises(ParameterError, match="'mask' parameter of crop_to_mask"):
        F.crop_to_mask(image, np.ones((50, 50), bool))


# -- Reinhard --------------------------------------------------------------------------------
def test_reinhard_matches_the_target_statistics():
    rng = np.random.default_rng(0)
    reference = np.clip(rng.normal([180, 120, 160], 20, (40, 40, 3)), 0, 255).astype(np.uint8)
    source = np.clip(rng.normal([140, 100, 190], 10, (40, 40, 3)), 0, 255).astype(np.uint8)
    target_mean, target_std = F.reinhard_stats(reference)
    out = F.reinhard_normalize(source, target_mean, target_std)
    mean, std = F.reinhard_stats(out)
    np.testing.assert_allclose(mean, target_mean, atol=1.0)
    np.testing.assert_allclose(std, target_std, rtol=0.1, atol=0.5)


def test_reinhard_leaves_the_black_background_alone():
    rng = np.random.default_rng(0)
    cell = np.zeros((32, 32, 3), np.uint8)
    cell[8:24, 8:24] = np.clip(rng.normal([150, 90, 100], 8, (16, 16, 3)), 0, 255)
    out = F.reinhard_normalize(cell, (70.0, 15.0, 2.0), (4.0, 3.0, 3.0), background_threshold=10)
    assert out[:8].max() == 0
    mean, _ = F.reinhard_stats(out, background_threshold=10)
    np.testing.assert_allclose(mean, (70.0, 15.0, 2.0), atol=1.5)
    with pytest.raises(ParameterError, match="no pixel above"):
        F.reinhard_stats(np.zeros((4, 4, 3), np.uint8), background_threshold=10)


def test_reinhard_parameter_errors():
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ParameterError, match="'target_mean' parameter of reinhard_normalize"):
        F.reinhard_normalize(image, (1.0, 2.0), (1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match="'target_std' parameter of reinhard_normalize"):
        F.reinhard_normalize(image, (1.0, 2.0, 3.0), (1.0, -1.0, 1.0))


# -- validation ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((4, 4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 3), np.int32), "dtype"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        (np.full((4, 4, 3), 300.0, np.float32), r"\[0, 1\] or \[0, 255\]"),
        (-np.ones((4, 4, 3), np.float32), r"\[0, 1\] or \[0, 255\]"),
        ([[1, 2, 3]], "NumPy array"),
    ],
)
def test_bad_images_are_rejected_with_the_function_name(image, match):
    with pytest.raises(ParameterError, match=f"shades_of_gray.*{match}|{match}.*shades_of_gray"):
        F.shades_of_gray(image)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda x: F.shades_of_gray(x, p=0.5), "'p' parameter of shades_of_gray"),
        (lambda x: F.remove_hair(x, kernel_size=4), "'kernel_size' parameter of remove_hair"),
        (lambda x: F.remove_hair(x, method="fast"), "'method' parameter of remove_hair"),
        (lambda x: F.clahe(x, clip_limit=0), "'clip_limit' parameter of clahe"),
        (lambda x: F.gaussian_blur(x, sigma=-1), "'sigma' parameter of gaussian_blur"),
        (lambda x: F.median_blur(x, 4), "'kernel_size' parameter of median_blur"),
        (lambda x: F.edge_map(x, "prewitt"), "'method' parameter of edge_map"),
        (
            lambda x: F.edge_map(x, "canny", 100, 50),
            "'high_threshold' parameter of edge_map",
        ),
        (lambda x: F.resize(x, 0), "'size' parameter of resize"),
        (lambda x: F.max_rgb(x, percentile=101), "'percentile' parameter of max_rgb"),
    ],
)
def test_bad_parameters_are_named(call, match):
    with pytest.raises(ParameterError, match=match):
        call(_tinted())


def test_batches_of_size_zero_are_rejected():
    with pytest.raises(ParameterError, match="empty batch"):
        F.gaussian_blur(np.zeros((0, 4, 4, 3), np.uint8))
