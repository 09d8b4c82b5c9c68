import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.explain import overlay, plot_attributions, plot_explanations


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
    with pytest.raises(ParameterError, match="alpha"):
        overlay(image, heat, alpha=2.0)


def test_plot_explanations_grid_titles_and_rows():
    images = np.zeros((3, 8, 8, 3))
    maps = np.ones((3, 8, 8))
    fig = plot_explanations(images, maps, predictions=np.eye(3), class_names=["a", "b", "c"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == [
        "pred a (1.00)",
        "pred b (1.00)",
        "pred c (1.00)",
    ]
    assert len(plot_explanations(images, maps, show_heatmap=True).axes) == 9
    with pytest.raises(ParameterError, match="one per image"):
        plot_explanations(images, maps[:2])
    with pytest.raises(ParameterError, match="3 names"):
        plot_explanations(images, maps, predictions=np.eye(3), class_names=["a"])


def test_plot_attributions_signed_scale():
    values = np.zeros((2, 8, 8))
    values[0, :4] = 1.0
    values[0, 4:] = -2.0
    segments = np.repeat(np.arange(4).repeat(2)[None], 8, axis=0)[None].repeat(2, 0)
    fig = plot_attributions(np.zeros((2, 8, 8, 3)), values, titles=["x", "y"], segments=segments)
    shown = fig.axes[2].images[-1]  # row 2, column 1
    assert shown.get_clim() == (-2.0, 2.0)  # symmetric around zero
    with pytest.raises(ParameterError, match="shape"):
        plot_attributions(np.zeros((2, 8, 8, 3)), np.zeros((2, 4, 4)))
