"""The ``dermnet`` command line.

One module per command group: `dermnet.cli.train` (``train``, ``recipes``),
`dermnet.cli.evaluate` (``evaluate``, ``predict``, ``explain``), `dermnet.cli.export`,
`dermnet.cli.demo` (``demo``, ``info``), `dermnet.cli.data` (``describe``,
``preprocess``); `dermnet.cli.parser` builds the parser from their table,
`dermnet.cli.arguments` holds the argument types (built from the library's own checks)
and path checks they share, `dermnet.cli.errors` how a failure is printed.

Exit statuses: 0 success; 2 a bad command line (argparse's errors, a number outside the
library's bounds, and the checks that run before TensorFlow is imported: a missing
option, an unknown name, a path that does not exist); 1 an error while running (one line
``dermnet CMD: error: ...``; the traceback with ``--verbose``); 130 interrupted.
TensorFlow's start-up lines are hidden unless ``--verbose``.
"""

from __future__ import annotations

from collections.abc import Sequence

from dermnet._core.quiet_import import import_tensorflow_quietly
from dermnet.cli.arguments import UsageError as UsageError
from dermnet.cli.demo import collect_info as collect_info
from dermnet.cli.errors import cli_message as cli_message
from dermnet.cli.errors import report_failures, show_warnings_as
from dermnet.cli.evaluate import predictions_table as predictions_table
from dermnet.cli.parser import CHECKS as _CHECKS
from dermnet.cli.parser import COMMANDS as _COMMANDS
from dermnet.cli.parser import WITHOUT_TENSORFLOW as _WITHOUT_TENSORFLOW
from dermnet.cli.parser import build_parser as build_parser
from dermnet.cli.train import _run_batch_size as _run_batch_size

__all__ = ["main"]
# `build_parser`, `cli_message`, `collect_info`, `predictions_table`, `UsageError` and
# `_run_batch_size` stay importable from `dermnet.cli`, as before it became a package.


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dermnet`` command; returns the exit status.

    0: success; 1: an error while running (one line on standard error, the traceback
    with ``--verbose``); 2: a bad command line; 130: interrupted.
    """
    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    command = args.command
    show_warnings_as(command, verbose)

    def body() -> int:
        if command in _CHECKS:
            _CHECKS[command](args)  # before TensorFlow: a bad argument fails fast
        if command not in _WITHOUT_TENSORFLOW:
            import_tensorflow_quietly(verbose=verbose)
        return _COMMANDS[command][1](args)

    return report_failures(command, verbose, body)
