"""`fit`: `keras.Model.fit` with dermnet's defaults for imbalanced medical images.

Everything is plain Keras underneath (``model.compile`` + ``model.fit`` with Keras
callbacks), so a dermnet training loop runs as fast as a hand-written one
(``benchmarks/bench_train.py`` measures it) and any Keras callback plugs in.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

from dermnet.train.batchnorm import recalibrate_after_training, trains_batchnorm
from dermnet.train.fit_setup import (
    LR_SCHEDULES,
    OPTIMIZERS,
    batches_per_epoch,
    make_optimizer,
    placed_model,
    precision_policy,
    schedule_callbacks,
)
from dermnet.train.worker_fit import STRATEGY_NAMES, fit_on_workers

__all__ = ["LR_SCHEDULES", "OPTIMIZERS", "fit"]


def _output_units(model: Any) -> int:
    shape = model.output_shape
    return int(shape[-1]) if shape[-1] is not None else 0


def _check_data(model: Any, data: Any, param: str) -> int | None:
    """Check a dataset's element spec against the model; return the label rank if known."""
    spec = getattr(data, "element_spec", None)
    if not isinstance(spec, tuple) or len(spec) < 2:
        return None
    x_spec, y_spec = spec[0], spec[1]
    names = [t.name for t in model.inputs]
    if isinstance(getattr(model, "_inputs_struct", None), dict):
        if not isinstance(x_spec, dict) or set(x_spec) != set(names):
            got = sorted(x_spec) if isinstance(x_spec, dict) else "plain image batches"
            raise DataError(
                f"The {param!r} dataset must yield ({{{', '.join(map(repr, names))}}}, label) "
                f"batches for model {model.name!r} (an image+metadata model). Got {got} "
                "instead; build it with make_dataset(..., with_metadata=True)."
            )
        pairs = [(x_spec[n], t) for n, t in zip(names, model.inputs, strict=True)]
    else:
        if isinstance(x_spec, dict):
            raise DataError(
                f"The {param!r} dataset yields dicts {sorted(x_spec)}, but model "
                f"{model.name!r} takes one image input."
            )
        pairs = [(x_spec, model.inputs[0])]
    for got, expected in pairs:
        want = tuple(expected.shape[1:])
        have = tuple(got.shape[1:]) if got.shape.rank is not None else None
        if have is not None and all(d is not None for d in have) and have != want:
            raise DataError(
                f"The {param!r} dataset yields inputs of shape {have}; model {model.name!r} "
                f"expects {want} for {expected.name!r}. Build the dataset with that image "
                "size, or the model with that input_shape."
            )
    rank = y_spec.shape.rank
    units = _output_units(model)
    if rank == 2 and y_spec.shape[-1] is not None and units > 1 and y_spec.shape[-1] != units:
        raise DataError(
            f"The {param!r} dataset has one-hot labels for {y_spec.shape[-1]} classes; model "
            f"{model.name!r} outputs {units}. Build the model with "
            f"num_classes={y_spec.shape[-1]}."
        )
    return rank


def _label_error(text: str) -> str | None:
    """The out-of-range label in a TensorFlow error message, or ``None``."""
    import re

    found = re.search(
        r"label value of (-?\d+) which is outside the valid range of \[0, (\d+)\)", text
    )
    if found is None and "crossentropy" in text:
        found = re.search(r"indices\[\d+\] = (-?\d+) is not in \[0, (\d+)\)", text)
    if found is None:
        return None
    return f"a label value of {found[1]} is outside the valid range [0, {found[2]})."


