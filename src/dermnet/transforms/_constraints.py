"""Parameter constraints of the functional ops, declared once.

A function of `dermnet.transforms.functional` declares how each of its parameters is
checked with `constrained` (as scikit-learn's ``validate_params`` does). The function
checks them on every call, and a `dermnet.transforms.Transform` that wraps it checks the
same declaration when it is constructed (`check_params`), naming the class in its
messages. A constraint and its message are therefore written in one place.

A check is a callable ``(value, parameter, where) -> value`` that returns the converted
value or raises `ParameterError`; the helpers of `dermnet._core.validation` have that
shape, and this module adds the few the transforms need (`number`, `integer`, `odd`,
`one_of`, `triple`). A rule checks several parameters together and may normalise them.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from dermnet._core.validation import check_float, check_int, check_option, fail

__all__ = [
    "Check",
    "Constraints",
    "Rule",
    "check_params",
    "constrained",
    "integer",
    "number",
    "odd",
    "one_of",
    "triple",
]

#: ``(value, parameter, where) -> checked value``; raises `ParameterError`.
Check = Callable[[Any, str, str], Any]
#: ``(parameters, where) -> None``: checks parameters together, may normalise them in place.
Rule = Callable[[dict[str, Any], str], None]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Constraints:
    """The declared checks of one function's parameters, and an optional joint rule."""

    checks: Mapping[str, Check]
    rule: Rule | None = None

    def check(self, params: Mapping[str, Any], where: str) -> dict[str, Any]:
        """Return ``params`` with every declared parameter checked and converted.

        Parameters without a declared check pass unchanged; ``where`` (a function or
        class name) is named in the messages.
        """
        out = dict(params)
        for name, check in self.checks.items():
            if name in out:
                out[name] = check(out[name], name, where)
        if self.rule is not None:
            self.rule(out, where)
        return out


def constrained(*, rule: Rule | None = None, **checks: Check) -> Callable[[F], F]:
    """Declare the checks of a function's parameters; the function runs them on each call.

    The declaration is kept as the function's ``constraints`` attribute, which
    `check_params` (and through it every `Transform` that wraps the function) uses.

    Args:
        rule: an optional joint check of the parameters (after the single checks).
        **checks: a check per parameter name; each name must be a parameter.

    Examples:
        >>> @constrained(sigma=number(low=0.0, low_open=True))
        ... def blur(image, sigma=1.0):
        ...     return sigma
        >>> blur(None, 2)
        2.0
        >>> blur(None, sigma=0)
        Traceback (most recent call last):
        ...
        dermnet._core.errors.ParameterError: The 'sigma' parameter of blur must be a finite number > 0.0. Got 0.0 instead.
    """  # noqa: E501

    def wrap(fn: F) -> F:
        signature = inspect.signature(fn)
        unknown = sorted(set(checks) - set(signature.parameters))
        if unknown:
            raise TypeError(f"constrained: {fn.__name__} has no parameters {unknown}")
        constraints = Constraints(checks, rule)
        where = fn.__name__
        params = signature.parameters.values()
        if any(p.kind is not p.POSITIONAL_OR_KEYWORD for p in params):
            raise TypeError(f"constrained: {fn.__name__} must take plain parameters only")
        names = tuple(signature.parameters)
        known = frozenset(names)
        defaults = {p.name: p.default for p in params if p.default is not p.empty}
        required = known - defaults.keys()

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            # (what Signature.bind does, at a third of its cost per call)
            given = {**defaults, **dict(zip(names, args, strict=False)), **kwargs}
            if (
                len(args) > len(names)
                or not kwargs.keys().isdisjoint(names[: len(args)])
                or not kwargs.keys() <= known
                or not required <= given.keys()
            ):
                signature.bind(*args, **kwargs)  # raises the TypeError a plain call would
            return fn(**constraints.check(given, where))

        checked.constraints = constraints  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return wrap


def check_params(function: Callable[..., Any], params: Mapping[str, Any], where: str) -> dict:
    """Check ``params`` against the constraints ``function`` declares (none: unchanged)."""
    constraints: Constraints | None = getattr(function, "constraints", None)
    return dict(params) if constraints is None else constraints.check(params, where)


# -- the checks ------------------------------------------------------------------------------
def number(
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    allow_none: bool = False,
) -> Check:
    """A finite real number, optionally bounded (``low_open``: strictly above ``low``)."""

    def check(value: Any, param: str, where: str) -> float | None:
        return check_float(
            value, param, where, low=low, high=high, low_open=low_open, allow_none=allow_none
        )

    return check


def integer(low: int | None = None, high: int | None = None) -> Check:
    """An int (not a bool), optionally bounded (inclusive)."""

    def check(value: Any, param: str, where: str) -> int | None:
        return check_int(value, param, where, low=low, high=high)

    return check


def odd(low: int = 1, *, or_zero: bool = False) -> Check:
    """An odd int >= ``low`` (kernel and window sizes); ``or_zero`` also admits 0."""
    must = f"an odd int >= {low}" + (" or 0" if or_zero else "")

    def check(value: Any, param: str, where: str) -> int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise fail(param, where, must, value)
        number = int(value)
        if or_zero and number == 0:
            return 0
        if number < low or number % 2 == 0:
            raise fail(param, where, must, value)
        return number

    return check


def one_of(options: Sequence[str]) -> Check:
    """One of ``options`` (the message suggests close matches)."""

    def check(value: Any, param: str, where: str) -> str:
        return check_option(value, options, param, where)

    return check


def triple(*, nonnegative: bool) -> Check:
    """Three finite numbers (L, a, b), returned as a tuple of floats."""
    must = "three finite numbers (L, a, b)" + (", each >= 0" if nonnegative else "")

    def check(value: Any, param: str, where: str) -> tuple[float, float, float]:
        try:
            values = tuple(float(v) for v in value)
        except (TypeError, ValueError):
            raise fail(param, where, must, value) from None
        if len(values) != 3 or not all(math.isfinite(v) for v in values):
            raise fail(param, where, must, value)
        if nonnegative and min(values) < 0:
            raise fail(param, where, must, value)
        return values[0], values[1], values[2]

    return check
