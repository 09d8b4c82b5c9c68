"""Serving with trust: abstention from ``abstention.json``, ensembles, one traced reader."""

from __future__ import annotations

import base64
import io
import json
import shutil

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dermnet.serve import ServeConfig, create_app
from tests.serve.conftest import jpeg_bytes, png_bytes

CLASSES = ["Parasitized", "Uninfected"]
CONFIG = ServeConfig(batch_wait_ms=20, max_files=4, max_pixels=10**7)
PARTS = [
    ("a.jpg", jpeg_bytes(300, 200, seed=3), "image/jpeg"),
    ("b.png", png_bytes(45, 70, seed=4), "image/png"),
]


def upload(*items):
    return [("files", item) for item in items]


def probabilities(body):
    return np.array([[r["probabilities"][c] for c in CLASSES] for r in body["results"]])


@pytest.fixture(scope="module")
def plain(run_dir):
    with TestClient(create_app(run_dir, CONFIG)) as client:
        yield client


def test_without_abstention_file_nothing_is_flagged(plain):
    body = plain.post("/v1/predict", files=upload(*PARTS)).json()
    assert "abstention" not in body
    for row in body["results"]:
        assert "abstain" not in row
        assert row["confidence"] == pytest.approx(max(row["probabilities"].values()))
    assert plain.get("/v1/model").json()["abstention"] is None


def test_uploads_are_decoded_by_one_reader_traced_once(plain):
    reader = plain.app.service.reader
    first = reader.traces
    for _ in range(3):
        assert plain.post("/v1/predict", files=upload(*PARTS)).status_code == 200
    assert reader.traces == first == 2


def test_abstention_flags_predictions_below_the_threshold(plain, run_dir, tmp_path):
    before = plain.post("/v1/predict", files=upload(*PARTS)).json()
    confident = [r["confidence"] for r in before["results"]]
    assert confident[0] != confident[1]
    threshold = float(np.mean(confident))  # one image below, one above
    copy = tmp_path / "with_rule"
    shutil.copytree(run_dir, copy)
    rule = {"score": "max_probability", "threshold": threshold, "target_risk": 0.1,
            "target_coverage": None, "coverage": 0.8, "risk": 0.09, "n": 120}  # fmt: skip
    (copy / "abstention.json").write_text(json.dumps(rule))
    with TestClient(create_app(copy, CONFIG)) as client:
        body = client.post("/v1/predict", files=upload(*PARTS)).json()
        explained = client.post("/v1/explain", files=upload(PARTS[0])).json()
        summary = client.get("/v1/model").json()
    assert body["abstention"] == rule
    assert summary["abstention"] == rule
    flags = [r["abstain"] for r in body["results"]]
    assert flags == [c < threshold for c in confident]
    assert sorted(flags) == [False, True]
    assert [r["confidence"] for r in body["results"]] == pytest.approx(confident, abs=1e-6)
    assert explained["results"][0]["abstain"] is flags[0]
    assert explained["abstention"]["threshold"] == threshold


def test_the_page_renders_the_abstention_flag(plain):
    page = plain.get("/").text
    assert "r.abstain === true" in page
    assert "The model abstains: confidence " in page
    assert " chosen on validation " in page


def test_a_damaged_abstention_file_is_refused_at_start(run_dir, tmp_path):
    from dermnet import DataError

    copy = tmp_path / "damaged"
    shutil.copytree(run_dir, copy)
    (copy / "abstention.json").write_text(json.dumps({"score": "entropy", "threshold": 0.5}))
    with pytest.raises(DataError, match=r"abstention\.json is for the score 'entropy'"):
        create_app(copy, CONFIG)


@pytest.fixture(scope="module")
def ensemble_dir(run_dir, tmp_path_factory):
    from dermnet.train import build_ensemble

    root = tmp_path_factory.mktemp("ensemble")
    members = []
    for name in ("member_a", "member_b"):
        shutil.copytree(run_dir, root / name)
        members.append(root / name)
    folder = build_ensemble(members, root / "ensemble")
    assert folder.is_ensemble
    return folder.path


def test_an_ensemble_serves_like_its_identical_members(plain, ensemble_dir):
    from PIL import Image

    from dermnet.train.ensemble import EnsembleExplainer

    single = plain.post("/v1/predict", files=upload(*PARTS)).json()
    single_cam = plain.post("/v1/explain", files=upload(PARTS[0])).json()["results"][0]
    with TestClient(create_app(ensemble_dir, CONFIG)) as client:
        body = client.post("/v1/predict", files=upload(*PARTS)).json()
        cam = client.post("/v1/explain", files=upload(PARTS[0])).json()["results"][0]
        assert isinstance(client.app.service._explainer, EnsembleExplainer)
        assert client.get("/v1/model").json()["classes"] == CLASSES
    np.testing.assert_allclose(probabilities(body), probabilities(single), atol=1e-6, rtol=0)
    assert cam["explained"] == single_cam["explained"]
    assert (cam["overlay_width"], cam["overlay_height"]) == (300, 200)

    def pixels(url):
        data = base64.b64decode(url.split(",", 1)[1])
        return np.asarray(Image.open(io.BytesIO(data)), np.float32)

    # Grad-CAM averaged over two identical members is the member's own map
    assert np.abs(pixels(cam["overlay"]) - pixels(single_cam["overlay"])).mean() < 1.0