def _default_loss(model: Any, label_rank: int | None) -> str:
    if _output_units(model) == 1:
        return "binary_crossentropy"
    if label_rank == 2:
        return "categorical_crossentropy"
    return "sparse_categorical_crossentropy"


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset | None = None,
    *,
    epochs: int = 10,
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    callbacks: Sequence[keras.callbacks.Callback] = (),
    compile: bool = True,
    verbose: int | str = "auto",
    loss: Any = None,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    weight_decay: float | None = None,
    lr_schedule: str | Any | None = None,
    warmup_epochs: float = 0,
    early_stopping: int | None = None,
    monitor: str | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    csv_log: str | os.PathLike[str] | None = None,
    plot: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
    seed: int | None = None,
    mixed_precision: bool | str = False,
    strategy: tf.distribute.Strategy | str | None = None,
    initial_epoch: int = 0,
    steps_per_epoch: int | None = None,
    recalibrate_bn: bool | str = "auto",
    recalibrate_steps: int | None = 200,
) -> keras.callbacks.History:
    """Compile and train a classifier with Keras, with the usual extras built in.

    The loss follows the model and labels: binary cross-entropy for a one-unit sigmoid
    output, categorical cross-entropy for one-hot labels, sparse categorical
    cross-entropy for integer labels.

    Args:
        model: a classifier from `dermnet.models.create_model` (or any Keras model
            with a softmax or sigmoid output).
        train: batches of ``(inputs, labels)``, e.g. from `dermnet.data.make_dataset`
            (inputs are images, or ``{"image", "metadata"}`` dicts for fusion models).
        val: optional validation batches, evaluated after every epoch.
        epochs: the epoch to stop after (as in Keras: with ``initial_epoch=3`` and
            ``epochs=5``, two epochs run), >= 1.
        learning_rate: the (peak) learning rate, > 0.
        class_weight: per-class loss weights, e.g. from
            `dermnet.imbalance.class_weights`.
        metrics: Keras metrics to track.
        callbacks: extra Keras callbacks.
        compile: compile the model first; pass ``False`` to keep your own ``compile()``
            (then ``loss``, ``optimizer``, ``learning_rate`` and a named ``lr_schedule``
            do not apply).
        verbose: Keras' progress output (``"auto"``, 0, 1 or 2).
        loss: a Keras loss to use instead of the default.
        optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"`` (Nesterov, momentum 0.9)
            or a Keras optimizer.
        weight_decay: decoupled weight decay of ``"adamw"`` or ``"sgd"``; ``None`` keeps
            Keras' default (0.004 for AdamW, none for SGD).
        lr_schedule: ``None``/``"constant"``, ``"cosine"`` (linear warm-up then cosine
            decay to 0 at the last epoch, `WarmupCosine`),
            ``"plateau"`` (divide by 5 after 2 epochs without improvement of
            ``monitor``), a Keras ``LearningRateSchedule``, or a function
            ``(epoch, lr) -> lr``.
        warmup_epochs: epochs of linear learning-rate warm-up (fractions allowed) for the
            ``"constant"``, ``"cosine"`` and ``"plateau"`` schedules.
        early_stopping: stop after this many epochs without improvement of ``monitor``
            and restore the best weights; ``None`` never stops early.
        monitor: the quantity for early stopping, checkpoints and plateau decay; by
            default ``"val_loss"`` (``"loss"`` without ``val``).
        checkpoint: save the best model (by ``monitor``) to this ``.keras`` (or
            ``.weights.h5``) file after each improving epoch.
        csv_log: write one row per epoch to this CSV file (rewritten atomically after
            each epoch, `dermnet.train.callbacks.CSVHistory`; with ``initial_epoch`` the
            rows of earlier epochs are kept).
        plot: redraw the training curves to this PNG file after every epoch.
        log: receives one line per epoch (losses, metrics, learning rate, time), e.g.
            ``print``; use with ``verbose=0``.
        seed: seed Python, NumPy and TensorFlow first (shuffling, dropout) and make ops
            deterministic; for the same initial weights seed before ``create_model`` too
            (`dermnet.seed_everything`).
        mixed_precision: ``True`` (``"mixed_float16"`` on a GPU, else
            ``"mixed_bfloat16"``), or a policy name. The model is cloned under the policy
            (its last layer stays float32), trained, and its weights copied back.
        strategy: a ``tf.distribute`` strategy (``MirroredStrategy``,
            ``MultiWorkerMirroredStrategy``, ``TPUStrategy``). A model built outside
            ``strategy.scope()`` is cloned into it, trained, and its weights copied back;
            batches are split across the replicas. ``"multi_worker"``: train on every
            worker of the cluster in ``TF_CONFIG`` with
            `dermnet.train.distributed.fit_multi_worker` (run the same program in every
            worker; a schedule, warm-up, mixed precision and resuming are not supported
            there and raise a `ParameterError`).
        initial_epoch: the epoch to start from (to resume a run).
        steps_per_epoch: batches per epoch; needed only for schedules when ``train`` does
            not know its length.
        recalibrate_bn: after training, re-estimate the moving statistics of the
            BatchNorm layers that trained from ``recalibrate_steps`` batches of ``train``
            (`dermnet.models.recalibrate_batchnorm`), also in the best ``checkpoint``.
            ``"auto"`` (default) does it when the model has trainable BatchNorm layers;
            ``False`` never. After a short run the moving averages lag behind the weights
            and inference-mode predictions can collapse onto one class; this removes that
            (measured in ``benchmarks/bench_batchnorm.py``). Costs about one forward pass
            per batch used.
        recalibrate_steps: at most this many batches for the re-estimation (``None``: all).

    Returns:
        The Keras ``History`` (per-epoch losses and metrics in ``.history``).

    Raises:
        ParameterError: bad arguments.
        DataError: the data do not fit the model (input shape, number of classes).

    Examples:
        >>> import numpy as np, tensorflow as tf
        >>> from dermnet.models import create_model
        >>> x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
        >>> ds = tf.data.Dataset.from_tensor_slices((x, np.arange(8) % 2)).batch(4)
        >>> model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
        >>> history = fit(model, ds, ds, epochs=2, lr_schedule="cosine", verbose=0)
        >>> sorted(history.history)
        ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    """
    import keras
    import tensorflow as tf

    from dermnet._core.seeding import seed_everything
    from dermnet.train.callbacks import CSVHistory, EpochLogger, HistoryPlot

    where = "fit"
    epochs = check_int(epochs, "epochs", where, low=1)
    initial_epoch = check_int(initial_epoch, "initial_epoch", where, low=0, high=epochs - 1)
    learning_rate = check_float(learning_rate, "learning_rate", where, low=0.0, low_open=True)
    warmup_epochs = check_float(warmup_epochs, "warmup_epochs", where, low=0.0)
    if weight_decay is not None:
        weight_decay = check_float(weight_decay, "weight_decay", where, low=0.0)
    early_stopping = check_int(early_stopping, "early_stopping", where, low=1, allow_none=True)
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", where, low=1, allow_none=True)
    if not isinstance(recalibrate_bn, bool):
        check_option(recalibrate_bn, ("auto",), "recalibrate_bn", where)
    recalibrate_steps = check_int(
        recalibrate_steps, "recalibrate_steps", where, low=1, allow_none=True
    )
    seed = check_seed(seed, "seed", where)
    if not isinstance(model, keras.Model):
        raise fail("model", where, "a keras.Model", type(model).__name__)
    _check_model_augmentation(model, train)
    if isinstance(strategy, str):
        check_option(strategy, STRATEGY_NAMES, "strategy", where)
    elif strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
        raise fail("strategy", where, "a tf.distribute.Strategy, 'multi_worker' or None", strategy)
    if monitor is None:
        monitor = "val_loss" if val is not None else "loss"
    elif not isinstance(monitor, str):
        raise fail("monitor", where, "a metric name such as 'val_loss'", monitor)
    if monitor.startswith("val_") and val is None:
        raise ParameterError(
            f"The 'monitor' parameter of fit is {monitor!r}, which needs validation data. "
            "Pass val=... or monitor='loss'."
        )
    for name, value in (("checkpoint", checkpoint), ("csv_log", csv_log), ("plot", plot)):
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise fail(name, where, "a file path or None", value)
    if checkpoint is not None and not str(checkpoint).endswith((".keras", ".weights.h5")):
        raise fail("checkpoint", where, "a path ending in .keras or .weights.h5", str(checkpoint))
    units = _output_units(model)
    if class_weight is not None:
        class_weight = {int(k): float(v) for k, v in dict(class_weight).items()}
        classes = max(units, 2)
        bad = sorted(k for k in class_weight if not 0 <= k < classes)
        if bad:
            raise DataError(
                f"The 'class_weight' parameter of fit has classes {bad} outside the model's "
                f"{classes} classes (0..{classes - 1})."
            )
    label_rank = _check_data(model, train, "train")
    if val is not None:
        _check_data(model, val, "val")
    if strategy == "multi_worker":
        history = fit_on_workers(
            model,
            train,
            val,
            epochs=epochs,
            learning_rate=learning_rate,
            class_weight=class_weight,
            metrics=metrics,
            callbacks=callbacks,
            compile=compile,
            loss=loss,
            optimizer=optimizer,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            warmup_epochs=warmup_epochs,
            early_stopping=early_stopping,
            monitor=monitor,
            checkpoint=checkpoint,
            csv_log=csv_log,
            plot=plot,
            log=log,
            mixed_precision=mixed_precision,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
        )
        if recalibrate_bn is not False and trains_batchnorm(model):
            recalibrate_after_training(
                model, train, steps=recalibrate_steps or steps_per_epoch, checkpoint=checkpoint
            )
        return history
    policy = precision_policy(mixed_precision)
    if seed is not None:
        seed_everything(seed)

    trained = placed_model(model, strategy, policy)
    if trained is not model and not compile:
        raise ParameterError(
            "fit must compile the model when it trains it under a strategy or a mixed "
            "precision policy (the model is cloned for that). Pass compile=True, or build "
            "and compile the model inside strategy.scope() yourself."
        )
    warmup_steps = 0
    if warmup_epochs:
        warmup_steps = max(1, round(warmup_epochs * batches_per_epoch(train, steps_per_epoch)))
    rate, extra = schedule_callbacks(
        lr_schedule,
        learning_rate,
        warmup_steps,
        lambda: (epochs - initial_epoch) * batches_per_epoch(train, steps_per_epoch),
        monitor,
    )
    if not compile and rate is not learning_rate:
        raise ParameterError(
            f"The 'lr_schedule' parameter of fit ({lr_schedule!r}) sets the optimizer's "
            "schedule, which needs compile=True; with your own compile(), give the schedule "
            "to your optimizer."
        )
    if compile:
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            opt = make_optimizer(optimizer, rate, weight_decay)
            if policy == "mixed_float16" and not isinstance(
                opt, keras.optimizers.LossScaleOptimizer
            ):
                opt = keras.optimizers.LossScaleOptimizer(opt)
            trained.compile(
                optimizer=opt,
                loss=loss if loss is not None else _default_loss(trained, label_rank),
                metrics=list(metrics),
            )

    cbs: list[Any] = list(extra)
    if early_stopping is not None:
        cbs.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=early_stopping, restore_best_weights=True
            )
        )
    if checkpoint is not None:
        Path(checkpoint).parent.mkdir(parents=True, exist_ok=True)
        cbs.append(
            keras.callbacks.ModelCheckpoint(
                str(checkpoint),
                monitor=monitor,
                save_best_only=True,
                save_weights_only=str(checkpoint).endswith(".weights.h5"),
            )
        )
    if csv_log is not None:
        Path(csv_log).parent.mkdir(parents=True, exist_ok=True)
        cbs.append(CSVHistory(csv_log, append=initial_epoch > 0))
    if plot is not None:
        cbs.append(HistoryPlot(plot))
    if log is not None:
        cbs.append(EpochLogger(log, total_epochs=epochs))
    cbs.extend(callbacks)
    try:
        history = trained.fit(
            train,
            validation_data=val,
            epochs=epochs,
            initial_epoch=initial_epoch,
            steps_per_epoch=steps_per_epoch,
            class_weight=class_weight,
            callbacks=cbs,
            shuffle=False,  # tf.data pipelines shuffle themselves (seeded)
            verbose=verbose,
        )
    except tf.errors.InvalidArgumentError as exc:
        detail = _label_error(str(exc))
        if detail is None:
            raise
        raise DataError(
            f"The labels do not fit model {model.name!r}, which outputs {units} class(es): "
            f"{detail} Build the model with num_classes equal to the dataset's number of "
            "classes (records.num_classes)."
        ) from None
    if trained is not model:
        model.set_weights(trained.get_weights())
        history.set_model(model)
    if recalibrate_bn is not False and trains_batchnorm(model):
        steps = recalibrate_steps
        cardinality = getattr(train, "cardinality", None)
        if steps is None and cardinality is not None and int(cardinality().numpy()) < 0:
            steps = steps_per_epoch or 200  # an endless dataset: bound the pass
        recalibrate_after_training(model, train, steps=steps, checkpoint=checkpoint)
    return history


def _check_model_augmentation(model: Any, train: Any) -> None:
    """Refuse to train un-augmented when the dataset left its augmentation to the model."""
    from dermnet.transforms.augment_presets import unwrap_augmenting_model

    augment = getattr(train, "model_augmentation", None)
    if augment is None:
        return
    inside = any(layer is augment for layer in model._flatten_layers(include_self=False))
    if not inside and unwrap_augmenting_model(model) is model:
        raise ParameterError(
            "The 'train' dataset of fit was made with augment_on='model': it leaves its "
            f"augmentation ({getattr(augment, 'name', type(augment).__name__)}) to the model, "
            f"but the model {model.name!r} has none. Train "
            "dermnet.transforms.augment_presets.augmenting_model(model, "
            "train.model_augmentation) instead, or make the dataset with "
            "augment_on='data'."
        )
