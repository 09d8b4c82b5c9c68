"""A name registry with "did you mean" lookups, shared by models, datasets and transforms."""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

from dermnet._core.errors import ParameterError, UnknownNameError

__all__ = ["Registry", "did_you_mean", "look_up_option"]

T = TypeVar("T")


def did_you_mean(name: str, options: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``options`` close to ``name`` (case-insensitive)."""
    options = list(options)
    lowered = {o.lower(): o for o in options}
    close = difflib.get_close_matches(str(name).lower(), list(lowered), n=n, cutoff=0.6)
    hits = [lowered[c] for c in close]
    # Prefixes and substrings are good hints too ("resnet" -> "resnet50").
    for option in options:
        if len(hits) >= n:
            break
        if option not in hits and str(name).lower() in option.lower():
            hits.append(option)
    return hits


def _unknown_message(kind: str, name: object, options: list[str], where: str | None) -> str:
    head = f"Unknown {kind} {name!r}"
    if where:
        head += f" in {where}"
    close = did_you_mean(str(name), options)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = ", ".join(repr(o) for o in options[:40])
    if len(options) > 40:
        shown += f", ... ({len(options)} in all)"
    return f"{head}.{hint} Available {kind}s are: {shown}."


def look_up_option(value: str, options: Iterable[str], *, param: str, where: str) -> str:
    """Check that a string option is one of ``options``; return it unchanged.

    Args:
        value: the value the user passed.
        options: the allowed values.
        param: the parameter name, for the message.
        where: the function or class the parameter belongs to, for the message.

    Raises:
        UnknownNameError: ``value`` is not allowed; the message lists close matches.

    Examples:
        >>> look_up_option("balanced", ["balanced", "inverse_sqrt"], param="method",
        ...                where="class_weights")
        'balanced'
    """
    opts = list(options)
    if isinstance(value, str) and value in opts:
        return value
    close = did_you_mean(str(value), opts)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownNameError(
        f"The {param!r} parameter of {where} must be one of "
        f"{', '.join(repr(o) for o in opts)}. Got {value!r} instead.{hint}"
    )


class Registry(Generic[T]):
    """Maps unique names to objects (model specs, dataset loaders, transform classes).

    This is dermnet's one way to populate a registry: the module that owns a registry
    names, as strings, the modules whose import registers the built-in entries
    (``builtins``). They are imported on the first lookup, by `importlib`, so the owner
    never imports its entries statically and the import graph has no cycle; the entries'
    modules import the owner and register themselves with `register` or `decorator`.

    Args:
        kind: what the registry holds, used in messages ("model", "dataset", ...).
        builtins: dotted names of the modules that register the built-in entries.

    Examples:
        >>> reg = Registry("model")
        >>> _ = reg.register("tiny", object())
        >>> reg.names()
        ['tiny']
        >>> reg.get("tinny")
        Traceback (most recent call last):
        ...
        dermnet._core.errors.UnknownNameError: Unknown model 'tinny'. Did you mean 'tiny'? ...
    """

    def __init__(self, kind: str, *, builtins: Iterable[str] = ()) -> None:
        self.kind = kind
        self.builtins = tuple(builtins)
        self._items: dict[str, T] = {}
        self._loaded = not self.builtins

    def load_builtins(self) -> None:
        """Import the modules that register the built-in entries (once; cheap after)."""
        if self._loaded:
            return
        self._loaded = True
        try:
            for module in self.builtins:
                importlib.import_module(module)
        except BaseException:
            self._loaded = False
            raise

    def register(self, name: str, obj: T, *, overwrite: bool = False) -> T:
        """Register ``obj`` under ``name``; a duplicate name is an error unless ``overwrite``."""
        if not isinstance(name, str) or not name:
            raise ParameterError(
                f"The 'name' parameter of Registry.register must be a non-empty str. "
                f"Got {name!r} instead."
            )
        if name in self._items and not overwrite:
            raise ParameterError(
                f"A {self.kind} named {name!r} is already registered; pick another name "
                "or pass overwrite=True."
            )
        self._items[name] = obj
        return obj

    def decorator(self, name: str, *, overwrite: bool = False) -> Callable[[T], T]:
        """Return a decorator that registers the decorated object under ``name``."""

        def wrap(obj: T) -> T:
            return self.register(name, obj, overwrite=overwrite)

        return wrap

    def unregister(self, name: str) -> None:
        """Remove ``name`` (used by tests and plugins)."""
        self.get(name)
        del self._items[name]

    def get(self, name: str, *, where: str | None = None) -> T:
        """Return the object registered as ``name``, or raise with close matches."""
        self.load_builtins()
        try:
            return self._items[name]
        except (KeyError, TypeError):
            raise UnknownNameError(
                _unknown_message(self.kind, name, sorted(self._items), where)
            ) from None

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted registered names, optionally filtered by a shell-style ``pattern``."""
        self.load_builtins()
        names = sorted(self._items)
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def items(self) -> list[tuple[str, T]]:
        """Sorted (name, object) pairs."""
        self.load_builtins()
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        self.load_builtins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        self.load_builtins()
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} entries)"
