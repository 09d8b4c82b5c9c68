"""Explanations: the Grad-CAM family, LIME, SHAP, overlays and faithfulness checks.

Every method works on classifiers with a backbone nested at any depth and on
image+metadata models, takes images in [0, 255] (the model preprocesses them), and gives
heatmaps in [0, 1] at the input resolution.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.explain.cam import (
        BaseCAM,
        EigenCAM,
        GradCAM,
        GradCAMPlusPlus,
        LayerCAM,
        ScoreCAM,
    )
    from dermnet.explain.faithfulness import (
        FaithfulnessCurve,
        RandomizationCheck,
        deletion_curve,
        insertion_curve,
        randomization_check,
    )
    from dermnet.explain.files import load_explained_model, write_explanations
    from dermnet.explain.layers import find_target_layer, iter_layers, resolve_layer
    from dermnet.explain.lime_explainer import LimeExplainer, LimeExplanation
    from dermnet.explain.localization import (
        center_gaussian_map,
        load_lesion_masks,
        localization_report,
        localization_scores,
        random_map,
        read_mask,
        resize_map,
    )
    from dermnet.explain.mask_scores import match_masks
    from dermnet.explain.methods import explain_images, get_explainer, list_methods
    from dermnet.explain.shap_explainer import ShapExplainer, ShapExplanation
    from dermnet.explain.visualize import overlay, plot_attributions, plot_explanations

__all__ = [
    "BaseCAM",
    "EigenCAM",
    "FaithfulnessCurve",
    "GradCAM",
    "GradCAMPlusPlus",
    "LayerCAM",
    "LimeExplainer",
    "LimeExplanation",
    "RandomizationCheck",
    "ScoreCAM",
    "ShapExplainer",
    "ShapExplanation",
    "center_gaussian_map",
    "deletion_curve",
    "explain_images",
    "find_target_layer",
    "get_explainer",
    "insertion_curve",
    "iter_layers",
    "list_methods",
    "load_explained_model",
    "load_lesion_masks",
    "localization_report",
    "localization_scores",
    "match_masks",
    "overlay",
    "plot_attributions",
    "plot_explanations",
    "random_map",
    "randomization_check",
    "read_mask",
    "resize_map",
    "resolve_layer",
    "write_explanations",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
