"""How a metric and its confidence interval read in text: ``0.640 [0.600, 0.690]``.

Every report (the terminal summary, Markdown, HTML, the model card) formats numbers here,
so a value and its interval read the same way everywhere.
"""

from __future__ import annotations

import math
from typing import Any

from dermnet._core.validation import check_int

__all__ = ["format_interval", "format_value"]


def _undefined(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_value(value: Any, digits: int = 3, *, undefined: str = "undefined") -> str:
    """A number with ``digits`` decimals; ``undefined`` for ``None`` or NaN; other values
    as ``str``.

    Examples:
        >>> format_value(0.6413), format_value(None), format_value(12), format_value("mel")
        ('0.641', 'undefined', '12', 'mel')
    """
    if _undefined(value):
        return undefined
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_interval(
    value: float | None,
    low: float | None,
    high: float | None,
    *,
    digits: int = 3,
    undefined: str = "-",
) -> str:
    """A value followed by its interval: ``"0.640 [0.600, 0.690]"``.

    An undefined value (``None`` or NaN) reads ``undefined``; an undefined interval
    (``low`` or ``high`` missing) reads ``[-]`` (with ``undefined`` inside).

    Args:
        value: the point estimate.
        low: the lower end of the interval.
        high: the upper end of the interval.
        digits: decimals of every number, 0 to 6.
        undefined: the text of an undefined number.

    Returns:
        The text, e.g. for a report's macro AUC: ``format_interval(report.macro_auc,
        *report.intervals["macro_auc"])``.

    Raises:
        ParameterError: ``digits`` is not an int in [0, 6].

    Examples:
        >>> format_interval(0.6413, 0.6, 0.6872)
        '0.641 [0.600, 0.687]'
        >>> format_interval(0.6413, 0.6, 0.6872, digits=2)
        '0.64 [0.60, 0.69]'
        >>> format_interval(0.5, None, None), format_interval(None, None, None)
        ('0.500 [-]', '- [-]')
    """
    digits = check_int(digits, "digits", "format_interval", low=0, high=6)
    shown = undefined if value is None or _undefined(value) else f"{float(value):.{digits}f}"
    if low is None or high is None or _undefined(low) or _undefined(high):
        return f"{shown} [{undefined}]"
    return f"{shown} [{float(low):.{digits}f}, {float(high):.{digits}f}]"
