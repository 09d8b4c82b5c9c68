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


def test_train_writes_a_run_folder_and_resumes(run_dir, tmp_path, capsys):
    import shutil

    assert (run_dir / "model.keras").is_file()
    assert (run_dir / "metrics.json").is_file()
    copy = tmp_path / "run"  # the module's run folder stays as trained
    shutil.copytree(run_dir, copy)
    assert main(["train", "--resume", str(copy), "--epochs", "2", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs_done"] == 2
    config = json.loads((copy / "config.json").read_text())["run"]["config"]
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
    header = "image,prediction,probability,low_confidence,p_Parasitized,p_Uninfected"
    if (run_dir / "abstention.json").is_file():  # evaluate chose an abstention rule
        header += ",confidence,abstain"
    assert lines[0] == header
    assert len(lines) == 101


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["train", "--sample", "malaria", "--model", "resnet"], 2, "Did you mean 'resnet50'"),
        (["train"], 2, "give --dataset NAME --root DIR, or --sample NAME"),
        (["evaluate", "/nonexistent/run"], 2, "does not exist"),
        (["train", "--dataset", "ham10000", "--root", "/nonexistent"], 2, "does not exist"),
        (["train", "--resume", "/nonexistent/run"], 2, "--resume: the folder"),
        (["predict", "/nonexistent/run", "x.png"], 2, "RUN_DIR: the folder /nonexistent/run"),
    ],
)
def test_errors_exit_with_a_message(argv, code, message, capsys, tmp_path):
    got = main([*argv, "--output", str(tmp_path / "r")] if argv[0] == "train" else argv)
    assert got == code
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["train", "--sample", "malaria", "--val-size", "1.5"])
    assert info.value.code == 2
    assert "argument --val-size: must be >= 0.0 and < 1.0. Got 1.5." in capsys.readouterr().err


def test_recipes_are_listed_and_shown_as_run_files(capsys):
    assert main(["recipes"]) == 0
    out = capsys.readouterr().out
    for name in ("baseline_cnn", "cpu_best", "efficientnet_imagenet"):
        assert any(line.startswith(name + " ") for line in out.splitlines()), name
    assert main(["recipes", "--show", "cpu_best"]) == 0
    assert 'augment = "dihedral"' in capsys.readouterr().out
    assert main(["recipes", "--show", "cpu_bst"]) == 2
    assert "did you mean 'cpu_best'" in capsys.readouterr().err


