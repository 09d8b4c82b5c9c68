"""The ``dermnet serve`` subcommand: `add_serve_arguments` declares it, `run_serve` runs it.

The arguments are checked (port range, host, limits) before TensorFlow is imported, so
a typo fails in a fraction of a second.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from dermnet._core.errors import DermnetError
from dermnet.serve.config import ServeConfig

__all__ = ["add_serve_arguments", "config_from_args", "run_serve"]

_DEFAULTS = ServeConfig()
_SWITCH_INTERVAL_S = 0.0005  # the server process's GIL switch interval (default 0.005)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``dermnet serve`` arguments to ``parser``.

    Examples:
        >>> parser = argparse.ArgumentParser(prog="dermnet serve")
        >>> add_serve_arguments(parser)
        >>> args = parser.parse_args(["runs/demo", "--port", "8080"])
        >>> config_from_args(args).port, config_from_args(args).host
        (8080, '127.0.0.1')
    """
    d = _DEFAULTS
    parser.add_argument("run", metavar="RUN", help="a run folder (written by dermnet train)")
    parser.add_argument(
        "--host",
        default=d.host,
        help=f"address to bind (default {d.host}: this machine only; 0.0.0.0 opens the "
        "server to the network)",
    )
    parser.add_argument("--port", type=int, default=d.port, help=f"TCP port (default {d.port})")
    parser.add_argument(
        "--model-file", default=d.model_file, help="the model file of the run (default %(default)s)"
    )
    parser.add_argument(
        "--save-dir",
        default=None,
        help="keep every upload and its result here (default: nothing is stored)",
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=d.max_batch,
        help="most images per forward pass, across clients (default %(default)s)",
    )
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        default=d.batch_wait_ms,
        help="longest a request waits for others on their way to join its batch "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=d.queue_size,
        help="requests that may wait for the model; more get 503 (default %(default)s)",
    )
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=d.max_body_bytes / 2**20,
        help="largest request body in MiB (default %(default)g)",
    )
    parser.add_argument(
        "--max-files",
        type=int,
        default=d.max_files,
        help="most images per request (default %(default)s)",
    )
    parser.add_argument(
        "--max-pixels",
        type=int,
        default=d.max_pixels,
        help="largest image, width x height (default %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=d.timeout_s,
        help="seconds a request may wait for the model (default %(default)g)",
    )


def config_from_args(args: argparse.Namespace) -> ServeConfig:
    """The checked `ServeConfig` of parsed ``dermnet serve`` arguments (no TensorFlow)."""
    body = args.max_body_mb
    return ServeConfig(
        host=args.host,
        port=args.port,
        model_file=args.model_file,
        max_batch=args.max_batch,
        batch_wait_ms=args.batch_wait_ms,
        queue_size=args.queue_size,
        max_body_bytes=int(body * 2**20) if isinstance(body, (int, float)) else body,
        max_files=args.max_files,
        max_pixels=args.max_pixels,
        timeout_s=args.timeout,
        save_dir=args.save_dir,
    ).validate()


def run_serve(args: argparse.Namespace) -> int:
    """Run ``dermnet serve``: check the arguments, load the run, serve until SIGTERM/Ctrl-C.

    Returns:
        The exit status: 0 after a clean shutdown, 2 for bad arguments or a bad run folder.
    """
    try:
        config = config_from_args(args)
    except DermnetError as exc:
        print(f"dermnet serve: {exc}", file=sys.stderr)
        return 2
    from dermnet._core.imports import optional_import

    try:
        uvicorn: Any = optional_import("uvicorn", purpose="dermnet serve", extra="serve")
        from dermnet.serve.app import create_app

        print(f"dermnet serve: loading the run {args.run} ...", file=sys.stderr, flush=True)
        app = create_app(args.run, config)
    except DermnetError as exc:
        print(f"dermnet serve: {exc}", file=sys.stderr)
        return 2
    _log_access_to_stderr()
    where = "this machine only" if config.local_only else "every machine that can reach it"
    print(
        f"dermnet serve: {app.service.model_id} (version {app.service.model_version}) on "
        f"http://{config.host}:{config.port}/ : reachable from {where}"
        + ("; pass --host 0.0.0.0 to open it to the network." if config.local_only else ".")
        + (f" Uploads are kept in {config.save_dir}." if config.save_dir else "")
        + ("" if config.save_dir else " Nothing is stored."),
        file=sys.stderr,
        flush=True,
    )
    # The model's worker thread runs Python between TensorFlow ops; with the default 5 ms
    # GIL switch interval the event loop waits that long for each of a request's steps
    # (receive, check, queue, answer). A shorter one measured ~15% more requests/s with
    # 16 clients on 2 cores (benchmarks/bench_serve.py). The server process only: `create_app`
    # leaves an embedding program's interpreter alone.
    sys.setswitchinterval(_SWITCH_INTERVAL_S)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            access_log=False,  # dermnet.serve.access logs one JSON line per request
            log_level="warning",
            timeout_graceful_shutdown=int(config.timeout_s) + 5,
        )
    )
    # uvicorn finishes the requests in flight, then re-raises the signal it caught: these
    # handlers take it, so the command ends with status 0 and says so.
    stops: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stops.append(number))
    server.run()
    print("dermnet serve: stopped (in-flight requests finished).", file=sys.stderr, flush=True)
    return 0


def _log_access_to_stderr() -> None:
    from dermnet.serve.app import access_logger

    if not access_logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access_logger.addHandler(handler)
        access_logger.setLevel(logging.INFO)
        access_logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    """Run ``dermnet serve`` from ``python -m dermnet.serve`` until the CLI wires it in."""
    parser = argparse.ArgumentParser(
        prog="dermnet serve", description="Serve a run: a web page and a REST API."
    )
    add_serve_arguments(parser)
    return run_serve(parser.parse_args(argv))
