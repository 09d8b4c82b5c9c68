"""Deprecated: the dataset registry and loaders moved to `dermnet.data.datasets`."""

from dermnet._core.moved import moved_names

_DATASETS = "dermnet.data.datasets"
__getattr__, __dir__ = moved_names(
    __name__,
    {
        "DATASETS": _DATASETS,
        "register_dataset": _DATASETS,
        "list_datasets": _DATASETS,
        "load_dataset": _DATASETS,
        "HAM10000_CLASSES": f"{_DATASETS}.ham10000",
        "load_ham10000": f"{_DATASETS}.ham10000",
        "MALARIA_CLASSES": f"{_DATASETS}.malaria",
        "load_malaria": f"{_DATASETS}.malaria",
        "load_csv": f"{_DATASETS}.folders",
        "load_image_folder": f"{_DATASETS}.folders",
        "IMAGE_EXTENSIONS": "dermnet.data.image_files",
    },
)
