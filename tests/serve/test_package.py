"""``dermnet.serve`` imports light (no TensorFlow, no FastAPI) and its names resolve."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dermnet.serve
from dermnet.data import DataConfig
from dermnet.serve.service import heatmap_on_original


def test_import_is_light():
    code = (
        "import sys, dermnet.serve, dermnet.serve.command; "
        "print(*(m in sys.modules for m in ('tensorflow', 'fastapi', 'uvicorn')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_every_public_name_resolves():
    assert sorted(dermnet.serve.__all__) == [
        "ModelService",
        "RequestError",
        "ServeConfig",
        "add_serve_arguments",
        "check_upload",
        "create_app",
        "model_summary",
        "run_serve",
    ]
    for name in dermnet.serve.__all__:
        assert getattr(dermnet.serve, name) is not None


def test_a_stretched_heatmap_is_stretched_back():
    heat = np.zeros((4, 4), np.float32)
    heat[:, :2] = 1.0  # the left half
    out = heatmap_on_original(heat, (8, 16), DataConfig((4, 4), resize="stretch"))
    assert out.shape == (8, 16)
    assert out[:, :6].min() == pytest.approx(1.0)
    assert out[:, 10:].max() == pytest.approx(0.0)


def test_a_padded_heatmap_loses_its_padding():
    # an 8x16 image fills rows 1-2 of a 4x4 input (rows 0 and 3 are padding)
    heat = np.zeros((4, 4), np.float32)
    heat[1:3] = 1.0
    out = heatmap_on_original(heat, (8, 16), DataConfig((4, 4), resize="pad"))
    np.testing.assert_allclose(out, np.ones((8, 16)), atol=1e-6)


def test_a_cropped_heatmap_leaves_the_cut_borders_cold():
    heat = np.ones((4, 4), np.float32)
    out = heatmap_on_original(heat, (10, 20), DataConfig((4, 4), resize="crop"))
    assert out[:, :5].max() == 0.0
    assert out[:, 15:].max() == 0.0
    assert out[:, 5:15].min() == pytest.approx(1.0)
