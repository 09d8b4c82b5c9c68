"""Datasets: loaders for the public datasets and any folder, CSV or array file, leakage-safe
splits, validation, description, metadata encoding, bundled samples and fast ``tf.data``
pipelines.

Importing this package does not import TensorFlow; names load on first use.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.data.data_config import DataConfig
    from dermnet.data.data_root import data_root
    from dermnet.data.datasets import list_datasets, load_dataset, register_dataset
    from dermnet.data.datasets.folders import load_csv, load_image_folder
    from dermnet.data.datasets.ham10000 import (
        HAM10000_CLASSES,
        HAM10000_MALIGNANT,
        load_ham10000,
        to_benign_malignant,
    )
    from dermnet.data.datasets.isic import (
        ISIC2019_CLASSES,
        ISIC2020_CLASSES,
        load_isic2018,
        load_isic2019,
        load_isic2020,
    )
    from dermnet.data.datasets.malaria import MALARIA_CLASSES, load_malaria
    from dermnet.data.datasets.medmnist import HMNIST_LABELS, load_hmnist_csv, load_medmnist
    from dermnet.data.description import DatasetDescription, describe
    from dermnet.data.image_batches import load_images
    from dermnet.data.image_files import check_image_files
    from dermnet.data.metadata import MetadataEncoder, UnseenCategoryWarning
    from dermnet.data.pipeline import make_dataset
    from dermnet.data.records import Records
    from dermnet.data.samples import load_sample, sample_path
    from dermnet.data.splits import Fold, LeakageReport, Split, check_leakage, kfold, split
    from dermnet.data.validation import ValidationReport, validate

__all__ = [
    "HAM10000_CLASSES",
    "HAM10000_MALIGNANT",
    "HMNIST_LABELS",
    "ISIC2019_CLASSES",
    "ISIC2020_CLASSES",
    "MALARIA_CLASSES",
    "DataConfig",
    "DatasetDescription",
    "Fold",
    "LeakageReport",
    "MetadataEncoder",
    "Records",
    "Split",
    "UnseenCategoryWarning",
    "ValidationReport",
    "check_image_files",
    "check_leakage",
    "data_root",
    "describe",
    "kfold",
    "list_datasets",
    "load_csv",
    "load_dataset",
    "load_ham10000",
    "load_hmnist_csv",
    "load_image_folder",
    "load_images",
    "load_isic2018",
    "load_isic2019",
    "load_isic2020",
    "load_malaria",
    "load_medmnist",
    "load_sample",
    "make_dataset",
    "register_dataset",
    "sample_path",
    "split",
    "to_benign_malignant",
    "validate",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
