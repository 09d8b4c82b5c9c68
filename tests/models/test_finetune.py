import numpy as np
import pytest
import tensorflow as tf

from dermnet import ParameterError
from dermnet.models import (
    ParameterReport,
    batchnorm_layers,
    create_model,
    freeze_backbone,
    get_backbone,
    parameter_report,
    unfreeze,
)
from dermnet.train import fit


def _data(n=16, size=32, classes=3):
    rng = np.random.default_rng(0)
    y = rng.integers(0, classes, n)
    x = rng.uniform(0, 255, (n, size, size, 3)).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def _values(layers):
    return [w.numpy() for layer in layers for w in layer.weights]


def _changed(before, after):
    return [not np.array_equal(a, b) for a, b in zip(before, after, strict=True)]


def test_frozen_backbone_does_not_change_after_training_and_the_head_does():
    model = create_model("compact_cnn", 3, input_shape=(32, 32, 3))
    freeze_backbone(model)
    backbone = get_backbone(model)
    before_backbone = _values([backbone])  # BatchNorm moving statistics included
    before_head = _values([model.get_layer("predictions")])
    fit(model, _data(), epochs=1, verbose=0)
    assert not any(_changed(before_backbone, _values([backbone])))
    assert all(_changed(before_head, _values([model.get_layer("predictions")])))


def test_unfrozen_top_changes_the_rest_and_batchnorm_do_not():
    model = create_model("compact_cnn", 3, input_shape=(32, 32, 3))
    backbone = get_backbone(model)
    unfreeze(freeze_backbone(model), from_layer="stage4_conv1")
    names = [layer.name for layer in backbone.layers]
    top = [layer for layer in backbone.layers[names.index("stage4_conv1") :] if layer.weights]
    bottom = [layer for layer in backbone.layers[: names.index("stage4_conv1")] if layer.weights]
    trainable_top = [layer for layer in top if layer.trainable]
    assert {layer.name for layer in trainable_top} == {
        "stage4_conv1",
        "stage4_conv2",
        "stage4_proj",
    }
    assert all(not layer.trainable for layer in batchnorm_layers(model))
    before_top = _values(trainable_top)
    before_rest = _values(bottom + [layer for layer in top if not layer.trainable])
    fit(model, _data(), epochs=1, verbose=0)
    assert all(_changed(before_top, _values(trainable_top)))
    after_rest = _values(bottom + [layer for layer in top if not layer.trainable])
    assert not any(_changed(before_rest, after_rest))


def test_unfreeze_options_count_layers_from_the_top():
    model = create_model("mobilenet_v2", 2, input_shape=(32, 32, 3))
    backbone = get_backbone(model)
    layers = backbone.layers[1:]
    unfreeze(model, last_n=5)
    assert [layer.name for layer in layers[-5:]] == [
        "block_16_project",
        "block_16_project_BN",
        "Conv_1",
        "Conv_1_bn",
        "out_relu",
    ]
    trainable = {layer.name for layer in layers if layer.trainable_weights}
    assert trainable == {"block_16_project", "Conv_1"}
    unfreeze(model, fraction=1.0)
    whole = parameter_report(model)
    unfreeze(model)
    assert parameter_report(model) == whole
    unfreeze(model, fraction=0.1)
    tenth = parameter_report(model)
    assert 0 < tenth.backbone_trainable < whole.backbone_trainable
    unfreeze(model, train_batchnorm=True)
    with_bn = parameter_report(model)
    assert with_bn.batchnorm_trainable == with_bn.batchnorm_layers == 52
    assert with_bn.backbone_trainable > whole.backbone_trainable


def test_parameter_report_counts_and_prints():
    model = create_model("simple_cnn", 3, input_shape=(16, 16, 3))
    report = parameter_report(model)
    assert isinstance(report, ParameterReport)
    assert report.total == model.count_params() == 93_248 + 128 * 3 + 3
    assert report.trainable == report.total
    assert report.non_trainable == 0
    assert report.backbone_layers == 3
    assert report.batchnorm_layers == 0
    text = str(freeze_backbone(model) and parameter_report(model))
    assert "387 trainable" in text
    assert "0 of 93,248 trainable" in text
    assert report.to_dict()["total"] == report.total


def test_bad_arguments():
    model = create_model("compact_cnn", 2, input_shape=(16, 16, 3))
    with pytest.raises(ParameterError, match="at most one of"):
        unfreeze(model, last_n=2, fraction=0.5)
    with pytest.raises(ParameterError, match="Did you mean 'stage4_conv2' or 'stage4_conv1'"):
        unfreeze(model, from_layer="stage4_conv")
    with pytest.raises(ParameterError, match="'last_n'"):
        unfreeze(model, last_n=10_000)
    with pytest.raises(ParameterError, match="'fraction'"):
        unfreeze(model, fraction=0.0)
    with pytest.raises(ParameterError, match="'model'"):
        freeze_backbone("model")
    import keras

    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    with pytest.raises(ParameterError, match="0 nested models"):
        get_backbone(plain)
