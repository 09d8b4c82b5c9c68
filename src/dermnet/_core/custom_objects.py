"""The one list of dermnet modules that register Keras objects, and the call that loads them.

Keras rebuilds a saved model by looking up each custom class under its registered name
(``"dermnet>WarmupCosine"``); a class is registered only once the module that defines it
has been imported. `register_custom_objects` imports every such module, so a ``.keras``
file saved from any dermnet model (its layers, loss, metrics and the optimizer's
learning-rate schedule) loads in a fresh process.

The modules are named as strings and imported on call, so ``_core`` depends on no layer
above it and ``import dermnet`` stays light (no TensorFlow). A module under
``src/dermnet`` that registers a Keras object and is missing from
`KERAS_OBJECT_MODULES` fails ``tests/models/test_io.py``.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["KERAS_OBJECT_MODULES", "register_custom_objects"]

#: Every dermnet module that registers Keras objects under ``package="dermnet"``.
KERAS_OBJECT_MODULES: tuple[str, ...] = (
    "dermnet.transforms.augment",  # augmentation layers
    "dermnet.imbalance.losses",  # focal and class-balanced losses
    "dermnet.models.layers",  # ImagePreprocessing
    "dermnet.metrics.streaming",  # BalancedAccuracy, MacroAUC
    "dermnet.train.schedules",  # WarmupCosine (saved with the optimizer)
    "dermnet.train.ensemble_layer",  # EnsembleMean (the model of an ensemble run)
)


def register_custom_objects() -> dict[str, Any]:
    """Register every Keras object dermnet defines, so saved dermnet models load.

    `dermnet.load_model` calls it for you. Call it yourself before
    ``keras.models.load_model`` or ``keras.saving.deserialize_keras_object`` on something
    saved from a dermnet model; calling it again is cheap.

    Returns:
        The registered dermnet objects by their Keras name (``"dermnet>WarmupCosine"``
        and so on), which is also a ``custom_objects`` mapping for Keras' loaders.

    Examples:
        >>> objects = register_custom_objects()
        >>> "dermnet>WarmupCosine" in objects, "dermnet>ImagePreprocessing" in objects
        (True, True)
    """
    for module in KERAS_OBJECT_MODULES:
        importlib.import_module(module)
    import keras

    return {
        name: obj
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("dermnet>")
    }
