"""Tests of explanation maps scored against lesion masks."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet.explain.localization import (
    center_gaussian_map,
    load_lesion_masks,
    localization_report,
    localization_scores,
    random_map,
    read_mask,
    resize_map,
)
from tests.conftest import shared_dataset


def _lesion(shape=(40, 60), center=(20, 30), radius=10):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    return (yy - center[0]) ** 2 + (xx - center[1]) ** 2 <= radius**2


def test_map_equal_to_the_mask_scores_one_everywhere():
    mask = _lesion()
    scores = localization_scores(mask.astype(float), mask, top_fraction=0.05)
    assert scores == {"energy": 1.0, "pointing": 1.0, "iou": 1.0}


def test_known_partial_scores():
    mask = np.zeros((4, 4), bool)
    mask[:2] = True  # top half
    cam = np.zeros((4, 4))
    cam[0, 0] = 3.0  # peak in the lesion
    cam[3, :] = 1.0  # four units of mass outside
    cam[2, 0] = -5.0  # negative evidence counts as 0
    scores = localization_scores(cam, mask, top_fraction=5 / 16)
    assert scores["energy"] == pytest.approx(3 / 7)
    assert scores["pointing"] == 1.0
    # top region: the 5 positive pixels (1 in the mask) vs the 8 mask pixels
    assert scores["iou"] == pytest.approx(1 / 12)
    flat = np.ones((4, 4))  # tied maxima: the share of them in the lesion
    assert localization_scores(flat, mask)["pointing"] == 0.5


def test_undefined_and_bad_input_are_errors():
    mask = _lesion()
    with pytest.raises(DataError, match="no positive value"):
        localization_scores(np.zeros(mask.shape), mask)
    with pytest.raises(DataError, match="mask is empty"):
        localization_scores(np.ones(mask.shape), np.zeros(mask.shape, bool))
    with pytest.raises(DataError, match="must be binary"):
        localization_scores(np.ones((2, 2)), np.array([[0, 255], [0, 0]]))
    with pytest.raises(DataError, match=r"shape \(20, 30\) but the mask has shape \(40, 60\)"):
        localization_scores(np.ones((20, 30)), mask)
    with pytest.raises(DataError, match="NaN"):
        localization_scores(np.full(mask.shape, np.nan), mask)
    with pytest.raises(ParameterError, match="top_fraction"):
        localization_scores(mask.astype(float), mask, top_fraction=0.0)


def test_baseline_maps():
    assert random_map((5, 6), seed=2).shape == (5, 6)
    assert not np.array_equal(random_map((5, 6), seed=2), random_map((5, 6), seed=3))
    centre = center_gaussian_map((41, 61))
    assert np.unravel_index(centre.argmax(), centre.shape) == (20, 30)
    # the centre map is a strong baseline on a centred lesion
    scores = localization_scores(centre, _lesion((41, 61), (20, 30)))
    assert scores["pointing"] == 1.0


def test_resize_map_keeps_a_constant_map_constant():
    out = resize_map(np.full((7, 7), 2.0), (45, 60))
    assert out.shape == (45, 60)
    np.testing.assert_allclose(out, 2.0, rtol=1e-6)


def _smooth(image, passes=3):
    out = image.astype(float)
    for _ in range(passes):
        out = (
            out
            + np.roll(out, 1, 0)
            + np.roll(out, -1, 0)
            + np.roll(out, 1, 1)
            + np.roll(out, -1, 1)
        ) / 5.0
    return out


def test_lesion_evidence_beats_the_centre_and_border_evidence_loses():
    rng = np.random.default_rng(0)
    masks, lesion_maps, border_maps = [], [], []
    for _ in range(20):
        center = (int(rng.integers(12, 28)), int(rng.integers(15, 45)))
        mask = _lesion((40, 60), center, int(rng.integers(6, 10)))
        masks.append(mask)
        lesion_maps.append(_smooth(mask) + 0.05 * rng.random(mask.shape))
        frame = np.zeros(mask.shape)
        frame[:4], frame[-4:], frame[:, :4], frame[:, -4:] = 1, 1, 1, 1  # the demo's artefact
        border_maps.append(frame)
    with pytest.warns(UserWarning, match="'dead' gave 1 of 20"):
        table = localization_report(
            {
                "lesion": lesion_maps,
                "border": border_maps,
                "dead": [np.zeros((40, 60)), *lesion_maps[1:]],
            },
            masks,
            n_bootstrap=200,
        )
    energy = table[table.metric == "energy"].set_index("method")
    assert set(energy.index) == {"lesion", "border", "dead", "random", "center"}
    assert energy.loc["lesion", "diff_low"] > 0.2  # well above the centre baseline
    assert energy.loc["border", "diff_high"] < 0  # below it
    assert energy.loc["center", "mean"] > energy.loc["random", "mean"]
    assert np.isnan(energy.loc["center", "diff_vs_center"])
    assert energy.loc["dead", "n"] == 19
    assert energy.loc["dead", "n_undefined"] == 1
    ok = table.dropna(subset=["low"])
    assert ((ok.low <= ok["mean"]) & (ok["mean"] <= ok.high)).all()


def test_report_errors():
    masks = [_lesion(), _lesion()]
    with pytest.raises(DataError, match="'a' has 1 maps for 2 masks"):
        localization_report({"a": [np.ones((40, 60))]}, masks)
    with pytest.raises(DataError, match=r"masks\[1\] is empty"):
        localization_report({"a": [np.ones((40, 60))] * 2}, [masks[0], np.zeros((40, 60))])
    with pytest.raises(ParameterError, match="baselines"):
        localization_report({"a": [np.ones((40, 60))] * 2}, masks, baselines=("corner",))


def _write_pair(folder, stem, mask_value=255, with_mask=True):
    (folder / "images").mkdir(exist_ok=True)
    (folder / "masks_expert").mkdir(exist_ok=True)
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(folder / "images" / f"{stem}.jpg")
    if with_mask:
        mask = np.zeros((6, 8), np.uint8)
        mask[2:4, 3:5] = mask_value
        Image.fromarray(mask).save(folder / "masks_expert" / f"{stem}_expert.png")


def test_load_lesion_masks_pairs_images_and_joins_metadata(tmp_path):
    _write_pair(tmp_path, "ISIC_2")
    _write_pair(tmp_path, "ISIC_1")
    (tmp_path / "meta_metadata.csv").write_text("image_id,dx,sex\nISIC_1,nv,male\nISIC_2,mel,\n")
    frame = load_lesion_masks(tmp_path)
    assert frame["image_id"].tolist() == ["ISIC_1", "ISIC_2"]
    assert frame["dx"].tolist() == ["nv", "mel"]
    mask = read_mask(frame["mask_path"][0])
    assert mask.dtype == bool
    assert int(mask.sum()) == 4


def test_load_lesion_masks_names_unpaired_files(tmp_path):
    _write_pair(tmp_path, "ISIC_1")
    _write_pair(tmp_path, "ISIC_3", with_mask=False)
    with pytest.raises(DataError, match=r"1 image\(s\) without a '\*_expert' mask .*ISIC_3"):
        load_lesion_masks(tmp_path)
    with pytest.raises(MissingFileError, match="mask_dir"):
        load_lesion_masks(tmp_path, mask_dir="nope")


def test_read_mask_refuses_non_binary_files(tmp_path):
    grey = np.zeros((6, 8), np.uint8)
    grey[0, :3] = [0, 128, 255]
    Image.fromarray(grey).save(tmp_path / "soft.png")
    with pytest.raises(DataError, match="not binary"):
        read_mask(tmp_path / "soft.png")
    with pytest.raises(MissingFileError, match=r"absent\.png"):
        read_mask(tmp_path / "absent.png")


@pytest.mark.slow
def test_real_masks_centre_baseline_beats_random():
    folder = shared_dataset("ham10000_fullres_sample")
    frame = load_lesion_masks(folder)
    assert len(frame) == 150
    masks = [read_mask(p) for p in frame["mask_path"][:30]]
    assert all(m.shape == (450, 600) for m in masks)
    table = localization_report({"mask": [m.astype(float) for m in masks]}, masks, n_bootstrap=100)
    energy = table[table.metric == "energy"].set_index("method")["mean"]
    assert energy["mask"] == 1.0
    assert energy["center"] > energy["random"]
