"""Where the datasets live on this machine: the ``DERMNET_DATA_ROOT`` environment variable."""

from __future__ import annotations

import os
from pathlib import Path

from dermnet._core.errors import MissingFileError, ParameterError

__all__ = ["DATA_ROOT_ENV", "data_root"]

#: The environment variable naming the folder that holds the datasets.
DATA_ROOT_ENV = "DERMNET_DATA_ROOT"


def data_root(dataset: str | None = None) -> Path:
    """The folder of the local datasets, read from ``$DERMNET_DATA_ROOT``.

    Scripts and examples find the data here instead of a path written into each of
    them: set ``DERMNET_DATA_ROOT=/data/derm`` once, and ``data_root("ham10000")`` is
    ``/data/derm/ham10000``.

    Args:
        dataset: a sub-folder of the root (e.g. ``"ham10000"``); ``None`` returns the root.

    Returns:
        The existing folder, as an absolute `Path` (``~`` expanded).

    Raises:
        MissingFileError: the variable is unset or empty, or names a folder that does not
            exist, or the root has no sub-folder ``dataset``; the message names the
            variable and the path.
        ParameterError: ``dataset`` is not a non-empty str.

    Examples:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp()
        >>> os.environ["DERMNET_DATA_ROOT"] = folder
        >>> data_root() == Path(folder).resolve()
        True
        >>> del os.environ["DERMNET_DATA_ROOT"]
    """
    if dataset is not None and (not isinstance(dataset, str) or not dataset.strip()):
        raise ParameterError(
            f"The 'dataset' parameter of data_root must be a non-empty str or None. "
            f"Got {dataset!r} instead."
        )
    value = os.environ.get(DATA_ROOT_ENV, "").strip()
    if not value:
        raise MissingFileError(
            f"The environment variable {DATA_ROOT_ENV} is not set: set it to the folder "
            f"that holds the datasets (e.g. export {DATA_ROOT_ENV}=/data/derm, with "
            "/data/derm/ham10000 inside), or pass the dataset folder explicitly."
        )
    root = Path(value).expanduser().resolve()
    if not root.is_dir():
        raise MissingFileError(
            f"{DATA_ROOT_ENV}={value!r} names {root}, which is not an existing folder; set "
            f"{DATA_ROOT_ENV} to the folder that holds the datasets."
        )
    if dataset is None:
        return root
    folder = root / dataset
    if not folder.is_dir():
        shown = sorted(p.name for p in root.iterdir() if p.is_dir())
        raise MissingFileError(
            f"No folder {folder} ({dataset!r} under {DATA_ROOT_ENV}={value!r}); its "
            f"sub-folders are {shown}."
        )
    return folder
