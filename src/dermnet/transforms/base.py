"""Transform classes: thin wrappers around `dermnet.transforms.functional`.

A transform draws no pixels itself: it stores its parameters (``get_config``), validates
them at construction, and calls a pure function. Every transform serializes to a dict that
records the dermnet version, and back (``to_dict`` / ``transform_from_dict``).

The same transform runs on one ``HxWxC`` image, on a NumPy batch ``NxHxWxC``, with a lesion
mask that geometric transforms move along with the image (``t(image, mask=mask)``), inside
``tf.data`` (`dermnet.transforms.tf_map`) and over a folder
(`dermnet.transforms.preprocess_folder`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, overload

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry
from dermnet.transforms.functional import check_image

__all__ = [
    "TRANSFORMS",
    "Compose",
    "Transform",
    "list_transforms",
    "register_transform",
    "transform_from_dict",
]

#: The transform registry: name -> Transform subclass.
TRANSFORMS: Registry[type[Transform]] = Registry("transform")

#: A shape ``(height, width, channels)`` where unknown sizes are ``None``.
Shape = tuple[int | None, int | None, int | None]


def register_transform(name: str) -> Callable[[type[Transform]], type[Transform]]:
    """Class decorator registering a `Transform` subclass under ``name``.

    Registered transforms can be rebuilt from dicts by name and are covered by the
    shared test suite (``tests/transforms/test_suite.py``), which fails for a registered
    transform it has no entry for.
    """

    def wrap(cls: type[Transform]) -> type[Transform]:
        cls.name = name
        return TRANSFORMS.register(name, cls)

    return wrap


def list_transforms(pattern: str | None = None) -> list[str]:
    """Names of the registered transforms, optionally filtered by a shell-style pattern.

    Examples:
        >>> list_transforms("*blur")
        ['gaussian_blur', 'median_blur']
    """
    _load_builtin_transforms()
    return TRANSFORMS.names(pattern)


def _load_builtin_transforms() -> None:
    """Import the module that registers the built-in transforms (it imports this one)."""
    import dermnet.transforms.preprocessing  # noqa: F401


class Transform:
    """Base class of dermnet's preprocessing transforms.

    Subclasses store their keyword arguments as attributes of the same name, list them
    in ``get_config``, and implement `apply` for one ``HxWxC`` image. Calling a
    transform validates the image (errors name the transform), and applies it to one
    image or image by image to a ``NxHxWxC`` batch. With ``mask=`` it returns
    ``(image, mask)``: geometric transforms move the mask with the image, the others
    return it unchanged.

    Class attributes describe the contract: ``input_channels`` (the channel counts the
    transform accepts), ``geometric`` (it moves pixels, so masks follow) and
    `output_shape`.
    """

    name: ClassVar[str] = "transform"
    #: Channel counts accepted; 1 also admits ``HxW`` gray images.
    input_channels: ClassVar[tuple[int, ...]] = (3,)
    #: True when the transform moves pixels (resize, crop): masks are moved along.
    geometric: ClassVar[bool] = False

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Transform one validated image."""
        raise NotImplementedError

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Transform one image and its ``HxW`` mask; the base class leaves the mask as is."""
        return self.apply(image), mask

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        """The output ``(height, width, channels)`` for an input shape (None: unknown).

        Used by `dermnet.transforms.tf_map` to give ``tf.data`` static shapes.
        The base class keeps the shape.
        """
        h, w, c = _hwc(input_shape)
        return h, w, c

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-serializable."""
        return {}

    @overload
    def __call__(self, image: np.ndarray, mask: None = None) -> np.ndarray: ...

    @overload
    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def __call__(
        self, image: np.ndarray, mask: np.ndarray | None = None
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Apply to one ``HxWxC`` image or a ``NxHxWxC`` batch (and its masks)."""
        where = type(self).__name__
        image = check_image(image, where, channels=self.input_channels, batch=True)
        batched = image.ndim == 4
        if mask is None:
            if batched:
                return np.stack([self.apply(img) for img in image])
            return self.apply(image)
        mask = _check_masks(mask, image, where)
        if batched:
            pairs = [self.apply_with_mask(img, m) for img, m in zip(image, mask, strict=True)]
            return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
        return self.apply_with_mask(image, mask)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"name", "config", "dermnet_version"}``."""
        from dermnet._version import __version__

        return {"name": self.name, "config": self.get_config(), "dermnet_version": __version__}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Transform:
        """Rebuild from `get_config` output; unknown keys are an error."""
        try:
            return cls(**config)
        except TypeError as exc:
            raise ParameterError(
                f"The config of {cls.__name__} has keys it does not accept "
                f"({sorted(config)}): {exc}"
            ) from None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))


def _hwc(shape: Sequence[int | None]) -> Shape:
    shape = tuple(shape)
    if len(shape) == 2:
        return shape[0], shape[1], 1
    if len(shape) != 3:
        raise ParameterError(
            "The 'input_shape' parameter of Transform.output_shape must be (height, width) "
            f"or (height, width, channels). Got {shape!r} instead."
        )
    return shape[0], shape[1], shape[2]


