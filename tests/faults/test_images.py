"""Faulty and unusual image files, built from a real HAM10000 JPEG, through every entry point.

Each case asserts the exact outcome: the pixels every path agrees on, a `DataError` (or
`MissingFileError`) naming the file, or a recorded skip; never a bare TensorFlow error.
"""

from __future__ import annotations

import struct
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from dermnet import DataError, DermnetError, MissingFileError
from dermnet.data import DataConfig, Records, check_image_files, load_images, make_dataset
from dermnet.data import sample_path as _sample_path
from dermnet.data.image_files import decode_image_file, read_image_header


@pytest.fixture(scope="module")
def real_jpeg() -> Path:
    return sorted((_sample_path("ham10000") / "images").glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def real(real_jpeg) -> np.ndarray:
    with Image.open(real_jpeg) as image:
        return np.asarray(image.convert("RGB"))


def _records(paths) -> Records:
    frame = pd.DataFrame({"image_path": [str(p) for p in paths], "label": "x"})
    return Records(frame, ["x"])


def _native(paths, size) -> np.ndarray:
    """Pixels through `make_dataset` at the images' own size (no resampling)."""
    ds = make_dataset(_records(paths), size, batch_size=None, label_mode=None)
    return np.stack([np.asarray(x) for x in ds])


def _upright(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"), dtype=np.float64)


def _huge_png(path: Path, side: int = 20_000) -> Path:
    """A PNG whose header says ``side`` x ``side`` pixels, a few bytes on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit gray
    data = zlib.compress(b"\0" * (side + 1))  # one row; the rest is never read
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
    path.write_bytes(png + chunk(b"IEND", b""))
    return path


# -- one decoder: formats and colour modes give the same RGB on every path ----------------------
def test_every_supported_format_and_mode_decodes_to_the_same_rgb(tmp_path, real):
    crop = real[:48, :64]
    source = Image.fromarray(crop)
    files = {
        "png": (source, "png", {}),
        "gray.jpg": (source.convert("L"), "jpeg", {"quality": 100}),
        "palette.png": (source.convert("P"), "png", {}),
        "rgba.png": (source.convert("RGBA"), "png", {}),
        "la.png": (source.convert("LA"), "png", {}),
        "bmp": (source, "bmp", {}),
        "gif": (source.convert("P"), "gif", {}),
        "webp": (source, "webp", {"lossless": True}),
        "tif": (source, "tiff", {}),
        "cmyk.jpg": (source.convert("CMYK"), "jpeg", {"quality": 100}),
    }
    paths = []
    for name, (image, fmt, options) in files.items():
        path = tmp_path / (name if "." in name else f"img.{name}")
        image.save(path, fmt, **options)
        paths.append(path)
    gray16 = (crop[..., 1].astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(gray16).save(tmp_path / "gray16.png")  # PIL writes mode I;16
    paths.append(tmp_path / "gray16.png")

    assert read_image_header(tmp_path / "cmyk.jpg").mode == "CMYK"
    assert read_image_header(tmp_path / "gray16.png").mode.startswith("I")
    through_dataset = _native(paths, (48, 64))
    through_files = load_images(paths, DataConfig((48, 64)))
    for path, image, loaded in zip(paths, through_dataset, through_files, strict=True):
        expected = (
            _upright(path) if "16" not in path.name else np.repeat(gray16[..., None] / 257, 3, -1)
        )
        tolerance = 3.0 if path.suffix == ".jpg" else 0.0  # two JPEG decoders, same file
        assert np.abs(image - expected).mean() <= tolerance, path.name
        np.testing.assert_array_equal(image, loaded, err_msg=path.name)
        assert np.abs(image - decode_image_file(path)).mean() <= tolerance, path.name


def test_animated_gif_gives_its_first_frame(tmp_path, real):
    frames = [Image.fromarray(real[:32, :32]), Image.fromarray(255 - real[:32, :32])]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with Image.open(path) as image:
        first = np.asarray(image.convert("RGB"))
    np.testing.assert_array_equal(_native([path], 32)[0], first)


# -- EXIF orientation ----------------------------------------------------------------------------
def test_every_exif_orientation_matches_pil_exactly_on_the_tensorflow_path(tmp_path, real):
    paths = []
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}.png"  # lossless: the TF decoder's pixels are exact
        exif = Image.Exif()
        exif[0x0112] = orientation
        Image.fromarray(real[:32, 10:42]).save(path, exif=exif)  # square: no resampling
        header = read_image_header(path)
        assert (header.orientation, header.tf_decodable) == (orientation, True)
        paths.append(path)
    got = _native(paths, 32)
    for path, image in zip(paths, got, strict=True):
        np.testing.assert_array_equal(image, _upright(path), err_msg=path.name)
    assert len({image.tobytes() for image in got}) == 8  # eight different results


def test_exif_rotated_jpeg_agrees_with_pil_and_opencv(tmp_path, real_jpeg):
    from dermnet.transforms.offline import _read_rgb  # the `dermnet preprocess` reader

    with Image.open(real_jpeg) as image:
        exif = image.getexif()
        exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
        path = tmp_path / "phone.jpg"
        image.save(path, exif=exif, quality=95)
    expected = _upright(path)
    assert expected.shape[:2] == (200, 150)  # stored 150x200, shown upright
    config = DataConfig(expected.shape[:2])
    for got in (_native([path], config.image_size)[0], load_images([path], config)[0]):
        assert np.abs(got - expected).mean() < 1.5  # JPEG decoders differ by rounding only
        assert np.abs(got - _read_rgb(path)).mean() < 1.5
    small = make_dataset(_records([path]), DataConfig((224, 224)), 1, label_mode=None)
    assert next(iter(small)).shape == (1, 224, 224, 3)


# -- files that cannot be read are named --------------------------------------------------------
def _faulty(tmp_path: Path, real_jpeg: Path) -> dict[str, Path]:
    data = real_jpeg.read_bytes()
    files = {
        "zero.jpg": b"",
        "text.jpg": b"this is not a picture\n",
        "half.jpg": data[:16],  # cut inside the header
    }
    out = {}
    for name, content in files.items():
        out[name] = tmp_path / name
        out[name].write_bytes(content)
    out["ppm.png"] = tmp_path / "ppm.png"  # a real image in a format dermnet does not read
    Image.open(real_jpeg).save(out["ppm.png"], "ppm")
    out["huge.png"] = _huge_png(tmp_path / "huge.png")
    return out


def test_header_check_names_every_bad_file_with_its_reason(tmp_path, real_jpeg):
    bad = _faulty(tmp_path, real_jpeg)
    report = check_image_files([real_jpeg, *bad.values(), tmp_path / "absent.jpg"])
    assert not report.ok
    reasons = dict(report.bad)
    assert list(reasons) == [str(p) for p in bad.values()] + [str(tmp_path / "absent.jpg")]
    assert reasons[str(bad["zero.jpg"])] == "empty file (0 bytes)"
    assert reasons[str(bad["text.jpg"])].startswith("not a readable image")
    assert reasons[str(bad["ppm.png"])].startswith("unsupported format PPM")
    assert "pixels" in reasons[str(bad["huge.png"])]
    assert reasons[str(tmp_path / "absent.jpg")] == "no such file"
    assert report.counts() == {"bad": 6, "JPEG": 1}
    kept = report.drop_bad(_records(report.paths))
    assert kept.paths == [str(real_jpeg)]
    assert len(kept.excluded) == 6


@pytest.mark.parametrize("name", ["zero.jpg", "text.jpg", "half.jpg", "ppm.png", "huge.png"])
def test_make_dataset_and_load_images_name_the_bad_file_before_decoding(tmp_path, real_jpeg, name):
    path = _faulty(tmp_path, real_jpeg)[name]
    records = _records([real_jpeg, path])
    with pytest.raises(DataError, match="on_error='skip'") as caught:
        make_dataset(records, 32)
    assert str(path) in str(caught.value)
    with pytest.raises(DataError) as caught:
        load_images([real_jpeg, path], DataConfig(32))
    assert str(path) in str(caught.value)


def test_huge_png_is_refused_from_its_header_fast(tmp_path, real_jpeg):
    path = _huge_png(tmp_path / "huge.png")
    assert path.stat().st_size < 200
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"huge\.png.*pixels"):
        make_dataset(_records([path]), 32)
    assert time.perf_counter() - started < 2.0
    with pytest.raises(DataError, match=r"pixel budget of 1,000"):  # a budget of our own
        make_dataset(_records([real_jpeg]), 32, max_pixels=1000)


def test_pixel_budget_from_the_environment(tmp_path, real_jpeg, monkeypatch):
    monkeypatch.setenv("DERMNET_MAX_IMAGE_PIXELS", "1000")
    assert check_image_files([real_jpeg]).bad[0][1].startswith("150x200 = 30,000 pixels")
    monkeypatch.setenv("DERMNET_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(DermnetError, match="DERMNET_MAX_IMAGE_PIXELS"):
        check_image_files([real_jpeg])


def test_missing_file_is_a_missing_file_error(tmp_path, real_jpeg):
    with pytest.raises(MissingFileError, match=r"absent\.jpg.*on_error='skip'"):
        make_dataset(_records([real_jpeg, tmp_path / "absent.jpg"]), 32)


def test_truncated_jpeg_is_named_when_the_pipeline_reaches_it(tmp_path, real_jpeg):
    import tensorflow as tf

    good = sorted(real_jpeg.parent.glob("*.jpg"))[:6]
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(real_jpeg.read_bytes()[:3000])  # header intact, pixels cut
    assert check_image_files([truncated]).ok  # the header is fine
    records = _records([*good[:3], truncated, *good[3:]])
    ds = make_dataset(records, 32, batch_size=2)
    # Inside tf.data (Keras fit) the error is TensorFlow's type, carrying dermnet's message.
    with pytest.raises(tf.errors.InvalidArgumentError) as caught:
        list(ds)
    message = str(caught.value)
    assert "DataError: make_dataset: 1 of 7 image file(s)" in message
    assert str(truncated) in message
    assert "on_error='skip'" in message
    with pytest.raises(DataError, match=r"truncated\.jpg.*truncated"):  # dermnet's own type
        load_images([*good, truncated], DataConfig(32))

    with pytest.warns(UserWarning, match=r"excluded 1 of 7.*truncated\.jpg"):
        skipped = make_dataset(records, 32, batch_size=None, label_mode=None, on_error="skip")
    assert len(list(skipped)) == 6
    assert skipped.excluded["image_path"].tolist() == [str(truncated)]
    assert skipped.excluded["reason"].iloc[0].startswith("unreadable image: cannot be decoded")


def test_skip_records_every_bad_file_and_keeps_the_good_ones(tmp_path, real_jpeg):
    bad = _faulty(tmp_path, real_jpeg)
    records = _records([real_jpeg, *bad.values()])
    with pytest.warns(UserWarning, match=r"excluded 5 of 6"):
        ds = make_dataset(records, 32, batch_size=None, label_mode=None, on_error="skip")
    assert len(list(ds)) == 1
    assert ds.excluded["image_path"].tolist() == [str(p) for p in bad.values()]
    assert ds.excluded["reason"].str.split(":").str[0].tolist() == [
        "unreadable image",
        "unreadable image",
        "unreadable image",
        "unsupported format",
        "image too large",
    ]
