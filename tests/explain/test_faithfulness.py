import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import (
    GradCAM,
    deletion_curve,
    insertion_curve,
    randomization_check,
)
from tests.explain.conftest import metadata_model


@pytest.fixture(scope="module")
def bright():
    return np.random.default_rng(0).uniform(50, 200, (4, 16, 16, 3)).astype("float32")


def test_gradcam_deletion_auc_beats_a_random_map(quadrant, bright):
    maps = GradCAM(quadrant, "features")(bright, class_index=1)
    random_maps = np.random.default_rng(1).random((4, 16, 16))
    cam = deletion_curve(quadrant, bright, maps, class_index=1, steps=16)
    rnd = deletion_curve(quadrant, bright, random_maps, class_index=1, steps=16)
    assert np.all(cam.auc < rnd.auc)
    assert cam.mean_auc < rnd.mean_auc - 0.1
    # deleting the top-left quadrant (a quarter of the pixels) kills class 1: p -> 0.5
    quarter = np.flatnonzero(np.isclose(cam.fractions, 0.25))[0]
    np.testing.assert_allclose(cam.scores[:, quarter], 0.5, atol=1e-6)
    probs = quadrant.predict(bright, verbose=0)[:, 1]
    np.testing.assert_allclose(cam.scores[:, 0], probs, rtol=1e-5)
    # (a blurred start keeps the mean brightness this model reads: start from black)
    ins_cam = insertion_curve(quadrant, bright, maps, class_index=1, steps=16, baseline="zero")
    ins_rnd = insertion_curve(
        quadrant, bright, random_maps, class_index=1, steps=16, baseline="zero"
    )
    assert np.all(ins_cam.auc > ins_rnd.auc)
    np.testing.assert_allclose(ins_cam.scores[:, -1], probs, rtol=1e-5)
    np.testing.assert_allclose(ins_cam.scores[:, quarter], probs, rtol=1e-5)
    assert cam.plot(label="Grad-CAM").axes[0].get_xlabel().startswith("fraction of pixels")


def test_curve_basics_and_baselines(quadrant, bright):
    curve = deletion_curve(quadrant, bright[:1], np.ones((16, 16)), steps=4, baseline="mean")
    assert curve.fractions.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve.scores.shape == (1, 5)
    assert curve.classes.tolist() == [1]  # the predicted class
    flat = np.full((4, 16, 16), 0.5)
    # everything deleted: every image becomes the same constant image
    constant = deletion_curve(quadrant, bright, flat, class_index=0, steps=2, baseline=128.0)
    np.testing.assert_allclose(constant.scores[:, -1], constant.scores[0, -1])
    blurred = insertion_curve(quadrant, bright[:1], flat[:1], steps=2)
    assert blurred.scores[0, 0] != pytest.approx(blurred.scores[0, -1], abs=1e-9)
    with pytest.raises(ParameterError, match="shape"):
        deletion_curve(quadrant, bright, np.ones((4, 8, 8)))
    with pytest.raises(ParameterError, match="baseline"):
        deletion_curve(quadrant, bright, flat, baseline="noise")
    with pytest.raises(ParameterError, match="steps"):
        insertion_curve(quadrant, bright, flat, steps=0)


def test_curves_on_an_image_and_metadata_model():
    model = metadata_model()
    rng = np.random.default_rng(3)
    inputs = {"image": rng.uniform(0, 255, (2, 32, 32, 3)), "metadata": rng.normal(size=(2, 4))}
    curve = deletion_curve(model, inputs, rng.random((2, 32, 32)), steps=4)
    probs = model.predict(inputs, verbose=0)
    np.testing.assert_allclose(curve.scores[:, 0], probs.max(1), rtol=1e-5)


def test_randomization_check_changes_maps_and_restores_weights(cnn, images32):
    before = [w.copy() for w in cnn.get_weights()]
    maps = GradCAM(cnn)(images32[:3])
    result = randomization_check(cnn, images32[:3], method="gradcam", steps=3, seed=0)
    after = cnn.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=True))
    np.testing.assert_array_equal(GradCAM(cnn)(images32[:3]), maps)
    # 4 weighted layers, 3 stages: the head, then down to block3, then everything
    assert result.layers == (
        "predictions",
        "simple_cnn/block3_conv",
        "simple_cnn/block1_conv",
    )
    assert result.spearman.shape == (3, 3)
    assert result.ssim.shape == (3, 3)
    assert np.all(np.abs(result.spearman) <= 1.0)
    assert result.spearman[-1].mean() < 0.9  # randomised maps differ from the original
    again = randomization_check(cnn, images32[:3], method="gradcam", steps=3, seed=0)
    np.testing.assert_array_equal(again.spearman, result.spearman)
    summary = result.to_dict()
    assert [s["randomized_down_to"] for s in summary["steps"]] == list(result.layers)
    assert isinstance(summary["passed"], bool)


def test_randomization_check_sees_through_an_input_only_explainer(cnn, images32):
    """A "method" that ignores the model (an edge map) fails the sanity check."""

    def edges(images, class_index=None):
        gray = np.asarray(images["image"] if isinstance(images, dict) else images).mean(-1)
        grad = np.abs(np.diff(gray, axis=1, prepend=gray[:, :1, :]))
        return grad / grad.max(axis=(1, 2), keepdims=True)

    result = randomization_check(cnn, images32[:2], method=edges, steps=2)
    np.testing.assert_allclose(result.spearman, 1.0)
    assert not result.passed()
