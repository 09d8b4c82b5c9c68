import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.transforms import functional as F


def _tinted(dtype=np.uint8):
    rng = np.random.default_rng(0)
    base = rng.uniform(60, 180, size=(16, 16, 1))
    image = np.concatenate([base * 1.3, base, base * 0.6], axis=2)
    return image.astype(dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_shades_of_gray_equalises_channel_means_and_keeps_dtype(dtype):
    image = _tinted(dtype)
    out = F.shades_of_gray(image, p=1)  # p=1 is Gray World: equal channel means
    assert out.dtype == image.dtype
    means = out.astype(np.float64).mean(axis=(0, 1))
    assert means.max() - means.min() < 1.5
    assert np.ptp(image.mean(axis=(0, 1))) > 40


def test_shades_of_gray_float_unit_range_stays_in_range():
    image = _tinted(np.float32) / 255.0
    out = F.shades_of_gray(image)
    assert out.max() <= 1.0
    assert out.min() >= 0.0


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


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((4, 4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 3), np.int32), "dtype"),
        (np.full((4, 4, 3), np.nan, np.float32), "NaN"),
        (np.zeros((0, 4, 3), np.uint8), "empty"),
        ([[1, 2, 3]], "NumPy array"),
    ],
)
def test_bad_images_are_rejected_with_the_transform_name(image, match):
    with pytest.raises(ParameterError, match=f"shades_of_gray.*{match}|{match}.*shades_of_gray"):
        F.shades_of_gray(image)


def test_bad_parameter_is_named():
    with pytest.raises(ParameterError, match="'p' parameter of shades_of_gray"):
        F.shades_of_gray(_tinted(), p=0.5)
