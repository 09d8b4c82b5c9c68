"""(De)serialization of plain configuration objects (frozen dataclasses)."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

from dermnet._core.errors import ParameterError

__all__ = ["ConfigMixin"]

C = TypeVar("C", bound="ConfigMixin")


class ConfigMixin:
    """Gives a frozen dataclass ``to_dict`` and ``from_dict``.

    The dict records the class name and the dermnet version that wrote it, so a config
    saved today can be read back (and diagnosed) later.

    Examples:
        >>> import dataclasses
        >>> @dataclasses.dataclass(frozen=True)
        ... class Cfg(ConfigMixin):
        ...     size: int = 64
        >>> Cfg.from_dict(Cfg(size=32).to_dict())
        Cfg(size=32)
    """

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serializable dict of the fields, the class name and the version."""
        from dermnet._version import __version__

        if not dataclasses.is_dataclass(self):
            raise TypeError(f"{type(self).__name__} must be a dataclass to use ConfigMixin")
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {
            "class_name": type(self).__name__,
            "dermnet_version": __version__,
            "config": {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
        }

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        """Rebuild the object from `to_dict` output; unknown keys are an error."""
        if not isinstance(data, dict) or "config" not in data:
            raise ParameterError(
                f"The 'data' parameter of {cls.__name__}.from_dict must be a dict written "
                f"by to_dict() (with a 'config' key). Got {data!r} instead."
            )
        if data.get("class_name", cls.__name__) != cls.__name__:
            raise ParameterError(
                f"This dict describes a {data['class_name']!r}, not a {cls.__name__!r}."
            )
        config = dict(data["config"])
        names = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
        unknown = sorted(set(config) - set(names))
        if unknown:
            raise ParameterError(
                f"{cls.__name__}.from_dict got unknown fields {unknown}; "
                f"known fields are {sorted(names)}."
            )
        for key, value in config.items():
            if isinstance(value, list) and "tuple" in str(names[key].type):
                config[key] = tuple(value)
        return cls(**config)
