import numpy as np
import pytest

from dermnet import UnknownNameError
from dermnet.explain import (
    GradCAMPlusPlus,
    LimeExplainer,
    ShapExplainer,
    explain_images,
    get_explainer,
    list_methods,
)
from tests.explain.conftest import block_images


def _peak_quadrant(heatmap):
    """Which quadrant of a square map holds its maximum: "top-left", ... ."""
    row, col = np.unravel_index(np.argmax(heatmap), heatmap.shape)
    half = heatmap.shape[0] // 2
    return ("top" if row < half else "bottom") + "-" + ("left" if col < half else "right")


def test_every_method_by_name_finds_the_quadrant_that_drives_the_class(quadrant):
    """Only the top-left quadrant moves class 1 of the quadrant model: every class-specific
    method must peak there with a map that is neither empty nor flat."""
    assert list_methods() == [
        "eigencam",
        "gradcam",
        "gradcam++",
        "layercam",
        "lime",
        "scorecam",
        "shap",
    ]
    images = block_images(2)
    options = {
        "lime": {
            "num_samples": 200,
            "segmentation": "felzenszwalb",
            "segmentation_params": {"scale": 1.0, "sigma": 0.0, "min_size": 1},
            "hide_color": 0.0,
        },
        "shap": {"masker": "blur(4,4)", "max_evals": 200},
    }
    for method in list_methods():
        maps = explain_images(
            quadrant, images, method=method, class_index=1, **options.get(method, {})
        )
        assert maps.shape == (2, 16, 16), method
        assert maps.min() >= 0.0, method
        assert maps.max() == pytest.approx(1.0, abs=1e-3), method  # scaled to peak 1
        for heatmap in maps:
            assert heatmap.std() > 0.05, method  # not flat
            peak = _peak_quadrant(heatmap)
            if method == "eigencam":  # class-agnostic: a feature map's quadrant
                assert peak in ("top-left", "bottom-right"), method
            else:
                assert peak == "top-left", method
                assert heatmap[:8, :8].mean() > 4 * heatmap[8:, 8:].mean(), method


def test_every_method_by_name_explains_a_nested_backbone(cnn, images32):
    options = {
        "lime": {"num_samples": 30, "segmentation": "slic"},
        "shap": {"max_evals": 30},
        "scorecam": {"channels": 8},
    }
    for method in list_methods():
        maps = explain_images(cnn, images32[:2], method=method, **options.get(method, {}))
        assert maps.shape == (2, 32, 32), method
        assert maps.min() >= 0.0, method
        assert maps.max() == pytest.approx(1.0, abs=1e-3), method
        assert (maps.reshape(2, -1).std(axis=1) > 0).all(), method
    assert isinstance(get_explainer("gradcam++", cnn), GradCAMPlusPlus)
    assert isinstance(get_explainer("lime", cnn, num_samples=10), LimeExplainer)
    assert isinstance(get_explainer("shap", cnn), ShapExplainer)


def test_unknown_method_lists_close_names(cnn):
    with pytest.raises(UnknownNameError, match="gradcam"):
        get_explainer("gradcamm", cnn)


def test_options_reach_the_explainer(cnn, images32):
    cam = get_explainer("gradcam", cnn, target_layer="simple_cnn/block2_conv")
    assert cam.target_layer == "simple_cnn/block2_conv"
    np.testing.assert_array_equal(cam(images32[:1]), cam(images32[:1]))
