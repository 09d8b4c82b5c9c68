"""Streaming prediction (`predict_to_csv`): same numbers as `predict_run`, resumable after
a kill, bad images recorded, CSV and shard inputs, abstention columns."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from dermnet._core.errors import DataError, ParameterError
from dermnet.data import load_sample, sample_path
from dermnet.train.prediction import errors_path, predict_run, predict_to_csv
from dermnet.train.run import RunConfig, train_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("predict") / "run"
    config = RunConfig(sample="malaria", image_size=32, epochs=1, max_images=60)
    train_run(config, out, log=lambda _m: None, evaluate_on=())
    return out


@pytest.fixture(scope="module")
def images():
    paths = [str(p) for p in sorted((sample_path("malaria") / "Uninfected").glob("*"))]
    return paths[:23]


def _by_image(path):
    return pd.read_csv(path).set_index("image").sort_index()


def test_rows_equal_predict_run_to_1e6(run, images, tmp_path):
    out = tmp_path / "p.csv"
    summary = predict_to_csv(run, images, out, batch_size=5, threshold=0.6)
    assert (summary.total, summary.written, summary.skipped, summary.failed) == (23, 23, 0, 0)
    table = _by_image(out)
    expected = predict_run(run, images).set_index("image_path").sort_index()
    classes = [c for c in expected.columns if c.startswith("p_")]
    assert list(table.columns) == ["prediction", "probability", "low_confidence", *classes]
    assert list(table.index) == list(expected.index)
    np.testing.assert_allclose(table[classes], expected[classes], atol=1e-6)
    assert (table["prediction"] == expected["prediction"]).all()
    assert (table["low_confidence"] == (table["probability"] < 0.6)).all()
    assert summary.low_confidence == int(table["low_confidence"].sum())
    assert not errors_path(out).exists()


def test_resume_skips_written_rows_and_a_cut_line(run, images, tmp_path):
    out = tmp_path / "p.csv"
    predict_to_csv(run, images[:10], out, batch_size=4)
    with open(out, "a", encoding="utf-8") as handle:
        handle.write(images[10] + ",Uninf")  # a kill in the middle of a line
    summary = predict_to_csv(run, images, out, batch_size=4)
    assert (summary.skipped, summary.written) == (10, 13)
    table = pd.read_csv(out)
    assert sorted(table["image"]) == sorted(images)  # each image exactly once


def test_sigkill_mid_run_then_rerun_loses_and_duplicates_nothing(run, images, tmp_path):
    out = tmp_path / "p.csv"
    script = textwrap.dedent(
        f"""
        import os, signal
        from dermnet.train.prediction import predict_to_csv

        def progress(done, total):
            if done >= 8:
                os.kill(os.getpid(), signal.SIGKILL)

        predict_to_csv({str(run)!r}, {images!r}, {str(out)!r}, batch_size=4, progress=progress)
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([sys.executable, "-c", script], env=env, timeout=300, check=False)
    assert proc.returncode == -9
    assert len(pd.read_csv(out)) == 8  # two batches were flushed before the kill
    summary = predict_to_csv(run, images, out, batch_size=4)
    assert (summary.skipped, summary.written) == (8, 15)
    table = _by_image(out)
    assert list(table.index) == sorted(images)
    expected = predict_run(run, images).set_index("image_path").sort_index()
    classes = [c for c in expected.columns if c.startswith("p_")]
    np.testing.assert_allclose(table[classes], expected[classes], atol=1e-6)


