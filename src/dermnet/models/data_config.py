"""`resolve_data_config`: the data config a model expects, from its spec.

Like timm's ``resolve_data_config``, the model's own spec supplies the defaults (its
input size) and the caller overrides only what it must. Does not import TensorFlow.
"""

from __future__ import annotations

from typing import Any

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_image_size
from dermnet.data.data_config import DataConfig
from dermnet.models.catalog import resolve_spec
from dermnet.models.spec import ModelSpec

__all__ = ["resolve_data_config"]


def resolve_data_config(
    model: str | ModelSpec,
    *,
    image_size: int | tuple[int, int] | None = None,
    resize: str | None = None,
    interpolation: str | None = None,
    preprocessing: dict[str, Any] | None = None,
) -> DataConfig:
    """The `DataConfig` for a registered model: its spec's defaults, then the overrides.

    The spec supplies the input size (``spec.input_size``); the resize mode and
    interpolation default to `DataConfig`'s (``"stretch"``, ``"bilinear"``) and there is
    no preprocessing unless given. Pixel normalisation is not part of it: the model does
    that itself (``spec.preprocessing``, inside the model).

    Args:
        model: a registered model name (see `list_models`) or a `ModelSpec`.
        image_size: override of the input size, an int or ``(height, width)``; it must be
            at least ``spec.min_input_size``.
        resize: override of the resize mode (``"stretch"``, ``"pad"``, ``"crop"``).
        interpolation: override of the interpolation (``"bilinear"``, ``"bicubic"``,
            ``"area"``, ``"nearest"``).
        preprocessing: a serialized dermnet transform (``Transform.to_dict()``; a
            `Transform` object is accepted too), applied after the resize.

    Returns:
        The validated `DataConfig`.

    Raises:
        UnknownNameError: ``model`` is not a registered name.
        ParameterError: an override is invalid, or the size is below the model's minimum.

    Examples:
        >>> resolve_data_config("simple_cnn")
        DataConfig(image_size=(64, 64), resize='stretch', interpolation='bilinear', preprocessing=None)
        >>> resolve_data_config("simple_cnn", image_size=(96, 128), resize="pad").image_size
        (96, 128)
    """  # noqa: E501
    where = "resolve_data_config"
    spec = resolve_spec(model, where)
    size = spec.input_size if image_size is None else image_size
    size = check_image_size(size, "image_size", where)
    low_h, low_w = spec.min_input_size
    if size[0] < low_h or size[1] < low_w:
        raise ParameterError(
            f"The 'image_size' parameter of {where} is too small for {spec.name!r}: it must "
            f"be at least {low_h}x{low_w} (height x width). Got {size[0]}x{size[1]} instead."
        )
    fields: dict[str, Any] = {"image_size": size}
    if resize is not None:
        fields["resize"] = resize
    if interpolation is not None:
        fields["interpolation"] = interpolation
    if preprocessing is not None:
        fields["preprocessing"] = preprocessing
    return DataConfig(**fields).validate()
