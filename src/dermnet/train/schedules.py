"""Learning-rate schedules: linear warm-up then cosine decay, and warm-up for plateau decay.

Defines Keras subclasses, so it imports Keras at module level (the package loads it only
when one of these names is used).
"""

from __future__ import annotations

import math
from typing import Any

import keras

from dermnet._core.validation import check_float, check_int

__all__ = ["LinearWarmup", "WarmupCosine"]


@keras.saving.register_keras_serializable(package="dermnet")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from ``learning_rate / warmup_steps`` to ``learning_rate``, then a
    cosine decay to ``min_learning_rate`` at ``total_steps``.

    Steps count optimizer updates (batches). The schedule is saved with the optimizer in
    ``.keras`` files, so a resumed run continues where it stopped.

    Args:
        learning_rate: the peak learning rate, > 0.
        total_steps: steps of the whole run (warm-up included), >= 1.
        warmup_steps: steps of linear warm-up, in [0, total_steps].
        min_learning_rate: the final learning rate, in [0, learning_rate].
        name: the schedule's name.

    Examples:
        >>> schedule = WarmupCosine(1e-3, total_steps=100, warmup_steps=10)
        >>> [round(float(schedule(s)), 6) for s in (0, 9, 10, 55, 100)]
        [0.0001, 0.001, 0.001, 0.0005, 0.0]
    """

    def __init__(
        self,
        learning_rate: float,
        total_steps: int,
        warmup_steps: int = 0,
        min_learning_rate: float = 0.0,
        name: str = "WarmupCosine",
    ) -> None:
        super().__init__()
        where = "WarmupCosine"
        self.learning_rate = check_float(
            learning_rate, "learning_rate", where, low=0.0, low_open=True
        )
        self.total_steps = check_int(total_steps, "total_steps", where, low=1)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", where, low=0, high=total_steps)
        self.min_learning_rate = check_float(
            min_learning_rate, "min_learning_rate", where, low=0.0, high=self.learning_rate
        )
        self.name = name

    def __call__(self, step: Any) -> Any:
        ops = keras.ops
        step = ops.cast(step, "float32")
        peak = self.learning_rate
        warm = self.warmup_steps
        decay_steps = max(1, self.total_steps - warm)
        progress = ops.clip((step - warm) / decay_steps, 0.0, 1.0)
        cosine = self.min_learning_rate + 0.5 * (peak - self.min_learning_rate) * (
            1.0 + ops.cos(math.pi * progress)
        )
        if warm == 0:
            return cosine
        warmup = peak * ops.minimum(step + 1.0, float(warm)) / float(warm)
        return ops.where(step < warm, warmup, cosine)

    def get_config(self) -> dict[str, Any]:
        return {
            "learning_rate": self.learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "min_learning_rate": self.min_learning_rate,
            "name": self.name,
        }


class LinearWarmup(keras.callbacks.Callback):
    """Raise the learning rate linearly over the first ``warmup_steps`` batches.

    For optimizers with a plain (non-schedule) learning rate, e.g. together with
    ``keras.callbacks.ReduceLROnPlateau``; with a cosine decay use `WarmupCosine`.

    Args:
        learning_rate: the learning rate reached after warm-up, > 0.
        warmup_steps: batches of warm-up, >= 1.
    """

    def __init__(self, learning_rate: float, warmup_steps: int) -> None:
        super().__init__()
        self.learning_rate = check_float(
            learning_rate, "learning_rate", "LinearWarmup", low=0.0, low_open=True
        )
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", "LinearWarmup", low=1)
        self._step = 0

    def on_train_begin(self, logs: Any = None) -> None:
        self._step = int(self.model.optimizer.iterations.numpy())  # resumed runs

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        if self._step < self.warmup_steps:
            rate = self.learning_rate * (self._step + 1) / self.warmup_steps
            self.model.optimizer.learning_rate = rate
            self._step += 1

    def get_config(self) -> dict[str, Any]:
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}
