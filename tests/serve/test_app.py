"""The REST API in-process (FastAPI's TestClient): every route and every bad input."""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

from dermnet.serve import ModelService, ServeConfig, create_app, model_summary
from tests.serve.conftest import bomb_png, jpeg_bytes, png_bytes

CLASSES = ["Parasitized", "Uninfected"]
CONFIG = ServeConfig(batch_wait_ms=50, max_body_bytes=2 * 2**20, max_files=4, max_pixels=10**7)


@pytest.fixture(scope="module")
def client(run_dir):
    with TestClient(create_app(run_dir, CONFIG)) as client:
        yield client


def upload(*items):
    """``files`` parts: (name, bytes, content type) each."""
    return [("files", item) for item in items]


def test_health_names_the_model(client):
    body = client.get("/health").json()
    assert body["status"] == "ok"
    assert body["model"]["id"] == "malaria_run"
    assert len(body["model"]["version"]) == 12


def test_model_gives_classes_data_config_and_card(client):
    body = client.get("/v1/model").json()
    assert body["classes"] == CLASSES
    assert body["data_config"]["image_size"] == [32, 32]
    assert body["data_config"]["resize"] == "stretch"
    assert "Not a medical device" in body["model_card"]["intended_use"]
    assert body["model_card"]["model"].startswith("simple_cnn")
    assert body["metrics"] is None  # the frozen run was never evaluated
    assert body["not_a_medical_device"] is True
    assert body["limits"]["max_files"] == 4


def test_model_summary_shows_metrics_with_intervals(run_dir, tmp_path):
    import shutil

    from dermnet.train import RunFolder

    copy = tmp_path / "evaluated"
    shutil.copytree(run_dir, copy)
    stored = {
        "split": "test",
        "n": 40,
        "balanced_accuracy": 0.75,
        "accuracy": 0.8,
        "macro_auc": None,
        "intervals": {"balanced_accuracy": [0.6, 0.9], "accuracy": [0.7, 0.9]},
        "model_card": {"model": "simple_cnn, 32x32", "intended_use": "Research only."},
    }
    (copy / "metrics.json").write_text(json.dumps(stored))
    fake = SimpleNamespace(
        folder=RunFolder(copy), config=ServeConfig(), model_id="evaluated", model_version="0" * 12
    )
    summary = model_summary(fake)
    assert summary["metrics"] == {
        "split": "test",
        "images": 40,
        "balanced_accuracy": {"value": 0.75, "interval_95": [0.6, 0.9]},
        "accuracy": {"value": 0.8, "interval_95": [0.7, 0.9]},
    }
    assert summary["model_card"]["model"] == "simple_cnn, 32x32"


def test_predict_equals_dermnet_predict(client, run_dir, tmp_path):
    from dermnet.data import sample_path
    from dermnet.train.run import predict_run

    files = [tmp_path / "random.jpg", tmp_path / "random.png"]
    files[0].write_bytes(jpeg_bytes(300, 200))
    files[1].write_bytes(png_bytes(45, 70))
    files.append(sorted(sample_path("malaria").rglob("*.png"))[0])
    expected = predict_run(run_dir, files)
    parts = [
        (p.name, p.read_bytes(), "image/png" if p.suffix == ".png" else "image/jpeg") for p in files
    ]
    response = client.post("/v1/predict", files=upload(*parts))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["classes"] == CLASSES
    assert body["model"]["id"] == "malaria_run"
    assert [r["file"] for r in body["results"]] == [p.name for p in files]
    got = np.array([[r["probabilities"][c] for c in CLASSES] for r in body["results"]])
    want = expected[[f"p_{c}" for c in CLASSES]].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)
    assert [r["prediction"] for r in body["results"]] == list(expected["prediction"])
    assert body["results"][0]["width"] == 300
    assert body["results"][0]["height"] == 200


def test_explain_gives_an_overlay_at_the_image_resolution(client):
    from PIL import Image

    response = client.post("/v1/explain", files=upload(("a.jpg", jpeg_bytes(90, 60), "image/jpeg")))
    assert response.status_code == 200, response.text
    body = response.json()
    result = body["results"][0]
    assert body["method"] == "gradcam"
    assert "Warm colours" in body["reading_guide"]
    assert result["explained"] == result["prediction"]
    assert result["overlay"].startswith("data:image/jpeg;base64,")
    overlay = Image.open(io.BytesIO(base64.b64decode(result["overlay"].split(",", 1)[1])))
    assert overlay.size == (90, 60) == (result["overlay_width"], result["overlay_height"])
    assert abs(sum(result["probabilities"].values()) - 1.0) < 1e-5


