"""Training on top of every other layer: `fit`, fine-tuning recipes, schedules, callbacks,
run folders (``dermnet train/evaluate/predict``), cross-validation and ensembles,
multi-worker training and the end-to-end demo.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.train.callbacks import EpochLogger, HistoryPlot
    from dermnet.train.cluster import multi_worker_strategy, read_tf_config
    from dermnet.train.cv import CVResult, cross_validate, read_oof
    from dermnet.train.demo import run_demo
    from dermnet.train.distributed import WorkerLostError, fit_multi_worker
    from dermnet.train.ensemble import EnsembleExplainer, build_ensemble, ensemble_gradcam
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
    from dermnet.train.stacking import StackingResult, ablation_table, stack_oof
    from dermnet.train.trainer import fit
    from dermnet.train.tta import TTA_TRANSFORMS, predict_tta

__all__ = [
    "TTA_TRANSFORMS",
    "CVResult",
    "EnsembleExplainer",
    "EpochLogger",
    "FineTuneResult",
    "HistoryPlot",
    "LinearWarmup",
    "RunConfig",
    "RunFolder",
    "StackingResult",
    "WarmupCosine",
    "WorkerLostError",
    "ablation_table",
    "build_ensemble",
    "cross_validate",
    "ensemble_gradcam",
    "evaluate_run",
    "explain_run",
    "fine_tune",
    "fit",
    "fit_multi_worker",
    "get_recipe",
    "list_recipes",
    "load_run_config",
    "multi_worker_strategy",
    "predict_run",
    "predict_tta",
    "read_oof",
    "read_tf_config",
    "recipe_summary",
    "run_demo",
    "stack_oof",
    "train_run",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
