"""dermnet: tested deep-learning building blocks for medical image classification.

Layers (each a subpackage): `dermnet.data`, `dermnet.transforms`,
`dermnet.imbalance`, `dermnet.models`, `dermnet.metrics`,
`dermnet.explain`, `dermnet.train`. The names below are the stable public API;
importing dermnet does not import TensorFlow (it loads on first use).
"""

from typing import TYPE_CHECKING

from dermnet import data, explain, imbalance, metrics, models, train, transforms
from dermnet._core.errors import (
    DataError,
    DermnetError,
    LeakageError,
    LeakageWarning,
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
        DataConfig,
        MetadataEncoder,
        Records,
        check_leakage,
        describe,
        kfold,
        list_datasets,
        load_dataset,
        load_images,
        load_sample,
        make_dataset,
        split,
        validate,
    )
    from dermnet.explain import GradCAM, explain_images, overlay
    from dermnet.imbalance import balanced_dataset, class_weights, tune_threshold
    from dermnet.metrics import EvaluationReport, evaluate, evaluate_model
    from dermnet.models import (
        create_model,
        get_model_spec,
        list_models,
        load_model,
        register_custom_objects,
        resolve_data_config,
    )
    from dermnet.train import fit
    from dermnet.transforms import preset

__all__ = [
    "DataConfig",
    "DataError",
    "DermnetError",
    "EvaluationReport",
    "GradCAM",
    "LeakageError",
    "LeakageWarning",
    "MetadataEncoder",
    "MissingFileError",
    "OptionalDependencyError",
    "ParameterError",
    "Records",
    "UnknownNameError",
    "__version__",
    "balanced_dataset",
    "check_leakage",
    "class_weights",
    "create_model",
    "data",
    "describe",
    "evaluate",
    "evaluate_model",
    "explain",
    "explain_images",
    "fit",
    "get_model_spec",
    "imbalance",
    "kfold",
    "list_datasets",
    "list_models",
    "load_dataset",
    "load_images",
    "load_model",
    "load_sample",
    "make_dataset",
    "metrics",
    "models",
    "overlay",
    "preset",
    "register_custom_objects",
    "resolve_data_config",
    "seed_everything",
    "split",
    "train",
    "transforms",
    "tune_threshold",
    "validate",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
