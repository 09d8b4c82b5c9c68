"""MedMNIST ``.npz`` files and Kaggle's hmnist CSV: datasets that ship as pixel arrays.

Their records hold the pixels in memory (`Records.images`, uint8 ``(n, h, w, 3)``);
``image_path`` is a pseudo path such as ``dermamnist.npz#train/12`` that names the image.
"""

from __future__ import annotations

import math
import os
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError
from dermnet._core.validation import check_option
from dermnet.data.datasets import register_dataset
from dermnet.data.datasets._table_to_records import existing_file, records_from_table
from dermnet.data.datasets.ham10000 import HAM10000_CLASSES
from dermnet.data.records import Records

__all__ = ["HMNIST_LABELS", "load_hmnist_csv", "load_medmnist"]

#: The class of each label index in Kaggle's ``hmnist_*.csv`` files (Skin Cancer MNIST:
#: HAM10000). The codes are *not* alphabetical there: 4 is ``nv`` and 6 is ``mel``.
HMNIST_LABELS = ("akiec", "bcc", "bkl", "df", "nv", "vasc", "mel")

#: Class names of the MedMNIST datasets whose labels dermnet knows, by file-name prefix.
_MEDMNIST_CLASSES = {
    # DermaMNIST is HAM10000: labels 0..6 are the HAM10000 codes in alphabetical order.
    "dermamnist": HAM10000_CLASSES,
    "bloodmnist": (
        "basophil",
        "eosinophil",
        "erythroblast",
        "immature granulocytes",
        "lymphocyte",
        "monocyte",
        "neutrophil",
        "platelet",
    ),
    "pathmnist": (
        "adipose",
        "background",
        "debris",
        "lymphocytes",
        "mucus",
        "smooth muscle",
        "normal colon mucosa",
        "cancer-associated stroma",
        "colorectal adenocarcinoma epithelium",
    ),
    "pneumoniamnist": ("normal", "pneumonia"),
    "breastmnist": ("malignant", "normal, benign"),
}
_MEDMNIST_SPLITS = ("train", "val", "test", "all")
_MEDMNIST_HINT = (
    "Download the .npz by hand from https://zenodo.org/records/10519652 "
    "(MedMNIST v2/v3, e.g. dermamnist.npz or dermamnist_224.npz)."
)
_HMNIST_HINT = (
    "Download it by hand from Kaggle's 'Skin Cancer MNIST: HAM10000' "
    "(kmader/skin-cancer-mnist-ham10000), which holds hmnist_28_28_RGB.csv."
)
_HMNIST_COUNTS = {"nv": 6705, "mel": 1113, "bkl": 1099, "bcc": 514, "akiec": 327}


def _to_rgb(images: np.ndarray, source: Path) -> np.ndarray:
    """uint8 (n, h, w, 3) from gray (n, h, w) / (n, h, w, 1) or RGB arrays."""
    images = np.asarray(images)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim == 3:
        images = np.repeat(images[..., None], 3, axis=-1)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise DataError(
            f"{source}: images must have shape (n, h, w) or (n, h, w, 3); got {images.shape}."
        )
    if images.dtype != np.uint8:
        if images.size and (images.min() < 0 or images.max() > 255):
            raise DataError(f"{source}: pixel values must lie in [0, 255].")
        images = images.astype(np.uint8)
    return np.ascontiguousarray(images)


@register_dataset("medmnist")
def load_medmnist(
    npz_path: str | os.PathLike[str],
    split: str = "train",
    *,
    classes: Sequence[str] | None = None,
    name: str | None = None,
) -> Records:
    """Load a MedMNIST dataset from its local ``.npz`` file (e.g. ``dermamnist.npz``).

    The file holds ``train_images``, ``train_labels``, ``val_images``, ``val_labels``,
    ``test_images`` and ``test_labels`` (any resolution of MedMNIST+, gray or RGB; gray is
    replicated to RGB). Class names are known for DermaMNIST (the HAM10000 codes
    ``akiec, bcc, bkl, df, mel, nv, vasc``), BloodMNIST, PathMNIST, PneumoniaMNIST and
    BreastMNIST;
    other files get ``"0"``, ``"1"``, ... unless ``classes`` is given. Multi-label files
    (ChestMNIST) are refused. DermaMNIST has no lesion ids, so its official split may put
    images of one lesion on both sides; dermnet cannot regroup it.

    Args:
        npz_path: the ``.npz`` file (download it by hand from https://medmnist.com/ or
            https://zenodo.org/records/10519652).
        split: ``"train"``, ``"val"``, ``"test"`` (the records get that role) or
            ``"all"`` (role ``None``, with the official split in column ``medmnist_split``).
        classes: class names for label indices 0, 1, ...
        name: the dataset name (default: the file's stem).

    Raises:
        DataError: the file lacks the arrays of the split, labels are multi-label or out
            of range, or images and labels differ in length.
    """
    where = "load_medmnist"
    path = existing_file(npz_path, "npz_path", where, "MedMNIST .npz file", _MEDMNIST_HINT)
    split = check_option(split, _MEDMNIST_SPLITS, "split", where)
    stem = name or path.stem
    if classes is None:
        prefix = next((k for k in _MEDMNIST_CLASSES if path.stem.lower().startswith(k)), None)
        classes = _MEDMNIST_CLASSES.get(prefix or "")
    parts = ["train", "val", "test"] if split == "all" else [split]
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path} cannot be read as a MedMNIST .npz file: {exc}") from None
    frames, arrays = [], []
    with archive:
        for part in parts:
            keys = (f"{part}_images", f"{part}_labels")
            lacking = [k for k in keys if k not in archive.files]
            if lacking:
                raise DataError(
                    f"{path} lacks the array(s) {lacking}; it holds {sorted(archive.files)}."
                )
            images = _to_rgb(archive[keys[0]], path)
            labels = np.asarray(archive[keys[1]])
            if labels.ndim == 2 and labels.shape[1] > 1:
                raise DataError(
                    f"{path} is multi-label ({labels.shape[1]} labels per image); dermnet "
                    "loaders return one class per image."
                )
            labels = labels.reshape(-1).astype(np.int64)
            if len(labels) != len(images):
                raise DataError(
                    f"{path}: {keys[0]} has {len(images)} images but {keys[1]} has "
                    f"{len(labels)} labels."
                )
            ids = [f"{part}/{i}" for i in range(len(labels))]
            frames.append(
                pd.DataFrame(
                    {
                        "image_id": ids,
                        "image_path": [f"{path}#{i}" for i in ids],
                        "label_index": labels,
                        "medmnist_split": part,
                    }
                )
            )
            arrays.append(images)
    table = pd.concat(frames, ignore_index=True)
    top = int(table["label_index"].max()) if len(table) else 0
    if classes is None:
        classes = tuple(str(i) for i in range(top + 1))
    classes = tuple(str(c) for c in classes)
    if table["label_index"].min() < 0 or top >= len(classes):
        raise DataError(
            f"{path}: label indices must lie in [0, {len(classes) - 1}] for the classes "
            f"{list(classes)}; found {int(table['label_index'].min())}..{top}."
        )
    table["label"] = [classes[i] for i in table["label_index"]]
    role = {"train": "train", "val": "val", "test": "test"}.get(split)
    return records_from_table(
        table,
        classes,
        name=stem,
        source=path,
        on_error="raise",
        check_files=False,
        verify=False,
        role=role,
        images=np.concatenate(arrays) if len(arrays) > 1 else arrays[0],
    )


