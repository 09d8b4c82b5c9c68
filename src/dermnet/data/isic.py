"""Deprecated: the ISIC loaders moved to `dermnet.data.datasets.isic`."""

from dermnet._core.moved import moved_names

_NAMES = ("ISIC2019_CLASSES", "ISIC2020_CLASSES", "load_isic2018", "load_isic2019", "load_isic2020")
__getattr__, __dir__ = moved_names(
    __name__, dict.fromkeys(_NAMES, "dermnet.data.datasets.isic"), also="dermnet.data"
)
