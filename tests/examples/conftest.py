"""Shared helper of the recipe tests: run an example script in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
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
