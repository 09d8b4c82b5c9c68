"""BatchNorm after training: re-estimate the moving statistics of the layers that trained,
in the model and in its best checkpoint (`fit` and `train_run` call it)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["recalibrate_after_training", "trains_batchnorm"]


def trains_batchnorm(model: Any) -> bool:
    from dermnet.models.batchnorm import batchnorm_layers

    return any(layer.trainable for layer in batchnorm_layers(model))


def recalibrate_after_training(
    model: Any,
    train: Any,
    *,
    steps: int | None = 200,
    checkpoint: str | os.PathLike[str] | None = None,
) -> int:
    """Re-estimate BatchNorm statistics of ``model``, and of the model saved at ``checkpoint``.

    The checkpoint holds the best epoch's weights, whose moving statistics lag as much as
    the final ones: its weights are loaded, recalibrated and saved again, then the model's
    own (recalibrated) weights are put back.

    Returns:
        The number of batches used.
    """
    from dermnet.models.batchnorm import recalibrate_batchnorm

    used = recalibrate_batchnorm(model, train, steps=steps)
    if checkpoint is not None and Path(checkpoint).is_file():
        final = model.get_weights()
        model.load_weights(str(checkpoint))
        recalibrate_batchnorm(model, train, steps=steps)
        from dermnet.train.run_folder import save_model_atomic

        save_model_atomic(model, checkpoint)
        model.set_weights(final)
    return used
