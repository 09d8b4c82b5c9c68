"""What `fit` sets up around ``model.fit``: the optimizer and learning-rate schedule by
name, and the model's placement under a ``tf.distribute`` strategy and/or a mixed-precision
policy (a clone whose weights are copied back after training)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_option

__all__ = [
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "batches_per_epoch",
    "make_optimizer",
    "placed_model",
    "precision_policy",
    "schedule_callbacks",
]


#: Learning-rate schedules `fit` builds by name.
LR_SCHEDULES = ("constant", "cosine", "plateau")
#: Optimizers `fit` builds by name.
OPTIMIZERS = ("adam", "adamw", "sgd")
_POLICIES = ("mixed_float16", "mixed_bfloat16")


def make_optimizer(optimizer: Any, learning_rate: Any, weight_decay: float | None = None) -> Any:
    import keras

    if isinstance(optimizer, keras.optimizers.Optimizer):
        if weight_decay is not None:
            raise ParameterError(
                "The 'weight_decay' parameter of fit applies to a named optimizer; give it "
                "to your own optimizer instead."
            )
        return optimizer
    name = check_option(optimizer, OPTIMIZERS, "optimizer", "fit")
    decay = {} if weight_decay is None else {"weight_decay": weight_decay}
    if name == "adam":
        if weight_decay:
            raise ParameterError(
                "The 'weight_decay' parameter of fit needs optimizer 'adamw' or 'sgd' "
                f"(decoupled decay); Adam has none. Got weight_decay={weight_decay}."
            )
        return keras.optimizers.Adam(learning_rate)
    if name == "adamw":
        return keras.optimizers.AdamW(learning_rate, **decay)
    return keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True, **decay)


def batches_per_epoch(train: Any, steps_per_epoch: int | None) -> int:
    if steps_per_epoch is not None:
        return steps_per_epoch
    cardinality = getattr(train, "cardinality", None)
    n = int(cardinality().numpy()) if cardinality is not None else -1
    if n < 1:
        raise ParameterError(
            "fit needs the number of batches per epoch for a cosine schedule or warm-up, "
            "and the 'train' dataset does not know it (infinite, or filtered). Pass "
            "steps_per_epoch=..."
        )
    return n


def precision_policy(mixed_precision: bool | str) -> str | None:
    if mixed_precision is False or mixed_precision is None:
        return None
    if mixed_precision is True:
        import tensorflow as tf

        return "mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16"
    return check_option(mixed_precision, _POLICIES, "mixed_precision", "fit")


def _in_scope(model: Any, strategy: Any) -> bool:
    return all(strategy.extended.variable_created_in_scope(v.value) for v in model.weights[:3])


def placed_model(model: Any, strategy: Any, policy: str | None) -> Any:
    """The model to train: ``model`` itself, or a clone under the strategy and/or policy."""
    import keras

    needs_policy = policy is not None and any(
        getattr(layer, "dtype_policy", None) is not None and layer.dtype_policy.name != policy
        for layer in model.layers[1:-1]
    )
    needs_scope = strategy is not None and not _in_scope(model, strategy)
    if not needs_policy and not needs_scope:
        return model
    last = model.layers[-1]

    def clone_layer(layer: Any) -> Any:
        config = layer.get_config()
        if needs_policy and "dtype" in config and not isinstance(layer, keras.layers.InputLayer):
            # The last layer (softmax/sigmoid) stays float32 for numerical stability.
            config["dtype"] = "float32" if layer is last else policy
        return layer.__class__.from_config(config)

    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:
        clone = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
        clone.set_weights(model.get_weights())
    return clone


def schedule_callbacks(
    lr_schedule: Any,
    learning_rate: float,
    warmup_steps: int,
    total_steps: Callable[[], int],
    monitor: str,
) -> tuple[Any, list[Any]]:
    """The optimizer's learning rate (a number or a schedule) and the callbacks needed."""
    import keras

    from dermnet.train.schedules import LinearWarmup, WarmupCosine

    if isinstance(lr_schedule, keras.optimizers.schedules.LearningRateSchedule):
        return lr_schedule, []
    if callable(lr_schedule):
        return learning_rate, [keras.callbacks.LearningRateScheduler(lr_schedule)]
    name = check_option(lr_schedule or "constant", LR_SCHEDULES, "lr_schedule", "fit")
    warmup = [LinearWarmup(learning_rate, warmup_steps)] if warmup_steps else []
    if name == "cosine":
        steps = total_steps()
        if warmup_steps >= steps:
            raise ParameterError(
                f"The 'warmup_epochs' parameter of fit must leave steps to decay: warm-up "
                f"takes {warmup_steps} of the run's {steps} steps."
            )
        return WarmupCosine(learning_rate, steps, warmup_steps), []
    if name == "plateau":
        plateau = keras.callbacks.ReduceLROnPlateau(
            monitor=monitor, factor=0.2, patience=2, min_lr=learning_rate * 1e-3, verbose=0
        )
        return learning_rate, [*warmup, plateau]
    return learning_rate, warmup
