"""Imbalanced data: class weights, leakage-guarded over/undersampling (on records and as a
balanced ``tf.data`` stream), focal and class-balanced losses, post-hoc logit adjustment
and threshold tuning.

Importing this package does not import TensorFlow; names load on first use.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet._core.errors import LeakageWarning
    from dermnet.imbalance.adjust import logit_adjust
    from dermnet.imbalance.guard import ensure_training_split
    from dermnet.imbalance.losses import BinaryFocalLoss, CategoricalFocalLoss, ClassBalancedLoss
    from dermnet.imbalance.sampling import oversample, resample, resample_indices, undersample
    from dermnet.imbalance.stream import balanced_dataset, sampling_weights
    from dermnet.imbalance.thresholds import Threshold, tune_threshold
    from dermnet.imbalance.weights import class_weights

__all__ = [
    "BinaryFocalLoss",
    "CategoricalFocalLoss",
    "ClassBalancedLoss",
    "LeakageWarning",
    "Threshold",
    "balanced_dataset",
    "class_weights",
    "ensure_training_split",
    "logit_adjust",
    "oversample",
    "resample",
    "resample_indices",
    "sampling_weights",
    "tune_threshold",
    "undersample",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