def test_explain_a_named_class_and_refuses_an_unknown_one(client):
    image = ("a.png", png_bytes(), "image/png")
    body = client.post("/v1/explain", files=upload(image), data={"class_name": "Uninfected"})
    assert body.json()["results"][0]["explained"] == "Uninfected"
    bad = client.post("/v1/explain", files=upload(image), data={"class_name": "melanoma"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "unknown_class"
    assert "melanoma" in bad.json()["error"]["message"]


def _truncated_jpeg() -> bytes:
    data = jpeg_bytes(200, 150)
    return data[: len(data) // 2]


BAD_UPLOADS = {
    "not an image": (("notes.jpg", b"hello, I am text" * 20, "image/jpeg"), 400, "not_an_image"),
    "truncated JPEG": (("cut.jpg", _truncated_jpeg(), "image/jpeg"), 400, "truncated_image"),
    "zero bytes": (("empty.png", b"", "image/png"), 400, "empty_file"),
    "wrong content type": (("a.png", png_bytes(), "text/plain"), 415, "unsupported_media_type"),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_a_bad_upload_is_a_4xx_json_error_naming_it(client, case):
    part, status, code = BAD_UPLOADS[case]
    for route in ("/v1/predict", "/v1/explain"):
        response = client.post(route, files=upload(part))
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code
        assert error["file"] == part[0]
        assert part[0] in error["message"]
    # the server keeps serving
    ok = client.post("/v1/predict", files=upload(("ok.png", png_bytes(), "image/png")))
    assert ok.status_code == 200


def test_a_decompression_bomb_is_refused_from_its_header(client):
    start = time.perf_counter()
    response = client.post("/v1/predict", files=upload(("bomb.png", bomb_png(), "image/png")))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "image_too_large"
    assert "bomb.png" in error["message"]
    assert "400000000 pixels" in error["message"].replace(",", "")
    assert time.perf_counter() - start < 10  # refused before any decoding


def test_an_image_over_the_pixel_limit_is_refused(run_dir):
    config = ServeConfig(max_pixels=1000)
    with TestClient(create_app(run_dir, config)) as small:
        response = small.post(
            "/v1/predict", files=upload(("big.png", png_bytes(50, 40), "image/png"))
        )
    assert response.status_code == 413
    assert "50x40" in response.json()["error"]["message"]


def test_a_huge_body_is_refused_unread(client):
    big = b"\xff" * (3 * 2**20)
    response = client.post("/v1/predict", files=upload(("big.jpg", big, "image/jpeg")))
    assert response.status_code == 413
    error = response.json()["error"]
    assert error["code"] == "body_too_large"
    assert "2,097,152" in error["message"]


def test_a_huge_chunked_body_is_cut_off(client):
    def chunks():
        yield b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.jpg"\r\n'
        yield b"Content-Type: image/jpeg\r\n\r\n"
        for _ in range(48):
            yield b"\xff" * 2**16

    response = client.post(
        "/v1/predict",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=x"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


def test_a_request_that_is_not_multipart_is_415(client):
    response = client.post("/v1/predict", json={"image": "aGVsbG8="})
    assert response.status_code == 415
    assert "multipart/form-data" in response.json()["error"]["message"]
    assert "application/json" in response.json()["error"]["message"]


def test_a_form_without_files_is_422(client):
    response = client.post("/v1/predict", data={"other": "x"}, files={"nothing": ("", b"")})
    assert response.status_code in (400, 422)
    assert "files" in response.json()["error"]["message"]


def test_too_many_files_are_refused(client):
    parts = [(f"{i}.png", png_bytes(seed=i), "image/png") for i in range(5)]
    response = client.post("/v1/predict", files=upload(*parts))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_many_files"


def test_unknown_route_and_wrong_method_are_json(client):
    response = client.get("/v2/everything")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "/v2/everything" in response.json()["error"]["message"]
    response = client.get("/v1/predict")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_openapi_schema_lists_the_api_and_no_cdn_docs(client):
    schema = client.get("/openapi.json").json()
    assert {"/v1/predict", "/v1/explain", "/v1/model", "/health"} <= set(schema["paths"])
    assert "multipart/form-data" in json.dumps(schema["paths"]["/v1/predict"])
    assert client.get("/docs").status_code == 404  # Swagger UI would load a CDN


def test_the_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.text
    assert "http://" not in page
    assert "https://" not in page
    assert "//cdn" not in page
    assert '<label id="drop" for="files">' in page
    assert 'type="file"' in page
    assert "linear-gradient(to right, rgb(0,0,127) 0%" in page  # the jet colour bar
    assert "Not a medical device" in page
    assert 'name="viewport"' in page


def test_concurrent_clients_are_batched(client):
    images = [png_bytes(seed=10 + i) for i in range(8)]
    single = [
        client.post("/v1/predict", files=upload(("x.png", data, "image/png"))).json()
        for data in images[:2]
    ]
    before = client.get("/health").json()
    results: dict[int, dict] = {}

    def post(i):
        results[i] = client.post("/v1/predict", files=upload((f"{i}.png", images[i], "image/png")))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = client.get("/health").json()
    assert all(r.status_code == 200 for r in results.values())
    assert after["images"] - before["images"] == 8
    assert after["batches"] - before["batches"] < 8  # some requests shared a forward pass
    assert after["largest_batch"] > 1
    for i in range(2):
        got = results[i].json()["results"][0]["probabilities"]
        want = single[i]["results"][0]["probabilities"]
        assert got == pytest.approx(want, abs=1e-6)


def test_a_lone_request_does_not_wait_for_a_batch(run_dir):
    # batch_wait_ms is how long a batch waits for requests on their way: with none on
    # the way (one client; a refused upload before it), the request is scored at once
    config = ServeConfig(batch_wait_ms=5000, max_files=4)
    with TestClient(create_app(run_dir, config)) as lone:
        refused = lone.post("/v1/predict", files=upload(("bad.png", b"not a png", "image/png")))
        assert refused.status_code == 400
        too_big = lone.post("/v1/predict", files=upload(*[("x.png", png_bytes(), "image/png")] * 5))
        assert too_big.status_code == 413
        start = time.perf_counter()
        response = lone.post("/v1/predict", files=upload(("x.png", png_bytes(), "image/png")))
        elapsed = time.perf_counter() - start
    assert response.status_code == 200
    assert elapsed < 2.5, f"a lone request waited {elapsed:.1f} s for others"


def test_access_log_is_json_without_image_content(client, caplog):
    with caplog.at_level(logging.INFO, logger="dermnet.serve.access"):
        response = client.post(
            "/v1/predict", files=upload(("secret-name.png", png_bytes(), "image/png"))
        )
    records = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("access")]
    assert len(records) == 1
    record = records[0]
    assert record["request_id"] == response.headers["x-request-id"]
    assert record["status"] == 200
    assert record["path"] == "/v1/predict"
    assert record["images"] == 1
    assert record["bytes_in"] > 0
    assert record["duration_ms"] > 0
    assert "secret-name" not in caplog.text  # no file names, no pixels


def test_nothing_is_stored_without_save_dir(client, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def no_scratch_folder(*args, **kwargs):
        raise AssertionError("the service copied an upload to a scratch folder")

    monkeypatch.setattr(tempfile, "mkdtemp", no_scratch_folder)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", no_scratch_folder)
    monkeypatch.setattr(tempfile, "mkstemp", no_scratch_folder)
    response = client.post("/v1/predict", files=upload(("x.png", png_bytes(), "image/png")))
    assert response.status_code == 200  # header and pixels read from its bytes, no file
    assert list(tmp_path.iterdir()) == []  # nothing left in the temporary folder


def test_save_dir_keeps_uploads_and_results(run_dir, tmp_path):
    config = ServeConfig(save_dir=tmp_path / "kept")
    data = png_bytes()
    with TestClient(create_app(run_dir, config)) as saving:
        response = saving.post("/v1/explain", files=upload(("x.png", data, "image/png")))
    folder = tmp_path / "kept" / response.headers["x-request-id"]
    assert (folder / "0.png").read_bytes() == data
    kept = json.loads((folder / "result.json").read_text())
    assert kept["endpoint"] == "explain"
    assert "overlay" not in kept["results"][0]
    assert kept["results"][0]["probabilities"] == response.json()["results"][0]["probabilities"]


@pytest.fixture
def blocked(run_dir, monkeypatch):
    """A server whose model waits for ``release`` (queue of 1, 1 s timeout)."""
    service = ModelService(run_dir, ServeConfig(queue_size=1, timeout_s=1.0, batch_wait_ms=0))
    entered, release = threading.Event(), threading.Event()
    real = service.predict_images

    def slow(images):
        entered.set()
        release.wait(10)
        return real(images)

    monkeypatch.setattr(service, "predict_images", slow)
    with TestClient(create_app(service=service)) as client:
        yield client, service, entered, release
        release.set()


def test_a_full_queue_is_503_and_a_slow_model_504(blocked):
    client, service, entered, release = blocked
    part = upload(("x.png", png_bytes(), "image/png"))
    answers = {}

    def post(key):
        answers[key] = client.post("/v1/predict", files=part)

    first = threading.Thread(target=post, args=("first",))
    first.start()
    assert entered.wait(10)  # the worker holds the first request
    second = threading.Thread(target=post, args=("second",))
    second.start()
    for _ in range(200):
        if service.queue_depth == 1:
            break
        time.sleep(0.01)
    third = client.post("/v1/predict", files=part)
    assert third.status_code == 503
    assert third.json()["error"]["code"] == "queue_full"
    assert third.headers["retry-after"] == "1"
    first.join()
    second.join()
    assert answers["first"].status_code == 504
    assert answers["first"].json()["error"]["code"] == "timeout"
    release.set()
