"""tf.distribute: a short fit under a two-device MirroredStrategy matches a single-device fit.

Logical CPU devices must be configured before TensorFlow initialises, so the test runs
in a fresh Python process.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dermnet

SCRIPT = textwrap.dedent(
    """
    import json, os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    import numpy as np
    import dermnet
    from dermnet.models import create_model
    from dermnet.train import fit

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 64)
    x = (rng.uniform(0, 120, (64, 24, 24, 3)) + 40 * y[:, None, None, None]).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    dermnet.seed_everything(0)
    single = create_model("simple_cnn", 3, input_shape=(24, 24, 3))
    start = single.get_weights()
    h1 = fit(single, ds, ds, epochs=2, verbose=0, seed=0)

    mirrored = create_model("simple_cnn", 3, input_shape=(24, 24, 3))
    mirrored.set_weights(start)
    h2 = fit(mirrored, ds, ds, epochs=2, verbose=0, seed=0, strategy=strategy)

    with strategy.scope():
        inside = create_model("compact_cnn", 3, input_shape=(24, 24, 3))
    h3 = fit(inside, ds, epochs=1, verbose=0, strategy=strategy)

    p1, p2 = single.predict(x, verbose=0), mirrored.predict(x, verbose=0)
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync,
        "devices": list(strategy.extended.worker_devices),
        "h1": h1.history, "h2": h2.history,
        "same_model_object": h2.model is mirrored and h3.model is inside,
        "shapes_equal": [a.shape for a in single.get_weights()]
            == [b.shape for b in mirrored.get_weights()],
        "max_weight_diff": max(float(np.abs(a - b).max())
            for a, b in zip(single.get_weights(), mirrored.get_weights())),
        "max_pred_diff": float(np.abs(p1 - p2).max()),
        "moved": float(np.abs(mirrored.get_weights()[0] - start[0]).max()),
    }))
    """
)


@pytest.mark.slow
def test_mirrored_strategy_on_two_cpu_devices_matches_single_device():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(dermnet.__file__).parents[1]), env.get("PYTHONPATH", "")]
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    assert len(out["devices"]) == 2
    assert out["same_model_object"]
    assert out["shapes_equal"]
    assert out["h1"].keys() == out["h2"].keys()
    assert len(out["h2"]["loss"]) == 2
    assert out["moved"] > 0  # the mirrored run trained and its weights came back
    # Same data, same start, gradients averaged over the two halves of each batch: the
    # runs agree up to float summation order.
    for key in ("loss", "val_loss", "accuracy"):
        for a, b in zip(out["h1"][key], out["h2"][key], strict=True):
            assert abs(a - b) <= 1e-3 * max(1.0, abs(a)), (key, a, b)
    assert out["max_pred_diff"] < 1e-3
