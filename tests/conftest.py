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
#: The one fallback for the real data: ``../shared/data`` beside the checkout (the dev
#: machine and CI). When ``DERMNET_DATA_ROOT`` is unset and this folder exists, the variable
#: is set to it here, at session start, so the library (`dermnet.data.data_root`) and the
#: example and benchmark scripts that the tests run in subprocesses all find the same data.
_CHECKOUT_DATA = REPO.parent / "shared" / "data"
if not os.environ.get("DERMNET_DATA_ROOT", "").strip() and _CHECKOUT_DATA.is_dir():
    os.environ["DERMNET_DATA_ROOT"] = str(_CHECKOUT_DATA)


def shared_dataset(name: str) -> Path:
    """Path of a real dataset folder under ``$DERMNET_DATA_ROOT``, or skip the test (why)."""
    from dermnet import MissingFileError
    from dermnet.data import data_root

    try:
        return data_root(name)
    except MissingFileError as exc:  # the variable is unset or the folder is absent
        pytest.skip(f"real data folder {name!r} is not available: {exc}")


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
