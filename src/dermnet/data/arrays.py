"""Deprecated: the MedMNIST and hmnist loaders moved to `dermnet.data.datasets.medmnist`."""

from dermnet._core.moved import moved_names

_NAMES = ("HMNIST_LABELS", "load_hmnist_csv", "load_medmnist")
__getattr__, __dir__ = moved_names(
    __name__, dict.fromkeys(_NAMES, "dermnet.data.datasets.medmnist"), also="dermnet.data"
)
