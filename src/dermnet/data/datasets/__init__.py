"""The dataset registry: one module per dataset family registers its loaders here.

`DATASETS` maps a name to a loader ``fn(root, **options) -> Records``. The built-in
loaders live in this package, one module per family (`ham10000`, `isic`, `malaria`,
`folders` for image folders and CSV tables, `medmnist` for MedMNIST and hmnist arrays);
the registry imports them by name on its first lookup (`dermnet._core.registry.Registry`),
so this module imports none of them and there is no import cycle.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dermnet._core.registry import Registry

if TYPE_CHECKING:
    from dermnet.data.records import Records

__all__ = ["DATASETS", "list_datasets", "load_dataset", "register_dataset"]

#: The dataset registry: name -> loader taking ``root`` (and keyword options).
DATASETS: Registry[Callable[..., Records]] = Registry(
    "dataset",
    builtins=(
        "dermnet.data.datasets.ham10000",
        "dermnet.data.datasets.isic",
        "dermnet.data.datasets.malaria",
        "dermnet.data.datasets.folders",
        "dermnet.data.datasets.medmnist",
    ),
)


def register_dataset(name: str) -> Callable[[Callable[..., Records]], Callable[..., Records]]:
    """Decorator registering a loader ``fn(root, **options) -> Records`` under ``name``.

    Examples:
        >>> from dermnet.data import load_image_folder
        >>> @register_dataset("my_cells")
        ... def load_my_cells(root, **options):
        ...     return load_image_folder(root, name="my_cells", **options)
        >>> "my_cells" in list_datasets()
        True
        >>> DATASETS.unregister("my_cells")
    """
    return DATASETS.decorator(name)


def list_datasets(pattern: str | None = None) -> list[str]:
    """Names of the registered datasets, optionally filtered by a shell-style pattern.

    Examples:
        >>> list_datasets("isic*")
        ['isic2018', 'isic2019', 'isic2020']
    """
    return DATASETS.names(pattern)


def load_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> Records:
    """Load a registered dataset by name, e.g. ``load_dataset("ham10000", "data/ham")``.

    Args:
        name: a name from `list_datasets`.
        root: the dataset's folder (or file, for ``csv``, ``medmnist`` and ``hmnist``).
        **options: keyword options of the loader (``on_error``, ``split``, ...).
    """
    return DATASETS.get(name, where="load_dataset")(root, **options)
