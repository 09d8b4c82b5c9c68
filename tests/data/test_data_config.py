import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, MissingFileError, ParameterError
from dermnet.data import DataConfig, Records, load_images, make_dataset
from dermnet.transforms import Compose, GaussianBlur, Resize, ShadesOfGray


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Images of several sizes and formats, one large JPEG (decoded at reduced scale)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i, (shape, fmt) in enumerate(
        [((40, 60), "png"), ((240, 180), "jpg"), ((17, 23), "bmp"), ((32, 32), "png")]
    ):
        smooth = rng.integers(0, 255, (shape[0] // 4 + 1, shape[1] // 4 + 1, 3), dtype=np.uint8)
        pixels = np.repeat(np.repeat(smooth, 4, 0), 4, 1)[: shape[0], : shape[1]]
        pixels = np.clip(pixels + rng.integers(0, 20, pixels.shape), 0, 255).astype(np.uint8)
        path = root / f"img{i}.{fmt}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def _records(paths):
    frame = pd.DataFrame({"image_path": [str(p) for p in paths], "label": "x"})
    return Records(frame, ["x"])


def _dataset_images(paths, config, batch_size=3):
    ds = make_dataset(_records(paths), config, batch_size, label_mode=None)
    return np.concatenate([batch.numpy() for batch in ds])


# -- the config object ---------------------------------------------------------------------


def test_defaults_and_normalised_sizes():
    cfg = DataConfig(32)
    assert cfg.image_size == (32, 32)
    assert (cfg.resize, cfg.interpolation, cfg.preprocessing) == ("stretch", "bilinear", None)
    assert DataConfig([24, 40]).image_size == (24, 40)
    assert cfg.transform() is None
    assert cfg.validate() == cfg


def test_dict_and_json_round_trip():
    cfg = DataConfig(
        (48, 64),
        resize="crop",
        interpolation="bicubic",
        preprocessing=Compose([ShadesOfGray(p=4), GaussianBlur(3)]).to_dict(),
    )
    data = cfg.to_dict()
    assert data["class_name"] == "DataConfig"
    assert data["config"]["image_size"] == [48, 64]
    again = DataConfig.from_dict(json.loads(json.dumps(data)))
    assert again == cfg
    assert again.image_size == (48, 64)  # a tuple again, not the JSON list
    assert again.transform() == Compose([ShadesOfGray(p=4), GaussianBlur(3)])
    assert hash(again) == hash(cfg)


def test_a_transform_object_is_stored_as_its_dict():
    cfg = DataConfig(16, preprocessing=ShadesOfGray(p=2))
    assert cfg.preprocessing == ShadesOfGray(p=2).to_dict()
    assert cfg.transform() == ShadesOfGray(p=2)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"image_size": 0}, "image_size"),
        ({"image_size": (32,)}, "image_size"),
        ({"image_size": "64"}, "image_size"),
        ({"image_size": 32, "resize": "strech"}, "resize"),
        ({"image_size": 32, "interpolation": "linear"}, "interpolation"),
        ({"image_size": 32, "preprocessing": "shades_of_gray"}, "preprocessing"),
        ({"image_size": 32, "preprocessing": {"name": "shade_of_gray"}}, "preprocessing"),
        ({"image_size": 32, "preprocessing": Resize(16).to_dict()}, "preprocessing"),
    ],
)
def test_bad_fields_are_named(fields, field):
    with pytest.raises(ParameterError, match=f"'{field}' parameter of DataConfig"):
        DataConfig(**fields).validate()


def test_from_dict_refuses_unknown_fields():
    data = DataConfig(32).to_dict()
    data["config"]["mean"] = [0.5, 0.5, 0.5]
    with pytest.raises(ParameterError, match="unknown fields \\['mean'\\]"):
        DataConfig.from_dict(data)


