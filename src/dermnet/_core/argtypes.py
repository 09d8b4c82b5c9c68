"""argparse ``type`` converters that word bad values as the library's own checks do.

Here, below both `dermnet.cli` and the command modules that live beside their layer
(`dermnet.data.shard_command`), so every command line checks its options one way.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dermnet._core.errors import ParameterError

__all__ = ["argument_type"]


def argument_type(
    check: Callable[[Any], Any], parse: Callable[[str], Any] = int, name: str = "int"
) -> Callable[[str], Any]:
    """An argparse ``type``: ``parse`` the text, then ``check`` the value.

    Text that does not parse goes to ``check`` as it is, so the library words the error
    too. A `ParameterError` becomes argparse's error (exit status 2) with the message from
    ``must be`` on; argparse puts the option's name in front.
    """

    def convert(text: str) -> Any:
        try:
            value = parse(text)
        except ValueError:
            value = text
        try:
            return check(value)
        except ParameterError as exc:
            message = str(exc)
            raise argparse.ArgumentTypeError(
                "must be " + message.split(" must be ", 1)[-1]
            ) from None

    convert.__name__ = name  # argparse names the type in its messages
    return convert
