"""Imbalanced data: class weights (and, in later versions, resampling and focal loss)."""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.imbalance.weights import class_weights

__all__ = [
    "class_weights",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