def test_validating_does_not_import_tensorflow():
    code = textwrap.dedent(
        """
        import sys
        from dermnet.data.data_config import DataConfig
        from dermnet.transforms import ShadesOfGray
        DataConfig(32, resize="pad", preprocessing=ShadesOfGray()).validate()
        try:
            DataConfig(32, interpolation="linear").validate()
        except ValueError:
            pass
        print("tensorflow" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -- one reading path ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [
        DataConfig((24, 20)),
        DataConfig((24, 20), resize="pad"),
        DataConfig((24, 20), resize="crop"),
        DataConfig((24, 20), resize="crop", interpolation="bicubic"),
        DataConfig((24, 20), interpolation="area"),
        DataConfig(16, resize="pad", interpolation="nearest"),
        DataConfig((24, 20), resize="pad", preprocessing=ShadesOfGray(p=6)),
    ],
    ids=["stretch", "pad", "crop", "crop-bicubic", "area", "nearest", "preprocessing"],
)
def test_load_images_equals_make_dataset(files, cfg):
    images = load_images(files, cfg, batch_size=3)
    assert images.dtype == np.float32
    assert images.shape == (len(files), *cfg.image_size, 3)
    np.testing.assert_array_equal(images, _dataset_images(files, cfg))
    # the order of the paths is kept
    np.testing.assert_array_equal(load_images(files[::-1], cfg), images[::-1])


def test_load_images_known_pixels(tmp_path, write_image):
    flat = write_image(tmp_path / "flat.png", np.full((30, 50, 3), (200, 100, 7), np.uint8))
    images = load_images(flat, DataConfig((10, 10), resize="pad"))
    assert images.shape == (1, 10, 10, 3)
    assert images[0, 5, 5].tolist() == [200.0, 100.0, 7.0]
    assert images[0, 0, 0].tolist() == [0.0, 0.0, 0.0]  # black padding above a wide image


def test_the_config_owns_resize_and_preprocessing(files):
    cfg = DataConfig((24, 20), resize="crop", interpolation="bicubic", preprocessing=ShadesOfGray())
    by_hand = make_dataset(
        _records(files),
        (24, 20),
        3,
        resize="crop",
        interpolation="bicubic",
        transforms=ShadesOfGray(),
        label_mode=None,
    )
    np.testing.assert_array_equal(
        np.concatenate([b.numpy() for b in by_hand]), _dataset_images(files, cfg)
    )
    for extra in ({"resize": "pad"}, {"interpolation": "area"}, {"transforms": ShadesOfGray()}):
        with pytest.raises(ParameterError, match=f"also \\['{next(iter(extra))}'\\]"):
            make_dataset(_records(files), cfg, **extra)
    with pytest.raises(ParameterError, match="'resize' parameter of DataConfig"):
        make_dataset(_records(files), DataConfig(8, resize="strech"))


def test_make_dataset_interpolation(files):
    def images(**kwargs):
        ds = make_dataset(_records(files), 12, 4, label_mode=None, **kwargs)
        return np.concatenate([batch.numpy() for batch in ds])

    default = images()
    np.testing.assert_array_equal(default, images(interpolation="bilinear"))
    np.testing.assert_array_equal(default, _dataset_images(files, DataConfig(12)))
    assert not np.array_equal(default, images(interpolation="nearest"))
    with pytest.raises(ParameterError, match="'interpolation' parameter of make_dataset"):
        make_dataset(_records(files), 12, interpolation="linear")


# -- bad files -----------------------------------------------------------------------------


def _bad_files(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(1)
    good = tmp_path / "good.jpg"
    Image.fromarray(rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    return good, {"truncated": truncated, "empty": empty, "text": text}


@pytest.mark.parametrize("kind", ["truncated", "empty", "text"])
def test_an_undecodable_file_is_named(tmp_path, kind):
    good, bad = _bad_files(tmp_path)
    with pytest.raises(DataError, match="not readable images") as info:
        load_images([good, bad[kind]], DataConfig(16))
    assert str(bad[kind]) in str(info.value)
    assert str(good) not in str(info.value)


def test_missing_files_and_bad_parameters(tmp_path):
    good, _ = _bad_files(tmp_path)
    missing = tmp_path / "missing.png"
    with pytest.raises(MissingFileError, match="do not exist") as info:
        load_images([good, missing], DataConfig(16))
    assert str(missing) in str(info.value)
    with pytest.raises(ParameterError, match="'data_config' parameter of load_images"):
        load_images([good], (16, 16))
    with pytest.raises(ParameterError, match="'paths' parameter of load_images"):
        load_images([], DataConfig(16))
    with pytest.raises(ParameterError, match="'batch_size' parameter of load_images"):
        load_images([good], DataConfig(16), batch_size=0)
