"""Run folders: train, resume, evaluate, predict (on the bundled malaria sample, 32x32)."""

import json

import pandas as pd
import pytest

from dermnet import MissingFileError, ParameterError, UnknownNameError
from dermnet.data import sample_path
from dermnet.train import RunConfig, evaluate_run, predict_run, train_run

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
        "confusion_matrix.png",
    ):
        assert (folder / name).is_file(), name
    config = json.loads((folder / "config.json").read_text())
    assert RunConfig.from_dict(config["run"]) == CONFIG
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


class _FakeMetadataEncoder:
    """Stands in for dermnet.data.MetadataEncoder (issue 3), with its contract."""

    def __init__(self):
        self.dim = None

    def fit(self, records):
        assert records.role == "train"
        self.dim = 3
        return self

    def transform(self, records):
        import numpy as np

        frame = records.frame
        age = frame["age"].astype(float).fillna(50.0).to_numpy() / 100.0
        male = (frame["sex"].astype(str) == "male").to_numpy(dtype=float)
        return np.stack([age, male, 1.0 - male], axis=1).astype("float32")

    def to_dict(self):
        return {"class_name": "MetadataEncoder", "config": {}, "dim": self.dim}

    @classmethod
    def from_dict(cls, data):
        encoder = cls()
        encoder.dim = data["dim"]
        return encoder


def _fake_make_dataset(real):
    import tensorflow as tf

    def make_dataset(
        records,
        image_size,
        batch_size,
        *,
        with_metadata=False,
        metadata_encoder=None,
        shuffle=False,
        seed=None,
        **options,
    ):
        if not with_metadata:
            return real(records, image_size, batch_size, shuffle=shuffle, seed=seed, **options)
        images = real(records, image_size, batch_size, **options).unbatch()
        metadata = tf.data.Dataset.from_tensor_slices(metadata_encoder.transform(records))
        ds = tf.data.Dataset.zip((images, metadata)).map(
            lambda xy, m: ({"image": xy[0], "metadata": m}, xy[1])
        )
        if shuffle:
            ds = ds.shuffle(len(records), seed=seed)
        return ds.batch(batch_size)

    return make_dataset


def test_image_metadata_run_against_the_data_contract(tmp_path, monkeypatch):
    import dermnet.data

    monkeypatch.setattr(dermnet.data, "MetadataEncoder", _FakeMetadataEncoder, raising=False)
    monkeypatch.setattr(dermnet.data, "make_dataset", _fake_make_dataset(dermnet.data.make_dataset))
    config = RunConfig(sample="ham10000", image_size=32, epochs=1, metadata=True)
    summary = train_run(config, tmp_path / "meta", log=lambda _line: None)
    assert summary["epochs_done"] == 1
    assert json.loads((tmp_path / "meta" / "metadata_encoder.json").read_text())["dim"] == 3
    from dermnet.models import load_model

    model = load_model(tmp_path / "meta" / "model.keras")
    assert [t.name for t in model.inputs] == ["image", "metadata"]
    assert model.get_layer("metadata").output.shape[-1] == 3
    assert evaluate_run(tmp_path / "meta").balanced_accuracy >= 0.0
    with pytest.raises(ParameterError, match="uses patient metadata"):
        predict_run(tmp_path / "meta", [sample_path("ham10000") / "images"])


def test_metadata_run_without_the_encoder_is_explained(tmp_path, monkeypatch):
    import dermnet.data

    monkeypatch.setattr(dermnet.data, "MetadataEncoder", None, raising=False)  # absent
    with pytest.raises(ParameterError, match=r"needs dermnet\.data\.MetadataEncoder"):
        train_run(RunConfig(sample="ham10000", metadata=True), tmp_path / "m")
