"""What every command shares: argument types built from the library's checks, path checks
of the command line, and the options several commands declare alike.

An argument type here converts the text and then runs the library's own check
(`dermnet._core.validation.check_int`, `check_float`, `check_seed`, or a `RunConfig`
field's constraint), so a bad value stops argparse with exit status 2 and the library's
words (``argument --seed: must be an int >= 0 and <= 4294967295. Got -1 instead.``)
instead of passing the parser and failing later. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dermnet._core.argtypes import argument_type
from dermnet._core.errors import UnknownNameError
from dermnet._core.progress import Progress, write_line
from dermnet._core.validation import check_float, check_int

__all__ = [
    "SEED",
    "ProgressCounter",
    "UsageError",
    "add_batch_size",
    "add_model_file",
    "add_output",
    "add_quiet",
    "argument_type",
    "command_parser",
    "existing_path",
    "float_type",
    "int_type",
    "is_run_folder",
    "known",
    "progress_log",
    "run_folder",
    "run_folder_with_model",
]


class UsageError(Exception):
    """A command line that cannot run: reported like argparse's errors, exit status 2."""


def int_type(*, low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An integer option checked by `check_int` with these (inclusive) bounds."""
    return argument_type(lambda value: check_int(value, "value", "dermnet", low=low, high=high))


def float_type(
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], float]:
    """A finite number option checked by `check_float` with these bounds."""

    def check(value: Any) -> float:
        return check_float(
            value, "value", "dermnet", low=low, high=high, low_open=low_open, high_open=high_open
        )

    return argument_type(check, float, "float")


#: A random seed: `check_seed`'s bounds, [0, 2**32 - 1] (a seed on the command line is
#: never None, so the message does not offer it).
SEED = int_type(low=0, high=2**32 - 1)


def add_output(p: argparse.ArgumentParser, default: str | None, what: str, **kwargs: Any) -> None:
    """``--output/-o``: where the command writes ``what``."""
    shown = "" if default is None else " (default: %(default)s)"
    p.add_argument("--output", "-o", default=default, help=what + shown, **kwargs)


def add_quiet(p: argparse.ArgumentParser, what: str = "no progress lines") -> None:
    """``--quiet/-q``."""
    p.add_argument("--quiet", "-q", action="store_true", help=what)


def add_model_file(p: argparse.ArgumentParser, what: str = "model.keras or last.keras") -> None:
    """``--model-file``: the model in a run folder."""
    p.add_argument("--model-file", default="model.keras", help=what)


def add_batch_size(p: argparse.ArgumentParser, default: int = 32) -> None:
    """``--batch-size``: images per forward pass (an int >= 1)."""
    p.add_argument(
        "--batch-size",
        type=int_type(low=1),
        default=default,
        help="images per forward pass (default: %(default)s)",
    )


def progress_log(quiet: bool) -> Callable[[str], None]:
    """Progress lines on standard output, drawn around a progress bar on a terminal."""
    return (lambda _m: None) if quiet else write_line


def existing_path(text: str | None, option: str, *, kind: str = "any") -> Path:
    """``Path(text)``, or a `UsageError` naming ``option`` when it does not exist."""
    if text is None:
        raise UsageError(f"{option} is required")
    path = Path(text).expanduser()
    if kind == "dir" and not path.is_dir():
        what = "is a file, not a folder" if path.is_file() else "does not exist"
        raise UsageError(f"{option}: the folder {path} {what}")
    if not path.exists():
        raise UsageError(f"{option}: {path} does not exist")
    return path


def run_folder(text: str, option: str) -> Path:
    """A run folder (a folder holding config.json, as ``dermnet train`` writes)."""
    path = existing_path(text, option, kind="dir")
    if not (path / "config.json").is_file():
        raise UsageError(
            f"{option}: {path} is not a run folder (it has no config.json; run folders are "
            "written by dermnet train and dermnet demo)"
        )
    return path


def run_folder_with_model(args: argparse.Namespace) -> Path:
    """``args.run_dir`` as a run folder that holds ``args.model_file``."""
    run = run_folder(args.run_dir, "RUN_DIR")
    if not (run / args.model_file).is_file():
        raise UsageError(f"--model-file: the run folder {run} has no {args.model_file}")
    return run


def is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a run folder (its config.json describes a run), not just a folder
    holding a model and a config.json of class names."""
    config = path / "config.json"
    if not (path.is_dir() and config.is_file()):
        return False
    try:
        info = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # damaged: let the run-folder reader name the problem
    return isinstance(info, dict) and "run" in info


def known(lookup: Callable[[], Any], option: str) -> None:
    """Run a registry lookup; an unknown name becomes a `UsageError` naming ``option``."""
    try:
        lookup()
    except UnknownNameError as exc:
        raise UsageError(f"{option}: {exc}") from None


def command_parser(sub: Any, name: str, runner: Callable[..., int]) -> argparse.ArgumentParser:
    """The parser of command ``name``, described by its runner's docstring.

    The docstring's first line is the one-line help of ``dermnet --help`` (without its
    full stop); the paragraphs after it are the description of ``dermnet NAME --help``.
    """
    doc = inspect.cleandoc(runner.__doc__ or "")
    summary, _, description = doc.partition("\n\n")
    summary = " ".join(summary.split()).rstrip(".")
    help_text = summary[:1].lower() + summary[1:]
    return sub.add_parser(name, help=help_text, description=" ".join(description.split()) or None)


class ProgressCounter:
    """A ``progress(done, total)`` callback that draws a `Progress` bar; a context manager
    that closes the bar."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(total, label=self.label, unit="img", enabled=self.enabled)
        self.bar.update(done - self.bar.done)

    def __enter__(self) -> ProgressCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()
