import json

import numpy as np
import pytest

from dermnet import UnknownNameError
from dermnet import transforms as T
from dermnet.transforms.presets import MALARIA_REFERENCE, PRESETS, register_preset
from tests.conftest import shared_dataset


def test_list_and_build_presets():
    assert T.list_presets() == [
        "color_constancy",
        "dermoscopy",
        "dermoscopy_clahe",
        "microscopy",
        "resize",
    ]
    for name in T.list_presets():
        pipeline = T.preset(name, image_size=(24, 32))
        assert isinstance(pipeline, T.Compose)
        assert pipeline.output_shape((None, None, 3)) == (24, 32, 3)
        assert T.transform_from_dict(json.loads(json.dumps(pipeline.to_dict()))) == pipeline
        out = pipeline(np.random.default_rng(0).integers(0, 256, (45, 60, 3), dtype=np.uint8))
        assert out.shape == (24, 32, 3)
        assert out.dtype == np.uint8


def test_dermoscopy_preset_is_hair_removal_shades_of_gray_and_padded_resize():
    steps = T.preset("dermoscopy", 224).transforms
    assert [type(s) for s in steps] == [T.RemoveHair, T.ShadesOfGray, T.Resize]
    assert steps[1].p == 6.0
    assert steps[2].mode == "pad"


def test_unknown_preset_has_a_hint():
    with pytest.raises(UnknownNameError, match="Did you mean 'dermoscopy'"):
        T.preset("dermoscopie")


def test_register_preset_rejects_duplicates_and_adds_names():
    @register_preset("test_only_gray")
    def _gray(size):
        return T.Compose([T.ConvertColor("gray", channels=3), T.Resize(size)])

    try:
        assert "test_only_gray" in T.list_presets()
        assert T.preset("test_only_gray", 8)(np.zeros((10, 10, 3), np.uint8)).shape == (8, 8, 3)
        with pytest.raises(ValueError, match="already registered"):
            register_preset("test_only_gray")(_gray)
    finally:
        PRESETS.unregister("test_only_gray")


def test_microscopy_preset_keeps_the_black_background():
    cell = np.zeros((40, 40, 3), np.uint8)
    cell[10:30, 10:30] = (150, 90, 110)
    cell[18:22, 18:22] = (90, 40, 120)  # a dark purple parasite
    out = T.preset("microscopy", 40)(cell)
    assert out[:8].max() == 0
    assert out[15, 15].max() > 0


@pytest.mark.slow
def test_malaria_reference_is_the_median_of_the_nih_cells():
    """The constant is what its docstring says: recomputed from the shared data."""
    from PIL import Image

    folder = shared_dataset("malaria_rgb")
    means, stds = [], []
    for path in sorted(folder.glob("*/*.png")):
        image = np.asarray(Image.open(path).convert("RGB"))
        mean, std = T.functional.reinhard_stats(image, background_threshold=10)
        means.append(mean)
        stds.append(std)
    assert len(means) == 200
    np.testing.assert_allclose(np.median(means, axis=0), MALARIA_REFERENCE["target_mean"], atol=0.1)
    np.testing.assert_allclose(np.median(stds, axis=0), MALARIA_REFERENCE["target_std"], atol=0.1)
