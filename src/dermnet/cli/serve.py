"""``dermnet serve`` (`dermnet.serve.command`) and ``dermnet shard``
(`dermnet.data.shard_command`, when that module exists), wired into the command table."""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

from dermnet._core.errors import DermnetError
from dermnet.cli.arguments import UsageError, command_parser, run_folder
from dermnet.cli.errors import cli_message

__all__ = ["add_serve", "check_serve", "has_shard_command", "run_serve"]

_SHARD_MODULE = "dermnet.data.shard_command"


def add_serve(sub: Any) -> None:
    from dermnet.serve.command import add_serve_arguments

    add_serve_arguments(command_parser(sub, "serve", run_serve))


def check_serve(args: argparse.Namespace) -> None:
    from dermnet.serve.command import config_from_args

    run_folder(args.run, "RUN")
    try:
        config_from_args(args)
    except DermnetError as exc:
        raise UsageError(cli_message(str(exc))) from None


def run_serve(args: argparse.Namespace) -> int:
    """Serve a run's model over HTTP: an upload page and a JSON API.

    Load RUN's model once and answer prediction requests until SIGTERM or Ctrl-C, batching
    requests across clients; images are read as in training. Needs the serve extra
    (pip install dermnet[serve]).
    """
    from dermnet.serve.command import run_serve as serve

    return serve(args)


def has_shard_command() -> bool:
    """Whether `dermnet.data.shard_command` (``add_shard_arguments``/``run_shard``) exists."""
    return importlib.util.find_spec(_SHARD_MODULE) is not None


def add_shard(sub: Any) -> None:
    module = importlib.import_module(_SHARD_MODULE)
    module.add_shard_arguments(command_parser(sub, "shard", run_shard))


def run_shard(args: argparse.Namespace) -> int:
    """Pack a dataset's images into TFRecord shards with an index.

    Write the records (labels, groups, metadata; images optionally re-encoded at a maximum
    side) into shards of a chosen size plus index.json, in parallel, resumable, with
    progress; dermnet train and dermnet predict read the folder like the images.
    """
    module = importlib.import_module(_SHARD_MODULE)
    return int(module.run_shard(args))