def test_train_from_a_recipe_and_a_run_file_with_flags_on_top(tmp_path, capsys):
    file = tmp_path / "run.toml"
    file.write_text('recipe = "demo"\nimage_size = 32\nepochs = 3\nmax_images = 120\n')
    out = tmp_path / "run"
    argv = ["train", "--config", str(file), "--epochs", "1", "--tta", "flips", "-o", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())["run"]["config"]
    assert config["recipe"] == "demo"  # from the file's recipe
    assert config["preprocessing"] == "color_constancy"  # from the recipe
    assert config["image_size"] == 32  # from the file
    assert config["epochs"] == 1  # the flag wins
    assert config["tta"] == "flips"
    assert "balanced accuracy" in printed  # the summary table, with intervals
    assert "[" in printed
    assert (out / "report.html").is_file()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('sample = "malaria"\nepoch = 2\n', "unknown field 'epoch'; did you mean 'epochs'?"),
        ('sample = "malaria"\nepochs = "2"\n', "field 'epochs' must be an integer"),
        ('recipe = "fast"\n', "Unknown recipe 'fast'"),
    ],
)
def test_a_bad_run_file_is_named_with_its_field(tmp_path, capsys, text, message):
    file = tmp_path / "bad.toml"
    file.write_text(text)
    assert main(["train", "--config", str(file), "-o", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_strategy_multi_worker_trains_through_fit_multi_worker(tmp_path, monkeypatch, capsys):
    import tensorflow as tf

    from dermnet.train import distributed, worker_fit

    calls = []
    real = distributed.fit_multi_worker

    def recording(model, train, val=None, **options):
        calls.append(options)
        return real(model, train, val, **options)

    # One worker: the process's default strategy stands in for the TF_CONFIG cluster.
    monkeypatch.setattr(worker_fit, "worker_strategy", tf.distribute.get_strategy)
    monkeypatch.setattr(distributed, "fit_multi_worker", recording)
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps(
            {"cluster": {"worker": ["127.0.0.1:1"]}, "task": {"type": "worker", "index": 0}}
        ),
    )
    out = tmp_path / "run"
    argv = ["train", "--sample", "malaria", "--image-size", "32", "--epochs", "2", "--quiet"]
    assert main([*argv, "--strategy", "multi_worker", "--output", str(out)]) == 0
    assert len(calls) == 1
    assert calls[0]["epochs"] == 2
    assert calls[0]["strategy"] is tf.distribute.get_strategy()
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs_done"] == 2
    assert len((out / "history.csv").read_text().strip().splitlines()) == 3


def test_strategy_multi_worker_needs_tf_config(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    argv = ["train", "--sample", "malaria", "--strategy", "multi_worker"]
    assert main([*argv, "--output", str(tmp_path / "r")]) == 2
    assert "--strategy multi_worker: " in capsys.readouterr().err


def test_fit_multi_worker_refuses_what_the_loop_cannot_do(monkeypatch):
    import numpy as np
    import tensorflow as tf

    from dermnet import ParameterError
    from dermnet.models import create_model
    from dermnet.train import fit, worker_fit

    monkeypatch.setattr(worker_fit, "worker_strategy", tf.distribute.get_strategy)
    x = np.zeros((4, 16, 16, 3), np.float32)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(4) % 2)).batch(2)
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    with pytest.raises(ParameterError, match="lr_schedule='cosine', mixed_precision"):
        fit(model, ds, strategy="multi_worker", lr_schedule="cosine", mixed_precision=True)
    with pytest.raises(ParameterError, match="'strategy' parameter of fit"):
        fit(model, ds, strategy="multiworker")
    history = fit(model, ds, ds, strategy="multi_worker", epochs=2, verbose=0)
    assert sorted(history.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert history.epoch == [0, 1]


def test_predict_resumes_the_csv_and_lists_unreadable_images(run_dir, tmp_path, capsys):
    import shutil

    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in sorted((sample_path("malaria") / "Uninfected").glob("*"))[:6]:
        shutil.copy(p, folder)
    (folder / "broken.png").write_bytes(b"\x89PNG not really")
    csv = tmp_path / "p.csv"
    argv = ["predict", str(run_dir), str(folder), "-o", str(csv), "--batch-size", "4", "-q"]
    assert main(argv) == 1  # the others are scored; the unreadable one is named
    captured = capsys.readouterr()
    out = captured.out
    assert "6 predictions written" in out
    assert "1 images could not be read: see" in out
    assert "not readable images: " in captured.err
    assert "broken.png" in captured.err
    assert "broken.png" in (tmp_path / "p.errors.csv").read_text()
    assert main(argv) == 0
    again = capsys.readouterr().out
    assert "0 predictions written" in again
    assert "7 already there, skipped" in again
    assert len(csv.read_text().strip().splitlines()) == 7
    assert main([*argv, "--overwrite"]) == 1  # afresh: the broken image fails again
    assert len(csv.read_text().strip().splitlines()) == 7


def test_cv_command_trains_the_folds(tmp_path, capsys):
    out = tmp_path / "cv"
    argv = ["cv", "--sample", "malaria", "--image-size", "32", "--epochs", "1", "--folds", "2"]
    argv += ["--max-images", "40", "--n-bootstrap", "10", "--output", str(out), "-q"]
    assert main(argv) == 0
    assert "Out-of-fold balanced accuracy" in capsys.readouterr().out
    assert (out / "fold_1" / "oof.csv").is_file()
    assert json.loads((out / "cv.json").read_text())["k"] == 2
