import csv

import numpy as np
import pytest
import tensorflow as tf

import dermnet
from dermnet import DataError, ParameterError
from dermnet.models import create_model, load_model
from dermnet.train import fit


def _toy(n=64, size=16, seed=0, one_hot=False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = np.where(y[:, None, None, None] == 1, 200.0, 40.0) + rng.normal(0, 10, (n, size, size, 3))
    labels = np.eye(2, dtype="float32")[y] if one_hot else y
    return tf.data.Dataset.from_tensor_slices((x.astype("float32"), labels)).batch(16)


def test_fit_learns_a_separable_toy_task():
    dermnet.seed_everything(0)
    ds = _toy()
    model = dermnet.create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    history = dermnet.fit(
        model,
        ds,
        ds,
        epochs=8,
        learning_rate=3e-3,
        class_weight={0: 1.0, 1: 1.0},
        verbose=0,
    )
    assert history.history["val_accuracy"][-1] > 0.9
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_checkpoint_csv_plot_log_and_early_stopping(tmp_path):
    ds = _toy()
    lines = []
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    history = fit(
        model,
        ds,
        ds,
        epochs=6,
        learning_rate=1e-6,  # nothing improves: early stopping after 1 + patience epochs
        early_stopping=1,
        monitor="val_accuracy",
        checkpoint=tmp_path / "best.keras",
        csv_log=tmp_path / "history.csv",
        plot=tmp_path / "curves.png",
        log=lines.append,
        verbose=0,
        seed=0,
    )
    epochs = len(history.history["loss"])
    assert epochs == 2
    rows = list(csv.DictReader((tmp_path / "history.csv").open()))
    assert len(rows) == epochs
    assert {"loss", "val_loss", "val_accuracy"} <= set(rows[0])
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(lines) == epochs
    assert lines[0].startswith("epoch 1/6  ")
    assert "val_loss" in lines[0]
    best = load_model(tmp_path / "best.keras")
    assert best.name == "simple_cnn"


def test_schedules_set_the_learning_rate():
    ds = _toy(n=32)  # 2 steps per epoch
    seen = {}

    import keras

    class Record(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen[epoch] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))

    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    fit(model, ds, epochs=4, lr_schedule="cosine", warmup_epochs=1, callbacks=[Record()], verbose=0)
    # cosine over 8 steps after a 2-step warm-up: the rate at the end of each epoch falls
    assert seen[0] > seen[1] > seen[2] > seen[3] >= 0.0
    assert seen[0] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * 0 / 6)), rel=0.3)

    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    history = fit(model, ds, epochs=3, lr_schedule=lambda epoch, lr: 0.1 / (epoch + 1), verbose=0)
    np.testing.assert_allclose(history.history["learning_rate"], [0.1, 0.05, 0.1 / 3], rtol=1e-5)

    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    history = fit(model, ds, ds, epochs=2, lr_schedule="plateau", warmup_epochs=0.5, verbose=0)
    assert history.history["learning_rate"][-1] == pytest.approx(1e-3)


def test_binary_sigmoid_and_one_hot_labels_get_the_right_loss():
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3), binary_output="sigmoid")
    fit(model, _toy(), epochs=1, verbose=0)
    assert model.loss == "binary_crossentropy"
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    fit(model, _toy(one_hot=True), epochs=1, verbose=0)
    assert model.loss == "categorical_crossentropy"


def test_image_metadata_model_trains_on_dict_batches():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    images = rng.uniform(0, 255, (32, 16, 16, 3)).astype("float32")
    metadata = np.stack([y * 2.0 - 1.0, rng.normal(size=32)], axis=1).astype("float32")
    ds = tf.data.Dataset.from_tensor_slices(({"image": images, "metadata": metadata}, y)).batch(8)
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3), metadata_dim=2)
    history = fit(model, ds, ds, epochs=6, learning_rate=3e-3, verbose=0, seed=0)
    assert history.history["val_accuracy"][-1] >= 0.9  # the metadata column gives it away
    with pytest.raises(DataError, match="image\\+metadata model"):
        fit(model, tf.data.Dataset.from_tensor_slices((images, y)).batch(8), epochs=1)


