"""Multi-worker training: two local workers against one, on the same data.

`dermnet.train.distributed.fit_multi_worker` trains ``simple_cnn`` (weights=None) on
synthetic images, once in one process (the default strategy) and once in two worker
processes on 127.0.0.1 (``MultiWorkerMirroredStrategy`` with ``TF_CONFIG``), with the same
initial weights, the same global batches, the same optimizer (SGD). Reported: seconds per
epoch (median after the first, which includes tracing), the largest weight difference
between the two workers, and between the two-worker and the one-worker run; and, as the
control that says what "equal" can mean, the difference between the one-worker run and
the same run started from weights nudged by 1e-7 (relative): the two-worker run sums its
gradients in another order, a change of rounding size, and SGD amplifies such changes
over the steps (quick run: 2.7e-5 two workers against one, 8.4e-5 the control; full
run, 128 steps: 2.8e-2 and 1.3e-1).

This measures correctness, not speed: both workers share one machine's CPU cores, so two
workers are not expected to be faster than one here.

Usage::

    python benchmarks/bench_multiworker.py            # 1024 images 32x32, 4 epochs
    python benchmarks/bench_multiworker.py --quick    # 256 images, 3 epochs

Exits non-zero on error or when the weights disagree (> 1e-5 between the workers).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _worker(args: dict) -> None:
    """One process: train, write the weights and the epoch times to ``args['out']``."""
    if args["ports"]:
        os.environ["TF_CONFIG"] = json.dumps(
            {
                "cluster": {"worker": [f"127.0.0.1:{p}" for p in args["ports"]]},
                "task": {"type": "worker", "index": args["index"]},
            }
        )
    import keras
    import numpy as np
    import tensorflow as tf

    from dermnet.models import create_model
    from dermnet.train.cluster import multi_worker_strategy
    from dermnet.train.distributed import fit_multi_worker

    strategy = (
        multi_worker_strategy(timeout_seconds=300)
        if args["ports"]
        else tf.distribute.get_strategy()
    )
    data = np.load(args["data"])
    ds = tf.data.Dataset.from_tensor_slices((data["x"], data["y"])).batch(args["batch"])
    keras.utils.set_random_seed(0)
    model = create_model("simple_cnn", 2, input_shape=data["x"].shape[1:])
    if args.get("perturb"):  # the control: the same run from weights moved by rounding size
        noise = np.random.default_rng(1)
        model.set_weights(
            [
                w
                + args["perturb"] * np.abs(w).max() * noise.standard_normal(w.shape).astype(w.dtype)
                for w in model.get_weights()
            ]
        )
    times: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    history = fit_multi_worker(
        model,
        ds,
        epochs=args["epochs"],
        optimizer=keras.optimizers.SGD(0.05),
        strategy=strategy,
        callbacks=[Timer()],
    )
    np.savez(args["out"] + ".npz", *model.get_weights())
    Path(args["out"] + ".json").write_text(
        json.dumps({"times": times, "history": history, "replicas": strategy.num_replicas_in_sync})
    )


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run(folder: Path, name: str, workers: int, common: dict, timeout: float) -> list[dict]:
    ports = _free_ports(workers) if workers > 1 else []
    procs = []
    for index in range(workers):
        args = common | {"ports": ports, "index": index, "out": str(folder / f"{name}{index}")}
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--worker", json.dumps(args)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        try:
            _, err = proc.communicate(timeout=timeout)
        finally:
            if proc.poll() is None:
                proc.kill()
        if proc.returncode != 0:
            raise SystemExit(f"a {name} worker failed:\n{err[-3000:]}")
    return [json.loads((folder / f"{name}{i}.json").read_text()) for i in range(workers)]


def _max_diff(a: Path, b: Path) -> float:
    import numpy as np

    wa, wb = np.load(a), np.load(b)
    return max(float(np.abs(wa[k] - wb[k]).max()) for k in wa)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="256 images, 3 epochs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.worker:
        _worker(json.loads(parsed.worker))
        return
    import numpy as np

    n, epochs, size, batch = (256, 3, 32, 32) if parsed.quick else (1024, 4, 32, 32)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    x = (rng.uniform(0, 200, (n, size, size, 3)) + 50 * y[:, None, None, None]).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        np.savez(folder / "data.npz", x=x, y=y)
        common = {"data": str(folder / "data.npz"), "epochs": epochs, "batch": batch}
        start = time.perf_counter()
        one = _run(folder, "one", 1, common, timeout=900)
        two = _run(folder, "two", 2, common, timeout=900)
        _run(folder, "nudged", 1, common | {"perturb": 1e-7}, timeout=900)
        control = _max_diff(folder / "nudged0.npz", folder / "one0.npz")
        between_workers = _max_diff(folder / "two0.npz", folder / "two1.npz")
        two_vs_one = _max_diff(folder / "two0.npz", folder / "one0.npz")
    print(f"{n} images {size}x{size}, global batch {batch}, {epochs} epochs, simple_cnn, SGD")
    print("| run | replicas | s/epoch (median after the first) | first epoch s | final loss |")
    print("|---|---|---|---|---|")
    for name, report in (("one process", one[0]), ("two workers (worker 0)", two[0])):
        times = report["times"]
        print(
            f"| {name} | {report['replicas']} | {statistics.median(times[1:]):.2f} "
            f"| {times[0]:.2f} | {report['history']['loss'][-1]:.4f} |"
        )
    print(f"max |weights worker 0 - worker 1|: {between_workers:.2e}")
    print(f"max |weights two workers - one process|: {two_vs_one:.2e}")
    print(
        f"control: max |weights one process - one process from weights nudged by 1e-7|: "
        f"{control:.2e} (how far rounding-size differences grow in this training)"
    )
    print(f"total {time.perf_counter() - start:.0f} s")
    if between_workers > 1e-5:
        raise SystemExit("the two workers ended with different weights")


if __name__ == "__main__":
    main()
