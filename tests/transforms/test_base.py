import json
import warnings

import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError, __version__
from dermnet import transforms as T
from dermnet.transforms import Compose, Resize, ShadesOfGray, list_transforms, transform_from_dict


def test_compose_round_trips_through_json_and_gives_the_same_pixels():
    pipeline = Compose([ShadesOfGray(p=4), Resize((8, 12), mode="pad")])
    data = json.loads(json.dumps(pipeline.to_dict()))
    assert data["dermnet_version"] == __version__
    rebuilt = transform_from_dict(data)
    assert rebuilt == pipeline
    image = np.random.default_rng(0).integers(0, 255, (20, 30, 3), dtype=np.uint8)
    np.testing.assert_array_equal(rebuilt(image), pipeline(image))


def test_nested_compose_round_trips_and_indexes():
    inner = Compose([T.RemoveHair(kernel_size=7), ShadesOfGray()])
    pipeline = Compose([inner, T.CLAHE(), Resize(16)])
    assert transform_from_dict(pipeline.to_dict()) == pipeline
    assert pipeline[0] is inner
    assert len(pipeline) == 3
    assert pipeline.output_shape((100, 80, 3)) == (16, 16, 3)
    assert "RemoveHair" in repr(pipeline)


def test_batches_are_transformed_image_by_image():
    batch = np.random.default_rng(1).integers(0, 255, (3, 10, 10, 3), dtype=np.uint8)
    out = ShadesOfGray()(batch)
    assert out.shape == batch.shape
    np.testing.assert_array_equal(out[1], ShadesOfGray()(batch[1]))


def test_registry_and_unknown_name():
    assert {"shades_of_gray", "resize", "compose", "remove_hair"} <= set(list_transforms())
    assert list_transforms("*blur") == ["gaussian_blur", "median_blur"]
    with pytest.raises(UnknownNameError, match="shades_of_gray"):
        transform_from_dict({"name": "shades_of_grey", "config": {}})


def test_bad_dicts_are_rejected():
    with pytest.raises(ParameterError, match="'data' parameter of transform_from_dict"):
        transform_from_dict({"config": {}})
    with pytest.raises(ParameterError, match="ShadesOfGray"):
        transform_from_dict({"name": "shades_of_gray", "config": {"q": 2}})
    with pytest.raises(ParameterError, match="'config' entry"):
        transform_from_dict({"name": "shades_of_gray", "config": [1]})
    with pytest.raises(ParameterError, match="unknown keys"):
        Compose.from_config({"transforms": [], "extra": 1})


def test_a_dict_from_another_major_version_loads_with_a_warning():
    data = ShadesOfGray().to_dict()
    data["dermnet_version"] = "99.0.0"
    with pytest.warns(UserWarning, match="dermnet 99.0.0"):
        assert transform_from_dict(data) == ShadesOfGray()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        transform_from_dict(ShadesOfGray().to_dict())


def test_compose_rejects_non_transforms_and_empty_compose_is_identity():
    with pytest.raises(ParameterError, match="'transforms' parameter of Compose"):
        Compose([ShadesOfGray(), lambda x: x])
    with pytest.raises(ParameterError, match="'transforms' parameter of Compose"):
        Compose(ShadesOfGray())
    image = np.zeros((4, 4, 3), np.uint8)
    assert Compose([])(image) is image


def test_errors_inside_a_pipeline_name_the_failing_step():
    pipeline = Compose([T.ConvertColor("gray"), ShadesOfGray()])
    with pytest.raises(ParameterError, match=r"'image' parameter of ShadesOfGray.*shape"):
        pipeline(np.zeros((8, 8, 3), np.uint8))


def test_geometric_transforms_move_the_mask_and_others_keep_it():
    image = np.zeros((40, 60, 3), np.uint8)
    mask = np.zeros((40, 60), bool)
    mask[10:20, 30:50] = True
    pipeline = Compose(
        [ShadesOfGray(), T.CropToMask(margin=0.5), Resize((20, 20), mode="pad"), T.CLAHE()]
    )
    out, out_mask = pipeline(image, mask=mask)
    assert out.shape == (20, 20, 3)
    assert out_mask.shape == (20, 20)
    assert out_mask.dtype == bool
    # crop 20x40 around the box, padded into 20x20: the box keeps half the crop's width
    rows, cols = np.nonzero(out_mask)
    assert cols.max() - cols.min() + 1 == 10
    assert rows.max() - rows.min() + 1 == 5
    # batches of masks too
    batch_out, batch_mask = Resize(20)(np.stack([image] * 2), mask=np.stack([mask] * 2))
    assert batch_out.shape == (2, 20, 20, 3)
    assert batch_mask.shape == (2, 20, 20)
    assert set(np.unique(batch_mask)) == {False, True}