def test_seed_makes_runs_repeatable():
    results = []
    for _ in range(2):
        dermnet.seed_everything(3)
        model = create_model("simple_cnn", 2, input_shape=(16, 16, 3), dropout=0.3)
        ds = _toy(n=32)
        history = fit(model, ds, epochs=2, verbose=0, seed=3)
        results.append(history.history["loss"])
    assert results[0] == results[1]


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_trains_a_clone_and_copies_the_weights_back(policy):
    import keras

    seen = {}

    class Inspect(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            backbone = self.model.get_layer("simple_cnn")
            seen["compute"] = backbone.get_layer("block1_conv").compute_dtype
            seen["output"] = self.model.get_layer("predictions").compute_dtype
            seen["optimizer"] = type(self.model.optimizer).__name__

    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    before = [w.numpy() for w in model.weights]
    history = fit(
        model, _toy(n=32), epochs=1, mixed_precision=policy, callbacks=[Inspect()], verbose=0
    )
    assert seen["compute"] == policy.split("_")[1]  # the clone computed in half precision
    assert seen["output"] == "float32"  # the softmax stays float32
    assert (seen["optimizer"] == "LossScaleOptimizer") == (policy == "mixed_float16")
    assert history.model is model
    assert model.get_layer("simple_cnn").get_layer("block1_conv").dtype_policy.name == "float32"
    after = [w.numpy() for w in model.weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    assert np.isfinite(history.history["loss"][-1])


def test_data_that_do_not_fit_the_model_are_explained():
    model = create_model("simple_cnn", 3, input_shape=(16, 16, 3))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    seven = tf.data.Dataset.from_tensor_slices((x, np.full(8, 6))).batch(4)
    with pytest.raises(
        DataError, match=r"outputs 3 class.*label value of 6 is outside the valid range \[0, 3\)"
    ):
        fit(model, seven, epochs=1, verbose=0)
    small = tf.data.Dataset.from_tensor_slices((x[:, :8, :8], np.zeros(8))).batch(4)
    with pytest.raises(DataError, match=r"shape \(8, 8, 3\).*expects \(16, 16, 3\)"):
        fit(model, small, epochs=1, verbose=0)
    one_hot = tf.data.Dataset.from_tensor_slices((x, np.eye(7)[np.zeros(8, int)])).batch(4)
    with pytest.raises(DataError, match="one-hot labels for 7 classes"):
        fit(model, one_hot, epochs=1, verbose=0)
    with pytest.raises(DataError, match=r"'class_weight'.*classes \[5\]"):
        fit(model, seven, class_weight={0: 1.0, 5: 2.0}, epochs=1, verbose=0)


def test_fit_rejects_bad_arguments():
    model = dermnet.create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    ds = _toy(n=16)
    with pytest.raises(ParameterError, match="'epochs'"):
        dermnet.fit(model, None, epochs=0)
    with pytest.raises(ParameterError, match="'model'"):
        dermnet.fit("model", None)
    with pytest.raises(ParameterError, match="needs validation data"):
        fit(model, ds, monitor="val_loss")
    with pytest.raises(ParameterError, match="'checkpoint'"):
        fit(model, ds, checkpoint="best.h5")
    with pytest.raises(ParameterError, match="'lr_schedule'"):
        fit(model, ds, lr_schedule="cosine_annealing")
    with pytest.raises(ParameterError, match="'optimizer'"):
        fit(model, ds, optimizer="adamax")
    with pytest.raises(ParameterError, match="'mixed_precision'"):
        fit(model, ds, mixed_precision="float16")
    with pytest.raises(ParameterError, match="'strategy'"):
        fit(model, ds, strategy="mirrored")
    with pytest.raises(ParameterError, match="needs compile=True"):
        fit(model, ds, lr_schedule="cosine", compile=False)
    with pytest.raises(ParameterError, match=r"'warmup_epochs'.*leave steps"):
        fit(model, ds, epochs=1, lr_schedule="cosine", warmup_epochs=1)
    endless = ds.repeat()
    with pytest.raises(ParameterError, match="steps_per_epoch"):
        fit(model, endless, lr_schedule="cosine")
