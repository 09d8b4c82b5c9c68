"""Cross-validation: grouped stratified folds, resume after a kill, out-of-fold predictions.

One CV run (3 folds, simple_cnn, 1 epoch, 32x32 synthetic images) is shared by the tests:
it is started in a subprocess that kills itself (SIGKILL) once the first fold is done, and
finished in this process, so the resume is tested on the way.
"""

import dataclasses
import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermnet import ParameterError
from dermnet.train import RunConfig
from dermnet.train.cv import cross_validate, read_oof

CLASSES = ("a", "b", "c")


def make_image_csv(root, *, groups_per_class=(5, 5, 5), per_group=2, seed=0):
    """Images whose colour channel tells the class, two per lesion, in a CSV table."""
    (root / "img").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for ci, (c, groups) in enumerate(zip(CLASSES, groups_per_class, strict=True)):
        for g in range(groups):
            for j in range(per_group):
                pixels = rng.integers(0, 60, (32, 32, 3)).astype(np.uint8)
                pixels[..., ci] += 150
                name = f"{c}_{g}_{j}.png"
                Image.fromarray(pixels).save(root / "img" / name)
                rows.append({"image": f"img/{name}", "label": c, "lesion_id": f"L_{c}_{g}"})
    pd.DataFrame(rows).to_csv(root / "images.csv", index=False)
    return root / "images.csv"


def config_for(csv, **fields):
    options = dict(
        dataset="csv",
        root=str(csv),
        model="simple_cnn",
        image_size=32,
        epochs=1,
        batch_size=16,
        group_by="lesion_id",
    )
    return RunConfig(**{**options, **fields})


KILLER = textwrap.dedent(
    """
    import os, signal, sys
    from dermnet.train import RunConfig
    from dermnet.train.cv import cross_validate

    def log(line):
        print(line, flush=True)
        if line.startswith("Fold 2/3: training"):
            os.kill(os.getpid(), signal.SIGKILL)

    config = RunConfig.from_dict(__import__("json").loads(sys.argv[1]))
    cross_validate(config, k=3, out=sys.argv[2], n_bootstrap=20, log=log)
    """
)


@pytest.fixture(scope="module")
def cv(tmp_path_factory):
    root = tmp_path_factory.mktemp("cv")
    csv = make_image_csv(root / "data")
    config = config_for(csv)
    out = root / "cv"
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, json.dumps(config.to_dict()), str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert killed.returncode == -9, killed.stderr[-2000:]
    first_model = (out / "fold_0" / "model.keras").stat().st_mtime_ns
    lines = []
    result = cross_validate(config, k=3, out=out, n_bootstrap=20, log=lines.append)
    return result, lines, first_model, killed.stdout


@pytest.mark.slow
def test_resume_after_a_kill_skips_the_finished_fold(cv):
    result, lines, first_model, before = cv
    assert "Fold 1/3: done" in before
    assert "Fold 2/3: done" not in before
    assert result.trained == (1, 2)
    assert "Fold 1/3: done already, skipped" in lines
    assert (result.path / "fold_0" / "model.keras").stat().st_mtime_ns == first_model


@pytest.mark.slow
def test_folds_are_grouped_and_stratified(cv):
    result, *_ = cv
    table = pd.read_csv(result.path / "folds.csv")
    pool = table[table["fold"] >= 0]
    # no lesion in two folds, nor in a fold and the held-out part
    assert (table.groupby("lesion_id")["fold"].nunique() == 1).all()
    # every fold holds every class
    assert (pool.groupby("fold")["label"].nunique() == len(CLASSES)).all()
    assert (table["fold"] == -1).any()
    for i, fold in enumerate(result.folds):
        split = pd.read_csv(fold / "split.csv")
        val = set(split.loc[split["role"] == "val", "image_path"])
        assert val == set(pool.loc[pool["fold"] == i, "image_path"])
        assert set(split.loc[split["role"] == "test", "image_path"]) == set(
            table.loc[table["fold"] == -1, "image_path"]
        )


