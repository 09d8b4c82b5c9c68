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


def test_every_method_by_name_gives_unit_heatmaps(cnn, images32):
    assert list_methods() == [
        "eigencam",
        "gradcam",
        "gradcam++",
        "layercam",
        "lime",
        "scorecam",
        "shap",
    ]
    options = {
        "lime": {"num_samples": 30, "segmentation": "slic"},
        "shap": {"max_evals": 30},
        "scorecam": {"channels": 8},
    }
    for method in list_methods():
        maps = explain_images(cnn, images32[:2], method=method, **options.get(method, {}))
        assert maps.shape == (2, 32, 32), method
        assert maps.min() >= 0.0, method
        assert maps.max() <= 1.0, method
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
