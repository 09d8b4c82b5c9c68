"""How the command reports a failure: one line in its own voice, and the exit status.

0 success; 2 a bad command line (`UsageError`, raised by the checks that run before
TensorFlow is imported); 1 an error while running (one line ``dermnet CMD: error: ...``,
the traceback with ``--verbose``); 130 interrupted. Library messages are reworded in the
command line's terms by `cli_message`.
"""

from __future__ import annotations

import re
import sys
import traceback
import warnings
from collections.abc import Callable
from typing import Any

from dermnet._core.errors import DermnetError
from dermnet.cli.arguments import UsageError

__all__ = ["cli_message", "report_failures", "show_warnings_as"]

#: Python names in messages, as the command line spells them.
_CLI_SPELLING = {
    "learning_rate": "--lr",
    "lr_schedule": "--schedule",
    "run_dir": "RUN_DIR",
    "output_dir": "--output",
}
_FUNCTIONS_BEHIND_THE_CLI = (
    "RunConfig|train_run|evaluate_run|predict_run|run_demo|write_explanations|export_model"
)


def cli_message(text: str) -> str:
    """Rewrite a library error message in the command line's terms.

    ``"The 'image_size' parameter (or field) of RunConfig must be ..."`` becomes
    ``"--image-size must be ..."``; ``positive_class=`` becomes ``--positive-class``
    (unless the message says it is the Python spelling); ``resume=True`` becomes
    ``--resume``.

    Examples:
        >>> cli_message("The 'learning_rate' field of RunConfig must be > 0.0. Got 0.")
        '--lr must be > 0.0. Got 0.'
    """

    def flag(match: re.Match[str]) -> str:
        name = match.group(1)
        return _CLI_SPELLING.get(name, "--" + name.replace("_", "-"))

    text = re.sub(
        rf"The '(\w+)' (?:parameter|field) of (?:{_FUNCTIONS_BEHIND_THE_CLI})\b", flag, text
    )
    text = re.sub(r"\bpositive_class=(?! in Python)", "--positive-class ", text)
    text = re.sub(r"\bresume=True\b", "--resume", text)
    return text


def _dermnet_error_inside(exc: BaseException) -> str | None:
    """The message of a dermnet error raised inside a ``tf.data`` function, if any.

    TensorFlow re-raises an exception from a pipeline function as its own error type
    (``InvalidArgumentError``), with the original ``DataError: ...`` line in its message.
    """
    text = str(getattr(exc, "message", None) or exc)
    for name in ("DataError: ", "MissingFileError: ", "ParameterError: "):
        if name in text:
            return text.split(name, 1)[1].splitlines()[0].strip()
    return None


def show_warnings_as(command: str, verbose: bool) -> None:
    """Print Python warnings as one line in the command's voice (the location with -v)."""

    def show_warning(message: Any, category: Any, *rest: Any, **kwargs: Any) -> None:
        where = f" ({rest[0]}:{rest[1]})" if verbose and len(rest) >= 2 else ""
        print(f"dermnet {command}: warning: {message}{where}", file=sys.stderr)

    warnings.showwarning = show_warning


def report_failures(command: str, verbose: bool, body: Callable[[], int]) -> int:
    """Run ``body``; turn what it raises into one line on standard error and an exit status."""

    def error(text: str) -> None:
        print(f"dermnet {command}: error: {text}", file=sys.stderr)

    try:
        return body()
    except UsageError as exc:
        error(str(exc))
        return 2
    except KeyboardInterrupt:
        print(f"dermnet {command}: interrupted", file=sys.stderr)
        return 130
    except DermnetError as exc:
        if verbose:
            traceback.print_exc()
        error(cli_message(str(exc)))
        return 1
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        embedded = _dermnet_error_inside(exc)
        if embedded is not None:  # raised inside a tf.data pipeline, carried by TensorFlow
            error(cli_message(embedded))
            return 1
        hint = "" if verbose else " (run with --verbose for the traceback)"
        error(f"{type(exc).__name__}: {exc}{hint}")
        return 1
