"""Shared helpers of the recipe tests: run an example script in a subprocess or in-process."""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import subprocess
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_example(script: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess[str]:
    """Run ``python script *args`` from the repository root with this checkout's ``src``.

    ``src`` goes first on ``PYTHONPATH`` so the checkout under test is imported (harmless
    where dermnet is installed from it); TensorFlow's logs are quiet and matplotlib draws
    off-screen.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(script), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_inline(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``script *args`` as ``__main__`` in this process and report it like `run_example`.

    For the error paths, which stop before any training: this saves a Python and TensorFlow
    start-up (several seconds each). The result reads as the subprocess's would: a
    `SystemExit` with a message writes it to stderr and gives return code 1, as the
    interpreter does; any other exception writes its traceback and gives 1.
    """
    out, err = io.StringIO(), io.StringIO()
    argv, cwd = sys.argv, Path.cwd()
    sys.argv = [str(script), *args]
    code = 0
    try:
        os.chdir(REPO)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            err.write(f"{exc.code}\n")
            code = 1
    except Exception:
        err.write(traceback.format_exc())
        code = 1
    finally:
        sys.argv = argv
        os.chdir(cwd)
    return subprocess.CompletedProcess([str(script), *args], code, out.getvalue(), err.getvalue())
