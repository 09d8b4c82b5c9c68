"""Training recipes built on `dermnet.train.fit`: two-phase fine-tuning."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dermnet._core.validation import check_float, check_int, check_option, fail

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

__all__ = ["FineTuneResult", "fine_tune"]


@dataclasses.dataclass
class FineTuneResult:
    """The two phases of `fine_tune`.

    Attributes:
        head: the Keras ``History`` of phase 1 (backbone frozen).
        finetune: the ``History`` of phase 2 (top of the backbone unfrozen).
        history: both phases as one ``{metric: [per-epoch values]}`` dict (epochs
            numbered on), ready for `dermnet.metrics.plot_history`.
        head_report: trainable parameters in phase 1.
        finetune_report: trainable parameters in phase 2.
    """

    head: Any
    finetune: Any
    history: dict[str, list[float]]
    head_report: Any
    finetune_report: Any


def _merge(*histories: Any) -> dict[str, list[float]]:
    keys: list[str] = []
    for h in histories:
        keys += [k for k in h.history if k not in keys]
    merged: dict[str, list[float]] = {k: [] for k in keys}
    for h in histories:
        n = len(next(iter(h.history.values()), []))
        for k in keys:
            merged[k] += [float(v) for v in h.history.get(k, [float("nan")] * n)]
    return merged


def fine_tune(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset | None = None,
    *,
    head_epochs: int = 3,
    epochs: int = 10,
    head_learning_rate: float = 1e-3,
    learning_rate: float = 1e-4,
    unfreeze_layers: int | float | str | None = 0.3,
    train_batchnorm: bool = False,
    warmup_epochs: float = 1.0,
    schedule: str = "cosine",
    class_weight: Mapping[int, float] | None = None,
    early_stopping: int | None = None,
    checkpoint: str | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    callbacks: Sequence[Any] = (),
    log: Callable[[str], None] | None = None,
    verbose: int | str = "auto",
    **fit_options: Any,
) -> FineTuneResult:
    """Two-phase transfer learning: train the head, then the top of the backbone.

    Phase 1 freezes the whole backbone (`dermnet.models.freeze_backbone`) and trains
    the head for ``head_epochs`` at ``head_learning_rate``. Phase 2 unfreezes the top of
    the backbone (`dermnet.models.unfreeze`, BatchNorm kept in inference mode) and
    trains for ``epochs`` more at the lower ``learning_rate``, with ``warmup_epochs`` of
    linear warm-up and a cosine or plateau decay. Epoch numbers run on across the phases.

    Args:
        model: a classifier from `dermnet.models.create_model`, typically with
            ``weights="imagenet"``.
        train: training batches.
        val: validation batches.
        head_epochs: epochs of phase 1, >= 1.
        epochs: epochs of phase 2, >= 1.
        head_learning_rate: learning rate of phase 1.
        learning_rate: peak learning rate of phase 2 (usually 10x lower).
        unfreeze_layers: what to unfreeze in phase 2: an int (the last n layers), a float
            in (0, 1] (that fraction of the layers), a layer name (from it to the end), or
            ``None`` (the whole backbone).
        train_batchnorm: let the BatchNorm layers train in phase 2 (off by default).
        warmup_epochs: warm-up of phase 2, in epochs (at most half of ``epochs``).
        schedule: ``"cosine"`` or ``"plateau"`` decay in phase 2.
        class_weight: per-class loss weights.
        early_stopping: patience in phase 2 (restores the best weights).
        checkpoint: a ``.keras`` path for the best model of phase 2.
        metrics: Keras metrics to track.
        callbacks: extra Keras callbacks for both phases.
        log: receives one line per epoch.
        verbose: Keras' progress output.
        fit_options: more `dermnet.train.fit` options for both phases (``seed``,
            ``csv_log``, ``strategy``, ``mixed_precision``, ``monitor``, ...).

    Returns:
        A `FineTuneResult`.

    Examples:
        >>> import numpy as np, tensorflow as tf
        >>> from dermnet.models import create_model
        >>> pixels = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
        >>> ds = tf.data.Dataset.from_tensors((pixels, np.array([0, 1, 0, 1]))).repeat(2)
        >>> model = create_model("compact_cnn", 2, input_shape=(32, 32, 3))
        >>> result = fine_tune(model, ds, ds, head_epochs=1, epochs=1, verbose=0)
        >>> len(result.history["loss"]), result.finetune_report.batchnorm_trainable
        (2, 0)
    """
    from dermnet.models.finetune import freeze_backbone, parameter_report, unfreeze
    from dermnet.train.trainer import fit

    where = "fine_tune"
    head_epochs = check_int(head_epochs, "head_epochs", where, low=1)
    epochs = check_int(epochs, "epochs", where, low=1)
    head_learning_rate = check_float(
        head_learning_rate, "head_learning_rate", where, low=0.0, low_open=True
    )
    learning_rate = check_float(learning_rate, "learning_rate", where, low=0.0, low_open=True)
    schedule = check_option(schedule, ("cosine", "plateau"), "schedule", where)
    if isinstance(unfreeze_layers, bool):
        raise fail(
            "unfreeze_layers", where, "an int, a float in (0, 1], a layer name or None", True
        )
    if isinstance(unfreeze_layers, int):
        how: dict[str, Any] = {"last_n": unfreeze_layers}
    elif isinstance(unfreeze_layers, float):
        how = {"fraction": unfreeze_layers}
    elif isinstance(unfreeze_layers, str):
        how = {"from_layer": unfreeze_layers}
    elif unfreeze_layers is None:
        how = {}
    else:
        raise fail(
            "unfreeze_layers",
            where,
            "an int, a float in (0, 1], a layer name or None",
            unfreeze_layers,
        )
    warmup_epochs = min(check_float(warmup_epochs, "warmup_epochs", where, low=0.0), epochs / 2)
    common = {
        "class_weight": class_weight,
        "metrics": metrics,
        "callbacks": callbacks,
        "log": log,
        "verbose": verbose,
        **fit_options,
    }

    freeze_backbone(model)
    head_report = parameter_report(model)
    head = fit(model, train, val, epochs=head_epochs, learning_rate=head_learning_rate, **common)
    unfreeze(model, train_batchnorm=train_batchnorm, **how)
    finetune_report = parameter_report(model)
    tuned = fit(
        model,
        train,
        val,
        epochs=head_epochs + epochs,
        initial_epoch=head_epochs,
        learning_rate=learning_rate,
        lr_schedule=schedule,
        warmup_epochs=warmup_epochs,
        early_stopping=early_stopping,
        checkpoint=checkpoint,
        **common,
    )
    return FineTuneResult(
        head=head,
        finetune=tuned,
        history=_merge(head, tuned),
        head_report=head_report,
        finetune_report=finetune_report,
    )
