"""Process hygiene: a killed `dermnet preprocess -j 2` leaves no worker process behind."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="finds child processes through /proc (Linux)"
)


def _children(pid: int) -> set[int]:
    """Direct children of ``pid``, from /proc/<pid>/task/*/children."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):  # the task ended meanwhile
            found.update(int(c) for c in (task / "children").read_text().split())
    return found


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _running(pid: int) -> bool:
    """The process exists and is not a zombie (an ended child not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def many_images(tmp_path, write_image):
    """300 hard links to one 1024x1024 JPEG: seconds of work for two workers."""
    y, x = np.mgrid[0:1024, 0:1024]
    image = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    first = write_image(tmp_path / "src" / "nv" / "img_000.jpg", image)
    for i in range(1, 300):
        os.link(first, first.with_name(f"img_{i:03d}.jpg"))
    return tmp_path / "src"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_preprocess_leaves_no_worker(many_images, tmp_path, sig):
    dst = tmp_path / "cache"
    command = [sys.executable, "-m", "dermnet.cli", "preprocess", str(many_images), str(dst)]
    command += ["-j", "2", "--preset", "dermoscopy", "--image-size", "64", "--quiet"]
    log = (tmp_path / "log.txt").open("w")
    parent = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        # kill once both workers exist and have written outputs (they are mid-run)
        while time.monotonic() < deadline and parent.poll() is None:
            workers = _descendants(parent.pid)
            if len(workers) >= 2 and len(list(dst.glob("nv/*.png"))) >= 4:
                break
            time.sleep(0.05)
        assert parent.poll() is None, "preprocess ended before it could be killed"
        assert len(workers) >= 2, f"no worker processes found: {workers}"
        assert len(list(dst.glob("nv/*.png"))) < 300
        os.kill(parent.pid, sig)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(_running(p) for p in workers):
            time.sleep(0.05)
        left = sorted(p for p in workers if _running(p))
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        log.close()
    for pid in left:  # do not leave them behind if the test fails
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"worker processes still running after the parent was killed: {left}"
