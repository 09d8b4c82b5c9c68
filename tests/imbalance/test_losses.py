import keras
import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.imbalance import BinaryFocalLoss, CategoricalFocalLoss, ClassBalancedLoss
from dermnet.imbalance.losses import class_balanced_weights

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 4, 64)
LOGITS = RNG.normal(size=(64, 4)).astype("float32") * 2
PROBS = (np.exp(LOGITS) / np.exp(LOGITS).sum(1, keepdims=True)).astype("float32")


def _value(loss, y, p, **kw):
    return float(keras.ops.convert_to_numpy(loss(y, p, **kw)))


@pytest.mark.parametrize(
    ("y", "reference"),
    [
        (Y, keras.losses.SparseCategoricalCrossentropy()),
        (Y[:, None], keras.losses.SparseCategoricalCrossentropy()),
        (np.eye(4, dtype="float32")[Y], keras.losses.CategoricalCrossentropy()),
    ],
    ids=["sparse", "sparse-column", "one-hot"],
)
def test_focal_loss_with_gamma_zero_equals_cross_entropy(y, reference):
    assert _value(CategoricalFocalLoss(gamma=0.0), y, PROBS) == pytest.approx(
        _value(reference, y, PROBS), rel=1e-5
    )
    logits_ref = type(reference)(from_logits=True)
    assert _value(CategoricalFocalLoss(gamma=0.0, from_logits=True), y, LOGITS) == pytest.approx(
        _value(logits_ref, y, LOGITS), rel=1e-5
    )


def test_binary_focal_loss_with_gamma_zero_equals_binary_cross_entropy():
    y = RNG.integers(0, 2, (64, 1)).astype("float32")
    z = RNG.normal(size=(64, 1)).astype("float32") * 3
    p = 1 / (1 + np.exp(-z))
    bce = keras.losses.BinaryCrossentropy()
    assert _value(BinaryFocalLoss(gamma=0.0), y, p) == pytest.approx(_value(bce, y, p), rel=1e-5)
    bce_logits = keras.losses.BinaryCrossentropy(from_logits=True)
    assert _value(BinaryFocalLoss(gamma=0.0, from_logits=True), y, z) == pytest.approx(
        _value(bce_logits, y, z), rel=1e-5
    )
    # 1-D predictions are accepted too
    assert _value(BinaryFocalLoss(gamma=0.0), y[:, 0], p[:, 0]) == pytest.approx(
        _value(bce, y, p), rel=1e-5
    )


def test_focal_loss_matches_its_formula_with_alpha_and_gamma():
    alpha = [0.1, 0.2, 0.3, 0.4]
    loss = CategoricalFocalLoss(gamma=2.0, alpha=alpha, reduction=None)
    per_sample = keras.ops.convert_to_numpy(loss(Y, PROBS))
    p_true = PROBS[np.arange(64), Y]
    expected = -np.asarray(alpha)[Y] * (1 - p_true) ** 2 * np.log(p_true)
    assert np.allclose(per_sample, expected, rtol=1e-5)
    assert _value(CategoricalFocalLoss(gamma=0.0, alpha=0.5), Y, PROBS) == pytest.approx(
        0.5 * _value(CategoricalFocalLoss(gamma=0.0), Y, PROBS), rel=1e-6
    )


def test_binary_focal_formula_and_alpha_conventions():
    y = np.array([[1.0], [0.0], [1.0]], "float32")
    p = np.array([[0.9], [0.2], [0.3]], "float32")
    p_t = np.array([0.9, 0.8, 0.3])
    per = keras.ops.convert_to_numpy(BinaryFocalLoss(gamma=2.0, alpha=0.25, reduction=None)(y, p))
    alpha_t = np.array([0.25, 0.75, 0.25])
    assert np.allclose(per, -alpha_t * (1 - p_t) ** 2 * np.log(p_t), rtol=1e-5)
    pair = keras.ops.convert_to_numpy(
        BinaryFocalLoss(gamma=0.0, alpha=[1.0, 3.0], reduction=None)(y, p)
    )
    assert np.allclose(pair, -np.array([3.0, 1.0, 3.0]) * np.log(p_t), rtol=1e-5)


