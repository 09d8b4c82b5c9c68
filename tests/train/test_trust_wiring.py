"""Clinical trust in the run path: subgroups, abstention.json, explanations against masks."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermnet import DataError, ParameterError, UnknownNameError
from dermnet.cli import main
from dermnet.train import RunConfig, evaluate_run, explain_run, train_run
from dermnet.train.run_trust import ABSTENTION_FILE, available_group_columns, read_abstention

CONFIG = RunConfig(sample="ham10000", model="simple_cnn", image_size=32, epochs=1, batch_size=32)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trust") / "ham"
    train_run(CONFIG, folder, log=lambda line: None)
    return folder


def test_val_chooses_and_saves_the_abstention_threshold(run):
    report = evaluate_run(run, "val", n_bootstrap=20, target_coverage=0.5)
    saved = json.loads((run / ABSTENTION_FILE).read_text())
    assert saved["score"] == "max_probability"
    assert set(saved) == {"score", "threshold", "target_risk", "target_coverage", "coverage"} | {
        "risk",
        "n",
    }
    assert saved["target_coverage"] == 0.5
    assert saved["target_risk"] is None
    confidence = report.y_score.max(axis=1)
    assert saved["coverage"] == pytest.approx((confidence >= saved["threshold"]).mean())
    assert saved["coverage"] >= 0.5
    assert saved["n"] == len(confidence)
    assert read_abstention(run).threshold == saved["threshold"]
    section = report.section("abstention")
    assert section.data["threshold"]["chosen_here"] is True
    written = json.loads((run / "metrics_val.json").read_text())
    assert [s["key"] for s in written["sections"]] == ["abstention"]


def test_test_applies_the_saved_threshold_and_reports_subgroups(run):
    evaluate_run(run, "val", n_bootstrap=20, target_coverage=0.6)
    threshold = read_abstention(run).threshold
    report = evaluate_run(run, "test", by="sex,age_band,localization", n_bootstrap=20)
    kept = report.y_score.max(axis=1) >= threshold
    applied = report.section("abstention").data["threshold"]
    assert applied["chosen_here"] is False
    assert applied["coverage_here"] == pytest.approx(kept.mean())
    wrong = report.y_score.argmax(axis=1) != report.y_true
    assert applied["risk_here"] == pytest.approx(wrong[kept].mean())
    assert applied["n_abstained"] == int((~kept).sum())
    rows = report.section("subgroups").rows
    assert {r["variable"] for r in rows} == {"all", "sex", "age_band", "localization"}
    frame = pd.read_csv(run / "split.csv").query("role == 'test'")
    males = next(r for r in rows if r["variable"] == "sex" and r["group"] == "male")
    assert males["n"] == int((frame["sex"] == "male").sum())
    page = (run / "report.html").read_text()
    assert "Subgroups" in page
    assert "Selective prediction" in page
    assert "Subgroups" in (run / "model_card.md").read_text()
    assert "## Subgroups" in (run / "metrics.md").read_text()


def test_an_unknown_group_column_lists_the_available_ones(run):
    with pytest.raises(UnknownNameError, match=r"\['skin'\].*available columns are .*'age_band'"):
        evaluate_run(run, "test", by="sex,skin", write=False)
    assert available_group_columns(["image_path", "label", "dx", "age", "sex"]) == [
        "age",
        "sex",
        "age_band",
    ]


def test_targets_belong_to_the_validation_split(run):
    with pytest.raises(ParameterError, match="split='val'"):
        evaluate_run(run, "test", target_risk=0.1, write=False)
    with pytest.raises(ParameterError, match="one of 'target_risk' and 'target_coverage'"):
        evaluate_run(run, "val", target_risk=0.1, target_coverage=0.5, write=False)


def test_a_damaged_abstention_file_is_named(tmp_path):
    (tmp_path / ABSTENTION_FILE).write_text('{"score": "max_probability", "threshold": 0.5}')
    with pytest.raises(DataError, match=r"abstention\.json is damaged"):
        read_abstention(tmp_path)
    (tmp_path / ABSTENTION_FILE).write_text('{"score": "entropy"}')
    with pytest.raises(DataError, match="'entropy'"):
        read_abstention(tmp_path)
    assert read_abstention(tmp_path / "none") is None


def test_cli_checks_by_and_targets_before_tensorflow(run, capsys):
    assert main(["evaluate", str(run), "--by", "sex,skin"]) == 2
    err = capsys.readouterr().err
    assert "--by" in err
    assert "'skin'" in err
    assert "localization" in err
    assert main(["evaluate", str(run), "--target-risk", "0.2"]) == 2
    assert "--split val" in capsys.readouterr().err


def _masks(run, folder, n=3, size=None):
    frame = pd.read_csv(run / "split.csv").query("role == 'test'").head(n)
    folder.mkdir(parents=True, exist_ok=True)
    for path in frame["image_path"]:
        with Image.open(path) as image:
            w, h = size or image.size
        mask = np.zeros((h, w), np.uint8)
        mask[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = 255
        Image.fromarray(mask).save(folder / (Path(path).stem + "_segmentation.png"))
    return list(frame["image_path"])


def test_explain_run_scores_maps_against_masks(run, tmp_path):
    images = _masks(run, tmp_path / "masks")
    records = explain_run(run, images, tmp_path / "out", masks=tmp_path / "masks")
    per_image = pd.read_csv(tmp_path / "out" / "localization.csv")
    assert len(per_image) == len(images)
    assert {"gradcam_energy", "center_energy", "random_iou"} <= set(per_image.columns)
    # the centre map against a centred square mask: most of its energy inside
    assert per_image["center_energy"].gt(0.5).all()
    summary = pd.read_csv(tmp_path / "out" / "localization_summary.csv")
    assert set(summary["method"]) == {"gradcam", "random", "center"}
    assert all(r["mask"].endswith("_segmentation.png") for r in records)
    assert "Agreement with the lesion masks" in (tmp_path / "out" / "index.html").read_text()


def test_explain_run_names_missing_and_wrong_size_masks(run, tmp_path):
    images = _masks(run, tmp_path / "small", size=(10, 10))
    with pytest.raises(DataError, match="is 10x10 but its image"):
        explain_run(run, images, tmp_path / "out", masks=tmp_path / "small")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"3 image\(s\) have no mask"):
        explain_run(run, images, tmp_path / "out", masks=tmp_path / "empty")


def test_cli_explain_masks_folder_must_exist(run, tmp_path, capsys):
    images = _masks(run, tmp_path / "m", n=1)
    assert main(["explain", *images, "-m", str(run), "--masks", str(tmp_path / "no")]) == 2
    assert "--masks" in capsys.readouterr().err
    out = tmp_path / "o"
    code = main(
        ["explain", *images, "-m", str(run), "--masks", str(tmp_path / "m"), "-o", str(out)]
    )
    assert code == 0
    assert "Agreement with the lesion masks" in capsys.readouterr().out


def test_no_reachable_target_saves_nothing_and_removes_a_stale_file(tmp_path):
    from dermnet.train.run_results import _write_abstention
    from dermnet.train.run_trust import abstention_for_split

    labels = np.array([1, 0, 0, 1])
    scores = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.4, 0.6]])  # most confident: wrong
    with pytest.warns(UserWarning, match="no abstention threshold saved"):
        section, chosen = abstention_for_split(
            tmp_path, "val", labels, scores, target_risk=0.0, target_coverage=None
        )
    assert chosen is None
    assert section.data["threshold"] is None
    assert "No abstention threshold saved" in section.text
    (tmp_path / ABSTENTION_FILE).write_text("{}")
    _write_abstention(tmp_path, chosen)
    assert not (tmp_path / ABSTENTION_FILE).exists()


def test_parse_by_refuses_empty_names():
    from dermnet.train.run_trust import parse_by

    assert parse_by(" sex , age_band") == ["sex", "age_band"]
    assert parse_by(None) == []
    with pytest.raises(ParameterError, match="'by' parameter must name group columns"):
        parse_by("sex,,age_band")
