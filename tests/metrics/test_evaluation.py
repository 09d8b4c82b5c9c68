import keras
import numpy as np
import pytest
import tensorflow as tf

from dermnet import DataError, ParameterError
from dermnet.metrics import collect_predictions, evaluate, evaluate_model

K = 3


def _oracle(k=K, temperature=1.0, softmax=True):
    """A model whose input is a one-hot of the label plus noise: it predicts the label."""
    inputs = keras.Input((k,), name="image")
    dense = keras.layers.Dense(k, use_bias=False, activation="softmax" if softmax else None)
    model = keras.Model(inputs, dense(inputs))
    dense.set_weights([np.eye(k, dtype="float32") * 4.0 / temperature])
    return model


def _data(n=90, k=K, seed=0, noise=0.6):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = (np.eye(k)[y] + rng.normal(0, noise, (n, k))).astype("float32")
    return x, y


def test_evaluate_model_matches_evaluate_on_predictions():
    x, y = _data()
    model = _oracle()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    report = evaluate_model(model, ds, ["a", "b", "c"], n_bootstrap=100)
    expected = evaluate(y, model.predict(x, verbose=0), ["a", "b", "c"], n_bootstrap=100)
    assert report == expected
    assert report.y_score.shape == (90, 3)


def test_labels_and_predictions_come_from_the_same_pass_over_a_shuffling_dataset():
    x, y = _data(noise=0.05)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(90, seed=1, reshuffle_each_iteration=True).batch(16)
    y_true, scores = collect_predictions(_oracle(), ds)
    assert np.mean(scores.argmax(1) == y_true) == 1.0  # aligned, though every pass reorders
    naive_labels = np.concatenate([b.numpy() for _, b in ds])  # a second pass: new order
    assert np.mean(scores.argmax(1) == naive_labels) < 0.7


def test_one_hot_labels_dict_inputs_and_three_element_batches():
    x, y = _data()
    image = keras.Input((K,), name="image")
    metadata = keras.Input((2,), name="metadata")
    merged = keras.layers.Concatenate()([image, keras.layers.Dense(K, use_bias=False)(metadata)])
    out = keras.layers.Dense(K, activation="softmax")(merged)
    model = keras.Model({"image": image, "metadata": metadata}, out)
    feats = {"image": x, "metadata": np.zeros((90, 2), "float32")}
    weights = np.ones(90, "float32")
    ds = tf.data.Dataset.from_tensor_slices((feats, np.eye(K)[y], weights)).batch(32)
    y_true, scores = collect_predictions(model, ds)
    assert np.array_equal(y_true, y)
    assert np.allclose(scores, model.predict(feats, verbose=0), atol=1e-6)


def test_single_sigmoid_output_and_logits():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 64)
    x = (2.0 * y - 1.0 + rng.normal(0, 1.0, 64)).astype("float32")[:, None]
    inputs = keras.Input((1,))
    layer = keras.layers.Dense(1)
    model = keras.Model(inputs, layer(inputs))
    layer.set_weights([np.array([[2.0]], "float32"), np.array([0.0], "float32")])
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(20)
    with pytest.raises(DataError, match="probabilities"):
        evaluate_model(model, ds)  # logits are not probabilities
    report = evaluate_model(model, ds, activation="sigmoid", n_bootstrap=0)
    y_true, scores = collect_predictions(model, ds, activation="sigmoid")
    assert scores.shape == (64,)
    assert report.macro_auc == pytest.approx(evaluate(y_true, scores, n_bootstrap=0).macro_auc)
    softmax_model = _oracle(softmax=False)
    xs, ys = _data()
    logits_ds = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(32)
    _, probs = collect_predictions(softmax_model, logits_ds, activation="softmax")
    assert np.allclose(probs.sum(1), 1.0)


def test_bad_datasets_are_clear_errors():
    x, y = _data()
    model = _oracle()
    endless = tf.data.Dataset.from_tensor_slices((x, y)).batch(16).repeat()
    with pytest.raises(ParameterError, match="finite"):
        collect_predictions(model, endless)
    y_true, _ = collect_predictions(model, endless, max_batches=2)
    assert len(y_true) == 32
    with pytest.raises(ParameterError, match="batches of"):
        collect_predictions(model, tf.data.Dataset.from_tensor_slices(x).batch(16))
    with pytest.raises(DataError, match="no batches"):
        collect_predictions(model, [])
    with pytest.raises(ParameterError, match="'model'"):
        collect_predictions(object(), [(x, y)])
    with pytest.raises(DataError, match="not class indices"):
        collect_predictions(model, [(x[:4], np.array([0.5, 1.0, 2.0, 0.0]))])
    with pytest.raises(ParameterError, match="'activation'"):
        collect_predictions(model, [(x, y)], activation="relu")
