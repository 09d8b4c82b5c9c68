"""The ``dermnet`` parser and its table of commands.

Each command is a parser builder (``add_<name>``) and a runner (``run_<name>``) in the
module of its group, registered in `COMMANDS`, and optionally a check in `CHECKS` that
validates paths and names before TensorFlow is imported (so a bad argument is reported in
well under a second). Numbers are checked by argparse itself, with the library's checks
(`dermnet.cli.arguments`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from dermnet._version import __version__
from dermnet.cli import data, demo, evaluate, export, predict, serve, train

__all__ = ["CHECKS", "COMMANDS", "WITHOUT_TENSORFLOW", "build_parser"]

#: ``{command: (parser builder, runner)}``; the runner returns the exit status.
COMMANDS: dict[str, tuple[Callable[[Any], None], Callable[[argparse.Namespace], int]]] = {
    "demo": (demo.add_demo, demo.run_demo_command),
    "describe": (data.add_describe, data.run_describe),
    "explain": (evaluate.add_explain, evaluate.run_explain),
    "export": (export.add_export, export.run_export),
    "info": (demo.add_info, demo.run_info),
    "preprocess": (data.add_preprocess, data.run_preprocess),
    "recipes": (train.add_recipes, train.run_recipes),
    "train": (train.add_train, train.run_train),
    "evaluate": (evaluate.add_evaluate, evaluate.run_evaluate),
    "predict": (predict.add_predict, predict.run_predict),
    "serve": (serve.add_serve, serve.run_serve),
    "cv": (train.add_cv, train.run_cv),
    "ensemble": (train.add_ensemble, train.run_ensemble),
}
if serve.has_shard_command():  # written by the data layer: wired as soon as it exists
    COMMANDS["shard"] = (serve.add_shard, serve.run_shard)

#: Checks of the command line that run before TensorFlow is imported; they raise
#: `UsageError` (exit status 2) or a `DermnetError` (exit status 1).
CHECKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "cv": train.check_cv,
    "ensemble": train.check_ensemble,
    "evaluate": evaluate.check_evaluate,
    "explain": evaluate.check_explain,
    "export": export.check_export,
    "predict": predict.check_predict,
    "recipes": train.check_recipes,
    "serve": serve.check_serve,
    "train": train.check_train,
}

#: Commands that never import TensorFlow.
WITHOUT_TENSORFLOW = frozenset({"describe", "preprocess", "recipes"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dermnet`` command."""
    parser = argparse.ArgumentParser(
        prog="dermnet",
        description="dermnet: deep learning for dermoscopy and microscopy image classification.",
    )
    parser.add_argument("--version", action="version", version=f"dermnet {__version__}")
    verbose_help = "show TensorFlow's start-up lines, and tracebacks on errors"
    parser.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add, _ in COMMANDS.values():
        add(sub)
    for command in sub.choices.values():  # --verbose also after the subcommand
        command.add_argument(
            "--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help=verbose_help
        )
    return parser
