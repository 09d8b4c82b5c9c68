"""dermnet: tested deep-learning building blocks for medical image classification.

Layers (each a subpackage): :mod:`dermnet.data`, :mod:`dermnet.transforms`,
:mod:`dermnet.imbalance`, :mod:`dermnet.models`, :mod:`dermnet.metrics`,
:mod:`dermnet.explain`, :mod:`dermnet.train`. The names below are the stable public API;
importing dermnet does not import TensorFlow (it loads on first use).
"""

from typing import TYPE_CHECKING

from dermnet import data, explain, imbalance, metrics, models, train, transforms
from dermnet._core.errors import (
    DataError,
    DermnetError,
    LeakageError,
    MissingFileError,
    OptionalDependencyError,
    ParameterError,
    UnknownNameError,
)
from dermnet._core.imports import lazy_exports
from dermnet._core.seeding import seed_everything
from dermnet._version import __version__

if TYPE_CHECKING:
    from dermnet.data import (
        Records,
        check_leakage,
        list_datasets,
        load_dataset,
        load_sample,
        make_dataset,
        split,
    )
    from dermnet.explain import GradCAM, overlay
    from dermnet.imbalance import class_weights
    from dermnet.metrics import EvaluationReport, evaluate
    from dermnet.models import create_model, get_model_spec, list_models, load_model
    from dermnet.train import fit

__all__ = [
    "DataError",
    "DermnetError",
    "EvaluationReport",
    "GradCAM",
    "LeakageError",
    "MissingFileError",
    "OptionalDependencyError",
    "ParameterError",
    "Records",
    "UnknownNameError",
    "__version__",
    "check_leakage",
    "class_weights",
    "create_model",
    "data",
    "evaluate",
    "explain",
    "fit",
    "get_model_spec",
    "imbalance",
    "list_datasets",
    "list_models",
    "load_dataset",
    "load_model",
    "load_sample",
    "make_dataset",
    "metrics",
    "models",
    "overlay",
    "seed_everything",
    "split",
    "train",
    "transforms",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
