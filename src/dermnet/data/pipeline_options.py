"""Two option readers of `make_dataset`: its metadata encoder and its cache target."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet.data.records import Records

if TYPE_CHECKING:
    from dermnet.data.metadata import MetadataEncoder

__all__ = ["cache_target", "encode_metadata"]


def encode_metadata(
    records: Records, encoder: MetadataEncoder | None, where: str
) -> tuple[np.ndarray, MetadataEncoder]:
    """The encoded metadata of ``records`` and the encoder (fitted here on training records)."""
    from dermnet.data.metadata import MetadataEncoder

    if encoder is None:
        if records.role != "train":
            raise ParameterError(
                f"{where}(with_metadata=True) needs a fitted 'metadata_encoder' for records "
                f"whose role is {records.role!r}: fit it on the training part only, "
                "MetadataEncoder().fit(parts.train), and pass it for every part. (It is "
                "fitted on the records themselves only when their role is 'train'.)"
            )
        encoder = MetadataEncoder().fit(records)
    elif not isinstance(encoder, MetadataEncoder):
        raise ParameterError(
            f"The 'metadata_encoder' parameter of {where} must be a MetadataEncoder. "
            f"Got {type(encoder).__name__} instead."
        )
    return encoder.transform(records), encoder


def cache_target(cache: Any, where: str) -> str | Path | None:
    """``None``, ``"memory"`` or the file-cache path that ``cache`` asks for."""
    if cache is False or cache is None:
        return None
    if cache is True or cache == "memory":
        return "memory"
    if isinstance(cache, (str, os.PathLike)) and str(cache):
        path = Path(cache)
        if path.is_dir():
            path = path / "dermnet_cache"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    raise ParameterError(
        f"The 'cache' parameter of {where} must be False, True, 'memory' or a file path. "
        f"Got {cache!r} instead."
    )
