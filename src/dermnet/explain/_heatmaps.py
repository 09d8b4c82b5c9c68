"""Heatmaps from signed attributions: the positive part scaled to peak 1."""

from __future__ import annotations

import numpy as np

__all__ = ["normalize_positive"]


def normalize_positive(maps: np.ndarray) -> np.ndarray:
    """Keep the positive part and scale each map to peak 1 (all-zero maps stay zero)."""
    maps = np.maximum(np.asarray(maps, np.float32), 0.0)
    peak = maps.reshape(len(maps), -1).max(axis=1).reshape(-1, *([1] * (maps.ndim - 1)))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(peak > 0, maps / np.where(peak > 0, peak, 1.0), 0.0)
    return np.clip(out, 0.0, 1.0).astype(np.float32)
