"""Explanations: Grad-CAM heatmaps, overlays (LIME and SHAP follow)."""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.explain.cam import GradCAM
    from dermnet.explain.layers import find_target_layer, resolve_layer
    from dermnet.explain.visualize import overlay, plot_explanations

__all__ = [
    "GradCAM",
    "find_target_layer",
    "overlay",
    "plot_explanations",
    "resolve_layer",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
