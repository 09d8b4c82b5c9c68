"""Transform classes: thin wrappers around :mod:`dermnet.transforms.functional`.

A transform draws no pixels itself: it stores its parameters (``get_config``), validates
them at construction, and calls a pure function. Every transform serializes to a dict that
records the dermnet version, and back (``to_dict`` / ``transform_from_dict``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry
from dermnet._core.validation import check_float, check_image_size, check_option
from dermnet.transforms import functional as F

__all__ = [
    "TRANSFORMS",
    "Compose",
    "Resize",
    "ShadesOfGray",
    "Transform",
    "list_transforms",
    "register_transform",
    "transform_from_dict",
]

#: The transform registry: name -> Transform subclass.
TRANSFORMS: Registry[type[Transform]] = Registry("transform")


def register_transform(name: str) -> Callable[[type[Transform]], type[Transform]]:
    """Class decorator registering a :class:`Transform` subclass under ``name``."""

    def wrap(cls: type[Transform]) -> type[Transform]:
        cls.name = name
        return TRANSFORMS.register(name, cls)

    return wrap


def list_transforms(pattern: str | None = None) -> list[str]:
    """Names of the registered transforms, optionally filtered by a shell-style pattern."""
    return TRANSFORMS.names(pattern)


class Transform:
    """Base class of dermnet's preprocessing transforms.

    Subclasses store their keyword arguments as attributes of the same name, list them
    in ``get_config``, and implement :meth:`apply` for one ``HxWxC`` image. Calling a
    transform on a ``NxHxWxC`` batch applies it image by image.
    """

    name: ClassVar[str] = "transform"

    def apply(self, image: np.ndarray) -> np.ndarray:
        """Transform one image."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments, JSON-serializable."""
        return {}

    def __call__(self, image: np.ndarray) -> np.ndarray:
        if isinstance(image, np.ndarray) and image.ndim == 4:
            return np.stack([self.apply(img) for img in image])
        return self.apply(image)

    def to_dict(self) -> dict[str, Any]:
        """Serialize to ``{"name", "config", "dermnet_version"}``."""
        from dermnet._version import __version__

        return {"name": self.name, "config": self.get_config(), "dermnet_version": __version__}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, repr(self.get_config())))


def transform_from_dict(data: dict[str, Any]) -> Transform:
    """Rebuild a transform (or a :class:`Compose`) from :meth:`Transform.to_dict` output."""
    if not isinstance(data, dict) or "name" not in data:
        raise ParameterError(
            "The 'data' parameter of transform_from_dict must be a dict with a 'name' key "
            f"(written by Transform.to_dict). Got {data!r} instead."
        )
    cls = TRANSFORMS.get(data["name"], where="transform_from_dict")
    return cls.from_config(dict(data.get("config", {})))  # type: ignore[attr-defined]


def _from_config(cls: type[Transform], config: dict[str, Any]) -> Transform:
    return cls(**config)


Transform.from_config = classmethod(_from_config)  # type: ignore[attr-defined]


@register_transform("shades_of_gray")
class ShadesOfGray(Transform):
    """Shades of Gray colour constancy; see :func:`dermnet.transforms.functional.shades_of_gray`.

    Args:
        p: the Minkowski norm (default 6).
    """

    def __init__(self, p: float = 6.0) -> None:
        self.p = check_float(p, "p", "ShadesOfGray", low=1.0)

    def apply(self, image: np.ndarray) -> np.ndarray:
        return F.shades_of_gray(image, self.p)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


@register_transform("resize")
class Resize(Transform):
    """Resize to a fixed size; see :func:`dermnet.transforms.functional.resize`.

    Args:
        size: an int or ``(height, width)``.
        mode: ``"stretch"``, ``"pad"`` or ``"crop"``.
    """

    def __init__(self, size: int | tuple[int, int], mode: str = "stretch") -> None:
        self.size = check_image_size(size, "size", "Resize")
        self.mode = check_option(mode, ("stretch", "pad", "crop"), "mode", "Resize")

    def apply(self, image: np.ndarray) -> np.ndarray:
        return F.resize(image, self.size, self.mode)

    def get_config(self) -> dict[str, Any]:
        return {"size": list(self.size), "mode": self.mode}


@register_transform("compose")
class Compose(Transform):
    """Apply transforms in order; serializes with its children.

    Args:
        transforms: the transforms, applied first to last.

    Example:
        >>> pipeline = Compose([ShadesOfGray(), Resize(32)])
        >>> transform_from_dict(pipeline.to_dict()) == pipeline
        True
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        transforms = list(transforms)
        bad = [t for t in transforms if not isinstance(t, Transform)]
        if bad:
            raise ParameterError(
                "The 'transforms' parameter of Compose must be a list of dermnet Transform "
                f"objects. Got {bad[0]!r} instead."
            )
        self.transforms = transforms

    def apply(self, image: np.ndarray) -> np.ndarray:
        for transform in self.transforms:
            image = transform.apply(image)
        return image

    def get_config(self) -> dict[str, Any]:
        return {"transforms": [t.to_dict() for t in self.transforms]}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Compose:
        return cls([transform_from_dict(t) for t in config.get("transforms", [])])

    def __len__(self) -> int:
        return len(self.transforms)
