import keras
import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from dermnet import ParameterError
from dermnet.metrics import BalancedAccuracy, MacroAUC, evaluate


def _batches(n=600, k=4, seed=0, batch=64):
    rng = np.random.default_rng(seed)
    y = rng.choice(k, n, p=np.r_[0.55, np.full(k - 1, 0.45 / (k - 1))])
    logits = rng.normal(size=(n, k)) + 1.2 * np.eye(k)[y]
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return y, p.astype("float32"), [slice(i, i + batch) for i in range(0, n, batch)]


def _result(metric):
    return float(keras.ops.convert_to_numpy(metric.result()))


@pytest.mark.parametrize("labels", ["sparse", "column", "one_hot"])
def test_balanced_accuracy_equals_scikit_learn_over_many_batches(labels):
    y, p, batches = _batches()
    metric = BalancedAccuracy(num_classes=4)
    for s in batches:
        truth = {"sparse": y[s], "column": y[s, None], "one_hot": np.eye(4)[y[s]]}[labels]
        metric.update_state(truth, p[s])
    assert _result(metric) == pytest.approx(balanced_accuracy_score(y, p.argmax(1)), abs=1e-6)
    metric.reset_state()
    assert _result(metric) == 0.0


def test_balanced_accuracy_single_sigmoid_output_and_class_weights():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)
    p = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.3, 200), 0, 1)
    metric = BalancedAccuracy(num_classes=2)
    metric.update_state(y, p[:, None])
    assert _result(metric) == pytest.approx(balanced_accuracy_score(y, p >= 0.5), abs=1e-6)
    weighted = BalancedAccuracy(num_classes=2)
    weighted.update_state(y, p[:, None], sample_weight=np.where(y == 1, 5.0, 1.0))
    assert _result(weighted) == pytest.approx(_result(metric), abs=1e-6)  # class weights
    logits = BalancedAccuracy(num_classes=2, from_logits=True)
    logits.update_state(y, np.log(p + 1e-9) - np.log(1 - p + 1e-9))
    assert _result(logits) == pytest.approx(_result(metric), abs=1e-6)


def test_macro_auc_is_close_to_scikit_learn_over_many_batches():
    y, p, batches = _batches(n=2000, seed=2)
    metric = MacroAUC(num_classes=4)
    for s in batches:
        metric.update_state(y[s], p[s])
    exact = roc_auc_score(y, p, multi_class="ovr")
    assert _result(metric) == pytest.approx(exact, abs=0.005)
    fine = MacroAUC(num_classes=4, num_bins=2000)
    fine.update_state(y, p)
    assert _result(fine) == pytest.approx(exact, abs=0.001)


def test_macro_auc_ignores_classes_not_seen_yet_like_evaluate():
    y = np.array([0, 1, 0, 1, 0])
    p = np.array(
        [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.3, 0.5, 0.2], [0.6, 0.3, 0.1]]
    )
    metric = MacroAUC(num_classes=3)
    metric.update_state(y, p)
    with pytest.warns(UserWarning, match="'2'"):
        expected = evaluate(y, p, n_bootstrap=0).macro_auc
    assert _result(metric) == pytest.approx(expected)
    keras_auc = keras.metrics.AUC(multi_label=True, num_labels=3)
    keras_auc.update_state(np.eye(3)[y], p)
    assert float(keras_auc.result()) < _result(metric)  # Keras counts the absent class as 0


def test_metrics_train_and_round_trip_through_keras_files(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = (x[:, 0] > 0).astype("int32") + (x[:, 1] > 1).astype("int32")
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(inputs))
    model.compile(
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=[BalancedAccuracy(3), MacroAUC(3, num_bins=50)],
    )
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0, validation_data=(x, y))
    for key in ("balanced_accuracy", "macro_auc", "val_balanced_accuracy", "val_macro_auc"):
        assert key in history.history
    probs = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(y, probs.argmax(1)), abs=1e-5
    )
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    again = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert again["balanced_accuracy"] == pytest.approx(logs["balanced_accuracy"])
    assert again["macro_auc"] == pytest.approx(logs["macro_auc"])
    for metric in (BalancedAccuracy(3, from_logits=True, name="ba"), MacroAUC(4, num_bins=20)):
        clone = type(metric).from_config(metric.get_config())
        assert clone.get_config() == metric.get_config()


def test_bad_parameters():
    with pytest.raises(ParameterError, match="'num_classes'"):
        BalancedAccuracy(num_classes=1)
    with pytest.raises(ParameterError, match="'num_bins'"):
        MacroAUC(num_classes=3, num_bins=2)
