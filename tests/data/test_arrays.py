import numpy as np
import pandas as pd
import pytest

from dermnet import DataError
from dermnet.data import (
    HAM10000_CLASSES,
    HMNIST_LABELS,
    load_dataset,
    load_hmnist_csv,
    load_medmnist,
    make_dataset,
)


def _npz(path, gray=False, labels_shape=1, n=(6, 2, 3)):
    rng = np.random.default_rng(0)
    arrays = {}
    for part, count in zip(("train", "val", "test"), n, strict=True):
        shape = (count, 28, 28) if gray else (count, 28, 28, 3)
        arrays[f"{part}_images"] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[f"{part}_labels"] = (
            (np.arange(count) % 7).reshape(count, 1).repeat(labels_shape, axis=1).astype(np.uint8)
        )
    np.savez_compressed(path, **arrays)
    return path, arrays


def test_dermamnist_classes_roles_and_pixels(tmp_path):
    path, arrays = _npz(tmp_path / "dermamnist.npz")
    train = load_medmnist(path)
    assert train.classes == HAM10000_CLASSES
    assert train.role == "train"
    assert train.labels.tolist() == [0, 1, 2, 3, 4, 5]
    assert train.images.shape == (6, 28, 28, 3)
    np.testing.assert_array_equal(train.images, arrays["train_images"])
    assert train.paths[0].endswith("dermamnist.npz#train/0")
    assert load_medmnist(path, split="test").role == "test"
    everything = load_dataset("medmnist", path, split="all")
    assert len(everything) == 11
    assert everything.role is None
    assert everything.frame["medmnist_split"].value_counts().to_dict() == {
        "train": 6,
        "test": 3,
        "val": 2,
    }
    sub = everything.subset([10, 0])
    np.testing.assert_array_equal(sub.images[0], arrays["test_images"][2])


def test_gray_medmnist_becomes_rgb_and_feeds_make_dataset(tmp_path):
    path, arrays = _npz(tmp_path / "organamnist_64.npz", gray=True)
    rec = load_medmnist(path, split="val")
    assert rec.classes == ("0", "1")  # unknown dataset: label indices as names
    assert rec.images.shape == (2, 28, 28, 3)
    np.testing.assert_array_equal(rec.images[1, ..., 2], arrays["val_images"][1])
    images, labels = next(iter(make_dataset(rec, 28, batch_size=2)))
    np.testing.assert_array_equal(images.numpy()[1, ..., 0], arrays["val_images"][1])
    assert labels.numpy().tolist() == [0, 1]
    shuffled = make_dataset(rec, 14, batch_size=None, shuffle=True, seed=0)
    assert sorted(int(y) for _, y in shuffled) == [0, 1]


def test_missing_files_say_where_to_download(tmp_path):
    from dermnet import MissingFileError

    with pytest.raises(MissingFileError, match=r"zenodo\.org/records/10519652"):
        load_medmnist(tmp_path / "dermamnist.npz")
    with pytest.raises(MissingFileError, match="skin-cancer-mnist-ham10000"):
        load_hmnist_csv(tmp_path / "hmnist_28_28_RGB.csv")


def test_medmnist_bad_files(tmp_path):
    path, _ = _npz(tmp_path / "chestmnist.npz", labels_shape=3)
    with pytest.raises(DataError, match="multi-label"):
        load_medmnist(path)
    np.savez(tmp_path / "partial.npz", train_images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(DataError, match=r"lacks the array\(s\) \['train_labels'\]"):
        load_medmnist(tmp_path / "partial.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="cannot be read"):
        load_medmnist(tmp_path / "junk.npz")
    path, _ = _npz(tmp_path / "dermamnist.npz")
    with pytest.raises(DataError, match=r"label indices must lie in \[0, 1\]"):
        load_medmnist(path, classes=["a", "b"])


def _hmnist(path, rgb=True, labels=(4, 6, 0, 5)):
    rng = np.random.default_rng(1)
    side = 4
    width = side * side * (3 if rgb else 1)
    pixels = rng.integers(0, 256, (len(labels), width))
    table = pd.DataFrame(pixels, columns=[f"pixel{i:04d}" for i in range(width)])
    table["label"] = list(labels)
    table.to_csv(path, index=False)
    return pixels


def test_hmnist_label_codes_map_to_ham_classes(tmp_path):
    pixels = _hmnist(tmp_path / "hmnist_4_4_RGB.csv")
    rec = load_hmnist_csv(tmp_path / "hmnist_4_4_RGB.csv")
    assert HMNIST_LABELS[4] == "nv"
    assert HMNIST_LABELS[6] == "mel"
    assert rec.frame["label"].tolist() == ["nv", "mel", "akiec", "vasc"]
    assert rec.classes == HAM10000_CLASSES
    assert rec.labels.tolist() == [5, 4, 0, 6]  # indices in dermnet's class order
    assert rec.images.shape == (4, 4, 4, 3)
    np.testing.assert_array_equal(rec.images[0].reshape(-1), pixels[0])  # channel-last


def test_hmnist_gray_and_bad_files(tmp_path):
    pixels = _hmnist(tmp_path / "hmnist_4_4_L.csv", rgb=False)
    rec = load_hmnist_csv(tmp_path / "hmnist_4_4_L.csv")
    assert rec.images.shape == (4, 4, 4, 3)
    np.testing.assert_array_equal(rec.images[2, ..., 1].reshape(-1), pixels[2])
    _hmnist(tmp_path / "bad.csv", labels=(4, 9, 0, 1))
    with pytest.raises(DataError, match=r"label must be an index in \[0, 6\].*\[1\]"):
        load_hmnist_csv(tmp_path / "bad.csv")
    pd.DataFrame({"pixel0000": [1], "pixel0001": [2], "label": [0]}).to_csv(
        tmp_path / "odd.csv", index=False
    )
    with pytest.raises(DataError, match="2 pixel columns"):
        load_hmnist_csv(tmp_path / "odd.csv")
    pd.DataFrame({"pixel0000": [1]}).to_csv(tmp_path / "nolabel.csv", index=False)
    with pytest.raises(DataError, match="lacks the column 'label'"):
        load_hmnist_csv(tmp_path / "nolabel.csv")
