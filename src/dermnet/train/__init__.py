"""Training on top of every other layer: `fit`, fine-tuning recipes, schedules, callbacks,
run folders (``dermnet train/evaluate/predict``) and the end-to-end demo.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.train.callbacks import EpochLogger, HistoryPlot
    from dermnet.train.demo import run_demo
    from dermnet.train.recipes import FineTuneResult, fine_tune
    from dermnet.train.run import evaluate_run, explain_run, predict_run, train_run
    from dermnet.train.run_config import (
        RunConfig,
        get_recipe,
        list_recipes,
        load_run_config,
        recipe_summary,
    )
    from dermnet.train.run_folder import RunFolder
    from dermnet.train.schedules import LinearWarmup, WarmupCosine
    from dermnet.train.trainer import fit
    from dermnet.train.tta import TTA_TRANSFORMS, predict_tta

__all__ = [
    "TTA_TRANSFORMS",
    "EpochLogger",
    "FineTuneResult",
    "HistoryPlot",
    "LinearWarmup",
    "RunConfig",
    "RunFolder",
    "WarmupCosine",
    "evaluate_run",
    "explain_run",
    "fine_tune",
    "fit",
    "get_recipe",
    "list_recipes",
    "load_run_config",
    "predict_run",
    "predict_tta",
    "recipe_summary",
    "run_demo",
    "train_run",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
