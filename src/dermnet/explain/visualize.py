"""Drawing heatmaps over images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.validation import check_float, fail

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["overlay", "plot_attributions", "plot_explanations"]


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


def _batch(array: Any, rank: int, dtype: Any = None) -> np.ndarray:
    """``array`` as a batch of rank ``rank``: one item (rank - 1) gets a leading axis."""
    array = np.asarray(array, dtype=dtype)
    return array[None] if array.ndim == rank - 1 else array


def _titles(
    n: int,
    titles: Sequence[str] | None,
    predictions: Any,
    class_names: Sequence[str] | None,
) -> list[str] | None:
    if titles is not None:
        titles = list(titles)
        if len(titles) != n:
            raise fail("titles", "plot_explanations", f"{n} titles (one per image)", len(titles))
        return titles
    if predictions is None:
        return None
    probs = np.asarray(predictions, dtype=np.float64)
    if probs.ndim != 2 or len(probs) != n:
        raise fail(
            "predictions", "plot_explanations", f"an array of shape ({n}, classes)", probs.shape
        )
    names = list(class_names) if class_names is not None else None
    if names is not None and len(names) != probs.shape[1]:
        raise fail("class_names", "plot_explanations", f"{probs.shape[1]} names", len(names))
    out = []
    for row in probs:
        c = int(row.argmax())
        label = names[c] if names is not None else str(c)
        out.append(f"pred {label} ({row[c]:.2f})")
    return out


def plot_explanations(
    images: Any,
    heatmaps: Any,
    *,
    titles: Sequence[str] | None = None,
    predictions: Any = None,
    class_names: Sequence[str] | None = None,
    show_heatmap: bool = False,
    alpha: float = 0.4,
    colormap: str = "jet",
) -> Figure:
    """A grid: one column per image; rows: the image, optionally the heatmap, the overlay.

    Args:
        images: ``(n, h, w, 3)`` in [0, 255].
        heatmaps: ``(n, h, w)`` in [0, 1] (from any method).
        titles: one title per column; by default made from ``predictions``.
        predictions: ``(n, classes)`` probabilities; the title then reads "pred mel (0.91)".
        class_names: names of the classes, for the titles.
        show_heatmap: add a row with the bare heatmap.
        alpha: weight of the heatmap in the overlay.
        colormap: a matplotlib colormap name.

    Examples:
        >>> import numpy as np
        >>> fig = plot_explanations(np.zeros((2, 8, 8, 3)), np.ones((2, 8, 8)),
        ...                         predictions=[[0.2, 0.8], [0.9, 0.1]],
        ...                         class_names=["nv", "mel"])
        >>> [ax.get_title() for ax in fig.axes[:2]]
        ['pred mel (0.80)', 'pred nv (0.90)']
    """
    from matplotlib.figure import Figure

    images = _batch(images, 4)
    maps = _batch(heatmaps, 3, np.float32)
    n = len(images)
    if len(maps) != n:
        raise fail("heatmaps", "plot_explanations", f"{n} heatmaps (one per image)", len(maps))
    labels = _titles(n, titles, predictions, class_names)
    rows = 3 if show_heatmap else 2
    fig = Figure(figsize=(2.2 * n, 2.3 * rows), layout="constrained")
    axes = fig.subplots(rows, n, squeeze=False)
    for i in range(n):
        axes[0, i].imshow(np.clip(images[i], 0, 255).astype(np.uint8))
        if show_heatmap:
            axes[1, i].imshow(maps[i], cmap=colormap, vmin=0.0, vmax=1.0)
        axes[-1, i].imshow(overlay(images[i], maps[i], alpha=alpha, colormap=colormap))
        if labels is not None:
            axes[0, i].set_title(labels[i], fontsize=8)
        for ax in axes[:, i]:
            ax.set_axis_off()
    return fig


def plot_attributions(
    images: Any,
    attributions: Any,
    *,
    titles: Sequence[str] | None = None,
    segments: Any = None,
) -> Figure:
    """Signed attributions (SHAP values, LIME weights): red for the class, blue against.

    Each column shows the image and, below it, the attribution on a symmetric red-blue
    scale over a faded grey copy of the image (optionally with superpixel boundaries).

    Args:
        images: ``(n, h, w, 3)`` in [0, 255].
        attributions: ``(n, h, w)`` signed values (or ``(n, h, w, c)``, summed over c).
        titles: one title per column.
        segments: ``(n, h, w)`` superpixel labels whose boundaries are drawn (LIME).
    """
    from matplotlib.figure import Figure

    images = _batch(images, 4, np.float32)
    values = np.asarray(attributions, dtype=np.float32)
    if values.ndim == images.ndim and values.shape[-1] == images.shape[-1]:
        values = values.sum(axis=-1)  # (n, h, w, c): summed over the channels
    values = _batch(values, 3)
    n = len(images)
    if values.shape != images.shape[:3]:
        raise fail("attributions", "plot_attributions", f"shape {images.shape[:3]}", values.shape)
    fig = Figure(figsize=(2.2 * n, 4.8), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        image = np.clip(images[i], 0, 255).astype(np.uint8)
        gray = image.mean(axis=-1)
        limit = float(np.abs(values[i]).max()) or 1.0
        axes[0, i].imshow(image)
        axes[1, i].imshow(gray, cmap="gray", alpha=0.3)
        shown = axes[1, i].imshow(values[i], cmap="bwr", vmin=-limit, vmax=limit, alpha=0.8)
        if segments is not None:
            from skimage.segmentation import find_boundaries

            edges = find_boundaries(np.asarray(segments)[i], mode="inner")
            axes[1, i].contour(edges, levels=[0.5], colors="k", linewidths=0.4)
        if titles is not None:
            axes[0, i].set_title(titles[i], fontsize=8)
        for ax in axes[:, i]:
            ax.set_axis_off()
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8, label="attribution")
    return fig
