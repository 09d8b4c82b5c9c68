"""Multi-worker training on TensorFlow's own engine (``tf.distribute``), with a custom loop.

``keras.Model.fit`` under ``MultiWorkerMirroredStrategy`` fails in Keras 3
(keras-team/keras#20585: "Attempt to convert a value (PerReplica...) with an unsupported
type"), so `fit_multi_worker` trains with a ``tf.function`` step that runs
``strategy.run`` on every replica: each replica computes its loss with a
``tf.GradientTape``, divides it by the *global* batch size, and the Keras optimizer
all-reduces the gradients before applying them. Every worker therefore ends with the same
weights. The loop works under any strategy (``MultiWorkerMirroredStrategy``,
``MirroredStrategy``, ``TPUStrategy``, or the default one-device strategy). The cluster
(``TF_CONFIG``, the chief, the input split) is `dermnet.train.cluster`.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet._core.errors import DermnetError, ParameterError
from dermnet._core.validation import check_float, check_int, check_option, fail
from dermnet.train.cluster import SHARD_POLICIES, multi_worker_strategy, output_dir, shard_dataset

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

__all__ = ["WorkerLostError", "fit_multi_worker"]

# The errors a collective op raises when a peer is gone: the timeout of
# CommunicationOptions (DeadlineExceeded), or the strategy's health check / gRPC
# (Unavailable, Cancelled, Aborted).
_LOST_WORKER_ERRORS = (
    "DeadlineExceededError",
    "UnavailableError",
    "CancelledError",
    "AbortedError",
)


class WorkerLostError(DermnetError, RuntimeError):
    """A worker of a multi-worker run stopped answering (it died or the network failed).

    The message names the collective timeout and what to do: restart every worker (from
    the chief's last checkpoint).
    """


def _per_sample_loss(loss: Any) -> Callable[[Any, Any], Any]:
    import keras

    if isinstance(loss, keras.losses.Loss):
        return loss.call  # unreduced: one value per sample
    function = keras.losses.get(loss)
    if isinstance(function, keras.losses.Loss):
        return function.call
    return function


def _labels_like(y: Any, p: Any) -> Any:
    import tensorflow as tf

    one_unit = p.shape.rank is not None and p.shape[-1] == 1
    if one_unit and y.shape.rank is not None and y.shape.rank == p.shape.rank - 1:
        return tf.expand_dims(y, -1)
    return y


def _class_index(y: Any, p: Any) -> Any:
    import tensorflow as tf

    if p.shape[-1] == 1:
        return tf.cast(tf.reshape(y, [-1]) > 0.5, tf.int32)
    if y.shape.rank == p.shape.rank:
        return tf.cast(tf.argmax(y, axis=-1), tf.int32)
    return tf.cast(tf.reshape(y, [-1]), tf.int32)


def _predicted_index(p: Any) -> Any:
    import tensorflow as tf

    if p.shape[-1] == 1:
        return tf.cast(tf.reshape(p, [-1]) > 0.5, tf.int32)
    return tf.cast(tf.argmax(p, axis=-1), tf.int32)


def _default_loss(model: Any, dataset: Any) -> str:
    units = int(model.outputs[0].shape[-1])
    if units == 1:
        return "binary_crossentropy"
    label_spec = dataset.element_spec[1]
    if label_spec.shape.rank == 2 and label_spec.shape[-1] == units:
        return "categorical_crossentropy"
    return "sparse_categorical_crossentropy"


def _agree(strategy: Any, variables: Sequence[Any], how: str) -> None:
    """Make every replica's copy of ``variables`` equal: the chief's values (``"chief"``:
    a clone's ``set_weights`` is local) or their mean over all replicas (``"mean"``: the
    BatchNorm moving statistics, which each replica updates from its own batches).
    """
    import tensorflow as tf

    if how == "mean":
        variables = [v for v in variables if "float" in str(v.dtype)]
    if not variables or strategy.num_replicas_in_sync == 1:
        return

    def local_values() -> list[Any]:
        if how == "mean":
            return [tf.identity(v.value) for v in variables]
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group, 0)
        return [tf.where(first, v.value, tf.zeros_like(v.value)) for v in variables]

    values = strategy.run(tf.function(local_values))
    for variable, value in zip(variables, values, strict=True):
        variable.assign(strategy.reduce("MEAN" if how == "mean" else "SUM", value, axis=None))


def _lost(error: Exception, timeout: float | None) -> WorkerLostError:
    within = f" within the collective timeout of {timeout:g} s" if timeout else ""
    return WorkerLostError(
        f"A worker of the multi-worker run stopped answering{within} (it died, was killed, "
        "or the network between workers failed), so training stopped on this worker. "
        "Restart every worker with the same TF_CONFIG, from the chief's last checkpoint. "
        f"TensorFlow said: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
    )


def _timeout_of(strategy: Any) -> float | None:
    options = getattr(getattr(strategy, "extended", None), "_communication_options", None)
    return getattr(options, "timeout_seconds", None)


def fit_multi_worker(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset | None = None,
    *,
    epochs: int = 10,
    loss: Any = None,
    optimizer: str | keras.optimizers.Optimizer = "adam",
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | None = None,
    global_batch_size: int | None = None,
    shard_policy: str = "auto",
    steps_per_epoch: int | None = None,
    strategy: tf.distribute.Strategy | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint: str | os.PathLike[str] | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[str, list[float]]:
    """Train a classifier on every worker of a ``tf.distribute`` strategy with a custom loop.

    Run the same program in every worker process (each with its own ``TF_CONFIG``). Each
    global batch of ``train`` is split between the workers (`shard_dataset`); each replica's
    loss is summed and divided by the global batch size, the optimizer all-reduces the
    gradients, and every worker ends with the same weights. Loss and accuracy are averaged
    over all workers' samples. BatchNorm moving statistics, which each replica updates from
    its own part of the batch, are averaged over the replicas after every epoch; for batch
    statistics over the whole global batch (the same training as one process), build the
    model with ``keras.layers.BatchNormalization(synchronized=True)``.

    Args:
        model: the Keras classifier (softmax or one-unit sigmoid output). Build it inside
            ``strategy.scope()`` to train it in place (its initial weights are the
            chief's); a model built outside is cloned into the scope, given the chief's
            weights, trained, and its weights copied back.
        train: batches of ``(inputs, labels)`` of the *global* batch size, the same
            dataset (same order) in every worker.
        val: optional validation batches, evaluated after every epoch.
        epochs: epochs to train, >= 1.
        loss: a Keras loss (name or object); by default cross-entropy chosen from the
            output and labels as in `dermnet.train.fit`.
        optimizer: ``"adam"``, ``"adamw"``, ``"sgd"`` or a Keras optimizer (rebuilt from
            its config inside the scope).
        learning_rate: the learning rate of a named optimizer, > 0.
        class_weight: per-class loss weights (sample weights from the labels).
        global_batch_size: divide each replica's summed loss by this number; ``None``
            (default) divides by the real number of samples in the global batch, so a
            short last batch is a true mean too.
        shard_policy: how workers split the input (`shard_dataset`): ``"auto"``,
            ``"file"``, ``"data"`` or ``"off"``.
        steps_per_epoch: batches per epoch; ``None`` runs through ``train``. Every worker
            must run the same number of steps (else the last collective waits for the
            worker that has none until the timeout): with file sharding over files of
            unequal sizes, ``repeat()`` ``train`` and give the steps.
        strategy: the strategy; ``None`` builds `multi_worker_strategy` from ``TF_CONFIG``.
            Any strategy works, including the default one-process strategy
            (``tf.distribute.get_strategy()``) and ``TPUStrategy``.
        callbacks: Keras callbacks; only their train and epoch hooks run
            (``on_train_begin``, ``on_epoch_begin``, ``on_epoch_end`` with the epoch's
            logs, ``on_train_end``), on every worker. Setting ``model.stop_training``
            stops after the epoch (on every worker alike if the logs decide it).
        checkpoint: save the model (``.keras``) or its weights (``.weights.h5``) after
            every epoch whose monitored loss (``val_loss``, else ``loss``) improved: the
            chief to this path, the other workers to a temporary folder.
        log: receives one line per epoch (e.g. ``print``).

    Returns:
        The history: ``{"loss": [...], "accuracy": [...], "val_loss": [...],
        "val_accuracy": [...]}``, one value per epoch, the same on every worker.

    Raises:
        ParameterError: bad arguments or ``TF_CONFIG``.
        WorkerLostError: another worker stopped answering within the strategy's
            collective timeout.

    Examples:
        >>> import numpy as np, tensorflow as tf, keras
        >>> x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
        >>> ds = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("int32")))
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "softmax")])
        >>> history = fit_multi_worker(
        ...     model, ds.batch(8), epochs=2, optimizer="sgd",
        ...     strategy=tf.distribute.get_strategy())
        >>> sorted(history), len(history["loss"])
        (['accuracy', 'loss'], 2)
    """
    import keras
    import tensorflow as tf

    from dermnet.train.fit_setup import make_optimizer, placed_model

    where = "fit_multi_worker"
    epochs = check_int(epochs, "epochs", where, low=1)
    learning_rate = check_float(learning_rate, "learning_rate", where, low=0.0, low_open=True)
    global_batch_size = check_int(
        global_batch_size, "global_batch_size", where, low=1, allow_none=True
    )
    steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch", where, low=1, allow_none=True)
    shard_policy = check_option(shard_policy, SHARD_POLICIES, "shard_policy", where)
    if not isinstance(model, keras.Model):
        raise fail("model", where, "a keras.Model", type(model).__name__)
    for name, data in (("train", train), ("val", val)):
        if data is None and name == "val":
            continue
        if not isinstance(data, tf.data.Dataset) or not isinstance(data.element_spec, tuple):
            raise fail(name, where, "a tf.data.Dataset of (inputs, labels) batches", data)
    if checkpoint is not None and (
        not isinstance(checkpoint, (str, os.PathLike))
        or not str(checkpoint).endswith((".keras", ".weights.h5"))
    ):
        raise fail("checkpoint", where, "a path ending in .keras or .weights.h5", checkpoint)
    if strategy is None:
        strategy = multi_worker_strategy()
    elif not isinstance(strategy, tf.distribute.Strategy):
        raise fail("strategy", where, "a tf.distribute.Strategy or None", type(strategy).__name__)
    weights: list[float] | None = None
    if class_weight is not None:
        table = {int(k): float(v) for k, v in dict(class_weight).items()}
        if not table or min(table) < 0:
            raise fail("class_weight", where, "a {class index >= 0: weight} mapping", class_weight)
        weights = [table.get(i, 1.0) for i in range(max(table) + 1)]

    trained = placed_model(model, strategy, None)
    if trained is not model:
        _agree(strategy, trained.weights, "chief")
    per_sample = _per_sample_loss(loss if loss is not None else _default_loss(trained, train))
    with strategy.scope():
        if isinstance(optimizer, keras.optimizers.Optimizer):
            opt = optimizer.__class__.from_config(optimizer.get_config())
        else:
            opt = make_optimizer(optimizer, learning_rate)
        opt.build(trained.trainable_variables)
        weight_table = tf.constant(weights or [1.0], tf.float32)

    def replica_sums(x: Any, y: Any, train_step: bool) -> tuple[Any, Any, Any]:
        with tf.GradientTape() as tape:
            p = trained(x, training=train_step)
            p = tf.cast(p, tf.float32)
            sample = tf.reshape(tf.cast(per_sample(_labels_like(y, p), p), tf.float32), [-1])
            if weights is not None:
                index = tf.clip_by_value(_class_index(y, p), 0, len(weights) - 1)
                sample = sample * tf.gather(weight_table, index)
            summed = tf.reduce_sum(sample)
            if global_batch_size is not None:
                scaled = summed / global_batch_size
            else:
                scaled = tf.nn.compute_average_loss(sample)
        if train_step:
            grads = tape.gradient(scaled, trained.trainable_variables)
            opt.apply_gradients(zip(grads, trained.trainable_variables, strict=True))
        correct = tf.reduce_sum(
            tf.cast(tf.equal(_predicted_index(p), _class_index(y, p)), tf.float32)
        )
        count = tf.cast(tf.shape(sample)[0], tf.float32)
        return summed, correct, count

    def step_fn(train_step: bool) -> Any:
        @tf.function
        def step(batch: Any) -> Any:
            per = strategy.run(lambda x, y: replica_sums(x, y, train_step), args=tuple(batch[:2]))
            return [strategy.reduce("SUM", v, axis=None) for v in per]

        return step

    train_step, eval_step = step_fn(True), step_fn(False)
    dist_train = strategy.experimental_distribute_dataset(shard_dataset(train, shard_policy))
    dist_val = (
        strategy.experimental_distribute_dataset(shard_dataset(val, shard_policy))
        if val is not None
        else None
    )
    timeout = _timeout_of(strategy)

    def run_epoch(step: Any, data: Any, limit: int | None) -> tuple[float, float]:
        totals = [0.0, 0.0, 0.0]
        for i, batch in enumerate(data):
            if limit is not None and i >= limit:
                break
            for j, value in enumerate(step(batch)):
                totals[j] += float(value)
        if totals[2] == 0:
            raise ParameterError(f"{where} got an empty dataset: no batch reached this worker.")
        return totals[0] / totals[2], totals[1] / totals[2]

    history: dict[str, list[float]] = {}
    best = math.inf
    hooks = keras.callbacks.CallbackList(list(callbacks), model=trained)
    trained.stop_training = False
    try:
        hooks.on_train_begin()
        for epoch in range(epochs):
            hooks.on_epoch_begin(epoch)
            start = time.perf_counter()
            logs: dict[str, float] = {}
            logs["loss"], logs["accuracy"] = run_epoch(train_step, dist_train, steps_per_epoch)
            _agree(strategy, trained.non_trainable_weights, "mean")
            if dist_val is not None:
                logs["val_loss"], logs["val_accuracy"] = run_epoch(eval_step, dist_val, None)
            for key, value in logs.items():
                history.setdefault(key, []).append(value)
            if log is not None:
                shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items())
                log(f"epoch {epoch + 1}/{epochs}  {shown}  {time.perf_counter() - start:.1f}s")
            monitored = logs.get("val_loss", logs["loss"])
            if checkpoint is not None and monitored < best:
                best = monitored
                _save(trained, Path(checkpoint), strategy)
            hooks.on_epoch_end(epoch, logs)
            if trained.stop_training:
                break
        hooks.on_train_end()
    except tf.errors.OpError as error:
        if type(error).__name__ in _LOST_WORKER_ERRORS:
            raise _lost(error, timeout) from error
        raise
    if trained is not model:
        model.set_weights(trained.get_weights())
    return history


def _save(model: Any, path: Path, strategy: Any) -> None:
    with output_dir(path.parent, strategy) as folder:
        target = folder / path.name
        if path.name.endswith(".weights.h5"):
            model.save_weights(target)
        else:
            model.save(target)
