"""``fit(strategy="multi_worker")``: `fit`'s options on `fit_multi_worker`'s custom loop.

`fit` hands a multi-worker run to `fit_on_workers`, which checks the options the custom
loop of `dermnet.train.distributed` can honour and returns a Keras ``History`` as `fit`
does; `worker_strategy` makes the process's strategy once, before any other TensorFlow
operation.
"""

from __future__ import annotations

from typing import Any

from dermnet._core.errors import ParameterError
from dermnet.train.fit_setup import make_optimizer

__all__ = ["STRATEGY_NAMES", "fit_on_workers", "worker_strategy"]

#: `fit`'s ``strategy`` names: ``"multi_worker"`` trains on every worker of ``TF_CONFIG``.
STRATEGY_NAMES = ("multi_worker",)
_WORKER_STRATEGY: list[Any] = []


def worker_strategy() -> Any:
    """The process's ``MultiWorkerMirroredStrategy`` for ``TF_CONFIG``, made once.

    TensorFlow sets up collective operations when the strategy is made, before any other
    operation: ``dermnet train --strategy multi_worker`` calls this first, and
    ``fit(strategy="multi_worker")`` reuses the same strategy.
    """
    if not _WORKER_STRATEGY:
        from dermnet.train.cluster import multi_worker_strategy

        _WORKER_STRATEGY.append(multi_worker_strategy())
    return _WORKER_STRATEGY[0]


def fit_on_workers(model: Any, train: Any, val: Any, **options: Any) -> Any:
    """``fit(strategy="multi_worker")``: `dermnet.train.distributed.fit_multi_worker`
    with `fit`'s options, on the strategy of `worker_strategy`.

    Returns a Keras ``History`` as `fit` does. The options the custom loop cannot honour
    (a schedule or warm-up, mixed precision, ``compile=False``, resuming at an
    ``initial_epoch``, other metrics than accuracy, another ``monitor``) raise a
    `ParameterError` naming them.
    """
    import keras

    from dermnet.train import distributed
    from dermnet.train.callbacks import CSVHistory, HistoryPlot

    default_monitor = "val_loss" if val is not None else "loss"
    unsupported = [
        text
        for text, bad in (
            ("compile=False", not options["compile"]),
            (
                f"lr_schedule={options['lr_schedule']!r}",
                options["lr_schedule"] not in (None, "constant"),
            ),
            ("warmup_epochs", bool(options["warmup_epochs"])),
            ("mixed_precision", bool(options["mixed_precision"])),
            ("initial_epoch > 0 (resuming)", bool(options["initial_epoch"])),
            ("metrics other than accuracy", tuple(options["metrics"]) != ("accuracy",)),
            (
                f"monitor={options['monitor']!r}",
                options["monitor"] not in (None, default_monitor),
            ),
        )
        if bad
    ]
    if unsupported:
        raise ParameterError(
            "fit(strategy='multi_worker') trains with dermnet.train.distributed."
            f"fit_multi_worker, which does not support {', '.join(unsupported)}. Drop "
            "them, or train in one process."
        )
    optimizer = options["optimizer"]
    if isinstance(optimizer, str) and options["weight_decay"] is not None:
        optimizer = make_optimizer(optimizer, options["learning_rate"], options["weight_decay"])
    hooks: list[Any] = []
    if options["early_stopping"] is not None:
        hooks.append(
            keras.callbacks.EarlyStopping(
                monitor=default_monitor,
                patience=options["early_stopping"],
                restore_best_weights=True,
            )
        )
    if options["csv_log"] is not None:
        hooks.append(CSVHistory(options["csv_log"]))
    if options["plot"] is not None:
        hooks.append(HistoryPlot(options["plot"]))
    logs = distributed.fit_multi_worker(
        model,
        train,
        val,
        epochs=options["epochs"],
        loss=options["loss"],
        optimizer=optimizer,
        learning_rate=options["learning_rate"],
        class_weight=options["class_weight"],
        steps_per_epoch=options["steps_per_epoch"],
        strategy=worker_strategy(),
        callbacks=[*hooks, *options["callbacks"]],
        checkpoint=options["checkpoint"],
        log=options["log"],
    )
    history = keras.callbacks.History()
    history.set_model(model)
    history.history = dict(logs)
    history.epoch = list(range(len(next(iter(logs.values()), []))))
    return history