@register_dataset("hmnist")
def load_hmnist_csv(
    path: str | os.PathLike[str],
    *,
    label_names: Sequence[str] = HMNIST_LABELS,
    classes: Sequence[str] = HAM10000_CLASSES,
) -> Records:
    """Load Kaggle's ``hmnist_28_28_RGB.csv`` (or ``_L``, ``8_8``) "Skin Cancer MNIST" file.

    Each row holds the pixels (``pixel0000``, ... channel-last for RGB) and a ``label``
    index. The label indices of these files are not alphabetical: 0 ``akiec``, 1 ``bcc``,
    2 ``bkl``, 3 ``df``, 4 ``nv``, 5 ``vasc``, 6 ``mel`` (`HMNIST_LABELS`); dermnet
    maps them to names and then to the HAM10000 class order ``akiec, bcc, bkl, df, mel,
    nv, vasc``, so ``label`` 4 becomes class ``nv`` (index 5). The file has no image or
    lesion ids: a split of it cannot be grouped by lesion and leaks (HAM10000 has 10,015
    images of 7,470 lesions); prefer `load_ham10000` for evaluation.

    Args:
        path: the CSV file.
        label_names: class name of each label index in the file.
        classes: the class order of the records.

    Raises:
        DataError: no ``label`` column, a pixel count that is not a square (times 3), a
            label index out of range, or pixels outside [0, 255].
    """
    where = "load_hmnist_csv"
    path = existing_file(path, "path", where, "hmnist CSV", _HMNIST_HINT)
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read as an hmnist CSV: {exc}") from None
    if "label" not in table.columns:
        raise DataError(
            f"{path} lacks the column 'label' expected in an hmnist CSV; its first columns "
            f"are {list(table.columns[:5])}."
        )
    pixels = table.drop(columns=["label"])
    width = pixels.shape[1]
    channels = 3 if math.isqrt(width // 3) ** 2 * 3 == width else 1
    side = math.isqrt(width // channels)
    if side * side * channels != width or side == 0:
        raise DataError(
            f"{path} has {width} pixel columns, which is not side*side (gray) or side*side*3 (RGB)."
        )
    values = pixels.to_numpy()
    if values.size and (values.min() < 0 or values.max() > 255):
        raise DataError(f"{path}: pixel values must lie in [0, 255].")
    shape = (len(table), side, side, 3) if channels == 3 else (len(table), side, side)
    images = _to_rgb(values.astype(np.uint8).reshape(shape), path)
    label_names = tuple(str(n) for n in label_names)
    index = pd.to_numeric(table["label"], errors="coerce")
    bad = ~index.isin(range(len(label_names)))
    if bad.any():
        rows = [int(i) for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise DataError(
            f"{path}: label must be an index in [0, {len(label_names) - 1}]; "
            f"{int(bad.sum())} row(s) are not (first rows: {rows})."
        )
    names = [label_names[int(i)] for i in index]
    frame = pd.DataFrame(
        {
            "image_id": [f"row{i}" for i in range(len(table))],
            "image_path": [f"{path}#row{i}" for i in range(len(table))],
            "label": names,
            "hmnist_label": index.astype(int).to_numpy(),
        }
    )
    records = records_from_table(
        frame,
        classes,
        name=path.stem,
        source=path,
        on_error="raise",
        check_files=False,
        verify=False,
        images=images,
    )
    if len(records) == 10015 and tuple(label_names) == HMNIST_LABELS:
        counts = records.class_counts()
        if any(counts.get(k) != v for k, v in _HMNIST_COUNTS.items()):
            warnings.warn(
                f"{path} has the 10,015 rows of HAM10000 but its class counts {counts} differ "
                "from HAM10000's; check that label_names matches this file's label codes.",
                UserWarning,
                stacklevel=2,
            )
    return records