def _check_masks(mask: object, image: np.ndarray, where: str) -> np.ndarray:
    """Check that ``mask`` is an ``HxW`` (or ``NxHxW``) array matching the image."""
    if not isinstance(mask, np.ndarray):
        raise ParameterError(
            f"The 'mask' parameter of {where} must be a NumPy array. "
            f"Got {type(mask).__name__} instead."
        )
    if mask.ndim == image.ndim and mask.shape[-1] == 1:
        mask = mask[..., 0]
    expected = image.shape[:-1] if image.ndim >= 3 else image.shape
    if mask.shape != expected:
        raise ParameterError(
            f"The 'mask' parameter of {where} must have shape {expected} (the image's "
            f"size without channels). Got shape {mask.shape} instead."
        )
    return mask


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild a transform (or a `Compose`) from `Transform.to_dict` output.

    A dict written by a different dermnet major version still loads, with a warning.

    Examples:
        >>> from dermnet.transforms import ShadesOfGray
        >>> transform_from_dict(ShadesOfGray(p=4).to_dict())
        ShadesOfGray(p=4.0)
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ParameterError(
            "The 'data' parameter of transform_from_dict must be a dict with a 'name' key "
            f"(written by Transform.to_dict). Got {data!r} instead."
        )
    _load_builtin_transforms()
    written = data.get("dermnet_version")
    if isinstance(written, str):
        from dermnet._version import __version__

        if written.split(".")[0] != __version__.split(".")[0]:
            warnings.warn(
                f"This transform dict was written by dermnet {written}; this is dermnet "
                f"{__version__}. It may not load or behave the same.",
                UserWarning,
                stacklevel=2,
            )
    cls = TRANSFORMS.get(data["name"], where="transform_from_dict")
    config = data.get("config", {})
    if not isinstance(config, dict):
        raise ParameterError(
            "The 'config' entry of the dict passed to transform_from_dict must be a dict. "
            f"Got {config!r} instead."
        )
    return cls.from_config(dict(config))


@register_transform("compose")
class Compose(Transform):
    """Apply transforms in order; serializes with its children.

    Args:
        transforms: the transforms, applied first to last.

    Examples:
        >>> from dermnet.transforms import Resize, ShadesOfGray
        >>> pipeline = Compose([ShadesOfGray(), Resize(32)])
        >>> transform_from_dict(pipeline.to_dict()) == pipeline
        True
        >>> pipeline(np.zeros((2, 48, 64, 3), np.uint8)).shape
        (2, 32, 32, 3)
    """

    geometric = True  # conservatively: masks are passed through every child

    def __init__(self, transforms: Sequence[Transform]) -> None:
        if isinstance(transforms, (str, bytes, Transform)) or not isinstance(transforms, Sequence):
            raise ParameterError(
                "The 'transforms' parameter of Compose must be a list of dermnet Transform "
                f"objects. Got {transforms!r} instead."
            )
        transforms = list(transforms)
        bad = [t for t in transforms if not isinstance(t, Transform)]
        if bad:
            raise ParameterError(
                "The 'transforms' parameter of Compose must be a list of dermnet Transform "
                f"objects. Got {bad[0]!r} instead."
            )
        self.transforms = transforms

    @property
    def input_channels(self) -> tuple[int, ...]:  # type: ignore[override]
        """The channels the first transform accepts (any, for an empty Compose)."""
        return self.transforms[0].input_channels if self.transforms else (1, 2, 3, 4)

    def __call__(self, image: Any, mask: Any = None) -> Any:
        if not self.transforms:
            return image if mask is None else (image, mask)
        return super().__call__(image, mask)

    def apply(self, image: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            image = _checked(transform, image)
            image = transform.apply(image)
        return image

    def apply_with_mask(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        for transform in self.transforms:
            image = _checked(transform, image)
            image, mask = transform.apply_with_mask(image, mask)
        return image, mask

    def output_shape(self, input_shape: Sequence[int | None]) -> Shape:
        shape = _hwc(input_shape)
        for transform in self.transforms:
            shape = transform.output_shape(shape)
        return shape

    def get_config(self) -> dict[str, Any]:
        return {"transforms": [t.to_dict() for t in self.transforms]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Compose:
        unknown = sorted(set(config) - {"transforms"})
        if unknown:
            raise ParameterError(f"The config of Compose has unknown keys {unknown}.")
        return cls([transform_from_dict(t) for t in config.get("transforms", [])])

    def __len__(self) -> int:
        return len(self.transforms)

    def __getitem__(self, index: int) -> Transform:
        return self.transforms[index]

    def __repr__(self) -> str:
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


def _checked(transform: Transform, image: np.ndarray) -> np.ndarray:
    """Validate an intermediate image against the next transform of a pipeline."""
    return check_image(image, type(transform).__name__, channels=transform.input_channels)


def __getattr__(name: str) -> Any:
    # ShadesOfGray and Resize lived here before the transforms moved to preprocessing.py.
    if name in ("ShadesOfGray", "Resize"):
        from dermnet.transforms import preprocessing

        return getattr(preprocessing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
