import json
import re
import subprocess
import sys

import pytest

from dermnet.cli import main


def test_demo_writes_every_artefact(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--epochs", "1", "--output", str(out), "--quiet"]) == 0
    for name in (
        "metrics.json",
        "confusion_matrix.png",
        "training_curves.png",
        "roc_curves.png",
        "gradcam.png",
        "model.keras",
        "report.html",
    ):
        assert (out / name).is_file(), name
    result = json.loads((out / "metrics.json").read_text())
    test = result["test"]
    assert set(test["per_class"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert 0.0 <= test["balanced_accuracy"] <= 1.0
    assert test["macro_auc"] is not None
    assert len(test["confusion_matrix"]) == 7
    assert result["split"]["group_by"] == "lesion_id"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert not re.search(r'(src|href)="(?!data:)', html)


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
        runs.append(json.loads((tmp_path / name / "metrics.json").read_text())["test"])
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
        (["demo", "--epochs", "0"], "--epochs: must be a positive integer, got 0"),
        (["demo", "--seed", "abc"], "--seed: must be an integer"),
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


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
