import h5py
import numpy as np
import pytest

from dermnet import MissingFileError, ParameterError, UnknownNameError
from dermnet.models import (
    ModelSpec,
    batchnorm_layers,
    create_model,
    get_backbone,
    get_model_spec,
    list_models,
    load_model,
    register_model,
)
from dermnet.models.registry import MODELS


def test_listing_and_spec():
    assert "simple_cnn" in list_models()
    assert list_models("simple*") == ["simple_cnn"]
    assert list_models("resnet*") == ["resnet101_v2", "resnet152_v2", "resnet50", "resnet50_v2"]
    assert len(list_models("efficientnet_b*")) == 8
    assert list_models("efficientnet_v2_*") == [
        "efficientnet_v2_b0",
        "efficientnet_v2_b1",
        "efficientnet_v2_b2",
        "efficientnet_v2_b3",
        "efficientnet_v2_s",
    ]
    spec = get_model_spec("simple_cnn")
    assert isinstance(spec, ModelSpec)
    assert spec.gradcam_path == "simple_cnn/block3_conv"
    assert "builder" not in spec.to_dict()
    assert get_model_spec("xception").min_input_size == (71, 71)
    assert get_model_spec("efficientnet_b7").input_size == (600, 600)


def test_duplicate_registration_is_an_error():
    with pytest.raises(ParameterError, match="already registered"):
        register_model(get_model_spec("simple_cnn"))
    with pytest.raises(ParameterError, match="'spec'"):
        register_model("simple_cnn")


def test_a_new_spec_registers_and_builds():
    spec = get_model_spec("simple_cnn")
    import dataclasses

    custom = dataclasses.replace(spec, name="custom_cnn_for_test")
    register_model(custom)
    try:
        assert "custom_cnn_for_test" in list_models()
        model = create_model("custom_cnn_for_test", 2, input_shape=(16, 16, 3))
        assert model.name == "custom_cnn_for_test"
        assert get_backbone(model).name == "simple_cnn"
    finally:
        MODELS.unregister("custom_cnn_for_test")


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_local_weights_file_round_trip_and_mismatch(tmp_path):
    a = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    a.save_weights(tmp_path / "w.weights.h5")
    b = create_model("simple_cnn", 3, input_shape=(32, 32, 3), weights=tmp_path / "w.weights.h5")
    x = np.ones((1, 32, 32, 3), "float32") * 100
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ParameterError, match="does not match") as info:
        create_model("simple_cnn", 5, input_shape=(32, 32, 3), weights=tmp_path / "w.weights.h5")
    message = str(info.value)
    assert "num_classes=5" in message
    assert "Expected the weights of a model" in message
    assert "(32, 3)" in message or "shape" in message  # Keras' shape detail is passed on


def test_weights_from_a_keras_file_and_from_a_backbone_file(tmp_path):
    a = create_model("compact_cnn", 4, input_shape=(32, 32, 3))
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    a.save(tmp_path / "a.keras")
    b = create_model("compact_cnn", 4, input_shape=(32, 32, 3), weights=tmp_path / "a.keras")
    np.testing.assert_allclose(np.asarray(b(x)), np.asarray(a(x)), atol=1e-6)
    # backbone-only weights (e.g. shared between tasks with different class counts)
    get_backbone(a).save_weights(tmp_path / "backbone.weights.h5")
    c = create_model(
        "compact_cnn", 2, input_shape=(32, 32, 3), weights=tmp_path / "backbone.weights.h5"
    )
    for wa, wc in zip(get_backbone(a).weights, get_backbone(c).weights, strict=True):
        np.testing.assert_array_equal(np.asarray(wa), np.asarray(wc))


def test_weights_file_of_another_architecture_is_explained(tmp_path):
    create_model("simple_cnn", 3, input_shape=(32, 32, 3)).save_weights(tmp_path / "s.weights.h5")
    with pytest.raises(ParameterError, match=r"does not match create_model\('compact_cnn'"):
        create_model("compact_cnn", 3, input_shape=(32, 32, 3), weights=tmp_path / "s.weights.h5")
    # a Keras-style backbone .h5 (here: not a weights file at all)
    bad = tmp_path / "mobilenet_notop.h5"
    with h5py.File(bad, "w") as f:
        f.attrs["layer_names"] = [b"nothing"]
    with pytest.raises(ParameterError, match=r"does not match the 'mobilenet_v2' backbone"):
        create_model("mobilenet_v2", 3, input_shape=(32, 32, 3), weights=bad)


