import numpy as np
import pandas as pd
import pytest

from dermnet import ParameterError
from dermnet.data import Records, load_sample, make_dataset


def _records(tmp_path, write_image):
    rows = []
    for i, (fmt, color) in enumerate([("png", 10), ("jpg", 120), ("bmp", 250), ("png", 60)]):
        array = np.full((20, 30, 3), color, np.uint8)
        path = write_image(tmp_path / f"img{i}.{fmt}", array, mode="P" if i == 3 else None)
        rows.append({"image_path": str(path), "label": "ab"[i % 2]})
    return Records(pd.DataFrame(rows), ["a", "b"])


def test_decodes_png_jpeg_bmp_and_palette_to_rgb_float(tmp_path, write_image):
    ds = make_dataset(_records(tmp_path, write_image), (8, 12), batch_size=4)
    images, labels = next(iter(ds))
    assert images.shape == (4, 8, 12, 3)
    assert images.dtype.name == "float32"
    assert labels.numpy().tolist() == [0, 1, 0, 1]
    means = images.numpy().mean(axis=(1, 2, 3))
    assert means[0] == pytest.approx(10, abs=1)
    assert means[2] == pytest.approx(250, abs=1)
    assert images.numpy().min() >= 0
    assert images.numpy().max() <= 255


def test_one_hot_transforms_and_resize_modes(tmp_path, write_image):
    rec = _records(tmp_path, write_image)
    ds = make_dataset(rec, 10, batch_size=2, label_mode="one_hot", transforms=lambda x: 255 - x)
    images, labels = next(iter(ds))
    assert labels.numpy().tolist() == [[1, 0], [0, 1]]
    assert images.numpy()[0].mean() == pytest.approx(245, abs=1)
    padded, _ = next(iter(make_dataset(rec, 30, batch_size=1, resize="pad")))
    assert padded.numpy()[0, 0].sum() == 0  # black padding above the 20x30 image


def test_shuffle_is_seeded():
    rec = load_sample("malaria")
    first = [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50, shuffle=True, seed=5)]
    again = [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50, shuffle=True, seed=5)]
    assert first == again
    assert first != [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50)]


def test_bad_parameters_are_named(tmp_path, write_image):
    rec = _records(tmp_path, write_image)
    with pytest.raises(ParameterError, match="'label_mode' parameter of make_dataset"):
        make_dataset(rec, 8, label_mode="onehot")
    with pytest.raises(ParameterError, match="'batch_size'"):
        make_dataset(rec, 8, batch_size=0)
