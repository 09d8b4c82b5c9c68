"""Datasets: loaders for the public datasets and any folder or CSV, leakage-safe splits,
bundled samples and fast ``tf.data`` pipelines.

Importing this package does not import TensorFlow; names load on first use.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.data.loaders import (
        HAM10000_CLASSES,
        MALARIA_CLASSES,
        list_datasets,
        load_dataset,
        load_ham10000,
        load_image_folder,
        load_malaria,
        register_dataset,
    )
    from dermnet.data.pipeline import make_dataset
    from dermnet.data.records import Records
    from dermnet.data.samples import load_sample, sample_path
    from dermnet.data.splits import LeakageReport, Split, check_leakage, split

__all__ = [
    "HAM10000_CLASSES",
    "MALARIA_CLASSES",
    "LeakageReport",
    "Records",
    "Split",
    "check_leakage",
    "list_datasets",
    "load_dataset",
    "load_ham10000",
    "load_image_folder",
    "load_malaria",
    "load_sample",
    "make_dataset",
    "register_dataset",
    "sample_path",
    "split",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
