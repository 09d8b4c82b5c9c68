"""examples/melanoma_metadata.py: the 2x2 ablation runs on one split, with a fair encoder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import shared_dataset
from tests.examples.conftest import run_example, run_inline

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "examples" / "melanoma_metadata.py"
ARMS = ["none + image only", "none + metadata", "hsv_blur + image only", "hsv_blur + metadata"]


def run_script(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return run_example(SCRIPT, *args, timeout=timeout)


def check_common(result: dict, out: Path) -> None:
    for name in ("metrics.json", "report.html", "roc.png", "split.csv"):
        assert (out / name).stat().st_size > 0, name
    assert result["quick"] is True
    assert "not meaningful" in result["note"]
    arms = result["arms"]
    assert list(arms) == ARMS
    # the four arms were scored on the same test images
    assert len({(a["test_images"], a["test_paths_sha1"]) for a in arms.values()}) == 1
    assert arms[ARMS[0]]["test_images"] == result["split"]["test"]
    for arm in arms.values():
        for key in ("auc", "balanced_accuracy"):
            low, high = arm[f"{key}_ci95"]
            assert 0.0 <= low <= arm[key] <= high <= 1.0, (key, arm)
        expected = ["image", "metadata"] if arm["metadata"] else ["image"]
        assert arm["model_inputs"] == expected
    assert {a["preprocessing"] for a in arms.values()} == {"none", "hsv_blur"}
    encoder = result["metadata_encoder"]
    assert encoder["fitted_on"] == "train"
    assert encoder["rows"] == result["split"]["train"]


@pytest.mark.slow
def test_quick_run_ablation_on_one_split_with_train_only_encoder(tmp_path):
    done = run_script("--quick", "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "metrics.json").read_text())
    check_common(result, tmp_path)
    assert result["data"]["group_by"] == "lesion_id"
    assert result["settings"]["model"] == "simple_cnn"
    assert "Xception" in done.stdout
    assert "AUC" in done.stdout
    assert "[" in done.stdout
    assert "not meaningful" in done.stdout
    # The encoder's age statistics are those of the training rows, not of val/test.
    parts = pd.read_csv(tmp_path / "split.csv")
    assert sorted(parts["part"].value_counts().to_dict().items()) == sorted(
        {k: result["split"][k] for k in ("train", "val", "test")}.items()
    )
    source = result["data"]["source"]
    if source.startswith("bundled"):
        from dermnet.data import sample_path

        source = sample_path("ham10000")
    meta = pd.read_csv(Path(source) / "HAM10000_metadata.csv").set_index("image_id")
    ages = {
        p: meta.loc[parts.loc[parts["part"] == p, "image_id"], "age"]
        for p in ("train", "val", "test")
    }
    stats = result["metadata_encoder"]["state"]["state"]["stats"]["age"]
    assert stats["center"] == pytest.approx(np.nanmean(ages["train"]))
    assert stats["fill"] == pytest.approx(np.nanmedian(ages["train"]))
    everything = np.nanmean(pd.concat(list(ages.values())))
    assert stats["center"] != pytest.approx(everything)
    # no lesion in two parts
    lesions = meta.loc[parts["image_id"], "lesion_id"].to_numpy()
    assert (pd.Series(parts["part"].to_numpy()).groupby(lesions).nunique() == 1).all()


@pytest.mark.slow
def test_isic2020_path_on_real_csv_rows_with_synthetic_images(tmp_path, write_image):
    csv = next(shared_dataset("isic2020_metadata").glob("ISIC_2020_Training_GroundTruth*.csv"))
    table = pd.read_csv(csv)
    rows = pd.concat([table[table["target"] == 0].head(48), table[table["target"] == 1].head(16)])
    root = tmp_path / "isic2020"
    root.mkdir()
    rows.to_csv(root / "ISIC_2020_Training_GroundTruth_v2.csv", index=False)
    rng = np.random.default_rng(0)
    for name in rows["image_name"]:
        write_image(root / "train" / f"{name}.jpg", rng.integers(0, 255, (40, 40, 3), np.uint8))
    out = tmp_path / "out"
    done = run_script("--dataset", "isic2020", "--root", str(root), "--quick", "--output", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((out / "metrics.json").read_text())
    check_common(result, out)
    assert result["data"]["group_by"] == "patient_id"
    assert result["data"]["images"] == 64
    assert result["data"]["melanoma"] == 16
    categorical = result["metadata_encoder"]["state"]["state"]["categorical"]
    assert "anatom_site_general_challenge" in categorical
    parts = pd.read_csv(out / "split.csv").merge(rows, left_on="image_id", right_on="image_name")
    assert (parts.groupby("patient_id")["part"].nunique() == 1).all()  # grouped by patient


def test_bad_root_or_missing_dataset_exit_with_a_message(tmp_path):
    done = run_inline(SCRIPT, "--root", str(tmp_path), "--output", str(tmp_path / "out"))
    assert done.returncode != 0
    assert str(tmp_path) in done.stderr
    assert "HAM10000_metadata.csv" in done.stderr
    done = run_inline(SCRIPT, "--dataset", "isic2020", "--quick", "--output", str(tmp_path / "o"))
    assert done.returncode != 0
    assert "--root" in done.stderr
    assert "isic" in done.stderr.lower()
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "o").exists()
