"""Run folders: train, resume, evaluate, predict (on the bundled malaria sample, 32x32)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, MissingFileError, ParameterError, UnknownNameError
from dermnet.data import sample_path
from dermnet.train import (
    RunConfig,
    RunFolder,
    evaluate_run,
    explain_run,
    predict_run,
    train_run,
)

CONFIG = RunConfig(sample="malaria", model="simple_cnn", image_size=32, epochs=1, batch_size=32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "malaria"
    lines = []
    summary = train_run(CONFIG, folder, log=lines.append)
    return folder, summary, lines


def test_a_run_folder_holds_everything(run):
    folder, summary, lines = run
    for name in (
        "config.json",
        "split.csv",
        "model.keras",
        "last.keras",
        "state.json",
        "history.csv",
        "history.png",
        "metrics.json",
        "metrics.md",
        "report.html",
        "model_card.md",
        "confusion_matrix.png",
    ):
        assert (folder / name).is_file(), name
    assert any((folder / "logs").rglob("events.out.tfevents.*"))  # TensorBoard
    config = json.loads((folder / "config.json").read_text())
    assert config["schema_version"] == 1
    assert RunConfig.from_dict(config["run"]) == CONFIG
    assert config["data_config"]["config"]["image_size"] == [32, 32]
    assert sum(config["class_counts"].values()) == config["split"]["train"]
    html = (folder / "report.html").read_text()
    assert "malaria" in html  # the model card is filled
    assert "simple_cnn" in html
    assert "not described" not in (folder / "model_card.md").read_text()
    assert config["classes"] == ["Parasitized", "Uninfected"]
    assert sum(config["split"].values()) == 200
    split = pd.read_csv(folder / "split.csv")
    assert split["role"].value_counts().to_dict() == config["split"]
    state = json.loads((folder / "state.json").read_text())
    assert state == {"epochs_done": 1, "finished": True}
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["split"] == "test"
    assert metrics["images"] == config["split"]["test"]
    assert 0 <= metrics["balanced_accuracy"] <= 1
    assert summary["epochs_done"] == 1
    assert summary["test"]["balanced_accuracy"] is not None
    assert any(line.startswith("epoch 1/1") for line in lines)


def test_resume_continues_with_the_same_split_and_history(run):
    folder, _, _ = run
    split_before = (folder / "split.csv").read_text()
    lines = []
    summary = train_run(None, folder, resume=True, epochs=3, log=lines.append)
    assert summary["epochs_done"] == 3
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["2/3", "3/3"]
    history = pd.read_csv(folder / "history.csv")
    assert history["epoch"].tolist() == [0, 1, 2]
    assert (folder / "split.csv").read_text() == split_before
    assert RunConfig.from_dict(json.loads((folder / "config.json").read_text())["run"]).epochs == 3
    # nothing left to train: only evaluates
    lines.clear()
    assert train_run(None, folder, resume=True, log=lines.append)["epochs_done"] == 3
    assert not any(line.startswith("epoch") for line in lines)


def test_an_interrupted_run_resumes_after_its_last_finished_epoch(run, tmp_path):
    folder, _, _ = run
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    # as if killed during epoch 3: state says 2 epochs, history has a third row already
    (copy / "state.json").write_text(json.dumps({"epochs_done": 2, "finished": False}))
    lines = []
    summary = train_run(None, copy, resume=True, log=lines.append)
    assert [line.split()[1] for line in lines if line.startswith("epoch")] == ["3/3"]
    assert pd.read_csv(copy / "history.csv")["epoch"].tolist() == [0, 1, 2]
    assert summary["epochs_done"] == 3


def test_evaluate_and_predict(run):
    folder, _, _ = run
    report = evaluate_run(folder, "val")
    assert (folder / "metrics_val.json").is_file()
    assert report.class_names == ("Parasitized", "Uninfected") or list(report.class_names) == [
        "Parasitized",
        "Uninfected",
    ]
    images = sample_path("malaria") / "Parasitized"
    table = predict_run(folder, [images])
    assert len(table) == 100
    assert list(table.columns) == [
        "image_path",
        "prediction",
        "confidence",
        "p_Parasitized",
        "p_Uninfected",
    ]
    assert ((table["p_Parasitized"] + table["p_Uninfected"] - 1).abs() < 1e-5).all()
    one = predict_run(folder, next(images.iterdir()))
    assert len(one) == 1


def test_bad_runs_are_explained(run, tmp_path):
    folder, _, _ = run
    with pytest.raises(ParameterError, match="already holds a training run"):
        train_run(CONFIG, folder)
    with pytest.raises(MissingFileError, match=r"config\.json"):
        train_run(None, tmp_path, resume=True)
    with pytest.raises(ParameterError, match="either 'dataset'"):
        train_run(RunConfig(), tmp_path / "x")
    with pytest.raises(UnknownNameError, match="Did you mean 'simple_cnn'"):
        train_run(RunConfig(sample="malaria", model="simple"), tmp_path / "x")
    with pytest.raises(ParameterError, match="at least 71x71"):
        train_run(RunConfig(sample="malaria", model="xception", image_size=32), tmp_path / "y")
    assert not (tmp_path / "y" / "config.json").exists()  # nothing half-written
    with pytest.raises(MissingFileError, match="does not exist"):
        predict_run(folder, [tmp_path / "none.png"])
    with pytest.raises(MissingFileError, match="run folder"):
        evaluate_run(tmp_path / "nowhere")


def test_image_metadata_run_predicts_files_with_or_without_metadata(tmp_path):
    config = RunConfig(sample="ham10000", image_size=32, epochs=1, metadata=True, tta="flips")
    summary = train_run(config, tmp_path / "meta", log=lambda _line: None)
    assert summary["epochs_done"] == 1
    run = RunFolder(tmp_path / "meta")
    encoder = run.metadata_encoder()
    model = run.load_model()
    assert [t.name for t in model.inputs] == ["image", "metadata"]
    assert model.get_layer("metadata").output.shape[-1] == encoder.dim
    assert evaluate_run(tmp_path / "meta").balanced_accuracy >= 0.0
    test = run.records("test")
    files = [str(p) for p in test.paths[:3]]
    known = {p: {c: test.frame.iloc[i][c] for c in test.metadata_cols} for i, p in enumerate(files)}
    with_metadata = predict_run(tmp_path / "meta", files, metadata=known)
    # the same images scored through the run's split give the same probabilities
    images, encoded = run.read_records(test.subset([0, 1, 2]))
    expected = run.score(model, images, encoded)
    assert np.allclose(with_metadata.filter(like="p_").to_numpy(), expected, atol=1e-6)
    unknown = predict_run(tmp_path / "meta", files)  # metadata marked missing, not dropped
    assert len(unknown) == 3
    assert not np.allclose(unknown.filter(like="p_").to_numpy(), expected, atol=1e-6)


def test_predict_explain_and_evaluate_agree_on_pixels_and_probabilities(tmp_path):
    """One run, the same files: the three commands feed the model identical pixels and
    report identical probabilities (with the run's TTA and logit adjustment)."""
    from dermnet.data import load_images

    config = RunConfig(
        sample="malaria", image_size=40, epochs=1, tta="dihedral", logit_adjustment=1.0
    )
    train_run(config, tmp_path / "run", log=lambda _line: None)
    folder_run = RunFolder(tmp_path / "run")
    test = folder_run.records("test")
    files = [str(p) for p in test.paths]
    from_split, _ = folder_run.read_records(test)
    assert np.array_equal(from_split, load_images(files, folder_run.data_config))
    report = evaluate_run(tmp_path / "run", write=False, n_bootstrap=0)
    predicted = predict_run(tmp_path / "run", files).filter(like="p_").to_numpy()
    explained = explain_run(tmp_path / "run", files, tmp_path / "explain")
    assert np.abs(predicted - np.asarray(report.y_score)).max() <= 1e-6
    for row, probabilities in zip(explained, predicted, strict=True):
        assert abs(row["probability"] - probabilities.max()) <= 1e-6
        assert row["predicted"] == folder_run.classes[int(probabilities.argmax())]
    # TTA and logit adjustment are applied: the raw model gives other numbers
    raw = folder_run.load_model().predict(from_split, verbose=0)
    assert np.abs(raw - predicted).max() > 1e-4


def test_a_run_folder_from_a_newer_dermnet_is_refused(run, tmp_path):
    import shutil

    folder, _, _ = run
    copy = tmp_path / "future"
    shutil.copytree(folder, copy)
    info = json.loads((copy / "config.json").read_text())
    info["schema_version"] = 99
    (copy / "config.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match=r"newer dermnet .*schema 99"):
        RunFolder(copy)
    (copy / "config.json").write_text("{not json")
    with pytest.raises(DataError, match=r"config\.json is not valid JSON"):
        evaluate_run(copy)
    with pytest.raises(MissingFileError, match="not a run folder"):
        RunFolder(tmp_path)


def test_the_frozen_schema_1_run_folder_still_reads(tmp_path):
    """A run folder written by dermnet 0.x (schema 1), kept in tests/files: later versions
    must read it, evaluate it and predict with it."""
    import shutil

    frozen = Path(__file__).resolve().parents[1] / "files" / "run_schema1"
    copy = tmp_path / "run"
    shutil.copytree(frozen, copy)
    split = copy / "split.csv"
    split.write_text(split.read_text().replace("{SAMPLE}", str(sample_path("malaria"))))
    run = RunFolder(copy)
    assert run.schema_version == 1
    assert run.classes == ["Parasitized", "Uninfected"]
    assert run.data_config.image_size == (32, 32)
    report = evaluate_run(copy, write=False, n_bootstrap=0)
    assert 0.0 <= report.balanced_accuracy <= 1.0
    expected = json.loads((frozen / "expected.json").read_text())
    table = predict_run(copy, [sample_path("malaria") / "Parasitized"])
    first = table.sort_values("image_path").iloc[0]
    assert Path(first["image_path"]).name == expected["file"]
    assert abs(first["p_Parasitized"] - expected["p_Parasitized"]) < 1e-5


def test_load_run_records_draws_the_same_seeded_subset_in_the_records_order():
    import dataclasses

    from dermnet.train.run import load_run_records

    lines = []
    config = dataclasses.replace(CONFIG, max_images=50, seed=3)
    first = load_run_records(config, lines.append)
    again = load_run_records(config, lambda _line: None)
    other = load_run_records(dataclasses.replace(config, seed=4), lambda _line: None)
    everything = load_run_records(dataclasses.replace(config, max_images=None), print)
    assert len(first) == 50
    assert first.frame["image_path"].tolist() == again.frame["image_path"].tolist()
    assert first.frame["image_path"].tolist() != other.frame["image_path"].tolist()
    order = {p: i for i, p in enumerate(everything.frame["image_path"])}
    positions = [order[p] for p in first.frame["image_path"]]
    assert positions == sorted(positions)  # a subset, in the records' order
    assert lines == [
        f"Loaded {len(everything)} images, 2 classes ({everything.name})",
        "Using a random subset of 50 images (max_images)",
    ]


def test_the_run_modules_keep_their_old_names():
    import dermnet.train.run as run_module
    from dermnet.train import run_results

    for name in ("evaluate_run", "predict_run", "explain_run"):
        assert getattr(run_module, name) is getattr(run_results, name)