def test_masks_must_match_the_image():
    with pytest.raises(ParameterError, match="'mask' parameter of Resize"):
        Resize(8)(np.zeros((10, 10, 3), np.uint8), mask=np.zeros((5, 5), bool))
    with pytest.raises(ParameterError, match="'mask' parameter of Resize"):
        Resize(8)(np.zeros((10, 10, 3), np.uint8), mask=[[1]])
    with pytest.raises(ParameterError, match="CropToMask needs the lesion mask"):
        T.CropToMask()(np.zeros((10, 10, 3), np.uint8))


def test_classes_moved_out_of_base_are_still_importable_from_it_with_a_warning():
    from dermnet.transforms import base

    with pytest.warns(DeprecationWarning, match=r"base\.ShadesOfGray is deprecated"):
        assert base.ShadesOfGray is T.ShadesOfGray
    with pytest.warns(DeprecationWarning, match=r"base\.Resize is deprecated"):
        assert base.Resize is T.Resize
    with pytest.raises(AttributeError):
        base.NotATransform  # noqa: B018


def test_the_constructor_stores_the_checked_values_and_the_config_reads_them():
    assert Resize(12).size == (12, 12)
    assert Resize(12).get_config() == {"size": [12, 12], "mode": "stretch", "interpolation": "auto"}
    assert ShadesOfGray(p=4).p == 4.0
    assert isinstance(ShadesOfGray(p=4).p, float)
    assert T.ConvertColor("lab").channels == 3
    assert T.ConvertColor("gray").get_config() == {"space": "gray", "channels": 1}
    assert T.GaussianBlur(2).get_config() == {"sigma": 2.0, "kernel_size": 0}


def test_a_transform_that_does_not_store_an_argument_under_its_name_fails():
    from dermnet.transforms import functional as F

    class Blur(T.Transform):
        function = staticmethod(F.gaussian_blur)

        def __init__(self, sigma: float = 1.0) -> None:
            self.s = sigma

    with pytest.raises(ParameterError, match=r"takes 'sigma' but does not store it as self\.sigma"):
        Blur(2.0)


def test_a_transform_whose_constructor_takes_star_args_fails_when_defined():
    with pytest.raises(ParameterError, match=r"must name each of its parameters.*\*\*options"):

        class Loose(T.Transform):
            def __init__(self, **options: float) -> None:
                self.options = options


def test_a_subclass_with_its_own_get_config_keeps_working():
    class Gamma(T.Transform):  # written the way transforms were before configs were derived
        def __init__(self, gamma: float = 1.0) -> None:
            self._gamma = float(gamma)

        def apply(self, image: np.ndarray) -> np.ndarray:
            return image

        def get_config(self) -> dict:
            return {"gamma": self._gamma}

    assert Gamma(2).get_config() == {"gamma": 2.0}
    assert Gamma(2) == Gamma.from_config({"gamma": 2.0})
    assert repr(Gamma(2)) == "Gamma(gamma=2.0)"


def test_remove_hair_exposes_its_mask():
    image = np.full((32, 32, 3), 200, np.uint8)
    image[15:17] = 40
    transform = T.RemoveHair(kernel_size=7)
    mask = transform.hair_mask(image)
    assert mask.dtype == bool
    assert mask[15:17].all()
    assert not mask[:10].any()


def test_reinhard_from_reference_stores_statistics():
    ref = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    t = T.ReinhardNormalize.from_reference(ref)
    assert len(t.get_config()["target_mean"]) == 3
    assert transform_from_dict(json.loads(json.dumps(t.to_dict()))) == t


def test_dicts_written_before_interpolation_existed_still_load():
    old = {"name": "resize", "config": {"size": [8, 8], "mode": "pad"}, "dermnet_version": "0.1.0"}
    assert transform_from_dict(old) == Resize(8, mode="pad", interpolation="auto")
