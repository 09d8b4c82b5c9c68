"""Before/after panels of transforms on an image (matplotlib, no window opened)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_float, check_int, check_path, fail
from dermnet.transforms.base import Compose, Transform
from dermnet.transforms.functional.image import _value_max, check_image

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["show"]


def _title(transform: Transform) -> str:
    if isinstance(transform, Compose):
        return " + ".join(_title(t) for t in transform.transforms) or "Compose([])"
    config = transform.get_config()
    if type(transform).__name__ == "ConvertColor":
        space = str(config["space"]).upper()
        return f"{space} ({config['channels']} ch)" if config["space"] == "gray" else space
    shown = ", ".join(f"{k}={v}" for k, v in list(config.items())[:2])
    return f"{type(transform).__name__}({shown})"


def _displayable(image: np.ndarray) -> tuple[np.ndarray, str | None, str]:
    """(array for imshow, colour map, title suffix) for an image of 1 to 4 channels."""
    x = image.astype(np.float32) / np.float32(_value_max(image))
    if x.ndim == 2:
        return x, "gray", ""
    channels = x.shape[2]
    if channels == 1:
        return x[..., 0], "gray", ""
    if channels in (2, 4):
        return x[..., -1], "gray", "\n(extra channel)"
    return np.clip(x[..., :3], 0.0, 1.0), None, ""


def _read(path: str | os.PathLike[str]) -> np.ndarray:
    from PIL import Image

    file = check_path(path, "image", "show", kind="file", what="image file")
    with Image.open(file) as img:
        return np.asarray(img.convert("RGB"))


def show(
    image: np.ndarray | str | os.PathLike[str],
    transforms: Transform | Sequence[Transform] | str,
    *,
    titles: Sequence[str] | None = None,
    cumulative: bool = False,
    ncols: int | None = None,
    panel_size: float = 3.0,
) -> Figure:
    """Draw the image and what each transform makes of it, side by side.

    The first panel is the input; each transform of ``transforms`` is applied to the
    input on its own (so ``[ConvertColor("gray"), ConvertColor("hls"),
    ConvertColor("hsv"), Compose([ConvertColor("hsv"), GaussianBlur(2)])]`` gives the
    usual gray/HLS/HSV/HSV+blur comparison). With ``cumulative=True`` the transforms are
    chained and each panel shows the image after one more step. A preset name shows the
    preset's steps cumulatively.

    Colour-space results are drawn as their raw channels in the RGB slots, as such
    comparisons usually are; one-channel results in gray; an extra channel (edges) alone.

    Args:
        image: an ``HxWx3`` uint8 or float image, or the path of an image file.
        transforms: a transform, a list of transforms, or a preset name.
        titles: one title per transform (the input panel is "input").
        cumulative: chain the transforms instead of applying each to the input.
        ncols: panels per row (default: all in one row up to 5).
        panel_size: the size of a panel in inches, > 0.

    Returns:
        A matplotlib ``Figure`` (save it with ``fig.savefig(...)``; notebooks display it).

    Examples:
        >>> from dermnet.transforms import ConvertColor, GaussianBlur, Compose
        >>> img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
        >>> fig = show(img, [ConvertColor("gray"), ConvertColor("hsv"),
        ...                  Compose([ConvertColor("hsv"), GaussianBlur(2.0)])])
        >>> [ax.get_title() for ax in fig.axes]
        ['input', 'GRAY (1 ch)', 'HSV', 'HSV + GaussianBlur(sigma=2.0, kernel_size=0)']
    """
    from matplotlib.figure import Figure

    if isinstance(image, (str, os.PathLike)):
        image = _read(image)
    image = check_image(image, "show", channels=(1, 3, 4))
    if isinstance(transforms, str):
        from dermnet.transforms.presets import preset

        steps: list[Transform] = list(preset(transforms, image.shape[:2]).transforms)
        cumulative = True
    elif isinstance(transforms, Transform):
        steps = [transforms]
    elif isinstance(transforms, Sequence) and all(isinstance(t, Transform) for t in transforms):
        steps = list(transforms)
    else:
        raise fail(
            "transforms", "show", "a Transform, a list of Transforms or a preset name", transforms
        )
    if not steps:
        raise ParameterError("The 'transforms' parameter of show is empty: nothing to show.")
    cumulative = check_bool(cumulative, "cumulative", "show")
    panel_size = check_float(panel_size, "panel_size", "show", low=0.0, low_open=True)
    if titles is None:
        names = [_title(t) for t in steps]
        if cumulative:
            names = [f"+ {n}" if i else n for i, n in enumerate(names)]
    else:
        names = [str(t) for t in titles]
        if len(names) != len(steps):
            raise fail("titles", "show", f"{len(steps)} titles (one per transform)", len(names))

    results = []
    current = image
    for step in steps:
        current = step(current if cumulative else image)
        results.append(current)

    panels = [("input", image), *zip(names, results, strict=True)]
    n = len(panels)
    ncols = check_int(ncols, "ncols", "show", low=1, allow_none=True) or min(n, 5)
    nrows = -(-n // ncols)
    aspect = image.shape[0] / image.shape[1]
    fig = Figure(
        figsize=(panel_size * ncols, panel_size * aspect * nrows + 0.5 * nrows),
        layout="constrained",
    )
    for i, (title, result) in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        array, cmap, suffix = _displayable(result)
        ax.imshow(array, cmap=cmap, vmin=0.0, vmax=1.0)
        ax.set_title(title + suffix, fontsize=9)
        ax.set_axis_off()
    return fig
