import keras
import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import GradCAM, find_target_layer, overlay, resolve_layer
from dermnet.models import create_model


def _quadrant_model():
    """Two feature channels: brightness of the top-left and of the bottom-right quadrant.

    Class 1's score depends only on the top-left channel, class 0's on neither.
    """
    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(2, 1, use_bias=False, kernel_initializer="ones", name="conv")
    mask = np.zeros((1, 16, 16, 2), "float32")
    mask[:, :8, :8, 0] = 1.0
    mask[:, 8:, 8:, 1] = 1.0
    features = keras.layers.Lambda(lambda t: t * mask, name="features")(conv(inputs))
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    kernel = keras.initializers.Constant([[0.0, 0.01], [0.0, 0.0]])
    logits = keras.layers.Dense(2, kernel_initializer=kernel, name="dense")(pooled)
    return keras.Model(inputs, keras.layers.Softmax()(logits))


def test_heatmap_mass_lies_in_the_quadrant_that_drives_the_class():
    model = _quadrant_model()
    images = np.random.default_rng(0).uniform(50, 200, (4, 16, 16, 3)).astype("float32")
    maps = GradCAM(model, "features")(images, class_index=1)
    assert maps.shape == (4, 16, 16)
    top_left = maps[:, :8, :8].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
    assert np.all(top_left > 0.8)


def test_nested_backbone_is_found_batched_equals_single_and_deterministic():
    model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    assert find_target_layer(model) == "simple_cnn/block3_conv"
    x = np.random.default_rng(1).uniform(0, 255, (5, 32, 32, 3)).astype("float32")
    cam = GradCAM(model, batch_size=2)
    maps, classes = cam.explain(x)
    single = np.concatenate([cam(x[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(maps, single, atol=1e-5)
    np.testing.assert_array_equal(classes, model.predict(x, verbose=0).argmax(1))
    np.testing.assert_array_equal(maps, cam(x))
    assert maps.min() >= 0.0
    assert maps.max() <= 1.0
    # the model is untouched: its layer's call is the class method again
    assert "call" not in model.get_layer("simple_cnn").get_layer("block3_conv").__dict__


def test_bad_layer_class_and_image_errors():
    model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    with pytest.raises(ParameterError, match="block3_conv"):
        resolve_layer(model, "simple_cnn/block3_con")
    with pytest.raises(ParameterError, match="no spatial dimensions"):
        GradCAM(model, "avg_pool")
    cam = GradCAM(model)
    with pytest.raises(ParameterError, match="class indices in"):
        cam(np.zeros((1, 32, 32, 3), "float32"), class_index=3)
    with pytest.raises(ParameterError, match=r"\(32, 32, 3\)"):
        cam(np.zeros((1, 16, 16, 3), "float32"))


def test_overlay_blends_and_validates():
    image = np.zeros((4, 4, 3), np.uint8)
    heat = np.zeros((2, 2), np.float32)
    out = overlay(image, heat, alpha=1.0, colormap="gray")
    assert out.shape == (4, 4, 3)
    assert out.dtype == np.uint8
    assert out.max() == 0
    out = overlay(image, np.ones((4, 4)), alpha=0.5, colormap="gray")
    assert out.min() == 127
    with pytest.raises(ParameterError, match="colormap"):
        overlay(image, heat, colormap="nope")
