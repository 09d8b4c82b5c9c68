"""Transform dicts that earlier dermnet versions wrote still load, equal and pixel-equal.

``tests/files/transforms_v0.json`` holds ``to_dict()`` of every registered transform with
non-default parameters, as dermnet 0.1.0.dev0 wrote them (before the parameters were
declared once and the configs derived from the constructors); ``transforms_v0.npz`` holds
the fixed input image, its lesion mask and each transform's output on it from that
version. When a release changes what ``to_dict`` writes, freeze its dicts as a new
``transforms_v<N>`` pair next to these and keep the old ones.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from dermnet import transforms as T
from dermnet.transforms.base import TRANSFORMS

FILES = Path(__file__).parents[1] / "files"

#: The transforms the frozen dicts were written from, built with today's constructors.
WRITTEN = {
    "shades_of_gray": lambda: T.ShadesOfGray(p=4.0),
    "gray_world": lambda: T.GrayWorld(),
    "max_rgb": lambda: T.MaxRGB(percentile=97.5),
    "remove_hair": lambda: T.RemoveHair(
        kernel_size=7, threshold=12.0, radius=2, method="ns", smoothing=0.5
    ),
    "clahe": lambda: T.CLAHE(clip_limit=3.0, tile_grid_size=4),
    "equalize_histogram": lambda: T.EqualizeHistogram(),
    "gaussian_blur": lambda: T.GaussianBlur(sigma=1.5, kernel_size=5),
    "median_blur": lambda: T.MedianBlur(kernel_size=5),
    "bilateral_filter": lambda: T.BilateralFilter(diameter=5, sigma_color=30.0, sigma_space=10.0),
    "denoise_nl_means": lambda: T.DenoiseNLMeans(
        strength=8.0, template_window_size=3, search_window_size=7
    ),
    "unsharp_mask": lambda: T.UnsharpMask(sigma=1.5, amount=0.7, threshold=2.0),
    "enhance_edges": lambda: T.EnhanceEdges(
        method="canny", mode="blend", alpha=0.3, low_threshold=20.0, high_threshold=90.0
    ),
    "convert_color": lambda: T.ConvertColor("gray", channels=3),
    "resize": lambda: T.Resize((12, 20), mode="crop", interpolation="cubic"),
    "center_crop": lambda: T.CenterCrop((10, 12)),
    "crop_to_mask": lambda: T.CropToMask(margin=0.25, square=True),
    "reinhard_normalize": lambda: T.ReinhardNormalize((60.0, 10.0, 5.0), (10.0, 5.0, 5.0), 10.0),
    "compose": lambda: T.Compose(
        [T.ShadesOfGray(p=5.0), T.GaussianBlur(0.8), T.Resize(16, mode="pad")]
    ),
}

VERSIONS = ["v0"]


def _load(version: str) -> tuple[dict, dict[str, np.ndarray]]:
    data = json.loads((FILES / f"transforms_{version}.json").read_text(encoding="utf-8"))
    with np.load(FILES / f"transforms_{version}.npz") as arrays:
        return data, {key: arrays[key] for key in arrays.files}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_frozen_file_names_its_version_and_only_registered_transforms(version):
    data, arrays = _load(version)
    assert data["dermnet_version"] == "0.1.0.dev0"
    names = set(data["transforms"])
    assert names == set(WRITTEN)
    assert names <= set(T.list_transforms()), "a transform that old files name was removed"
    assert names <= set(arrays)
    for name, entry in data["transforms"].items():
        assert entry["name"] == name
        assert entry["dermnet_version"] == data["dermnet_version"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_a_frozen_dict_loads_to_an_equal_transform_with_the_same_output(version, name):
    data, arrays = _load(version)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same major version: no warning
        loaded = T.transform_from_dict(data["transforms"][name])
    expected = WRITTEN[name]()
    assert type(loaded) is TRANSFORMS.get(name)
    assert loaded == expected
    # what it writes today loads back equal (the old dict's keys are today's keys)
    assert loaded.get_config().keys() == data["transforms"][name]["config"].keys()
    image, mask = arrays["input"], arrays["mask"]
    out = loaded(image, mask=mask)[0] if name == "crop_to_mask" else loaded(image)
    assert out.dtype == arrays[name].dtype
    np.testing.assert_array_equal(out, arrays[name])