@pytest.mark.slow
def test_out_of_fold_predictions_cover_every_image_once(cv):
    result, *_ = cv
    table = pd.read_csv(result.path / "folds.csv")
    pool = table[table["fold"] >= 0]
    oof, scores = read_oof(result.path, CLASSES)
    assert sorted(oof["image_path"]) == sorted(pool["image_path"])
    assert oof["image_path"].is_unique
    assert list(oof.columns[:4]) == ["image_path", "group", "label", "fold"]
    merged = oof.merge(pool, on="image_path", suffixes=("", "_split"))
    assert (merged["fold"] == merged["fold_split"]).all()
    assert (merged["group"] == merged["lesion_id"]).all()
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    # the fold's own model gave each row its scores
    fold_oof = pd.read_csv(result.folds[1] / "oof.csv")
    mine = oof[oof["fold"] == 1].set_index("image_path").loc[fold_oof["image_path"]]
    np.testing.assert_allclose(mine["p_a"].to_numpy(), fold_oof["p_a"].to_numpy())


@pytest.mark.slow
def test_report_has_pooled_per_fold_metrics_and_spread(cv):
    result, *_ = cv
    metrics = json.loads((result.path / "cv_metrics.json").read_text())
    assert [f["fold"] for f in metrics["folds"]] == [0, 1, 2]
    values = [f["balanced_accuracy"] for f in metrics["folds"]]
    spread = metrics["spread"]["balanced_accuracy"]
    assert spread["mean"] == pytest.approx(np.mean(values))
    assert spread["sd"] == pytest.approx(np.std(values, ddof=1))
    assert spread["min"] == min(values)
    assert spread["max"] == max(values)
    assert metrics["pooled"]["n"] == len(result.oof)
    assert "balanced_accuracy" in metrics["pooled"]["intervals"]
    html = (result.path / "report.html").read_text()
    for text in ("Pooled out-of-fold metrics", "Per fold", "Spread across folds"):
        assert text in html


@pytest.mark.slow
def test_a_finished_cv_resumes_without_training(cv):
    result, *_ = cv
    lines = []
    config = RunConfig.from_dict(json.loads((result.path / "cv.json").read_text())["run"])
    again = cross_validate(config, k=3, out=result.path, n_bootstrap=20, log=lines.append)
    assert again.trained == ()
    pd.testing.assert_frame_equal(again.oof, result.oof)


@pytest.mark.slow
def test_another_config_in_the_same_folder_is_refused(cv):
    result, *_ = cv
    config = RunConfig.from_dict(json.loads((result.path / "cv.json").read_text())["run"])
    with pytest.raises(ParameterError, match="another 'run'"):
        cross_validate(dataclasses.replace(config, epochs=2), k=3, out=result.path)
    with pytest.raises(ParameterError, match="already holds a cross-validation"):
        cross_validate(config, k=3, out=result.path, resume=False)


def test_a_class_with_fewer_groups_than_folds_is_named(tmp_path):
    csv = make_image_csv(tmp_path / "data", groups_per_class=(5, 5, 2), per_group=1)
    with pytest.raises(ParameterError, match=r"at least k=3 lesion_id groups.*'c': 2"):
        cross_validate(config_for(csv), k=3, out=tmp_path / "cv", test_size=0, log=print)
    assert not (tmp_path / "cv" / "cv.json").exists()


def test_fewer_groups_than_folds_is_refused(tmp_path):
    csv = make_image_csv(tmp_path / "data", groups_per_class=(2, 2, 2), per_group=2)
    with pytest.raises(ParameterError, match=r"at most the number of lesion_id groups \(6\)"):
        cross_validate(config_for(csv), k=8, out=tmp_path / "cv", test_size=0, log=print)


def test_bad_parameters_are_refused(tmp_path):
    config = config_for(tmp_path / "x.csv")
    with pytest.raises(ParameterError, match="'k' parameter"):
        cross_validate(config, k=1, out=tmp_path / "cv")
    with pytest.raises(ParameterError, match="'config' parameter"):
        cross_validate({"model": "simple_cnn"}, k=3, out=tmp_path / "cv")


def test_fold_run_folders_come_from_the_train_run_hook(cv):
    result = cv[0]
    folds = pd.read_csv(result.path / "folds.csv")
    for i, fold in enumerate(result.folds):
        info = json.loads((fold / "config.json").read_text())
        assert info["cv"]["fold"] == i
        assert info["cv"]["k"] == 3
        split = pd.read_csv(fold / "split.csv")
        val = set(split.loc[split["role"] == "val", "image_path"])
        assert val == set(folds.loc[folds["fold"] == i, "image_path"])
        assert info["split"]["val"] == len(val)


def test_train_run_refuses_parts_when_resuming(tmp_path):
    from dermnet.train.run import train_run

    with pytest.raises(ParameterError, match="'parts'"):
        train_run(None, tmp_path, resume=True, parts=object())
