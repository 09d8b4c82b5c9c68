import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet.models import ModelSpec, create_model, get_model_spec, list_models, load_model


def test_listing_and_spec():
    assert "simple_cnn" in list_models()
    assert list_models("simple*") == ["simple_cnn"]
    spec = get_model_spec("simple_cnn")
    assert isinstance(spec, ModelSpec)
    assert spec.gradcam_path == "simple_cnn/block3_conv"
    assert "builder" not in spec.to_dict()


@pytest.mark.parametrize("name", list_models())
def test_every_model_builds_runs_and_round_trips(name, tmp_path):
    spec = get_model_spec(name)
    shape = (*spec.min_input_size, 3) if spec.min_input_size[0] >= 32 else (32, 32, 3)
    model = create_model(name, num_classes=3, input_shape=shape)
    assert model.get_layer(spec.backbone_name).name == spec.backbone_name
    if spec.params is not None:
        assert model.get_layer(spec.backbone_name).count_params() == spec.params
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    probs = model.predict(x, verbose=0)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    model.save(tmp_path / "m.keras")
    np.testing.assert_allclose(
        load_model(tmp_path / "m.keras").predict(x, verbose=0), probs, atol=1e-6
    )


@pytest.mark.filterwarnings("ignore:Skipping nested container")
def test_local_weights_file_round_trip_and_mismatch(tmp_path):
    a = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    a.save_weights(tmp_path / "w.weights.h5")
    b = create_model("simple_cnn", 3, input_shape=(32, 32, 3), weights=tmp_path / "w.weights.h5")
    x = np.ones((1, 32, 32, 3), "float32") * 100
    np.testing.assert_allclose(a.predict(x, verbose=0), b.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ParameterError, match="does not match"):
        create_model("simple_cnn", 5, input_shape=(32, 32, 3), weights=tmp_path / "w.weights.h5")


def test_bad_arguments_are_explained():
    with pytest.raises(UnknownNameError, match="Did you mean 'simple_cnn'"):
        create_model("simple_cnnn", 3)
    with pytest.raises(ParameterError, match="'num_classes'"):
        create_model("simple_cnn", 1)
    with pytest.raises(ParameterError, match="at least 8x8"):
        create_model("simple_cnn", 3, input_shape=(4, 4, 3))
    with pytest.raises(ParameterError, match="'weights'"):
        create_model("simple_cnn", 3, weights="imagenet")
