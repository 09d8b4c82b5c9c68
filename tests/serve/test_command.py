"""``dermnet serve`` as a command: argument checks before TensorFlow, a graceful SIGTERM."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
import time

import pytest

from dermnet._core.errors import ParameterError
from dermnet.serve import ServeConfig
from dermnet.serve.command import add_serve_arguments, config_from_args
from tests.serve.conftest import png_bytes
from tests.serve.server import running_server


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_serve_arguments(parser)
    return parser.parse_args(["runs/x", *argv])


def test_defaults_bind_to_this_machine_only():
    config = config_from_args(parse())
    assert config.host == "127.0.0.1"
    assert config.port == 8000
    assert config.local_only
    assert config.save_dir is None
    assert not ServeConfig(host="0.0.0.0").validate().local_only


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--port", "70000"), "'port'"),
        (("--port", "-1"), "'port'"),
        (("--host", "not a host!"), "'host'"),
        (("--host", "999.1.1.1"), "'host'"),
        (("--max-batch", "0"), "'max_batch'"),
        (("--timeout", "0"), "'timeout_s'"),
        (("--model-file", "model.h5"), "'model_file'"),
    ],
)
def test_bad_arguments_are_named(argv, message):
    with pytest.raises(ParameterError, match=message):
        config_from_args(parse(*argv))


def test_bad_arguments_fail_before_tensorflow_is_imported():
    code = (
        "import sys; from dermnet.serve.command import main; "
        "rc = main(['runs/x', '--port', '70000']); "
        "print('tensorflow' in sys.modules, rc)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "2"]
    assert "'port' parameter of ServeConfig must be an int" in out.stderr


@pytest.mark.slow  # a server process starts (TensorFlow import, model load)
def test_sigterm_finishes_the_request_in_flight(run_dir, tmp_path):
    import requests

    log = tmp_path / "server.log"
    # each request waits 3 s for others to join its batch: the SIGTERM lands meanwhile
    with running_server(run_dir, "--batch-wait-ms", "3000", log=log) as (url, process):
        answer = {}

        def post():
            files = {"files": ("x.png", png_bytes(), "image/png")}
            answer["response"] = requests.post(f"{url}/v1/predict", files=files, timeout=60)

        thread = threading.Thread(target=post)
        thread.start()
        for _ in range(100):  # until the request is with the model
            if requests.get(f"{url}/health", timeout=5).json()["requests"] == 1:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        thread.join(60)
        assert process.wait(60) == 0
    response = answer["response"]
    assert response.status_code == 200
    assert set(response.json()["results"][0]["probabilities"]) == {"Parasitized", "Uninfected"}
    text = log.read_text()
    assert "this machine only" in text
    assert "stopped (in-flight requests finished)" in text
    assert '"path": "/v1/predict", "status": 200' in text  # the JSON access log
