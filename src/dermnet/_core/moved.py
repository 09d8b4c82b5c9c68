"""Old module paths that keep working, with a `DeprecationWarning`, after a move.

dermnet's API is stable: a public module that is renamed or split leaves a shim at its
old path for at least one minor release. A shim is two lines::

    from dermnet._core.moved import moved_names

    __getattr__, __dir__ = moved_names(__name__, {"HtmlReport": "dermnet.metrics.html"})
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(
    old: str, moved: Mapping[str, str], *, also: str | None = None
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module ``__getattr__`` and ``__dir__`` of the deprecated module ``old``.

    Args:
        old: the deprecated module's name (``__name__``).
        moved: each name the module still provides -> the module that holds it now.
        also: a package that exports the names too (named in the warning), e.g.
            ``"dermnet.data"``.

    Returns:
        ``(__getattr__, __dir__)`` for the shim module: each name in ``moved`` loads from
        its new module with a `DeprecationWarning` saying where to import it from.

    Examples:
        >>> getattr_, dir_ = moved_names("old.mod", {"fail": "dermnet._core.validation"})
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     fn = getattr_("fail")
        >>> fn.__module__
        'dermnet._core.validation'
        >>> str(caught[0].message)
        'old.mod.fail is deprecated; import fail from dermnet._core.validation.'
    """

    def __getattr__(name: str) -> Any:
        if name not in moved:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        where = moved[name] + (f" (or from {also})" if also else "")
        warnings.warn(
            f"{old}.{name} is deprecated; import {name} from {where}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(moved[name]), name)

    def __dir__() -> list[str]:
        return sorted(moved)

    return __getattr__, __dir__
