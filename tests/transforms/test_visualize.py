import numpy as np
import pytest

from dermnet import MissingFileError, ParameterError
from dermnet import transforms as T


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, (24, 32, 3), dtype=np.uint8)


def test_show_draws_the_input_and_one_panel_per_transform(image):
    fig = T.show(
        image,
        [
            T.ConvertColor("gray"),
            T.ConvertColor("hls"),
            T.ConvertColor("hsv"),
            T.Compose([T.ConvertColor("hsv"), T.GaussianBlur(2.0)]),
        ],
    )
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [
        "input",
        "GRAY (1 ch)",
        "HLS",
        "HSV",
        "HSV + GaussianBlur(sigma=2.0, kernel_size=0)",
    ]
    # the panels hold what the transforms return, scaled to [0, 1] for display
    hsv = fig.axes[3].get_images()[0].get_array()
    np.testing.assert_allclose(hsv, T.ConvertColor("hsv")(image) / 255.0)
    gray = fig.axes[1].get_images()[0]
    assert gray.get_array().shape == (24, 32)
    assert gray.get_cmap().name == "gray"


def test_show_cumulative_and_presets_and_titles(image, tmp_path, write_image):
    fig = T.show(image, [T.ShadesOfGray(), T.Resize(16)], cumulative=True, titles=["a", "b"])
    assert [ax.get_title() for ax in fig.axes] == ["input", "a", "b"]
    assert fig.axes[2].get_images()[0].get_array().shape == (16, 16, 3)
    path = write_image(tmp_path / "x.png", image)
    fig = T.show(path, "dermoscopy")
    assert len(fig.axes) == 4
    assert fig.axes[1].get_title().startswith("RemoveHair")
    assert fig.axes[2].get_title().startswith("+ ShadesOfGray")
    edges = T.show(image, T.EnhanceEdges())
    assert "extra channel" in edges.axes[1].get_title()
    fig.savefig(tmp_path / "panels.png")
    assert (tmp_path / "panels.png").stat().st_size > 1000


def test_show_errors(image, tmp_path):
    with pytest.raises(ParameterError, match="'transforms' parameter of show"):
        T.show(image, [lambda x: x])
    with pytest.raises(ParameterError, match="empty"):
        T.show(image, [])
    with pytest.raises(ParameterError, match="'titles' parameter of show"):
        T.show(image, [T.GrayWorld()], titles=["a", "b"])
    with pytest.raises(MissingFileError, match=r"nope\.png"):
        T.show(tmp_path / "nope.png", T.GrayWorld())
    with pytest.raises(ParameterError, match="'image' parameter of show"):
        T.show(np.zeros((4, 4, 3), np.int64), T.GrayWorld())
