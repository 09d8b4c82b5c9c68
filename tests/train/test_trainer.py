import numpy as np
import pytest

import dermnet
from dermnet import ParameterError


def test_fit_learns_a_separable_toy_task():
    import tensorflow as tf

    dermnet.seed_everything(0)
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 64)
    x = np.where(y[:, None, None, None] == 1, 200.0, 40.0) + rng.normal(0, 10, (64, 16, 16, 3))
    ds = tf.data.Dataset.from_tensor_slices((x.astype("float32"), y)).batch(16)
    model = dermnet.create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    history = dermnet.fit(
        model,
        ds,
        ds,
        epochs=8,
        learning_rate=3e-3,
        class_weight=dermnet.class_weights(y),
        verbose=0,
    )
    assert history.history["val_accuracy"][-1] > 0.9
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}


def test_fit_rejects_bad_arguments():
    model = dermnet.create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    with pytest.raises(ParameterError, match="'epochs'"):
        dermnet.fit(model, None, epochs=0)
    with pytest.raises(ParameterError, match="'model'"):
        dermnet.fit("model", None)
