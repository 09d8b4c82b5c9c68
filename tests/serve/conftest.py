"""Shared fixtures of the serve tests: a small frozen run folder and images as bytes."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "fastapi", reason="the serve extra is not installed: pip install dermnet[serve]"
)
pytest.importorskip("multipart", reason="python-multipart (the serve extra) is not installed")
try:  # FastAPI's TestClient runs on httpx2 (or the older httpx)
    import httpx2  # noqa: F401
except ImportError:
    pytest.importorskip("httpx", reason="FastAPI's TestClient needs httpx2 or httpx")

FILES = Path(__file__).resolve().parents[1] / "files"


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """A copy of the frozen schema-1 run (simple_cnn, 32x32, malaria classes)."""
    target = tmp_path_factory.mktemp("serve") / "malaria_run"
    shutil.copytree(FILES / "run_schema1", target)
    return target


def png_bytes(width: int = 40, height: int = 30, seed: int = 0) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(width: int = 64, height: int = 48, seed: int = 1) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def bomb_png(side: int = 20_000) -> bytes:
    """A valid ``side`` x ``side`` 1-bit black PNG: tiny on disk, 400 MP decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row * 1000) for _ in range(side // 1000)) + packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )
