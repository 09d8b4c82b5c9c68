"""The image checks that every explainer shares (`dermnet.explain._inputs.check_images`)."""

import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import (
    EigenCAM,
    GradCAM,
    GradCAMPlusPlus,
    LayerCAM,
    LimeExplainer,
    ScoreCAM,
    ShapExplainer,
    deletion_curve,
    insertion_curve,
)
from dermnet.explain._inputs import PIXEL_TOLERANCE, check_images


def _entry_points(model, maps):
    """Every public call that takes images, as ``name -> f(images)``."""
    return {
        "GradCAM": lambda x: GradCAM(model, "features")(x),
        "GradCAMPlusPlus": lambda x: GradCAMPlusPlus(model, "features")(x),
        "LayerCAM": lambda x: LayerCAM(model, "features")(x),
        "EigenCAM": lambda x: EigenCAM(model, "features")(x),
        "ScoreCAM": lambda x: ScoreCAM(model, "features")(x),
        "LimeExplainer": lambda x: LimeExplainer(model, num_samples=8, seed=0).explain(x),
        "ShapExplainer": lambda x: ShapExplainer(model, max_evals=20).explain(x),
        "deletion_curve": lambda x: deletion_curve(model, x, maps, steps=2),
        "insertion_curve": lambda x: insertion_curve(model, x, maps, steps=2),
    }


@pytest.mark.parametrize(
    ("scale", "shift", "found"),
    [(10.0, 0.0, r"\[0, 2550\]"), (1.0, -128.0, r"\[-128, 127\]")],
    ids=["max-2550", "negative"],
)
@pytest.mark.parametrize(
    "entry",
    [
        "GradCAM",
        "GradCAMPlusPlus",
        "LayerCAM",
        "EigenCAM",
        "ScoreCAM",
        "LimeExplainer",
        "ShapExplainer",
        "deletion_curve",
        "insertion_curve",
    ],
)
def test_every_entry_point_rejects_float_images_outside_0_255(quadrant, entry, scale, shift, found):
    images = np.zeros((1, 16, 16, 3), np.float32)
    images[0, 0, 0] = [0.0, 255.0, 100.0]
    bad = images * scale + shift
    call = _entry_points(quadrant, np.ones((1, 16, 16), np.float32))[entry]
    with pytest.raises(ParameterError, match=rf"'images' parameter of \w+.*Got values in {found}"):
        call(bad)


def test_the_range_is_checked_with_a_small_tolerance():
    ok = np.full((1, 4, 4, 3), 255.0 + PIXEL_TOLERANCE, np.float32)
    ok[0, 0, 0, 0] = -PIXEL_TOLERANCE
    np.testing.assert_array_equal(check_images(ok, None, "f"), ok)
    for value in (255.0 + 2 * PIXEL_TOLERANCE, -2 * PIXEL_TOLERANCE):
        bad = np.full((1, 4, 4, 3), 100.0, np.float32)
        bad[0, 1, 2, 0] = value
        with pytest.raises(ParameterError, match=r"'images' parameter of f .*\[0, 255\]"):
            check_images(bad, None, "f")
    # uint8 images are in range by construction; [0, 1] floats get a warning, not an error
    assert check_images(np.full((4, 4, 3), 255, np.uint8), None, "f").max() == 255.0
    with pytest.warns(UserWarning, match=r"scaled to \[0, 1\]"):
        check_images(np.full((1, 4, 4, 3), 0.5, np.float32), None, "f")


def test_the_message_states_the_range_found():
    images = np.linspace(0.0, 2550.0, 48, dtype=np.float32).reshape(1, 4, 4, 3)
    with pytest.raises(ParameterError) as info:
        check_images(images, None, "GradCAM")
    assert str(info.value) == (
        "The 'images' parameter of GradCAM must be float images with values in [0, 255] "
        "(dermnet models preprocess inside the model). Got values in [0, 2550] instead; "
        "rescale the images to [0, 255] (for example undo a normalization, or multiply "
        "[0, 1] images by 255)."
    )
