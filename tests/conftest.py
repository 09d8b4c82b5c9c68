"""Shared fixtures: the real data folder (skipped when absent) and tiny synthetic images."""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
#: The real data, beside the checkout (``../shared/data``); override with DERMNET_SHARED_DATA.
SHARED_DATA = Path(os.environ.get("DERMNET_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_dataset(name: str) -> Path:
    """Path of a real dataset folder, or skip the test with the reason."""
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"real data folder {path} is absent (it exists only beside the dev checkout)")
    return path


def _refuse_remote(original):
    def connect(sock: socket.socket, address, *args, **kwargs):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            try:
                local = ipaddress.ip_address(host).is_loopback
            except ValueError:
                local = host == "localhost"
            if not local:
                raise RuntimeError(
                    f"a test tried to connect to {address!r}: tests must never download data "
                    "or weights (use weights=None or a local file)"
                )
        return original(sock, address, *args, **kwargs)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _no_network():
    """Every in-process network connection except loopback fails: nothing downloads."""
    patch = pytest.MonkeyPatch()
    patch.setattr(socket.socket, "connect", _refuse_remote(socket.socket.connect))
    patch.setattr(socket.socket, "connect_ex", _refuse_remote(socket.socket.connect_ex))
    yield
    patch.undo()


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def write_image():
    """Write an RGB image (uint8 array) to a path with PIL, in the format of the suffix."""
    from PIL import Image

    def write(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        image = Image.fromarray(array)
        if mode is not None:
            image = image.convert(mode)
        image.save(path)
        return path

    return write
