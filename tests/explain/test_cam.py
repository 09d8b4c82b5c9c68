import keras
import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import (
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    LayerCAM,
    ScoreCAM,
    find_target_layer,
    resolve_layer,
)
from dermnet.models import create_model
from tests.explain.conftest import metadata_model

CAMS = [GradCAM, GradCAMPlusPlus, LayerCAM, EigenCAM, ScoreCAM]


@pytest.mark.parametrize("cls", [GradCAM, GradCAMPlusPlus])
@pytest.mark.parametrize("score", ["logit", "probability"])
def test_heatmap_mass_lies_in_the_quadrant_that_drives_the_class(quadrant, cls, score):
    images = np.random.default_rng(0).uniform(50, 200, (4, 16, 16, 3)).astype("float32")
    cam = cls(quadrant, "features", score=score)
    maps, classes = cam.explain(images, class_index=1)
    assert maps.shape == (4, 16, 16)
    np.testing.assert_array_equal(classes, [1, 1, 1, 1])
    top_left = maps[:, :8, :8].sum(axis=(1, 2)) / maps.sum(axis=(1, 2))
    assert np.all(top_left > 0.8)
    assert cam.score_source_ == ("logit" if score == "logit" else "output")


def test_logit_score_leaves_out_the_softmax_and_restores_the_model(quadrant, cnn, images32):
    from dermnet.explain._class_scores import logits_mode

    images = np.full((1, 16, 16, 3), 100.0, "float32")
    before = quadrant.predict(images, verbose=0)
    with logits_mode(quadrant, True) as removed:
        logits = np.asarray(quadrant(images))
    assert removed == "softmax"
    # pooled top-left channel: 3 * 100 * (64 / 256) = 75; class 1 logit 0.04 * 75 = 3
    np.testing.assert_allclose(logits, [[0.0, 3.0]], atol=1e-5)
    np.testing.assert_allclose(quadrant.predict(images, verbose=0), before)
    assert "call" not in quadrant.get_layer("softmax").__dict__
    # a softmax Dense head (dermnet's classifiers): the activation is swapped, then restored
    probs = cnn.predict(images32, verbose=0)
    with logits_mode(cnn, True) as removed:
        logits = np.asarray(cnn(images32))
    assert removed == "softmax"
    assert not np.allclose(logits.sum(1), 1.0)
    np.testing.assert_allclose(keras.ops.softmax(logits).numpy(), probs, atol=1e-6)
    assert cnn.get_layer("predictions").activation.__name__ == "softmax"
    # class 0's logit is the constant 0: no gradient, an all-zero map
    assert GradCAM(quadrant, "features")(images, class_index=0).max() == 0.0


def test_feature_resolution_maps_without_upsampling(cnn, images32):
    maps, _ = GradCAM(cnn).explain(images32[:2], upsample=False)
    assert maps.shape == (2, 8, 8)  # block3_conv runs at 8x8 on 32x32 inputs


def _double_nested(size=32):
    """The simple_cnn backbone nested two levels deep: classifier > wrapper > simple_cnn."""
    base = create_model("simple_cnn", 3, input_shape=(size, size, 3))
    inner = base.get_layer("simple_cnn")
    x_in = keras.Input((size, size, 3))
    wrapper = keras.Model(x_in, inner(x_in), name="wrapper")
    image = keras.Input((size, size, 3), name="image")
    x = wrapper(base.get_layer("preprocessing")(image))
    x = keras.layers.GlobalAveragePooling2D()(x)
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(image, out, name="double")


@pytest.mark.parametrize("cls", CAMS)
def test_every_cam_on_a_nested_backbone_batched_equals_single(cls, cnn, images32):
    assert find_target_layer(cnn) == "simple_cnn/block3_conv"
    options = {"channels": 24} if cls is ScoreCAM else {}
    cam = cls(cnn, batch_size=2, **options)
    maps, classes = cam.explain(images32)
    single = np.concatenate([cam(images32[i : i + 1]) for i in range(len(images32))])
    np.testing.assert_allclose(maps, single, atol=1e-5)
    np.testing.assert_array_equal(classes, cnn.predict(images32, verbose=0).argmax(1))
    np.testing.assert_array_equal(maps, cam(images32))  # deterministic
    assert maps.shape == (5, 32, 32)
    assert maps.dtype == np.float32
    assert maps.min() >= 0.0
    assert maps.max() <= 1.0
    assert np.all(maps.reshape(5, -1).max(1) > 0.99)  # each map peaks at 1
    assert np.all(maps.reshape(5, -1).std(1) > 0.01)  # and is not flat
    assert "call" not in cnn.get_layer("simple_cnn").get_layer("block3_conv").__dict__


@pytest.mark.parametrize("cls", CAMS)
def test_backbone_two_levels_deep(cls, images32):
    model = _double_nested()
    assert find_target_layer(model) == "wrapper/simple_cnn/block3_conv"
    options = {"channels": 8} if cls is ScoreCAM else {}
    maps = cls(model, **options)(images32[:2])
    assert maps.shape == (2, 32, 32)
    assert np.isfinite(maps).all()


def test_frozen_backbone_still_gets_gradients(images32):
    model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    model.get_layer("simple_cnn").trainable = False
    maps = GradCAM(model)(images32[:2])
    assert maps.max() > 0.0