def test_focal_loss_down_weights_easy_examples():
    easy = np.array([[0.95, 0.05]], "float32")
    hard = np.array([[0.3, 0.7]], "float32")
    y = np.array([0])
    ce = CategoricalFocalLoss(gamma=0.0)
    focal = CategoricalFocalLoss(gamma=2.0)
    assert _value(focal, y, easy) / _value(ce, y, easy) == pytest.approx(0.05**2, rel=1e-4)
    assert _value(focal, y, hard) / _value(ce, y, hard) == pytest.approx(0.7**2, rel=1e-4)


def test_class_balanced_loss_is_cross_entropy_weighted_by_effective_numbers():
    counts = [500, 100, 20, 5]
    loss = ClassBalancedLoss(counts, beta=0.99, reduction=None)
    weights = class_balanced_weights(counts, 0.99)
    assert weights.sum() == pytest.approx(4.0)
    assert np.all(np.diff(weights) > 0)  # rarer classes weigh more
    ce = keras.losses.SparseCategoricalCrossentropy(reduction=None)
    expected = weights[Y] * keras.ops.convert_to_numpy(ce(Y, PROBS))
    assert np.allclose(keras.ops.convert_to_numpy(loss(Y, PROBS)), expected, rtol=1e-5)
    plain = ClassBalancedLoss(counts, beta=0.0)
    assert _value(plain, Y, PROBS) == pytest.approx(
        _value(keras.losses.SparseCategoricalCrossentropy(), Y, PROBS), rel=1e-5
    )
    focal = ClassBalancedLoss(counts, beta=0.99, gamma=2.0, reduction=None)
    expected = CategoricalFocalLoss(gamma=2.0, alpha=weights.tolist(), reduction=None)(Y, PROBS)
    assert np.allclose(
        keras.ops.convert_to_numpy(focal(Y, PROBS)), keras.ops.convert_to_numpy(expected)
    )


def test_sample_weights_apply():
    loss = CategoricalFocalLoss(gamma=1.0)
    w = np.zeros(64, "float32")
    w[0] = 64.0
    per = keras.ops.convert_to_numpy(CategoricalFocalLoss(gamma=1.0, reduction=None)(Y, PROBS))
    assert _value(loss, Y, PROBS, sample_weight=w) == pytest.approx(per[0], rel=1e-5)


@pytest.mark.parametrize(
    "loss",
    [
        CategoricalFocalLoss(gamma=1.5, alpha=[0.2, 0.3, 0.5], from_logits=False),
        ClassBalancedLoss([50, 10, 3], beta=0.999, gamma=1.0),
        BinaryFocalLoss(gamma=2.0, alpha=0.25),
    ],
    ids=["focal", "class-balanced", "binary-focal"],
)
def test_losses_round_trip_through_keras_files(tmp_path, loss):
    config = loss.get_config()
    clone = type(loss).from_config(config)
    assert clone.get_config() == config
    binary = isinstance(loss, BinaryFocalLoss)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1 if binary else 3, activation="sigmoid" if binary else "softmax")(
        inputs
    )
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss=loss)
    x = RNG.normal(size=(16, 4)).astype("float32")
    y = RNG.integers(0, 2 if binary else 3, (16, 1)).astype("float32")
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == config
    assert loaded.evaluate(x, y, verbose=0) == pytest.approx(model.evaluate(x, y, verbose=0))


def test_bad_parameters_are_clear_errors():
    with pytest.raises(ParameterError, match="'gamma'"):
        CategoricalFocalLoss(gamma=-1.0)
    with pytest.raises(ParameterError, match="'alpha'"):
        CategoricalFocalLoss(alpha=[0.5, -1.0])
    with pytest.raises(ParameterError, match="'alpha'"):
        BinaryFocalLoss(alpha=1.5)
    with pytest.raises(ParameterError, match="'alpha'"):
        BinaryFocalLoss(alpha=[1.0, 2.0, 3.0])
    with pytest.raises(ParameterError, match="has 3 values but the model predicts 4"):
        CategoricalFocalLoss(alpha=[1.0, 1.0, 1.0])(Y, PROBS)
    with pytest.raises(ParameterError, match="'samples_per_class'"):
        ClassBalancedLoss([10, 0, 3])
    with pytest.raises(ParameterError, match="'beta'"):
        ClassBalancedLoss([10, 3], beta=1.0)
