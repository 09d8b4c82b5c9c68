"""Deprecated: the file I/O of ``dermnet explain`` moved to `dermnet.explain.files`."""

from dermnet._core.moved import moved_names

_NAMES = ("load_explained_model", "read_images", "write_explanations")
__getattr__, __dir__ = moved_names(
    __name__, dict.fromkeys(_NAMES, "dermnet.explain.files"), also="dermnet.explain"
)
