"""Multi-worker training (`distributed`, `cluster`): two worker processes on 127.0.0.1.

Each worker is a fresh Python process (a strategy reads TF_CONFIG before TensorFlow
starts its server); ports are found free by binding port 0.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from dermnet._core.errors import DermnetError, ParameterError
from dermnet.train.cluster import (
    is_chief,
    multi_worker_strategy,
    output_dir,
    read_tf_config,
    shard_dataset,
)
from dermnet.train.distributed import WorkerLostError, fit_multi_worker

WORKER = textwrap.dedent(
    """
    import contextlib, json, os, sys, time
    args = json.loads(sys.argv[1])
    os.environ["TF_CONFIG"] = json.dumps({
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in args["ports"]]},
        "task": {"type": "worker", "index": args["index"]},
    })
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf, keras
    from dermnet.train.cluster import is_chief, multi_worker_strategy
    from dermnet.train.distributed import fit_multi_worker

    strategy = multi_worker_strategy(timeout_seconds=args["timeout"])
    x, y = (np.load(args["data"])[k] for k in ("x", "y"))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    if args["slow"]:  # endless slow batches: a worker is killed while they run
        pause = lambda v: (time.sleep(0.2), v)[1]
        ds = ds.repeat().map(
            lambda a, b: (tf.numpy_function(pause, [a], tf.float32, stateful=True), b))
    # Inside the scope the chief's initial weights reach every worker; a model built
    # outside (here with a different seed on each worker) is cloned and given them.
    with strategy.scope() if args["inside"] else contextlib.nullcontext():
        keras.utils.set_random_seed(0 if args["inside"] else args["index"])
        model = keras.Sequential([
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            *([keras.layers.BatchNormalization()] if args["bn"] else []),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ])
    start = [w.copy() for w in model.get_weights()]
    loss = keras.losses.SparseCategoricalCrossentropy()
    initial = float(loss(y, model.predict(x, verbose=0)))  # this worker's own start
    history = fit_multi_worker(
        model, ds, epochs=args["epochs"], optimizer=keras.optimizers.SGD(0.1),
        strategy=strategy, steps_per_epoch=args["steps"], log=lambda s: print(s, flush=True),
        checkpoint=os.path.join(args["out"], "model.weights.h5"))
    final = float(loss(y, model.predict(x, verbose=0)))
    np.savez(os.path.join(args["out"], f"w{args['index']}.npz"), *model.get_weights())
    np.savez(os.path.join(args["out"], f"start{args['index']}.npz"), *start)
    print(json.dumps({"initial": initial, "final": final, "history": history,
                      "chief": is_chief(strategy),
                      "replicas": strategy.num_replicas_in_sync}))
    """
)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _data(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = (rng.normal(size=(64, 16, 16, 3)) + y[:, None, None, None]).astype("float32")
    path = tmp_path / "data.npz"
    np.savez(path, x=x, y=y)
    return x, y, path


def _launch(tmp_path: Path, data: Path, **kwargs) -> list[subprocess.Popen]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    ports = _free_ports(2)
    procs = []
    for index in range(2):
        out = tmp_path / f"out{index}"
        out.mkdir()
        args = {"ports": ports, "index": index, "data": str(data), "out": str(out)}
        defaults = {"timeout": 60, "slow": False, "inside": True, "bn": False}
        args |= defaults | {"epochs": 1, "steps": None} | kwargs
        procs.append(
            subprocess.Popen(
                [sys.executable, str(script), json.dumps(args)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
            )
        )
    return procs


def _finish(procs: list[subprocess.Popen], timeout: float) -> list[tuple[int, str, str]]:
    results = []
    deadline = time.monotonic() + timeout
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return results


@pytest.mark.slow
@pytest.mark.parametrize("bn", [False, True], ids=["plain", "batchnorm"])
def test_two_workers_agree_and_match_one_process(tmp_path, bn):
    x, y, data = _data(tmp_path)
    results = _finish(_launch(tmp_path, data, inside=False, bn=bn), timeout=180)
    for rc, _, err in results:
        assert rc == 0, err[-3000:]
    reports = [json.loads(out.strip().splitlines()[-1]) for _, out, _ in results]
    assert [r["replicas"] for r in reports] == [2, 2]
    assert [r["chief"] for r in reports] == [True, False]
    # Loss and accuracy are averaged over both workers: the same history on each.
    assert reports[0]["history"] == reports[1]["history"]
    assert reports[0]["final"] < reports[0]["initial"]
    w0, w1 = (np.load(tmp_path / f"out{i}" / f"w{i}.npz") for i in range(2))
    assert max(float(np.abs(w0[k] - w1[k]).max()) for k in w0) < 1e-6
    # Only the chief keeps its checkpoint.
    assert (tmp_path / "out0" / "model.weights.h5").is_file()
    assert not (tmp_path / "out1" / "model.weights.h5").exists()

    if bn:
        # Each replica's BatchNorm normalizes its own half batch, so the run differs from
        # one process; its moving statistics are averaged over the workers after every
        # epoch (the weights above agree), which is what is checked here.
        return
    # Each worker built its own model (seeds 0 and 1): they started apart.
    s0, s1 = (np.load(tmp_path / f"out{i}" / f"start{i}.npz") for i in range(2))
    assert max(float(np.abs(s0[k] - s1[k]).max()) for k in s0) > 0.01

    # The same global batches in one process, from the chief's start, give the same weights.
    start = s0
    model = keras.Sequential(
        [
            keras.Input((16, 16, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.set_weights([start[k] for k in start])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    history = fit_multi_worker(
        model,
        ds,
        epochs=1,
        optimizer=keras.optimizers.SGD(0.1),
        strategy=tf.distribute.get_strategy(),
    )
    single = model.get_weights()
    assert max(float(np.abs(a - w0[k]).max()) for a, k in zip(single, w0, strict=True)) < 1e-5
    assert history["loss"][0] == pytest.approx(reports[0]["history"]["loss"][0], abs=1e-5)


@pytest.mark.slow
def test_killed_worker_stops_the_other_with_a_clear_error(tmp_path):
    _, _, data = _data(tmp_path)
    timeout = 20
    procs = _launch(tmp_path, data, slow=True, epochs=1000, steps=2, timeout=timeout)
    chief, other = procs
    try:
        # Wait until training runs (the chief logged its first epoch), then kill worker 1.
        deadline = time.monotonic() + 180
        line = ""
        while "epoch 1/" not in line:
            assert time.monotonic() < deadline, "the workers never started training"
            assert chief.poll() is None, chief.stderr.read()[-3000:]
            line = chief.stdout.readline()
        os.kill(other.pid, signal.SIGKILL)
        killed = time.monotonic()
        _, err = chief.communicate(timeout=timeout + 60)
        waited = time.monotonic() - killed
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert chief.returncode != 0
    assert "WorkerLostError" in err, err[-3000:]
    assert "stopped answering" in err
    assert waited < timeout + 60


# ------------------------------------------------------------------ TF_CONFIG checks

GOOD = {"cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]}, "task": {"type": "worker"}}


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("{not json", "TF_CONFIG must be JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('{"task": {"type": "worker", "index": 0}}', "must have a 'cluster'"),
        ('{"cluster": {"worker": []}, "task": {}}', "non-empty 'worker' list"),
        ('{"cluster": {"worker": ["nohost"]}, "task": {}}', "'host:port' strings"),
        ('{"cluster": {"worker": ["h:1"]}}', "must have a 'task'"),
        ('{"cluster": {"worker": ["h:1"]}, "task": {"type": "ps"}}', "one of the cluster's jobs"),
        (json.dumps(GOOD | {"task": {"type": "worker", "index": 2}}), r"int in 0\.\.1.*Got 2"),
        (json.dumps(GOOD | {"task": {"type": "worker", "index": "0"}}), "Got '0'"),
    ],
)
def test_tf_config_errors_name_what_is_wrong(value, match):
    with pytest.raises(ParameterError, match=match):
        read_tf_config(value)


def test_missing_tf_config_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ParameterError, match="TF_CONFIG environment variable, which is not set"):
        multi_worker_strategy()
    with pytest.raises(ParameterError, match="timeout_seconds"):
        multi_worker_strategy(timeout_seconds=0)


def test_chief_and_output_dir(monkeypatch, tmp_path):
    config = GOOD | {"task": {"type": "worker", "index": 1}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(config))
    assert not is_chief()
    with output_dir(tmp_path / "run") as folder:
        assert folder != tmp_path / "run"
        assert folder.is_dir()
        (folder / "x.txt").write_text("x")
    assert not folder.exists()
    assert not (tmp_path / "run").exists()
    monkeypatch.setenv("TF_CONFIG", json.dumps(config | {"task": {"type": "worker", "index": 0}}))
    assert is_chief()
    with output_dir(tmp_path / "run") as folder:
        assert folder == tmp_path / "run"
    jobs = config["cluster"] | {"chief": ["h:3"]}
    chief = {"cluster": jobs, "task": {"type": "chief", "index": 0}}
    monkeypatch.setenv("TF_CONFIG", json.dumps(chief))
    assert is_chief()
    monkeypatch.setenv("TF_CONFIG", json.dumps(chief | {"task": {"type": "worker", "index": 0}}))
    assert not is_chief()
    assert is_chief(tf.distribute.get_strategy())


def test_shard_policy():
    ds = tf.data.Dataset.range(8).batch(4)
    for policy in ("file", "data", "off"):
        got = shard_dataset(ds, policy).options().experimental_distribute.auto_shard_policy
        assert got.name == policy.upper()
    # "auto" keeps what the dataset says (make_dataset sets FILE on TFRecord shards).
    filed = shard_dataset(ds, "file")
    assert shard_dataset(filed, "auto") is filed
    with pytest.raises(ParameterError, match="shard_policy"):
        shard_dataset(ds, "files")


def _tiny(units: int) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(units, "sigmoid" if units == 1 else "softmax")]
    )


def test_one_process_loop_matches_a_plain_tape_loop_with_class_weights():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    weights = {0: 1.0, 1: 3.0}
    model, reference = _tiny(2), _tiny(2)
    reference.set_weights(model.get_weights())
    history = fit_multi_worker(
        model,
        ds,
        ds,
        epochs=1,
        optimizer="sgd",
        learning_rate=0.1,
        class_weight=weights,
        strategy=tf.distribute.get_strategy(),
    )
    opt = keras.optimizers.SGD(0.1, momentum=0.9, nesterov=True)
    for xb, yb in ds:
        with tf.GradientTape() as tape:
            per = keras.losses.sparse_categorical_crossentropy(yb, reference(xb, training=True))
            loss = tf.reduce_mean(per * tf.gather([1.0, 3.0], yb))
        grads = tape.gradient(loss, reference.trainable_variables)
        opt.apply_gradients(zip(grads, reference.trainable_variables, strict=True))
    for a, b in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    predicted = np.argmax(reference.predict(x, verbose=0), axis=1)
    assert history["val_accuracy"][0] == pytest.approx(float(np.mean(predicted == y)))


def test_sigmoid_model_callbacks_and_early_stop():
    x = np.random.default_rng(2).normal(size=(16, 4)).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, (x[:, 0] > 0).astype("float32"))).batch(8)
    seen = []

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append((epoch, sorted(logs)))
            self.model.stop_training = epoch == 1

    history = fit_multi_worker(
        _tiny(1), ds, epochs=5, callbacks=[Stop()], strategy=tf.distribute.get_strategy()
    )
    assert len(history["loss"]) == 2
    assert seen == [(0, ["accuracy", "loss"]), (1, ["accuracy", "loss"])]


def test_bad_arguments():
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((4, 4), "float32"), [0, 1, 0, 1])).batch(2)
    local = tf.distribute.get_strategy()
    with pytest.raises(ParameterError, match="'model' parameter"):
        fit_multi_worker("model", ds, strategy=local)
    with pytest.raises(ParameterError, match="'train' parameter"):
        fit_multi_worker(_tiny(2), [1, 2], strategy=local)
    with pytest.raises(ParameterError, match="'checkpoint' parameter"):
        fit_multi_worker(_tiny(2), ds, checkpoint="model.h5", strategy=local)
    with pytest.raises(ParameterError, match="'strategy' parameter"):
        fit_multi_worker(_tiny(2), ds, strategy="multi_worker")
    with pytest.raises(ParameterError, match="empty dataset"):
        fit_multi_worker(_tiny(2), ds.take(0), strategy=local)


def test_worker_lost_error_is_a_dermnet_error():
    assert issubclass(WorkerLostError, DermnetError)
    assert issubclass(WorkerLostError, RuntimeError)
