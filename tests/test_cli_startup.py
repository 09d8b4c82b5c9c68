"""The command line starts quietly and rejects bad arguments before TensorFlow loads.

These tests run the command in fresh processes: whether TensorFlow gets imported, and
what TensorFlow's C++ code writes to file descriptor 2, can only be seen from outside.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

NOISE = re.compile(r"oneDNN|cuInit|cuda|absl|WARNING: All log messages", re.IGNORECASE)


def _run(*args, env=None):
    environ = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**environ, **(env or {})},
        timeout=300,
    )


def test_info_prints_no_tensorflow_start_up_lines():
    done = _run("-m", "dermnet.cli", "info")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dermnet ")
    assert not NOISE.search(done.stderr), done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_before_or_after_the_command_still_runs(where):
    argv = ["--verbose", "info", "--json"] if where == "before" else ["info", "--json", "-v"]
    done = _run("-m", "dermnet.cli", *argv)
    assert done.returncode == 0, done.stderr
    assert "simple_cnn" in json.loads(done.stdout)["models"]


_PROBE = textwrap.dedent(
    """
    import contextlib, io, json, sys
    from dermnet.cli import main
    results = []
    for argv in json.loads(sys.argv[1]):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            try:
                code = main(argv)
            except SystemExit as exc:
                code = exc.code
        results.append([code, err.getvalue()])
    print(json.dumps({"results": results, "tensorflow": "tensorflow" in sys.modules}))
    """
)


def test_bad_arguments_are_rejected_before_tensorflow_is_imported(tmp_path):
    image = tmp_path / "x.jpg"
    image.write_bytes(b"not read")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{}")
    cases = [
        (["--help"], 0, "usage: dermnet"),
        (["train", "--dataset", "ham10000"], 2, "--root DIR is required with --dataset"),
        (["train", "--model", "not_a_model", "--sample", "ham10000"], 2, "--model: Unknown"),
        (["train", "--model", "resnet", "--sample", "ham10000"], 2, "Did you mean 'resnet50'"),
        (["train", "--dataset", "ham1000", "--root", "."], 2, "Did you mean 'ham10000'"),
        (["train", "--dataset", "ham10000", "--root", str(tmp_path / "no")], 2, "--root:"),
        (
            ["train", "--sample", "malaria", "--epochs", "0"],
            2,
            "argument --epochs: must be >= 1. Got 0.",
        ),
        (["train"], 2, "give --dataset NAME --root DIR, or --sample NAME"),
        (["predict", str(tmp_path / "missing_dir"), "x.jpg"], 2, "RUN_DIR: the folder"),
        (["predict", str(tmp_path), str(image)], 2, "is not a run folder"),
        (["evaluate", str(tmp_path / "missing_dir")], 2, "RUN_DIR: the folder"),
        (["explain", str(image), "--model", str(tmp_path / "m.keras")], 2, "--model:"),
        (["export", str(tmp_path / "run"), "--format", "tflite"], 2, "RUN: "),
        (["export", str(tmp_path), "--format", "zip"], 2, "invalid choice: 'zip'"),
        (["bogus"], 2, "invalid choice: 'bogus'"),
        (["cv", "--sample", "malaria", "--folds", "1"], 2, "--folds: must be an int >= 2"),
        (["cv", "--sample", "malria"], 2, "--sample: "),
        (["cv", "--sample", "malaria", "--holdout", "1.5"], 2, "--holdout: must be >= 0"),
        (["serve", str(tmp_path / "missing_dir")], 2, "RUN: the folder"),
        (["serve", str(tmp_path), "--port", "70000"], 2, "is not a run folder"),
        (["serve", str(run), "--port", "70000"], 2, "port"),
        (["predict", str(tmp_path / "missing_dir"), "x.csv", "-o", "p.csv"], 2, "RUN_DIR:"),
    ]
    done = _run("-c", _PROBE, json.dumps([argv for argv, _, _ in cases]))
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    for (argv, code, message), (got_code, err) in zip(cases, found["results"], strict=True):
        assert got_code == code, (argv, err)
        if code:
            assert message in err, (argv, err)
            assert "Traceback" not in err
    assert found["tensorflow"] is False