def test_bad_images_are_recorded_with_path_and_reason(run, images, tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for p in images[:5]:
        shutil.copy(p, folder)
    (folder / "text.png").write_text("not an image")
    data = open(images[5], "rb").read()  # noqa: SIM115
    (folder / "cut.png").write_bytes(data[: len(data) // 3])
    out = tmp_path / "p.csv"
    summary = predict_to_csv(run, [folder], out, batch_size=4)
    assert (summary.total, summary.written, summary.failed) == (7, 5, 2)
    errors = pd.read_csv(errors_path(out))
    assert sorted(os.path.basename(p) for p in errors["image"]) == ["cut.png", "text.png"]
    assert errors["reason"].str.len().min() > 5
    assert len(pd.read_csv(out)) == 5
    # a rerun neither retries nor repeats them
    again = predict_to_csv(run, [folder], out, batch_size=4)
    assert (again.skipped, again.written, again.failed) == (7, 0, 0)
    assert len(pd.read_csv(errors_path(out))) == 2


def test_csv_input_with_relative_paths(run, images, tmp_path):
    folder = tmp_path / "set"
    folder.mkdir()
    for p in images[:3]:
        shutil.copy(p, folder)
    listing = tmp_path / "list.csv"
    names = [f"set/{os.path.basename(p)}" for p in images[:3]]
    pd.DataFrame({"image_path": names}).to_csv(listing, index=False)
    out = tmp_path / "p.csv"
    predict_to_csv(run, listing, out)
    assert sorted(pd.read_csv(out)["image"]) == sorted(str(tmp_path / n) for n in names)


def test_abstention_json_adds_confidence_and_abstain(run, images, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    rule = {
        "score": "max_probability",
        "threshold": 0.55,
        "target_risk": 0.1,
        "target_coverage": None,
        "coverage": 0.8,
        "risk": 0.1,
        "n": 100,
    }
    (copy / "abstention.json").write_text(json.dumps(rule))
    out = tmp_path / "p.csv"
    summary = predict_to_csv(copy, images, out)
    table = pd.read_csv(out)
    assert list(table.columns[-2:]) == ["confidence", "abstain"]
    np.testing.assert_allclose(table["confidence"], table["probability"])
    assert (table["abstain"] == (table["confidence"] < 0.55)).all()
    assert summary.abstained == int(table["abstain"].sum())


def test_shard_folder_input_matches_the_files(run, tmp_path):
    from dermnet.data.shards import write_shards

    records = load_sample("malaria").subset(np.arange(10))
    shards = tmp_path / "shards"
    write_shards(records, shards, shard_size=4, progress=False)
    out = tmp_path / "p.csv"
    summary = predict_to_csv(run, shards, out, batch_size=3)
    assert summary.written == 10
    table = _by_image(out)
    expected = predict_run(run, [str(p) for p in records.paths]).set_index("image_path")
    expected = expected.sort_index()
    classes = [c for c in expected.columns if c.startswith("p_")]
    assert list(table.index) == list(expected.index)
    np.testing.assert_allclose(table[classes], expected[classes], atol=1e-5)
    assert predict_to_csv(run, shards, out, batch_size=3).skipped == 10


def test_an_output_with_other_columns_is_refused(run, images, tmp_path):
    out = tmp_path / "p.csv"
    out.write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="other columns"):
        predict_to_csv(run, images[:2], out)
    assert predict_to_csv(run, images[:2], out, overwrite=True).written == 2


def test_bad_parameters(run, images, tmp_path):
    with pytest.raises(ParameterError, match="batch_size"):
        predict_to_csv(run, images, tmp_path / "p.csv", batch_size=0)
    with pytest.raises(ParameterError, match="threshold"):
        predict_to_csv(run, images, tmp_path / "p.csv", threshold=2.0)


def test_streaming_scores_every_batch_with_one_traced_graph(run, images, tmp_path):
    from dermnet.train.run_folder import RunFolder
    from dermnet.train.tta import compiled_forward

    folder = RunFolder(run)
    model = folder.load_model()
    pixels, _ = folder.read_files(images)
    first = folder.score(model, pixels, batch_size=5)  # batches of 5, 5, 5, 5, 3
    for n, batch_size in [(1, 64), (23, 4), (7, 7)]:
        folder.score(model, pixels[:n], batch_size=batch_size)
    assert compiled_forward(model).traces == 1
    want = model.predict(pixels, verbose=0)
    if want.shape[1] == 1:
        want = np.concatenate([1 - want, want], axis=1)
    np.testing.assert_allclose(first, want, atol=1e-6)
