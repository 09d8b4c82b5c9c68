"""Import TensorFlow without its start-up lines on the terminal.

Importing TensorFlow and listing its devices prints lines from C++ (oneDNN, the CUDA
stubs, ``cuInit`` errors on a machine without a GPU) and absl's "All log messages before
absl::InitializeLog()" warning. ``TF_CPP_MIN_LOG_LEVEL`` hides only some of them, so
`import_tensorflow_quietly` sends file descriptor 2 to a temporary file while TensorFlow
starts, then restores it (`hide_native_stderr` does the same around any block).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from types import ModuleType

__all__ = ["captured_stderr_fd", "hide_native_stderr", "import_tensorflow_quietly"]


@contextlib.contextmanager
def captured_stderr_fd() -> Iterator[list[bytes]]:
    """Send everything written to file descriptor 2 (C, C++ and Python) to a temporary
    file; on exit restore it and put the captured bytes in the yielded list."""
    captured: list[bytes] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read())


@contextlib.contextmanager
def hide_native_stderr(*, verbose: bool = False) -> Iterator[None]:
    """Hide what is written to file descriptor 2 inside the block (TensorFlow's C++
    lines), unless ``verbose``; if the block raises, the hidden lines are written to
    standard error after all, since they may explain the failure."""
    if verbose:
        yield
        return
    captured: list[bytes] = []
    try:
        with captured_stderr_fd() as captured:
            yield
    except BaseException:
        _replay(captured)
        raise


def _set_python_logging(verbose: bool) -> None:
    level = logging.INFO if verbose else logging.ERROR
    logging.getLogger("tensorflow").setLevel(level)
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging

        absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)


def import_tensorflow_quietly(*, verbose: bool = False) -> ModuleType:
    """Import TensorFlow (and discover its devices) with its start-up lines hidden.

    Only the first call (the one that imports TensorFlow) does anything; later calls
    return the module. Without ``verbose``, ``TF_CPP_MIN_LOG_LEVEL`` defaults to
    ``"3"`` (TensorFlow's C++ messages hidden for the rest of the process too, such as
    the harmless "NodeDef mentions attribute ..." errors of tf.data; real failures still
    raise Python exceptions; an explicit setting is kept) and
    TensorFlow's and absl's Python loggers show errors only. If the import fails, the
    captured lines are written to standard error whatever ``verbose`` says, since they
    explain the failure.

    Args:
        verbose: let the lines through, and keep the loggers at their informative
            levels.

    Returns:
        The ``tensorflow`` module.
    """
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules:  # already started: its lines were shown or not then
        return sys.modules["tensorflow"]
    with hide_native_stderr(verbose=verbose):
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe (cuInit) logs here
    _set_python_logging(verbose)
    return tf


def _replay(captured: list[bytes]) -> None:
    data = b"".join(captured)
    if data:
        sys.stderr.flush()
        os.write(2, data)
