"""Drawing heatmaps over images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.validation import check_float, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["overlay", "plot_explanations"]


def overlay(image: Any, heatmap: Any, *, alpha: float = 0.4, colormap: str = "jet") -> np.ndarray:
    """Blend a [0, 1] heatmap, coloured with a matplotlib colormap, over an image.

    Args:
        image: ``HxWx3`` image, uint8 or float in [0, 255].
        heatmap: ``HxW`` values in [0, 1] (resized to the image if needed).
        alpha: weight of the heatmap, in [0, 1].
        colormap: a matplotlib colormap name.

    Returns:
        The blended ``HxWx3`` uint8 image.
    """
    import cv2
    from matplotlib import colormaps

    alpha = check_float(alpha, "alpha", "overlay", low=0.0, high=1.0)
    img = np.asarray(image, dtype=np.float32)
    heat = np.asarray(heatmap, dtype=np.float32)
    if img.ndim != 3 or img.shape[-1] != 3:
        raise fail("image", "overlay", "an HxWx3 image", f"shape {img.shape}")
    if heat.ndim != 2:
        raise fail("heatmap", "overlay", "an HxW heatmap", f"shape {heat.shape}")
    if heat.shape != img.shape[:2]:
        heat = cv2.resize(heat, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    try:
        cmap = colormaps[colormap]
    except KeyError:
        raise fail(
            "colormap", "overlay", "a matplotlib colormap name such as 'jet'", colormap
        ) from None
    colored = cmap(np.clip(heat, 0.0, 1.0))[..., :3] * 255.0
    return np.clip((1 - alpha) * img + alpha * colored, 0, 255).astype(np.uint8)


def plot_explanations(
    images: Any,
    heatmaps: Any,
    *,
    titles: Sequence[str] | None = None,
    alpha: float = 0.4,
    colormap: str = "jet",
) -> Figure:
    """A grid: each column one image, top row the image, bottom row the overlay."""
    from matplotlib.figure import Figure

    images = np.asarray(images)
    n = len(images)
    fig = Figure(figsize=(2.2 * n, 4.6), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        axes[0, i].imshow(np.clip(images[i], 0, 255).astype(np.uint8))
        axes[1, i].imshow(overlay(images[i], heatmaps[i], alpha=alpha, colormap=colormap))
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=8)
        for ax in axes[:, i]:
            ax.set_axis_off()
    return fig
