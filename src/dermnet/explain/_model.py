"""Moved to `dermnet.explain._inputs`, `_class_scores`, `_predictor`, `_heatmaps` and
`dermnet.explain.layers` (this re-export goes in a later release)."""

from dermnet.explain._class_scores import (
    SCORES,
    check_classes,
    logits_mode,
    num_outputs,
    output_layer,
    squash,
)
from dermnet.explain._heatmaps import normalize_positive
from dermnet.explain._inputs import PIXEL_TOLERANCE, ModelInputs, check_images
from dermnet.explain._predictor import Predictor, predictor, quiet_retracing, repeat_extras
from dermnet.explain.layers import capture_output

__all__ = [
    "PIXEL_TOLERANCE",
    "SCORES",
    "ModelInputs",
    "Predictor",
    "capture_output",
    "check_classes",
    "check_images",
    "logits_mode",
    "normalize_positive",
    "num_outputs",
    "output_layer",
    "predictor",
    "quiet_retracing",
    "repeat_extras",
    "squash",
]