def test_image_and_metadata_model():
    model = metadata_model()
    rng = np.random.default_rng(2)
    inputs = {
        "image": rng.uniform(0, 255, (3, 32, 32, 3)).astype("float32"),
        "metadata": rng.normal(size=(3, 4)).astype("float32"),
    }
    for cls in CAMS:
        options = {"channels": 8} if cls is ScoreCAM else {}
        cam = cls(model, batch_size=2, **options)
        maps, classes = cam.explain(inputs)
        assert maps.shape == (3, 32, 32)
        np.testing.assert_array_equal(classes, model.predict(inputs, verbose=0).argmax(1))
        one = cam({k: v[1:2] for k, v in inputs.items()})
        np.testing.assert_allclose(one[0], maps[1], atol=1e-5)
    with pytest.raises(ParameterError, match="metadata"):
        GradCAM(model)(inputs["image"])
    with pytest.raises(ParameterError, match="rows"):
        GradCAM(model)({"image": inputs["image"], "metadata": inputs["metadata"][:2]})


@pytest.mark.slow
def test_mobilenet_v2_nested_like_a_dermnet_classifier():
    from dermnet.models import ImagePreprocessing

    keras.utils.set_random_seed(0)
    backbone = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35
    )
    image = keras.Input((32, 32, 3), name="image")
    x = backbone(ImagePreprocessing("tf", name="preprocessing")(image))
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    out = keras.layers.Dense(4, activation="softmax", name="predictions")(x)
    model = keras.Model(image, out)
    path = f"{backbone.name}/out_relu"
    assert find_target_layer(model) == path
    images = np.random.default_rng(3).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    for cls in (GradCAM, GradCAMPlusPlus):
        cam = cls(model, path, batch_size=2)
        maps = cam(images)
        single = np.concatenate([cam(images[i : i + 1]) for i in range(2)])
        np.testing.assert_allclose(maps, single, atol=1e-5)
        np.testing.assert_array_equal(maps, cam(images))


def test_bad_layer_class_and_image_errors(cnn):
    with pytest.raises(ParameterError, match="block3_conv"):
        resolve_layer(cnn, "simple_cnn/block3_con")
    with pytest.raises(ParameterError, match="Close names"):
        GradCAM(cnn, "simple_cnn/blok3_conv")
    with pytest.raises(ParameterError, match="no spatial dimensions"):
        GradCAM(cnn, "avg_pool")
    cam = GradCAM(cnn)
    with pytest.raises(ParameterError, match="class indices in"):
        cam(np.zeros((1, 32, 32, 3), "float32"), class_index=3)
    with pytest.raises(ParameterError, match="one per image"):
        cam(np.zeros((2, 32, 32, 3), "float32"), class_index=[0, 1, 2])
    with pytest.raises(ParameterError, match=r"\(32, 32, 3\)"):
        cam(np.zeros((1, 16, 16, 3), "float32"))
    with pytest.raises(ParameterError, match="dtype"):
        cam(np.zeros((1, 32, 32, 3), "int64"))
    with pytest.raises(ParameterError, match="batch, height, width"):
        cam(np.zeros((32, 32), "float32"))
    with pytest.raises(ParameterError, match="score"):
        GradCAM(cnn, score="softmax")
    with pytest.warns(UserWarning, match=r"\[0, 1\]"):
        cam(np.full((1, 32, 32, 3), 0.5, "float32"))


def test_uint8_images_give_the_same_maps_as_float(cnn, images32):
    pixels = np.rint(images32[:2]).astype(np.uint8)
    cam = GradCAM(cnn)
    np.testing.assert_allclose(cam(pixels), cam(pixels.astype("float32")), atol=1e-6)


# -- target layers that cannot give a feature map (issue 13) ---------------------------------
@pytest.mark.parametrize("cls", CAMS)
def test_an_input_layer_as_target_is_a_parameter_error_listing_usable_layers(cls, cnn):
    with pytest.raises(ParameterError) as info:
        cls(cnn, target_layer="image")
    message = str(info.value)
    assert f"The 'target_layer' parameter of {cls.__name__}" in message
    assert "Got 'image' instead: an input layer" in message
    assert "Usable layers: 'preprocessing', 'simple_cnn', 'simple_cnn/block1_conv'" in message
    assert "'simple_cnn/block3_conv'" in message
    assert "'image'," not in message  # the input layer is not offered


def test_a_layer_without_spatial_output_names_the_rank_and_suggests_close_names(cnn):
    with pytest.raises(ParameterError) as info:
        GradCAM(cnn, "avg_pool")
    message = str(info.value)
    assert "Got 'avg_pool' instead: its output has no spatial dimensions (output rank 2)" in (
        message
    )
    assert "Usable layers:" in message


def test_did_you_mean_offers_the_close_usable_layer():
    from dermnet.explain.cam import target_layer_error

    model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    error = target_layer_error(model, "simple_cnn/block3_cnv", "GradCAM", "a test")
    assert "Did you mean 'simple_cnn/block3_conv'?" in str(error)


class _Body(keras.Model):
    """A subclassed block with a layer that its call never uses."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.used = keras.layers.Conv2D(2, 3, padding="same", name="used")
        self.spare = keras.layers.Conv2D(2, 3, padding="same", name="spare")

    def build(self, input_shape):
        self.used.build(input_shape)
        self.spare.build(input_shape)

    def call(self, x):
        return self.used(x)


@pytest.mark.parametrize("cls", [GradCAM, EigenCAM, ScoreCAM])
def test_a_layer_off_the_path_is_a_parameter_error_not_a_staging_error(cls):
    image = keras.Input((16, 16, 3), name="image")
    x = _Body(name="body")(image)
    out = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(x))
    model = keras.Model(image, out)
    images = np.full((2, 16, 16, 3), 100.0, "float32")
    cam = cls(model, "body/spare")
    for _ in range(2):  # the same clear error each time, not a cached broken trace
        with pytest.raises(ParameterError) as info:
            cam(images)
        assert type(info.value) is ParameterError
        message = str(info.value)
        assert "Got 'body/spare' instead: it was not called when the model ran" in message
        assert "Usable layers: 'body'" in message
    assert cls(model, "body/used")(images).shape == (2, 16, 16)
