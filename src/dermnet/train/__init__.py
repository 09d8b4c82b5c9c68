"""Training on top of every other layer: `fit` and the end-to-end demo."""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.train.demo import run_demo
    from dermnet.train.trainer import fit

__all__ = [
    "fit",
    "run_demo",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
