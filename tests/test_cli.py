import argparse
import contextlib
import importlib.util
import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dermnet import cli
from dermnet._core.errors import DataError
from dermnet.cli import cli_message, main, predictions_table


def test_demo_writes_every_artefact(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "1", "--output", str(out), "--quiet"]) == 0
    for name in (
        "config.json",
        "metrics.json",
        "confusion_matrix.png",
        "history.png",
        "roc_curves.png",
        "gradcam.png",
        "model.keras",
        "report.html",
    ):
        assert (out / name).is_file(), name
    test = json.loads((out / "metrics.json").read_text())
    assert test["split"] == "test"
    assert set(test["per_class"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert 0.0 <= test["balanced_accuracy"] <= 1.0
    assert test["macro_auc"] is not None
    assert len(test["confusion_matrix"]) == 7
    assert json.loads((out / "config.json").read_text())["group_cols"] == ["lesion_id"]
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 4
    assert not re.search(r'(src|href)="(?!data:)', html)
    assert capsys.readouterr().err == ""  # --quiet: no progress bar either


def test_demo_same_seed_same_metrics(tmp_path):
    runs = []
    for name in ("a", "b"):
        assert (
            main(
                [
                    "demo",
                    "--epochs",
                    "1",
                    "--output",
                    str(tmp_path / name),
                    "--quiet",
                    "--seed",
                    "3",
                    "--image-size",
                    "32",
                ]
            )
            == 0
        )
        metrics = json.loads((tmp_path / name / "metrics.json").read_text())
        runs.append({k: metrics[k] for k in ("balanced_accuracy", "confusion_matrix")})
    assert runs[0] == runs[1]


def test_info_runs_and_lists_registries(capsys):
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert "simple_cnn" in info["models"]
    assert "ham10000" in info["datasets"]
    assert "shades_of_gray" in info["transforms"]
    assert info["packages"]["tensorflow"] != "not installed"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


# What a person types wrong, per command: argparse stops with exit status 2 and the
# library's own words (its check_int/check_float/check_seed bounds), naming the option.
_SEED = "must be an int >= 0 and <= 4294967295. Got -1 instead."
_BAD_NUMBERS = [
    (["demo", "--epochs", "0"], "--epochs: must be an int >= 1. Got 0 instead."),
    (["demo", "--seed", "-1"], "--seed: " + _SEED),
    (["demo", "--seed", "abc"], "--seed: must be an int >= 0 and <= 4294967295. Got 'abc'"),
    (["demo", "--image-size", "16"], "--image-size: must be an int >= 32. Got 16 instead."),
    (["preprocess", "a", "b", "--image-size", "0"], "--image-size: must be an int >= 1. Got 0"),
    (["preprocess", "a", "b", "--workers", "0"], "--workers/-j: must be an int >= 1. Got 0"),
    (["predict", "r", "i", "--batch-size", "0"], "--batch-size: must be an int >= 1. Got 0"),
    (["predict", "r", "i", "--threshold", "1.5"], "--threshold: must be a finite number >= 0.0"),
    (["predict", "r", "i", "--threshold", "nan"], "--threshold: must be a finite number"),
    (["explain", "i", "-m", "m", "--batch-size", "0"], "--batch-size: must be an int >= 1"),
    (["explain", "i", "-m", "m", "--seed", "-1"], "--seed: " + _SEED),
    (["explain", "i", "-m", "m", "--class", "-1"], "--class: must be an int >= 0. Got -1"),
    (["explain", "i", "-m", "m", "--num-samples", "1"], "--num-samples: must be an int >= 2."),
    (["explain", "i", "-m", "m", "--max-evals", "2"], "--max-evals: must be an int >= 3. Got 2"),
    (["train", "--sample", "malaria", "--test-size", "0"], "--test-size: must be > 0.0 and < 1.0"),
    (["train", "--sample", "malaria", "--batch-size", "0"], "--batch-size: must be >= 1. Got 0."),
    (["train", "--sample", "malaria", "--seed", "-1"], "--seed: must be >= 0 and <= 4294967295"),
    (
        ["train", "--sample", "malaria", "--epochs", "two"],
        "--epochs: must be an integer. Got 'two'",
    ),
]


@pytest.mark.parametrize(
    ("argv", "message"), _BAD_NUMBERS, ids=[" ".join(a) for a, _ in _BAD_NUMBERS]
)
def test_a_bad_number_stops_the_parser_with_the_library_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert f"dermnet {argv[0]}: error: argument {message}" in capsys.readouterr().err


def test_the_option_bounds_are_the_library_bounds(tmp_path):
    """The smallest value each option accepts is one the library accepts too."""
    from dermnet._core.errors import ParameterError
    from dermnet.explain.lime_explainer import LimeExplainer
    from dermnet.explain.shap_explainer import ShapExplainer
    from dermnet.train.demo import MIN_IMAGE_SIZE, run_demo

    with pytest.raises(ParameterError, match="image_size"):
        run_demo(tmp_path, epochs=1, image_size=MIN_IMAGE_SIZE - 1)
    parser = cli.build_parser()
    base = ["explain", "i", "-m", "m"]
    lime = parser.parse_args([*base, "--num-samples", "2"]).num_samples
    shap = parser.parse_args([*base, "--max-evals", "3"]).max_evals
    for cls, option, low in (
        (LimeExplainer, "num_samples", lime),
        (ShapExplainer, "max_evals", shap),
    ):
        with pytest.raises(ParameterError, match=option):
            cls(None, **{option: low - 1})


def test_console_script_entry_point_is_installed():
    done = subprocess.run(
        [sys.executable, "-m", "dermnet.cli", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("dermnet ")


def test_describe_prints_validates_and_writes_figures(tmp_path, capsys):
    from dermnet.data import sample_path

    out = tmp_path / "describe"
    assert (
        main(["describe", "malaria", str(sample_path("malaria")), "--validate", "-o", str(out)])
        == 0
    )
    text = capsys.readouterr().out
    assert "Parasitized     100   50.0%" in text
    assert "modes: RGB 189, P 11" in text
    assert (out / "class_balance.png").is_file()
    assert main(["describe", "malaria", str(tmp_path / "absent")]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["describe", "malaria", str(tmp_path), "--no-check-files"]) == 2


# -- errors ---------------------------------------------------------------------------------
def _failing_describe(monkeypatch, exc):
    def run(args):
        raise exc

    monkeypatch.setitem(cli._COMMANDS, "describe", (cli._COMMANDS["describe"][0], run))


def test_a_dermnet_error_is_one_line_and_exit_status_1(monkeypatch, capsys):
    _failing_describe(monkeypatch, DataError("The table x.csv has no column 'label'."))
    assert main(["describe", "csv", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert err == "dermnet describe: error: The table x.csv has no column 'label'.\n"


def test_another_exception_is_one_line_with_a_hint_and_verbose_shows_the_traceback(
    monkeypatch, capsys
):
    _failing_describe(monkeypatch, RuntimeError("boom"))
    assert main(["describe", "csv", "x.csv"]) == 1
    err = capsys.readouterr().err
    assert err == (
        "dermnet describe: error: RuntimeError: boom (run with --verbose for the traceback)\n"
    )
    assert main(["describe", "csv", "x.csv", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):")
    assert err.endswith("dermnet describe: error: RuntimeError: boom\n")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "The 'image_size' parameter of RunConfig must be an integer >= 8. Got 4 instead.",
            "--image-size must be an integer >= 8. Got 4 instead.",
        ),
        (
            "The 'learning_rate' parameter of train_run must be > 0. Got 0 instead.",
            "--lr must be > 0. Got 0 instead.",
        ),
        (
            "The 'dropout' field of RunConfig must be < 1. Got 1.5.",
            "--dropout must be < 1. Got 1.5.",
        ),
        ("Pass positive_class='mel'.", "Pass --positive-class 'mel'."),
        ("with --positive-class on the command line, positive_class= in Python", None),
        ("Resume it with resume=True.", "Resume it with --resume."),
        # other callers' parameters are not command-line options: unchanged
        ("The 'alpha' parameter of overlay must be in [0, 1].", None),
    ],
)
def test_cli_message_speaks_command_line(message, expected):
    assert cli_message(message) == (message if expected is None else expected)


# -- predict --------------------------------------------------------------------------------
def test_predictions_table_columns_and_low_confidence_flag():
    frame = pd.DataFrame(
        {
            "image_path": ["a.jpg", "b.jpg"],
            "prediction": ["mel", "nv"],
            "confidence": [0.45, 0.9],
            "p_mel": [0.45, 0.1],
            "p_nv": [0.4, 0.9],
        }
    )
    table = predictions_table(frame, threshold=0.5)
    assert list(table.columns) == [
        "image",
        "prediction",
        "probability",
        "low_confidence",
        "p_mel",
        "p_nv",
    ]
    assert table["low_confidence"].tolist() == [True, False]
    assert predictions_table(frame, threshold=0.4)["low_confidence"].tolist() == [False, False]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A 1-epoch run on the bundled malaria sample at 32 px, with what train printed."""
    out = tmp_path_factory.mktemp("cli") / "run"
    stdout, stderr = io.StringIO(), io.StringIO()
    argv = ["train", "--sample", "malaria", "--image-size", "32", "--epochs", "1"]
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        assert main([*argv, "--output", str(out)]) == 0
    return out, stdout.getvalue(), stderr.getvalue()


def test_train_prints_epoch_and_test_lines(tiny_run):
    _, out, err = tiny_run
    assert re.search(r"^epoch 1/1  loss \d\.\d{4}  accuracy .* val_loss ", out, re.MULTILINE)
    assert "Test: balanced accuracy" in out
    assert "Traceback" not in err
    assert len(err.splitlines()) <= 2  # off a terminal: a bar line at most every 10 s


def test_predict_prints_a_tidy_table(tiny_run, tmp_path, capsys):
    from dermnet.data import sample_path

    folder = sample_path("malaria") / "Uninfected"
    assert main(["predict", str(tiny_run[0]), str(folder), "--threshold", "1"]) == 0
    captured = capsys.readouterr()
    table = pd.read_csv(io.StringIO(captured.out))
    assert list(table.columns) == [
        "image",
        "prediction",
        "probability",
        "low_confidence",
        "p_Parasitized",
        "p_Uninfected",
    ]
    assert len(table) == 100
    probs = table[["p_Parasitized", "p_Uninfected"]].to_numpy()
    np.testing.assert_allclose(table["probability"], probs.max(axis=1), rtol=1e-6)
    assert (table["prediction"] == np.array(["Parasitized", "Uninfected"])[probs.argmax(1)]).all()
    assert table["low_confidence"].all()  # no probability reaches 1
    assert "predict  [####################] 100/100" in captured.err

    csv = tmp_path / "p.csv"
    assert main(["predict", str(tiny_run[0]), str(folder), "-o", str(csv), "--threshold", "0"]) == 0
    assert "100 predictions written to" in capsys.readouterr().out
    assert not pd.read_csv(csv)["low_confidence"].any()


def test_predict_rejects_a_threshold_outside_0_1(tiny_run, capsys):
    with pytest.raises(SystemExit) as info:
        main(["predict", str(tiny_run[0]), "x.jpg", "--threshold", "1.5"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--threshold: must be a finite number >= 0.0 and <= 1.0. Got 1.5 instead." in err


# -- export ---------------------------------------------------------------------------------
def test_export_tflite_from_a_run_folder(tiny_run, capsys):
    from dermnet.models import export as export_module
    from dermnet.models import load_model

    run = tiny_run[0]
    assert main(["export", str(run), "--format", "tflite"]) == 0
    out = capsys.readouterr()
    assert f"as tflite to {run / 'model.tflite'}" in out.out
    assert "of the Keras model" in out.out
    model = load_model(run / "model.keras", compile=False)
    images = np.random.default_rng(0).uniform(0, 255, (3, 32, 32, 3)).astype("float32")
    got = export_module.run_exported(run / "model.tflite", images)
    np.testing.assert_allclose(got, np.asarray(model(images)), atol=1e-4)


def test_export_savedmodel_from_a_keras_file(tmp_path, capsys):
    from dermnet.models import create_model, run_exported

    model = create_model("simple_cnn", 3, input_shape=(16, 16, 3))
    model.save(tmp_path / "tiny.keras")
    assert main(["export", str(tmp_path / "tiny.keras"), "-f", "savedmodel"]) == 0
    assert "as savedmodel to" in capsys.readouterr().out
    images = np.random.default_rng(1).uniform(0, 255, (2, 16, 16, 3)).astype("float32")
    got = run_exported(tmp_path / "tiny_saved_model", images)
    np.testing.assert_allclose(got, np.asarray(model(images)), atol=1e-5)


def test_export_bad_input(tmp_path, capsys):
    assert main(["export", str(tmp_path / "absent"), "--format", "tflite"]) == 2
    assert "dermnet export: error: RUN: " in capsys.readouterr().err
    assert main(["export", str(tmp_path), "--format", "tflite"]) == 2
    assert "has no model.keras" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["export", str(tmp_path), "--format", "pb"])
    assert info.value.code == 2
    assert "invalid choice: 'pb'" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("tf2onnx") is not None, reason="tf2onnx installed")
def test_export_onnx_without_tf2onnx_says_how_to_install(tmp_path, capsys):
    (tmp_path / "model.keras").write_bytes(b"")  # not read: the check comes first
    assert main(["export", str(tmp_path), "--format", "onnx"]) == 1
    assert 'pip install "dermnet[onnx]"' in capsys.readouterr().err


def test_resumed_runs_show_images_per_second_with_the_run_batch_size(tmp_path):
    from dermnet.cli import _run_batch_size

    (tmp_path / "config.json").write_text(json.dumps({"run": {"config": {"batch_size": 16}}}))
    assert _run_batch_size(str(tmp_path)) == 16
    (tmp_path / "config.json").write_text(json.dumps({"run": {"batch_size": 8}}))
    assert _run_batch_size(str(tmp_path)) == 8
    (tmp_path / "config.json").write_text("{not json")
    assert _run_batch_size(str(tmp_path)) is None  # the bar then counts batches per second


def test_every_command_has_a_help_line_and_its_runner_describes_it():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert set(sub.choices) == set(cli._COMMANDS)
    for name, (_, runner) in cli._COMMANDS.items():
        summary = runner.__doc__.strip().splitlines()[0]
        assert helps[name] == summary[0].lower() + summary[1:].rstrip("."), name
        description = sub.choices[name].description
        assert description is None if name == "info" else len(description) > 40, name


def test_library_commands_are_wired():
    from dermnet.cli.parser import CHECKS, COMMANDS, build_parser

    for name in ("serve", "cv", "shard", "predict"):
        assert name in COMMANDS
    assert {"serve", "cv", "predict"} <= set(CHECKS)
    args = build_parser().parse_args(["cv", "--sample", "malaria", "--folds", "3", "--epochs", "2"])
    assert (args.folds, args.epochs, args.sample) == (3, 2, "malaria")
    args = build_parser().parse_args(["serve", "runs/x", "--port", "8081"])
    assert (args.run, args.port) == ("runs/x", 8081)