def test_bad_arguments_are_explained(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean 'simple_cnn'"):
        create_model("simple_cnnn", 3)
    with pytest.raises(UnknownNameError, match="Did you mean 'mobilenet_v2'"):
        create_model("mobilenetv2", 3)
    with pytest.raises(ParameterError, match="'num_classes'"):
        create_model("simple_cnn", 1)
    with pytest.raises(ParameterError, match="at least 8x8"):
        create_model("simple_cnn", 3, input_shape=(4, 4, 3))
    with pytest.raises(ParameterError, match=r"at least 71x71\. Got 64x80"):
        create_model("xception", 3, input_shape=(64, 80, 3))
    with pytest.raises(ParameterError, match=r"\(height, width, 3\)"):
        create_model("simple_cnn", 3, input_shape=(32, 32, 1))
    with pytest.raises(ParameterError, match="has no pretrained weights"):
        create_model("simple_cnn", 3, weights="imagenet")  # refused before any download
    with pytest.raises(ParameterError, match="Did you mean 'imagenet'"):
        create_model("mobilenet_v2", 3, weights="imagenett")
    with pytest.raises(MissingFileError, match="does not exist"):
        create_model("mobilenet_v2", 3, weights=tmp_path / "missing.weights.h5")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(ParameterError, match=r"must end in \.weights\.h5"):
        create_model("simple_cnn", 3, weights=tmp_path / "w.txt")
    with pytest.raises(ParameterError, match="'dropout'"):
        create_model("simple_cnn", 3, dropout=1.0)
    with pytest.raises(UnknownNameError, match="'binary_output'"):
        create_model("simple_cnn", 2, binary_output="softmax2")
    with pytest.raises(ParameterError, match="only for two classes"):
        create_model("simple_cnn", 3, binary_output="sigmoid")
    with pytest.raises(ParameterError, match="'metadata_dim'"):
        create_model("simple_cnn", 3, metadata_dim=0)
    with pytest.raises(ParameterError, match="'bn_momentum'"):
        create_model("compact_cnn", 3, bn_momentum=1.0)


def test_binary_outputs():
    x = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3)).astype("float32")
    sigmoid = create_model("simple_cnn", 2, input_shape=(16, 16, 3), binary_output="sigmoid")
    p = np.asarray(sigmoid(x))
    assert p.shape == (3, 1)
    assert np.all((p > 0) & (p < 1))
    softmax = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    q = np.asarray(softmax(x))
    assert q.shape == (3, 2)
    np.testing.assert_allclose(q.sum(1), 1.0, rtol=1e-6)


def test_image_metadata_fusion_model(tmp_path):
    model = create_model("compact_cnn", 4, input_shape=(32, 32, 3), metadata_dim=6, dropout=0.1)
    names = [layer.name for layer in model.layers]
    for expected in ("image", "metadata", "metadata_dense1", "metadata_dense2", "fusion"):
        assert expected in names
    assert names[-1] == "predictions"
    assert model.get_layer("fusion").output.shape[-1] == 256 + 32
    rng = np.random.default_rng(0)
    inputs = {
        "image": rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32"),
        "metadata": rng.normal(size=(2, 6)).astype("float32"),
    }
    probs = np.asarray(model(inputs, training=False))
    assert probs.shape == (2, 4)
    # the metadata changes the prediction (the branch is wired in)
    other = {**inputs, "metadata": inputs["metadata"] + 3.0}
    assert not np.allclose(np.asarray(model(other, training=False)), probs)
    model.save(tmp_path / "fused.keras")
    loaded = load_model(tmp_path / "fused.keras")
    np.testing.assert_allclose(np.asarray(loaded(inputs, training=False)), probs, atol=1e-6)


def test_bn_momentum_auto_none_and_number(tmp_path):
    def momenta(model):
        return {layer.momentum for layer in batchnorm_layers(model)}

    assert momenta(create_model("mobilenet_v2", 2, input_shape=(32, 32, 3))) == {0.9}
    assert momenta(create_model("mobilenet_v2", 2, input_shape=(32, 32, 3), bn_momentum=None)) == {
        0.999
    }
    model = create_model("mobilenet_v3_small", 2, input_shape=(32, 32, 3), bn_momentum=0.95)
    assert momenta(model) == {0.95}
    model.save(tmp_path / "m.keras")
    assert momenta(load_model(tmp_path / "m.keras")) == {0.95}
    # starting from weights: 0.99
    get_backbone(model).save_weights(tmp_path / "b.weights.h5")
    tuned = create_model(
        "mobilenet_v3_small", 2, input_shape=(32, 32, 3), weights=tmp_path / "b.weights.h5"
    )
    assert momenta(tuned) == {0.99}


def test_backbone_keeps_its_name_at_any_input_size():
    for shape in ((32, 32, 3), (96, 128, 3)):
        model = create_model("mobilenet_v2", 2, input_shape=shape)
        assert get_backbone(model).name == "mobilenetv2_1.00_224"
        assert model.get_layer("mobilenetv2_1.00_224").get_layer("out_relu") is not None


def test_imagenet_weights_are_asked_from_keras(monkeypatch):
    """weights="imagenet" is passed to Keras, which downloads; a fake builder stands in here.

    The fake builds with weights=None, so nothing is fetched (tests/conftest.py refuses
    every network connection anyway).
    """
    import keras

    asked = {}
    original = keras.applications.MobileNetV2

    def fake(*args, weights=None, **kwargs):
        asked.update(weights=weights, **kwargs)
        return original(*args, weights=None, **kwargs)

    monkeypatch.setattr(keras.applications, "MobileNetV2", fake)
    model = create_model("mobilenet_v2", 2, input_shape=(96, 96, 3), weights="ImageNet")
    assert asked["weights"] == "imagenet"
    assert asked["include_top"] is False
    assert asked["input_shape"] == (96, 96, 3)
    assert asked["name"] == "mobilenetv2_1.00_224"
    assert {layer.momentum for layer in batchnorm_layers(model)} == {0.99}
