"""`DataConfig`: the one object that says how raw pixels become model input.

Importing this module and validating a config does not import TensorFlow, so a command
line can check its arguments before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from typing import TYPE_CHECKING, Any

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import DermnetError, ParameterError
from dermnet._core.validation import check_image_size, check_option, fail

if TYPE_CHECKING:
    from dermnet.transforms.base import Transform

__all__ = ["INTERPOLATIONS", "RESIZE_MODES", "DataConfig"]

#: How an image is brought to the configured size (see `DataConfig`).
RESIZE_MODES = ("stretch", "pad", "crop")
#: Resampling methods of the resize (``tf.image.resize`` methods).
INTERPOLATIONS = ("bilinear", "bicubic", "area", "nearest")

_WHERE = "DataConfig"


@dataclasses.dataclass(frozen=True)
class DataConfig(ConfigMixin):
    """How raw image files become model input: size, resize mode, interpolation, preprocessing.

    One object owns these facts, so training (`make_dataset`), prediction and explanation
    (`load_images`) feed a model identical pixels. Images are decoded to RGB, resized
    to `image_size` (``resize`` mode, ``interpolation`` method, antialiased when
    shrinking with ``"bilinear"`` or ``"bicubic"``), rounded to integers in [0, 255], then
    passed through the optional ``preprocessing`` transform. The output is float32 in
    [0, 255]: dermnet models normalise pixels themselves (their ``ImagePreprocessing``
    layer, set by the model spec), so a data config never scales or standardises.

    `dermnet.models.resolve_data_config` builds one from a model's spec; `to_dict` /
    `from_dict` store it (e.g. in a run folder).

    Attributes:
        image_size: output ``(height, width)``; an int ``n`` means ``(n, n)``, and a list
            (as JSON stores it) is turned into a tuple.
        resize: ``"stretch"`` (to the size, ignoring aspect), ``"pad"`` (keep aspect, pad
            with black) or ``"crop"`` (keep aspect, centre crop).
        interpolation: ``"bilinear"``, ``"bicubic"``, ``"area"`` or ``"nearest"``.
        preprocessing: a serialized dermnet transform (``Transform.to_dict()``, e.g. of
            a `dermnet.transforms.Compose`) applied to the resized uint8 image; it must
            keep the image's size. ``None``: no preprocessing. A `Transform` object is
            accepted and stored as its dict.

    Examples:
        >>> cfg = DataConfig((64, 48), resize="pad").validate()
        >>> cfg.image_size, cfg.resize, cfg.interpolation, cfg.preprocessing
        ((64, 48), 'pad', 'bilinear', None)
        >>> DataConfig.from_dict(cfg.to_dict()) == cfg
        True
    """

    image_size: tuple[int, int]
    resize: str = "stretch"
    interpolation: str = "bilinear"
    preprocessing: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        # Normalise the representations only; checking values is `validate`'s job.
        size = self.image_size
        if isinstance(size, numbers.Integral) and not isinstance(size, bool):
            object.__setattr__(self, "image_size", (int(size), int(size)))
        elif isinstance(size, list):
            object.__setattr__(self, "image_size", tuple(size))
        to_dict = getattr(self.preprocessing, "to_dict", None)
        if callable(to_dict) and not isinstance(self.preprocessing, dict):
            object.__setattr__(self, "preprocessing", to_dict())

    def __hash__(self) -> int:
        return hash(json.dumps(dataclasses.asdict(self), sort_keys=True, default=repr))

    def validate(self) -> DataConfig:
        """Check every field; return the config (with sizes as plain ints).

        Does not import TensorFlow.

        Returns:
            The validated config (equal to ``self``).

        Raises:
            ParameterError: a field is invalid; the message names the field, what it must
                be and what it got.
        """
        size = check_image_size(self.image_size, "image_size", _WHERE)
        check_option(self.resize, RESIZE_MODES, "resize", _WHERE)
        check_option(self.interpolation, INTERPOLATIONS, "interpolation", _WHERE)
        self._build_transform(size)
        if size != self.image_size:
            return dataclasses.replace(self, image_size=size)
        return self

    def transform(self) -> Transform | None:
        """The preprocessing transform, built from its dict, or ``None`` when there is none.

        Examples:
            >>> from dermnet.transforms import ShadesOfGray
            >>> DataConfig(32, preprocessing=ShadesOfGray(p=6)).transform()
            ShadesOfGray(p=6.0)
        """
        return self._build_transform(check_image_size(self.image_size, "image_size", _WHERE))

    def _build_transform(self, size: tuple[int, int]) -> Transform | None:
        data = self.preprocessing
        if data is None:
            return None
        if not isinstance(data, dict) or "name" not in data:
            raise fail(
                "preprocessing",
                _WHERE,
                "None or a transform dict with a 'name' key (written by Transform.to_dict())",
                data,
            )
        from dermnet.transforms.base import transform_from_dict

        try:
            transform = transform_from_dict(data)
        except DermnetError as exc:
            raise ParameterError(
                f"The 'preprocessing' parameter of {_WHERE} does not describe a transform "
                f"that can be built: {exc}"
            ) from exc
        if 3 not in transform.input_channels:
            raise fail("preprocessing", _WHERE, "a transform of RGB images", data)
        shape = tuple(transform.output_shape((*size, 3)))
        if shape != (*size, 3):
            raise ParameterError(
                f"The 'preprocessing' parameter of {_WHERE} must keep the image's size and "
                f"channels {(*size, 3)} (the resize is done by the data config). Got a "
                f"transform whose output is {shape} instead: {transform!r}."
            )
        return transform
