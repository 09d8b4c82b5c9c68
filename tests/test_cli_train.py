"""`dermnet train`, `dermnet evaluate`, `dermnet predict` (bundled malaria sample, 32x32)."""

import json

import pytest

from dermnet.cli import main
from dermnet.data import sample_path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "run"
    argv = ["train", "--sample", "malaria", "--image-size", "32", "--epochs", "1"]
    assert main([*argv, "--output", str(out), "--quiet", "--schedule", "cosine"]) == 0
    return out


def test_train_writes_a_run_folder_and_resumes(run_dir, capsys):
    assert (run_dir / "model.keras").is_file()
    assert (run_dir / "metrics.json").is_file()
    assert main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs_done"] == 2
    config = json.loads((run_dir / "config.json").read_text())["run"]["config"]
    assert config["lr_schedule"] == "cosine"
    assert config["epochs"] == 2


def test_evaluate_prints_the_report(run_dir, capsys):
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "balanced accuracy" in out  # the markdown report
    assert "Parasitized" in out
    assert main(["evaluate", str(run_dir), "--split", "val", "--json"]) == 0
    assert "confusion_matrix" in json.loads(capsys.readouterr().out)


def test_predict_writes_a_csv(run_dir, tmp_path, capsys):
    csv = tmp_path / "predictions.csv"
    folder = sample_path("malaria") / "Uninfected"
    assert main(["predict", str(run_dir), str(folder), "--output", str(csv)]) == 0
    lines = csv.read_text().strip().splitlines()
    assert lines[0] == "image_path,prediction,confidence,p_Parasitized,p_Uninfected"
    assert len(lines) == 101


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--sample", "malaria", "--model", "resnet"], "Did you mean 'resnet50'"),
        (["train"], "give --dataset NAME --root DIR, or --sample NAME"),
        (["evaluate", "/nonexistent/run"], "does not exist"),
        (["train", "--dataset", "ham10000", "--root", "/nonexistent"], "does not exist"),
    ],
)
def test_errors_exit_with_a_message(argv, message, capsys, tmp_path):
    code = main([*argv, "--output", str(tmp_path / "r")] if argv[0] == "train" else argv)
    assert code in (1, 2)
    assert message in capsys.readouterr().err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--sample", "malaria", "--val-size", "1.5"])
    assert info.value.code == 2
    assert "--val-size: must be a number in [0, 1)" in capsys.readouterr().err
