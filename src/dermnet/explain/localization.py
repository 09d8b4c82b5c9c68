"""Do the heat maps point at the lesion? Explanation maps scored against lesion masks.

For a map (a CAM, ``(H, W)`` floats) and a binary lesion mask of the same size:

- **energy inside the mask**: the share of the map's (positive) mass inside the lesion;
- **pointing game**: whether the map's maximum falls inside the lesion (with tied maxima,
  the share of them inside);
- **IoU of the top region**: the top ``top_fraction`` of pixels by value (only positive
  values) against the mask.

Two baselines say what a map must beat: a seeded random map (scores about the lesion's
area share) and a centre-Gaussian map (most dermoscopy images centre the lesion, so a
map that ignores the image already scores well). `localization_report` averages the
scores over many images with bootstrap intervals and compares every method with the
centre baseline image by image.

An undefined score is never a silent NaN: a map with no positive value and an empty
mask raise `DataError` per image, and `localization_report` counts such images per
method (column ``n_undefined``) and warns.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, MissingFileError
from dermnet._core.validation import check_float, check_int, check_path, check_seed, fail

__all__ = [
    "BASELINES",
    "LOCALIZATION_METRICS",
    "center_gaussian_map",
    "load_lesion_masks",
    "localization_report",
    "localization_scores",
    "random_map",
    "read_mask",
    "resize_map",
]

#: The scores of `localization_scores`, in order.
LOCALIZATION_METRICS = ("energy", "pointing", "iou")
#: The baseline maps `localization_report` adds: name -> what it is.
BASELINES = {"random": "seeded uniform noise", "center": "centred Gaussian"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def _check_mask(mask: Any, where: str, param: str = "mask") -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise fail(param, where, "a 2-D (height, width) binary mask", f"shape {m.shape}")
    if m.dtype != bool:
        values = np.unique(m)
        if not np.isin(values, (0, 1)).all():
            raise DataError(
                f"{where}: {param!r} must be binary (bool or 0/1); it has values "
                f"{values[:6].tolist()}{' ...' if len(values) > 6 else ''}. Threshold it first "
                "(read_mask does this for 0/255 files)."
            )
        m = m.astype(bool)
    return m


def _check_map(cam: Any, shape: tuple[int, ...], where: str, param: str = "cam") -> np.ndarray:
    c = np.asarray(cam, dtype=np.float64)
    if c.ndim == 3 and c.shape[-1] == 1:
        c = c[..., 0]
    if c.ndim != 2:
        raise fail(param, where, "a 2-D (height, width) map", f"shape {c.shape}")
    if c.shape != shape:
        raise DataError(
            f"{where}: the map has shape {c.shape} but the mask has shape {shape}; they must "
            "match. Resize the map to the mask's size first (resize_map)."
        )
    if not np.all(np.isfinite(c)):
        raise DataError(f"{where}: {param!r} has NaN or infinite values.")
    return c


def resize_map(cam: Any, shape: tuple[int, int]) -> np.ndarray:
    """Resize a map to ``(height, width)`` with bilinear interpolation.

    This maps a CAM at the model's input size back onto the original image only when
    the image was resized as a whole (no crop); a centre crop needs the crop undone.

    Examples:
        >>> resize_map(np.ones((2, 2)), (3, 4)).shape
        (3, 4)
    """
    from PIL import Image

    c = np.asarray(cam, dtype=np.float32)
    if c.ndim != 2:
        raise fail("cam", "resize_map", "a 2-D (height, width) map", f"shape {c.shape}")
    height, width = int(shape[0]), int(shape[1])
    image = Image.fromarray(c, mode="F").resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(image, dtype=np.float64)


def random_map(shape: tuple[int, int], *, seed: int | None = 0) -> np.ndarray:
    """A seeded uniform random map in [0, 1): the chance baseline.

    Examples:
        >>> bool((random_map((4, 5), seed=1) == random_map((4, 5), seed=1)).all())
        True
    """
    seed = check_seed(seed, "seed", "random_map")
    return np.random.default_rng(seed).random((int(shape[0]), int(shape[1])))


def center_gaussian_map(shape: tuple[int, int], *, sigma: float = 0.25) -> np.ndarray:
    """A Gaussian centred on the image, ``sigma`` a fraction of each side: the centre baseline.

    Examples:
        >>> m = center_gaussian_map((5, 5))
        >>> float(m[2, 2]), bool(m[0, 0] < m[1, 1] < m[2, 2])
        (1.0, True)
    """
    sigma = check_float(sigma, "sigma", "center_gaussian_map", low=0.0, low_open=True)
    height, width = int(shape[0]), int(shape[1])
    ys = (np.arange(height) - (height - 1) / 2.0) / (sigma * height)
    xs = (np.arange(width) - (width - 1) / 2.0) / (sigma * width)
    return np.exp(-0.5 * (ys[:, None] ** 2 + xs[None, :] ** 2))


def localization_scores(cam: Any, mask: Any, *, top_fraction: float = 0.2) -> dict[str, float]:
    """Energy inside the mask, pointing game and top-region IoU of one map.

    Negative map values count as 0 (a CAM's evidence is its positive part).

    Args:
        cam: the map ``(H, W)``.
        mask: the binary lesion mask ``(H, W)``.
        top_fraction: share of pixels in the top region, in (0, 1]; pixels tied with
            the cut-off value are included, zero-valued pixels never are.

    Returns:
        ``{"energy": ..., "pointing": ..., "iou": ...}``, each in [0, 1].

    Raises:
        DataError: shapes differ, the mask is not binary or is empty, or the map has no
            positive value (energy and pointing would be undefined).

    Examples:
        >>> mask = np.zeros((4, 4), bool)
        >>> mask[1:3, 1:3] = True
        >>> localization_scores(mask.astype(float), mask, top_fraction=0.25)
        {'energy': 1.0, 'pointing': 1.0, 'iou': 1.0}
    """
    where = "localization_scores"
    top_fraction = check_float(
        top_fraction, "top_fraction", where, low=0.0, high=1.0, low_open=True
    )
    m = _check_mask(mask, where)
    c = np.maximum(_check_map(cam, m.shape, where), 0.0)
    if not m.any():
        raise DataError(f"{where}: the mask is empty (no lesion pixel); the scores are undefined.")
    total = c.sum()
    if total <= 0:
        raise DataError(
            f"{where}: the map has no positive value (all zero or negative); energy and "
            "pointing are undefined for it."
        )
    peak = c == c.max()
    cutoff = np.quantile(c, 1.0 - top_fraction, method="higher")
    region = (c >= cutoff) & (c > 0)
    union = np.logical_or(region, m).sum()
    return {
        "energy": float(c[m].sum() / total),
        "pointing": float(peak[m].sum() / peak.sum()),
        "iou": float(np.logical_and(region, m).sum() / union),
    }


def _bootstrap_mean(values: np.ndarray, idx: np.ndarray | None, tail: float) -> tuple[float, float]:
    if idx is None or len(values) < 2:
        return float("nan"), float("nan")
    means = values[idx].mean(axis=1)
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def localization_report(
    cams: Mapping[str, Sequence[Any]],
    masks: Sequence[Any],
    *,
    top_fraction: float = 0.2,
    baselines: Sequence[str] = ("random", "center"),
    sigma: float = 0.25,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Mask agreement of several explanation methods over many images, with baselines.

    Args:
        cams: ``{method name: one map per image}``; each map the size of its mask
            (use `resize_map`).
        masks: one binary lesion mask per image.
        top_fraction: see `localization_scores`.
        baselines: baseline maps to add, from `BASELINES` (the random map of image ``i``
            is seeded with ``seed + i``).
        sigma: the centre baseline's width.
        n_bootstrap: resamples of images for the intervals (0: none).
        ci: confidence level.
        seed: seeds the random baseline and the bootstrap.

    Returns:
        A tidy table, one row per (method, metric): ``method, metric, n, n_undefined,
        mean, low, high, diff_vs_center, diff_low, diff_high``. ``n`` counts the images
        where the score is defined (a map with no positive value is undefined, counted
        in ``n_undefined`` with a warning); the difference to the centre baseline is
        paired, over the images defined for both, and NaN without the centre baseline.

    Raises:
        DataError: a method has another number of maps than there are masks, a mask is
            empty or not binary, or a map and its mask differ in size.
    """
    where = "localization_report"
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", where, low=0)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(seed, "seed", where)
    if not isinstance(cams, Mapping) or not cams:
        raise fail("cams", where, "a non-empty mapping of method name to maps", type(cams).__name__)
    unknown = [b for b in baselines if b not in BASELINES]
    if unknown:
        raise fail("baselines", where, f"names from {sorted(BASELINES)}", unknown)
    clash = sorted(set(cams) & set(baselines))
    if clash:
        raise fail("cams", where, "method names other than the baselines'", clash)
    checked = []
    for i, mask in enumerate(masks):
        m = _check_mask(mask, where, f"masks[{i}]")
        if not m.any():
            raise DataError(f"{where}: masks[{i}] is empty (no lesion pixel).")
        checked.append(m)
    n = len(checked)
    if n == 0:
        raise fail("masks", where, "at least one mask", masks)
    maps: dict[str, list[Any]] = {}
    for name, values in cams.items():
        values = list(values)
        if len(values) != n:
            raise DataError(
                f"{where}: method {name!r} has {len(values)} maps for {n} masks; they must match."
            )
        maps[str(name)] = values
    base = 0 if seed is None else seed
    if "random" in baselines:
        maps["random"] = [
            random_map(m.shape, seed=(base + i) % 2**32) for i, m in enumerate(checked)
        ]
    if "center" in baselines:
        maps["center"] = [center_gaussian_map(m.shape, sigma=sigma) for m in checked]

    scores: dict[str, np.ndarray] = {}
    for name, values in maps.items():
        table = np.full((n, len(LOCALIZATION_METRICS)), np.nan)
        for i, (cam, m) in enumerate(zip(values, checked, strict=True)):
            c = np.maximum(_check_map(cam, m.shape, where, f"cams[{name!r}][{i}]"), 0.0)
            if c.sum() <= 0:
                continue  # undefined: counted below
            result = localization_scores(c, m, top_fraction=top_fraction)
            table[i] = [result[k] for k in LOCALIZATION_METRICS]
        bad = int(np.isnan(table[:, 0]).sum())
        if bad:
            warnings.warn(
                f"{where}: method {name!r} gave {bad} of {n} map(s) with no positive value; "
                "their scores are undefined and left out of its means (n_undefined).",
                UserWarning,
                stacklevel=2,
            )
        scores[name] = table

    rng = np.random.default_rng(seed)
    tail = (1.0 - ci) / 2.0
    rows = []
    for name, table in scores.items():
        ok = ~np.isnan(table[:, 0])
        count = int(ok.sum())
        idx = rng.integers(0, count, size=(n_bootstrap, count)) if n_bootstrap and count else None
        for j, metric in enumerate(LOCALIZATION_METRICS):
            values = table[ok, j]
            row: dict[str, Any] = {
                "method": name,
                "metric": metric,
                "n": count,
                "n_undefined": n - count,
                "mean": float(values.mean()) if count else float("nan"),
            }
            row["low"], row["high"] = _bootstrap_mean(values, idx, tail)
            row["diff_vs_center"] = row["diff_low"] = row["diff_high"] = float("nan")
            if "center" in scores and name != "center":
                both = ok & ~np.isnan(scores["center"][:, 0])
                diff = table[both, j] - scores["center"][both, j]
                if len(diff):
                    row["diff_vs_center"] = float(diff.mean())
                    pairs = (
                        rng.integers(0, len(diff), size=(n_bootstrap, len(diff)))
                        if n_bootstrap
                        else None
                    )
                    row["diff_low"], row["diff_high"] = _bootstrap_mean(diff, pairs, tail)
            rows.append(row)
    return pd.DataFrame(rows)


def read_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a lesion mask file as a boolean ``(H, W)`` array.

    A greyscale (or RGB with equal channels) file with exactly two values, 0 and one
    other (255 for the ISIC/HAM10000 masks), or only 0 or only that value.

    Raises:
        MissingFileError: the file does not exist.
        DataError: the file is not a binary mask (e.g. a JPEG with intermediate values).
    """
    from PIL import Image

    where = "read_mask"
    path = check_path(path, "path", where, kind="file", what="mask file")
    with Image.open(path) as image:
        array = np.asarray(image)
    if array.ndim == 3:
        if not (array[..., :3] == array[..., :1]).all():
            raise DataError(f"{where}: mask {path} is a colour image; a mask must be greyscale.")
        array = array[..., 0]
    values = np.unique(array)
    if len(values) > 2 or (len(values) == 2 and values[0] != 0):
        raise DataError(
            f"{where}: mask {path} is not binary: it has {len(values)} distinct values "
            f"({values[:6].tolist()}...). Lesion masks hold 0 and one other value (255)."
        )
    return array > 0


def load_lesion_masks(
    folder: str | os.PathLike[str],
    *,
    image_dir: str = "images",
    mask_dir: str = "masks_expert",
    mask_suffix: str = "_expert",
    metadata: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Pair the images of a folder with their lesion masks.

    The layout of the HAM10000 full-resolution sample (``images/ISIC_x.jpg`` and
    ``masks_expert/ISIC_x_expert.png``) is the default; ISIC 2018 Task 1 is
    ``mask_dir="ISIC2018_Task1_Training_GroundTruth", mask_suffix="_segmentation"``.

    Args:
        folder: the dataset folder.
        image_dir: image subfolder.
        mask_dir: mask subfolder.
        mask_suffix: what a mask's file stem adds to its image's stem.
        metadata: a CSV with an ``image_id`` column to join (e.g. ``dx``, ``age``,
            ``sex``, ``localization``); by default the folder's only ``*metadata*.csv``
            if there is one.

    Returns:
        One row per image, sorted by ``image_id``: ``image_id, image_path, mask_path``
        and the metadata columns.

    Raises:
        MissingFileError: the folder or a subfolder does not exist.
        DataError: an image has no mask or a mask no image (the message lists them),
            or the folder has no image.
    """
    where = "load_lesion_masks"
    root = check_path(folder, "folder", where, kind="dir", what="folder")
    images_path, masks_path = root / image_dir, root / mask_dir
    for sub, param in ((images_path, "image_dir"), (masks_path, "mask_dir")):
        if not sub.is_dir():
            raise MissingFileError(f"{where}: the {param} folder {sub} does not exist.")
    images = {
        p.stem: p for p in sorted(images_path.iterdir()) if p.suffix.lower() in _IMAGE_SUFFIXES
    }
    masks = {}
    for p in sorted(masks_path.iterdir()):
        if p.suffix.lower() in _IMAGE_SUFFIXES and p.stem.endswith(mask_suffix):
            masks[p.stem[: len(p.stem) - len(mask_suffix)] if mask_suffix else p.stem] = p
    if not images:
        raise DataError(f"{where}: {images_path} holds no image ({', '.join(_IMAGE_SUFFIXES)}).")
    no_mask = sorted(set(images) - set(masks))
    no_image = sorted(set(masks) - set(images))
    if no_mask or no_image:
        parts = []
        if no_mask:
            parts.append(
                f"{len(no_mask)} image(s) without a '*{mask_suffix}' mask in {masks_path} "
                f"(first: {no_mask[:3]})"
            )
        if no_image:
            parts.append(
                f"{len(no_image)} mask(s) without an image in {images_path} (first: {no_image[:3]})"
            )
        raise DataError(f"{where}: unpaired files: " + "; ".join(parts) + ".")
    frame = pd.DataFrame(
        {
            "image_id": list(images),
            "image_path": [str(images[k]) for k in images],
            "mask_path": [str(masks[k]) for k in images],
        }
    )
    table = _metadata_table(root, metadata, where)
    if table is not None:
        if "image_id" not in table.columns:
            raise DataError(
                f"{where}: the metadata CSV has no 'image_id' column; columns are "
                f"{list(table.columns)}."
            )
        frame = frame.merge(table.drop_duplicates("image_id"), on="image_id", how="left")
    return frame.sort_values("image_id").reset_index(drop=True)


def _metadata_table(root: Path, metadata: Any, where: str) -> pd.DataFrame | None:
    if metadata is not None:
        return pd.read_csv(
            check_path(metadata, "metadata", where, kind="file", what="metadata CSV")
        )
    found = sorted(root.glob("*metadata*.csv"))
    return pd.read_csv(found[0]) if len(found) == 1 else None
