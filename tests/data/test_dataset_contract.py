"""The contract every registered dataset loader keeps, checked on a tiny dataset of each format.

For each name in `list_datasets()` a builder writes a few synthetic images and tables in
that dataset's own layout; the suite then checks what every loader promises: `Records`
with the classes in a fixed order, labels in range, image files that exist (or pixels in
memory), the lesion/patient groups where the format has them, a missing root named in a
`MissingFileError`, and a bad ``on_error`` refused with a `ParameterError`. A loader
registered without an entry here fails `test_every_registered_loader_has_a_contract_entry`.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dermnet import MissingFileError, ParameterError
from dermnet.data import Records
from dermnet.data.datasets import DATASETS, list_datasets, load_dataset

HAM = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
ISIC2019 = ("ak", "bcc", "bkl", "df", "mel", "nv", "scc", "vasc")


def _pixels(i: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), 20 * (i % 12), np.uint8)


@dataclass(frozen=True)
class Contract:
    """What one loader must give on the dataset its builder writes."""

    build: Callable[[Path, Any], Path]  # (folder, write_image) -> root to load
    classes: tuple[str, ...]  # the fixed class order
    size: int  # rows the tiny dataset has
    group_cols: tuple[str, ...] = ()  # lesion / patient ids of the format
    in_memory: bool = False  # pixels held in Records.images, no files
    on_error: bool = True  # the loader takes on_error
    options: dict[str, Any] = field(default_factory=dict)


def _ham10000(folder: Path, write_image: Any) -> Path:
    rows = []
    for i, dx in enumerate(HAM):
        image_id = f"ISIC_{i:07d}"
        write_image(folder / "HAM10000_images_part_1" / f"{image_id}.jpg", _pixels(i))
        rows.append(
            {"lesion_id": f"HAM_{i // 2}", "image_id": image_id, "dx": dx, "age": 40 + i,
             "sex": "male", "localization": "back"}
        )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "HAM10000_metadata.csv", index=False)
    return folder


def _one_hot(columns: tuple[str, ...], label: str) -> dict[str, float]:
    return {c: float(c.lower() == label) for c in columns}


def _isic2018(folder: Path, write_image: Any) -> Path:
    columns = ("MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC")
    truth, groups = [], []
    for i, dx in enumerate(HAM):
        name = f"ISIC_{i:07d}"
        write_image(folder / "ISIC2018_Task3_Training_Input" / f"{name}.jpg", _pixels(i))
        truth.append({"image": name, **_one_hot(columns, dx)})
        groups.append({"image": name, "lesion_id": f"L{i // 3}"})
    pd.DataFrame(truth).to_csv(folder / "ISIC2018_Task3_Training_GroundTruth.csv", index=False)
    pd.DataFrame(groups).to_csv(folder / "ISIC2018_Task3_Training_LesionGroupings.csv", index=False)
    return folder


def _isic2019(folder: Path, write_image: Any) -> Path:
    columns = ("MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC")
    truth, meta = [], []
    for i, dx in enumerate(ISIC2019):
        name = f"ISIC_{i:07d}" + ("_downsampled" if i == 0 else "")
        write_image(folder / "ISIC_2019_Training_Input" / f"{name}.jpg", _pixels(i))
        truth.append({"image": name, **_one_hot(columns, dx), "UNK": 0.0})
        meta.append(
            {"image": name, "age_approx": 50, "anatom_site_general": "torso",
             "lesion_id": f"BCN_{i // 2}", "sex": "female"}
        )  # fmt: skip
    pd.DataFrame(truth).to_csv(folder / "ISIC_2019_Training_GroundTruth.csv", index=False)
    pd.DataFrame(meta).to_csv(folder / "ISIC_2019_Training_Metadata.csv", index=False)
    return folder


def _isic2020(folder: Path, write_image: Any) -> Path:
    rows = []
    for i in range(6):
        name = f"ISIC_{i:07d}"
        write_image(folder / "train" / f"{name}.jpg", _pixels(i))
        rows.append(
            {"image_name": name, "patient_id": f"IP_{i // 3}", "lesion_id": f"IL_{i // 2}",
             "sex": "male", "age_approx": 45.0, "anatom_site_general_challenge": "torso",
             "target": int(i % 3 == 0)}
        )  # fmt: skip
    pd.DataFrame(rows).to_csv(folder / "train.csv", index=False)
    return folder


def _malaria(folder: Path, write_image: Any) -> Path:
    for c, cls in enumerate(("Parasitized", "Uninfected")):
        for i in range(3):
            name = f"C{10 + i}P{i}ThinF_IMG_2015_cell_{c}{i}.png"
            write_image(folder / "cell_images" / cls / name, _pixels(i + c))
    return folder


def _image_folder(folder: Path, write_image: Any) -> Path:
    for c, cls in enumerate(("naevus", "melanoma")):
        for i in range(2):
            write_image(folder / cls / f"{i}.png", _pixels(i + c))
    return folder


def _csv(folder: Path, write_image: Any) -> Path:
    rows = []
    for i, label in enumerate(("b", "a", "c", "a")):
        write_image(folder / "images" / f"img{i}.png", _pixels(i))
        rows.append({"image": f"images/img{i}.png", "label": label})
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    return folder / "table.csv"


def _medmnist(folder: Path, write_image: Any) -> Path:
    rng = np.random.default_rng(0)
    arrays = {}
    for part, n in (("train", 7), ("val", 3), ("test", 3)):
        arrays[f"{part}_images"] = rng.integers(0, 256, (n, 8, 8, 3), dtype=np.uint8)
        arrays[f"{part}_labels"] = (np.arange(n) % 7).reshape(n, 1)
    path = folder / "dermamnist.npz"
    np.savez(path, **arrays)
    return path


def _hmnist(folder: Path, write_image: Any) -> Path:
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (7, 8 * 8 * 3))
    table = pd.DataFrame(pixels, columns=[f"pixel{i:04d}" for i in range(8 * 8 * 3)])
    table["label"] = np.arange(7)
    path = folder / "hmnist_8_8_RGB.csv"
    table.to_csv(path, index=False)
    return path


CONTRACTS: dict[str, Contract] = {
    "ham10000": Contract(_ham10000, HAM, 7, ("lesion_id",)),
    "isic2018": Contract(_isic2018, HAM, 7, ("lesion_id",)),
    "isic2019": Contract(_isic2019, ISIC2019, 8, ("lesion_id",)),
    "isic2020": Contract(_isic2020, ("benign", "malignant"), 6, ("patient_id", "lesion_id")),
    "malaria": Contract(_malaria, ("Parasitized", "Uninfected"), 6, ("slide_id",)),
    "image_folder": Contract(_image_folder, ("melanoma", "naevus"), 4),
    "csv": Contract(_csv, ("a", "b", "c"), 4),
    # the array formats have no per-image files, so no on_error: nothing can be missing
    "medmnist": Contract(_medmnist, HAM, 7, in_memory=True, on_error=False),
    "hmnist": Contract(_hmnist, HAM, 7, in_memory=True, on_error=False),
}


def test_every_registered_loader_has_a_contract_entry():
    assert sorted(CONTRACTS) == list_datasets(), (
        "every registered dataset needs an entry in CONTRACTS (a builder of a tiny "
        "dataset in its format and what the loader must return)"
    )


@pytest.fixture(params=sorted(CONTRACTS))
def dataset(request, tmp_path, write_image):
    name = request.param
    contract = CONTRACTS[name]
    return name, contract, contract.build(tmp_path, write_image)


def test_loader_returns_records_in_the_fixed_class_order(dataset):
    name, contract, root = dataset
    records = load_dataset(name, root, **contract.options)
    assert isinstance(records, Records)
    assert records.classes == contract.classes
    assert len(records) == contract.size
    labels = records.labels
    assert labels.dtype.kind == "i"
    assert labels.min() >= 0
    assert labels.max() < records.num_classes
    # every label names a class of the fixed order, and the index matches the name
    names = records.column("label")
    assert [records.classes[i] for i in labels] == list(names)


def test_loader_points_at_images_that_exist(dataset):
    name, contract, root = dataset
    records = load_dataset(name, root, **contract.options)
    if contract.in_memory:
        assert records.images is not None
        assert records.images.shape[0] == len(records)
        assert records.images.dtype == np.uint8
    else:
        assert records.images is None
        missing = [p for p in records.paths if not os.path.isfile(p)]
        assert missing == []


def test_loader_keeps_lesion_and_patient_groups(dataset):
    name, contract, root = dataset
    records = load_dataset(name, root, **contract.options)
    assert records.group_cols == contract.group_cols
    for column in contract.group_cols:
        values = records.column(column)
        assert pd.notna(values).all(), f"{name}: {column} has missing values"
        assert len(set(values)) < len(records), f"{name}: {column} groups nothing"
    if contract.group_cols:
        assert len(set(records.groups())) < len(records)


def test_loader_names_a_missing_root(dataset, tmp_path):
    name, contract, root = dataset
    absent = tmp_path / "absent" / root.name
    with pytest.raises(MissingFileError, match=re.escape(str(absent))):
        load_dataset(name, absent, **contract.options)


def test_loader_refuses_a_bad_on_error(dataset):
    name, contract, root = dataset
    takes = "on_error" in inspect.signature(DATASETS.get(name)).parameters
    assert takes == contract.on_error
    if not takes:  # checked above: the contract says this format has no on_error
        return
    with pytest.raises(ParameterError, match=r"'on_error' parameter of load_\w+ must be"):
        load_dataset(name, root, on_error="ignore", **contract.options)
