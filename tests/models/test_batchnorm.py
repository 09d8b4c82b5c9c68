import numpy as np
import pytest
import tensorflow as tf

from dermnet import ParameterError
from dermnet.models import batchnorm_layers, create_model, recalibrate_batchnorm, set_bn_momentum


def _bn_model():
    import keras

    inputs = keras.Input((4,))
    x = keras.layers.BatchNormalization(momentum=0.999, name="bn")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="predictions")(x))


def test_recalibrate_sets_the_average_of_the_batch_statistics():
    model = _bn_model()
    rng = np.random.default_rng(0)
    a = rng.normal(3.0, 2.0, (8, 4)).astype("float32")
    b = rng.normal(-1.0, 0.5, (8, 4)).astype("float32")
    used = recalibrate_batchnorm(model, np.concatenate([a, b]), batch_size=8)
    assert used == 2
    bn = model.get_layer("bn")
    np.testing.assert_allclose(bn.moving_mean.numpy(), (a.mean(0) + b.mean(0)) / 2, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), (a.var(0) + b.var(0)) / 2, atol=1e-4)
    assert bn.momentum == 0.999  # restored


def test_recalibrate_from_a_dataset_with_steps_and_without_reset():
    model = _bn_model()
    bn = model.get_layer("bn")
    x = np.full((12, 4), 2.0, "float32")
    ds = tf.data.Dataset.from_tensor_slices((x, np.zeros(12))).batch(4)
    assert recalibrate_batchnorm(model, ds, steps=1, reset=False) == 1
    # the old statistics (mean 0) count as one batch next to the new one (mean 2)
    np.testing.assert_allclose(bn.moving_mean.numpy(), 1.0, atol=1e-6)
    assert recalibrate_batchnorm(model, ds) == 3
    np.testing.assert_allclose(bn.moving_mean.numpy(), 2.0, atol=1e-6)


def test_frozen_batchnorm_is_left_alone():
    model = _bn_model()
    model.get_layer("bn").trainable = False
    x = np.ones((4, 4), "float32")
    assert recalibrate_batchnorm(model, x) == 0
    np.testing.assert_array_equal(model.get_layer("bn").moving_mean.numpy(), 0.0)


def test_set_bn_momentum_and_bad_arguments():
    model = create_model("compact_cnn", 2, input_shape=(16, 16, 3))
    assert set_bn_momentum(model, 0.5) == len(batchnorm_layers(model)) == 12
    assert {layer.momentum for layer in batchnorm_layers(model)} == {0.5}
    with pytest.raises(ParameterError, match="'momentum'"):
        set_bn_momentum(model, 1.5)
    with pytest.raises(ParameterError, match="'data'"):
        recalibrate_batchnorm(model, "images")
    with pytest.raises(ParameterError, match="'steps'"):
        recalibrate_batchnorm(model, np.zeros((2, 16, 16, 3), "float32"), steps=0)


def _colour_task(n, seed, size=48):
    """Three classes told apart by which colour channel is raised."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    x = rng.uniform(0, 160, (n, size, size, 3))
    x[np.arange(n), :, :, y] += 90
    return x.astype("float32"), y


@pytest.mark.slow
def test_short_fit_from_scratch_is_not_collapsed_in_inference_mode():
    """MobileNetV2 from scratch, 20 steps: inference-mode predictions use every class.

    The control on the same trained weights: with the moving statistics a short run with
    Keras' momentum 0.999 leaves (still close to their initial values, mean 0 and
    variance 1), every image gets the same class; re-estimating them restores the model.
    """
    import dermnet
    from dermnet.train import fit

    x, y = _colour_task(64, 0)
    x_test, y_test = _colour_task(30, 1)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(64, seed=0).batch(16)
    dermnet.seed_everything(0)
    model = create_model("mobilenet_v2", 3, input_shape=(48, 48, 3))  # defaults
    fit(model, ds, epochs=5, verbose=0, seed=0)  # defaults: statistics re-estimated
    predicted = model.predict(x_test, verbose=0).argmax(1)
    assert len(set(predicted)) == 3
    # well above chance (1/3); the exact figure after 20 steps moves with the thread
    # schedule of the run (0.63 to 0.8 seen), so the bar is not set at the best case
    assert (predicted == y_test).mean() >= 0.5

    trained = model.get_weights()
    for layer in batchnorm_layers(model):  # the statistics of a 0.999-momentum short run
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, "float32"))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, "float32"))
    stale = model.predict(x_test, verbose=0).argmax(1)
    assert len(set(stale)) == 1  # collapsed onto one class
    recalibrate_batchnorm(model, ds)  # what fit did (the shuffle order differs)
    restored = model.predict(x_test, verbose=0).argmax(1)
    assert len(set(restored)) == 3
    assert (restored == y_test).mean() >= 0.5
    model.set_weights(trained)
