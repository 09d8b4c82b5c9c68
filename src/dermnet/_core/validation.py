"""Parameter validation helpers that produce uniform, actionable messages.

Every helper raises `ParameterError` with a message of the form
"The 'x' parameter of Y must be ... Got ... instead." and returns the (converted) value.
"""

from __future__ import annotations

import math
import numbers
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal, overload

from dermnet._core.errors import MissingFileError, ParameterError
from dermnet._core.registry import look_up_option

__all__ = [
    "check_bool",
    "check_float",
    "check_image_size",
    "check_int",
    "check_option",
    "check_path",
    "check_seed",
    "fail",
]


def fail(param: str, where: str, must: str, got: Any) -> ParameterError:
    """Build (not raise) the standard parameter error."""
    return ParameterError(
        f"The {param!r} parameter of {where} must be {must}. Got {got!r} instead."
    )


def _bounds_text(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return " and ".join(parts)


@overload
def check_int(
    value: Any,
    param: str,
    where: str,
    *,
    low: int | None = ...,
    high: int | None = ...,
    allow_none: Literal[False] = ...,
) -> int: ...


@overload
def check_int(
    value: Any,
    param: str,
    where: str,
    *,
    low: int | None = ...,
    high: int | None = ...,
    allow_none: bool,
) -> int | None: ...


def check_int(
    value: Any,
    param: str,
    where: str,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """Check an integer parameter, optionally bounded (inclusive) and optionally ``None``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        must = "an int" + (" or None" if allow_none else "")
        bounds = _bounds_text(low, high, False, False)
        raise fail(param, where, must + (f" {bounds}" if bounds else ""), value)
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise fail(param, where, f"an int {_bounds_text(low, high, False, False)}", value)
    return value


@overload
def check_float(
    value: Any,
    param: str,
    where: str,
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    allow_none: Literal[False] = ...,
) -> float: ...


@overload
def check_float(
    value: Any,
    param: str,
    where: str,
    *,
    low: float | None = ...,
    high: float | None = ...,
    low_open: bool = ...,
    high_open: bool = ...,
    allow_none: bool,
) -> float | None: ...


def check_float(
    value: Any,
    param: str,
    where: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> float | None:
    """Check a finite real parameter, optionally bounded and optionally ``None``."""
    if value is None and allow_none:
        return None
    bounds = _bounds_text(low, high, low_open, high_open)
    must = "a finite number" + (f" {bounds}" if bounds else "") + (" or None" if allow_none else "")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise fail(param, where, must, value)
    value = float(value)
    if not math.isfinite(value):
        raise fail(param, where, must, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise fail(param, where, must, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise fail(param, where, must, value)
    return value


def check_bool(value: Any, param: str, where: str) -> bool:
    """Check a boolean parameter (``numpy.bool_`` accepted)."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise fail(param, where, "True or False", value)


def check_option(value: Any, options: Iterable[str], param: str, where: str) -> str:
    """Check that ``value`` is one of ``options`` (with a "did you mean" hint)."""
    return look_up_option(value, options, param=param, where=where)


def check_seed(value: Any, param: str = "seed", where: str = "this function") -> int | None:
    """Check a random seed: ``None`` or an int in [0, 2**32 - 1]."""
    return check_int(value, param, where, low=0, high=2**32 - 1, allow_none=True)


def check_image_size(value: Any, param: str, where: str, *, minimum: int = 1) -> tuple[int, int]:
    """Check an image size given as an int (square) or a ``(height, width)`` pair."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value), int(value))
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)
        and all(int(v) >= minimum for v in value)
    )
    if not ok:
        raise fail(param, where, f"an int or a (height, width) pair of ints >= {minimum}", value)
    return int(value[0]), int(value[1])


def check_path(
    value: Any, param: str, where: str, *, kind: str = "any", what: str = "file or folder"
) -> Path:
    """Check that a path exists; ``kind`` is ``"file"``, ``"dir"`` or ``"any"``.

    Raises:
        MissingFileError: the path does not exist (the message names it).
        ParameterError: ``value`` is not a path, or is a file where a folder is expected.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise fail(param, where, "a path (str or os.PathLike)", value)
    path = Path(value).expanduser()
    if not path.exists():
        raise MissingFileError(f"The {what} given as {param!r} to {where} does not exist: {path}")
    if kind == "file" and not path.is_file():
        raise fail(param, where, "a file", str(path))
    if kind == "dir" and not path.is_dir():
        raise fail(param, where, "a folder", str(path))
    return path
