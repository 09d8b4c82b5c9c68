"""`ImageBatchReader`: the pixels of `load_images`, traced once, bad items reported."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dermnet._core.errors import ParameterError
from dermnet.data import DataConfig, load_images
from dermnet.data.image_batches import ImageBatchReader

pytest.importorskip("tensorflow")


def _files(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(1)
    files = []
    for i, size in enumerate([(450, 600), (30, 40), (200, 150)]):  # the first: DCT-scaled
        path = tmp_path / f"rgb{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
        files.append(path)
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.fromarray(rng.integers(0, 255, (60, 90, 3), dtype=np.uint8)).save(turned, exif=exif)
    deep = tmp_path / "deep.png"
    Image.fromarray(rng.integers(0, 65535, (40, 30), dtype=np.uint16)).save(deep)
    gray = tmp_path / "gray.png"
    Image.fromarray(rng.integers(0, 255, (33, 47), dtype=np.uint8)).save(gray)
    return [*files, turned, deep, gray]


@pytest.mark.parametrize(
    "config", [DataConfig(64), DataConfig((48, 80), resize="pad"), DataConfig(32, resize="crop")]
)
def test_reader_gives_the_pixels_of_load_images(tmp_path, config):
    files = _files(tmp_path)
    reader = ImageBatchReader(config)
    batch = reader.read(files)
    assert batch.ok == tuple(range(len(files)))
    assert batch.bad == ()
    np.testing.assert_allclose(batch.images, load_images(files, config), atol=1e-6)
    from_bytes = reader.read([p.read_bytes() for p in files])
    np.testing.assert_allclose(from_bytes.images, batch.images, atol=1e-6)


def test_reader_is_traced_once_and_reused(tmp_path):
    files = _files(tmp_path)
    reader = ImageBatchReader(DataConfig(32))
    assert reader.traces == 2
    reader.read(files[:2])
    reader.read(files)
    reader.read(files[3:4])
    assert reader.traces == 2


def test_bad_items_are_reported_one_by_one(tmp_path):
    files = _files(tmp_path)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    truncated = tmp_path / "cut.jpg"
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(big).save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:2000])  # header intact
    items = [files[0], tmp_path / "gone.png", text, truncated, files[1], b""]
    batch = ImageBatchReader(DataConfig(32)).read(items)
    assert batch.ok == (0, 4)
    assert batch.images.shape == (2, 32, 32, 3)
    reasons = {position: (name, why) for position, name, why in batch.bad}
    assert sorted(reasons) == [1, 2, 3, 5]
    assert reasons[1] == (str(tmp_path / "gone.png"), "no such file")
    assert reasons[2][0] == str(text)
    assert "not a readable image" in reasons[2][1]
    assert reasons[3][0] == str(truncated)
    assert "cannot be decoded" in reasons[3][1]
    assert reasons[5] == ("<bytes #5>", "empty file (0 bytes)")
    np.testing.assert_allclose(
        batch.images, load_images([files[0], files[1]], DataConfig(32)), atol=1e-6
    )


def test_reader_refuses_bad_arguments():
    with pytest.raises(ParameterError, match="'data_config' parameter of ImageBatchReader"):
        ImageBatchReader(32)  # type: ignore[arg-type]
    reader = ImageBatchReader(DataConfig(16))
    with pytest.raises(ParameterError, match="list of paths or bytes"):
        reader.read("one.jpg")
    with pytest.raises(ParameterError, match="list of paths or bytes"):
        reader.read([1, 2])  # type: ignore[list-item]
    empty = reader.read([])
    assert empty.images.shape == (0, 16, 16, 3)
    assert empty.ok == ()
    assert empty.bad == ()
