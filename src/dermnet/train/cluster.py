"""The cluster of a multi-worker run: ``TF_CONFIG``, the strategy, the chief, the input split.

Every worker process reads its place in the cluster from the ``TF_CONFIG`` environment
variable::

    {"cluster": {"worker": ["host1:12345", "host2:12345"]},
     "task": {"type": "worker", "index": 0}}

`multi_worker_strategy` checks it, names what is wrong, and builds a
``MultiWorkerMirroredStrategy`` whose collectives time out (so a dead worker stops the
others). Only the chief (worker 0, or the task of type ``"chief"``) keeps what it writes:
`output_dir` gives the other workers a temporary folder, as TensorFlow's guide recommends.
`shard_dataset` sets how the workers split the input. The training loop is
`dermnet.train.distributed.fit_multi_worker`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_float, check_option

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "SHARD_POLICIES",
    "is_chief",
    "multi_worker_strategy",
    "output_dir",
    "read_tf_config",
    "shard_dataset",
]

#: Per-worker sharding of the input: ``"auto"`` (by file when the dataset reads files,
#: e.g. TFRecord shards, else by element), ``"file"``, ``"data"`` or ``"off"``.
SHARD_POLICIES = ("auto", "file", "data", "off")


def read_tf_config(value: str | None = None) -> dict[str, Any]:
    """Read and check a ``TF_CONFIG`` (by default the environment variable).

    Args:
        value: the JSON text; ``None`` reads ``os.environ["TF_CONFIG"]``.

    Returns:
        The parsed dict, with ``cluster`` (``{"worker": ["host:port", ...], ...}``) and
        ``task`` (``{"type": "worker", "index": i}``).

    Raises:
        ParameterError: ``TF_CONFIG`` is missing, not JSON, has no ``cluster`` with a
            non-empty ``worker`` list of ``"host:port"`` strings, or its ``task`` names a
            type not in the cluster or an index out of range.

    Examples:
        >>> config = read_tf_config(
        ...     '{"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},'
        ...     ' "task": {"type": "worker", "index": 1}}'
        ... )
        >>> config["task"]["index"], len(config["cluster"]["worker"])
        (1, 2)
    """
    source = "the TF_CONFIG environment variable"
    if value is None:
        value = os.environ.get("TF_CONFIG")
        if not value:
            raise ParameterError(
                "Multi-worker training reads the cluster from the TF_CONFIG environment "
                "variable, which is not set. Set it in every worker process, e.g. "
                '{"cluster": {"worker": ["host1:2222", "host2:2222"]}, '
                '"task": {"type": "worker", "index": 0}} (index 1 on the second host).'
            )
    else:
        source = "TF_CONFIG"
    try:
        config = json.loads(value)
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{source} must be JSON. Got {value!r} ({error}).") from None
    if not isinstance(config, dict):
        raise ParameterError(f"{source} must be a JSON object. Got {value!r}.")
    cluster = config.get("cluster")
    if not isinstance(cluster, dict) or not cluster:
        raise ParameterError(
            f"{source} must have a 'cluster' object such as "
            f'{{"worker": ["host1:2222", "host2:2222"]}}. Got {cluster!r}.'
        )
    workers = cluster.get("worker")
    if not isinstance(workers, list) or not workers:
        raise ParameterError(
            f"The 'cluster' of {source} must have a non-empty 'worker' list of "
            f"'host:port' addresses. Got {workers!r}."
        )
    for kind, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(
            isinstance(a, str) and a.rpartition(":")[2].isdigit() for a in addresses
        ):
            raise ParameterError(
                f"The {kind!r} list in the 'cluster' of {source} must hold 'host:port' "
                f"strings. Got {addresses!r}."
            )
    task = config.get("task")
    if not isinstance(task, dict):
        raise ParameterError(
            f"{source} must have a 'task' object such as "
            f'{{"type": "worker", "index": 0}}. Got {task!r}.'
        )
    kind = task.get("type")
    if kind not in cluster:
        raise ParameterError(
            f"The task 'type' of {source} must be one of the cluster's jobs "
            f"{sorted(cluster)}. Got {kind!r}."
        )
    index = task.get("index")
    size = len(cluster[kind])
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < size:
        raise ParameterError(
            f"The task 'index' of {source} must be an int in 0..{size - 1} (the cluster "
            f"has {size} {kind!r} address(es)). Got {index!r}."
        )
    return config


def multi_worker_strategy(
    *, timeout_seconds: float = 120.0, tf_config: str | None = None
) -> tf.distribute.MultiWorkerMirroredStrategy:
    """A ``MultiWorkerMirroredStrategy`` for the cluster in ``TF_CONFIG``, with a timeout.

    Call it at the start of the program, before any other TensorFlow operation, in every
    worker. Collective operations that wait more than ``timeout_seconds`` for a peer fail,
    so a dead worker stops the others (`fit_multi_worker` then raises `WorkerLostError`)
    instead of leaving them waiting forever.

    Args:
        timeout_seconds: how long a collective (gradient all-reduce) waits for the other
            workers, > 0. Make it longer than the slowest step, including the first one
            (graph tracing) and the wait for late workers to start.
        tf_config: the ``TF_CONFIG`` JSON; ``None`` reads the environment variable (a
            given value is also written there, since TensorFlow reads it from there).

    Returns:
        The strategy; ``strategy.num_replicas_in_sync`` counts the devices of all workers.

    Raises:
        ParameterError: ``TF_CONFIG`` is missing or wrong (`read_tf_config`), or a bad
            ``timeout_seconds``.
    """
    import tensorflow as tf

    timeout_seconds = check_float(
        timeout_seconds, "timeout_seconds", "multi_worker_strategy", low=0.0, low_open=True
    )
    if tf_config is not None:
        read_tf_config(tf_config)
        os.environ["TF_CONFIG"] = tf_config
    else:
        read_tf_config()
    options = tf.distribute.experimental.CommunicationOptions(
        timeout_seconds=timeout_seconds,
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO,
    )
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_chief(strategy: tf.distribute.Strategy | None = None) -> bool:
    """Whether this process is the chief: the one that keeps checkpoints and outputs.

    The chief is the task of type ``"chief"``, or worker 0 when the cluster has none;
    a single-process strategy is always the chief.
    """
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is not None and getattr(resolver, "task_type", None) is not None:
        task_type, task_id = resolver.task_type, resolver.task_id
        has_chief = "chief" in resolver.cluster_spec().as_dict()
    elif strategy is None and os.environ.get("TF_CONFIG"):
        config = read_tf_config()
        task_type, task_id = config["task"]["type"], config["task"]["index"]
        has_chief = "chief" in config["cluster"]
    else:
        return True
    if task_type == "chief":
        return True
    return task_type == "worker" and task_id == 0 and not has_chief


@contextlib.contextmanager
def output_dir(
    path: str | os.PathLike[str], strategy: tf.distribute.Strategy | None = None
) -> Iterator[Path]:
    """The folder to write checkpoints and outputs to: ``path`` on the chief, a temporary
    folder (deleted on exit) on the other workers.

    Every worker must still write (saving may run collective operations); only the chief's
    files are kept.

    Examples:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp, output_dir(Path(tmp, "run")) as folder:
        ...     folder.name  # one process: the chief, so the folder itself
        'run'
    """
    if is_chief(strategy):
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    folder = Path(tempfile.mkdtemp(prefix="dermnet-worker-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def shard_dataset(dataset: tf.data.Dataset, policy: str = "auto") -> tf.data.Dataset:
    """Set how ``tf.distribute`` splits ``dataset`` between workers.

    Args:
        dataset: batches of the *global* batch size (all workers together).
        policy: ``"auto"`` leaves the dataset's own setting: TensorFlow's ``AUTO`` (by
            file when the dataset reads a list of files, else by element), or the
            ``FILE`` policy `dermnet.data.make_dataset` sets on TFRecord shards.
            ``"file"``: each worker reads its own files (needs at least as many files as
            workers, and the same number of batches on every worker: see
            ``steps_per_epoch`` of `fit_multi_worker`). ``"data"``: every worker reads
            everything and keeps its part (always works; reads N times the data).
            ``"off"``: no sharding (every worker sees every batch).

    Returns:
        The dataset, with its ``auto_shard_policy`` set unless ``policy="auto"``.

    Examples:
        >>> import tensorflow as tf
        >>> ds = shard_dataset(tf.data.Dataset.range(8).batch(4), "data")
        >>> ds.options().experimental_distribute.auto_shard_policy.name
        'DATA'
    """
    import tensorflow as tf

    policy = check_option(policy, SHARD_POLICIES, "shard_policy", "shard_dataset")
    if policy == "auto":
        return dataset
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = getattr(
        tf.data.experimental.AutoShardPolicy, policy.upper()
    )
    return dataset.with_options(options)
