"""Explanations of image files scored against their lesion masks (``dermnet explain --masks``).

Each image is paired with the mask in the mask folder that has the same file stem (or
the stem plus ``_expert``, ``_segmentation`` or ``_mask``, the names HAM10000 and ISIC
2018 Task 1 use). The mask goes through the same geometric transform as its image
(resize or pad to the model input, nearest-neighbour, no colour preprocessing), so the
map and the mask line up pixel for pixel. `score_masks` then gives the energy inside
the mask, the pointing game and the top-region IoU per image, and
`dermnet.explain.localization.localization_report` their means with bootstrap intervals
beside a random map and a centre-Gaussian map.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, MissingFileError

__all__ = ["MASK_SUFFIXES", "match_masks", "read_masks_like", "score_masks", "summary_lines"]

#: What a mask's file stem may add to its image's stem.
MASK_SUFFIXES = ("", "_expert", "_segmentation", "_mask")
_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg", ".gif")


def match_masks(
    images: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str]
) -> list[Path]:
    """The mask file of each image: same stem (plus one of `MASK_SUFFIXES`) in ``folder``.

    Raises:
        MissingFileError: ``folder`` is not a folder.
        DataError: some images have no mask, or several (all are named).
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError(f"The --masks folder does not exist or is not a folder: {root}")
    files = {}
    for p in sorted(root.iterdir()):
        if p.is_file() and p.suffix.lower() in _SUFFIXES:
            files.setdefault(p.stem, []).append(p)
    found, missing, several = [], [], []
    for image in images:
        stem = Path(image).stem
        hits = [p for s in MASK_SUFFIXES for p in files.get(stem + s, [])]
        if not hits:
            missing.append(Path(image).name)
        elif len(hits) > 1:
            several.append(f"{Path(image).name}: {[h.name for h in hits]}")
        else:
            found.append(hits[0])
    if missing or several:
        parts = []
        if missing:
            parts.append(
                f"{len(missing)} image(s) have no mask named <stem>[{'|'.join(MASK_SUFFIXES[1:])}]"
                f".png in {root}: {missing[:10]}"
            )
        if several:
            parts.append(f"{len(several)} image(s) have several masks: {several[:5]}")
        raise DataError("Masks do not match the images: " + "; ".join(parts) + ".")
    return found


def read_masks_like(
    masks: Sequence[Path],
    images: Sequence[str | os.PathLike[str]],
    size: tuple[int, int],
    data_config: Any = None,
) -> np.ndarray:
    """Read binary masks and bring them to the model input as their images were.

    Args:
        masks: mask files, one per image.
        images: the image files (each mask must have its image's size).
        size: the model input ``(height, width)``.
        data_config: the images' `DataConfig` (its resize mode is applied with
            nearest-neighbour interpolation and without preprocessing); ``None``:
            stretched to ``size``, as `read_images` does.

    Returns:
        Boolean ``(n, height, width)``.

    Raises:
        DataError: a mask is not binary, is empty, or has another size than its image
            (the files are named).
    """
    from PIL import Image

    from dermnet.explain.localization import read_mask

    for mask, image in zip(masks, images, strict=True):
        array = read_mask(mask)
        with Image.open(image) as im:
            width, height = im.size
        if array.shape != (height, width):
            raise DataError(
                f"The mask {mask} is {array.shape[1]}x{array.shape[0]} but its image {image} "
                f"is {width}x{height}; a mask must have its image's size."
            )
        if not array.any():
            raise DataError(f"The mask {mask} is empty (no lesion pixel); scores are undefined.")
    if data_config is None:
        out = []
        for mask in masks:
            m = Image.fromarray(read_mask(mask).astype(np.uint8) * 255)
            out.append(np.asarray(m.resize((size[1], size[0]), Image.Resampling.NEAREST)) > 127)
        return np.stack(out)
    from dermnet.data import load_images

    config = dataclasses.replace(data_config, preprocessing=None, interpolation="nearest")
    return load_images([Path(m) for m in masks], config)[..., 0] > 127


def score_masks(
    heatmaps: np.ndarray,
    masks: np.ndarray,
    files: Sequence[str | os.PathLike[str]],
    mask_files: Sequence[Path],
    method: str,
    *,
    top_fraction: float = 0.2,
    n_bootstrap: int = 1000,
    seed: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image scores of the maps and of both baselines, and their summary.

    Returns:
        ``(per_image, summary)``: one row per image (``image, mask`` and
        ``<method|random|center>_<energy|pointing|iou>``; an undefined score, from a
        map with no positive value, is empty) and `localization_report`'s table.
    """
    from dermnet.explain.localization import (
        LOCALIZATION_METRICS,
        center_gaussian_map,
        localization_report,
        localization_scores,
        random_map,
    )

    rows = []
    base = 0 if seed is None else seed
    for i, (path, mask_file) in enumerate(zip(files, mask_files, strict=True)):
        row: dict[str, Any] = {"image": str(path), "mask": str(mask_file)}
        maps = {
            method: heatmaps[i],
            "random": random_map(masks[i].shape, seed=(base + i) % 2**32),
            "center": center_gaussian_map(masks[i].shape),
        }
        for name, cam in maps.items():
            try:
                scores = localization_scores(cam, masks[i], top_fraction=top_fraction)
            except DataError:
                scores = dict.fromkeys(LOCALIZATION_METRICS, float("nan"))
            row.update({f"{name}_{k}": v for k, v in scores.items()})
        rows.append(row)
    summary = localization_report(
        {method: list(heatmaps)},
        list(masks),
        top_fraction=top_fraction,
        n_bootstrap=n_bootstrap,
        seed=seed,
    )
    return pd.DataFrame(rows), summary


def summary_lines(summary: pd.DataFrame) -> list[str]:
    """One line per (map, metric): mean [interval], and the difference to the centre."""
    lines = []
    for row in summary.itertuples(index=False):
        text = f"{row.method:>10} {row.metric:<8} {row.mean:.3f}"
        if not np.isnan(row.low):
            text += f" [{row.low:.3f}, {row.high:.3f}]"
        if not np.isnan(row.diff_vs_center):
            text += f"  vs centre {row.diff_vs_center:+.3f}"
            if not np.isnan(row.diff_low):
                text += f" [{row.diff_low:+.3f}, {row.diff_high:+.3f}]"
        text += f"  (n={row.n}" + (f", {row.n_undefined} undefined)" if row.n_undefined else ")")
        lines.append(text)
    return lines
