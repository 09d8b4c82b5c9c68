"""Explanation maps of image files against their lesion masks (``dermnet explain --masks``)."""

import numpy as np
import pytest
from PIL import Image

from dermnet import DataError, MissingFileError
from dermnet.explain.mask_scores import match_masks, read_masks_like, score_masks


def _png(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def _lesion(size=40, r=8):
    yy, xx = np.mgrid[:size, :size]
    return (yy - size // 2) ** 2 + (xx - size // 2 + 6) ** 2 <= r * r  # off-centre disc


def test_match_masks_by_stem_and_known_suffixes(tmp_path):
    images = [tmp_path / "img" / f"ISIC_{i}.jpg" for i in range(3)]
    masks = tmp_path / "masks"
    _png(masks / "ISIC_0.png", np.zeros((4, 4), np.uint8))
    _png(masks / "ISIC_1_segmentation.png", np.zeros((4, 4), np.uint8))
    _png(masks / "ISIC_2_expert.png", np.zeros((4, 4), np.uint8))
    assert [p.name for p in match_masks(images, masks)] == [
        "ISIC_0.png",
        "ISIC_1_segmentation.png",
        "ISIC_2_expert.png",
    ]


def test_missing_and_double_masks_are_named(tmp_path):
    masks = tmp_path / "masks"
    _png(masks / "a.png", np.zeros((4, 4), np.uint8))
    _png(masks / "a_mask.png", np.zeros((4, 4), np.uint8))
    pattern = r"1 image\(s\) have no mask.*'b.jpg'.*several masks.*a.jpg"
    with pytest.raises(DataError, match=pattern):
        match_masks(["a.jpg", "b.jpg"], masks)
    with pytest.raises(MissingFileError, match="--masks folder"):
        match_masks(["a.jpg"], tmp_path / "nowhere")


def test_masks_of_another_size_or_empty_are_refused(tmp_path):
    image = _png(tmp_path / "a.png", np.zeros((40, 30, 3), np.uint8))
    small = _png(tmp_path / "m" / "a.png", np.full((20, 20), 255, np.uint8))
    with pytest.raises(DataError, match=r"is 20x20 but its image .* is 30x40"):
        read_masks_like([small], [image], (16, 16))
    empty = _png(tmp_path / "e" / "a.png", np.zeros((40, 30), np.uint8))
    with pytest.raises(DataError, match="empty"):
        read_masks_like([empty], [image], (16, 16))


def test_masks_follow_the_images_resize(tmp_path):
    from dermnet.data import DataConfig

    mask = np.zeros((40, 80), np.uint8)
    mask[:, :40] = 255  # left half
    image = _png(tmp_path / "a.png", np.zeros((40, 80, 3), np.uint8))
    file = _png(tmp_path / "m" / "a.png", mask)
    stretched = read_masks_like([file], [image], (20, 20))[0]
    assert stretched[:, :10].all()
    assert not stretched[:, 10:].any()
    padded = read_masks_like([file], [image], (20, 20), DataConfig((20, 20), resize="pad"))[0]
    # aspect kept: the mask fills the left half of a 10-row band in the middle
    assert padded.sum() == pytest.approx(100, abs=20)
    assert not padded[:4].any()
    assert not padded[-4:].any()


def test_lesion_evidence_beats_the_centre_and_border_evidence_does_not(tmp_path):
    lesion = _lesion()
    n = 6
    masks = np.stack([lesion] * n)
    on_lesion = np.stack([lesion.astype(np.float32)] * n)
    border = np.zeros((40, 40), np.float32)
    border[:3], border[-3:], border[:, :3], border[:, -3:] = 1, 1, 1, 1
    frame = np.stack([border] * n)
    files = [f"x{i}.png" for i in range(n)]
    for maps, better in ((on_lesion, True), (frame, False)):
        per_image, summary = score_masks(maps, masks, files, files, "gradcam", n_bootstrap=100)
        energy = summary.set_index(["method", "metric"]).loc[("gradcam", "energy")]
        centre = summary.set_index(["method", "metric"]).loc[("center", "energy")]
        assert bool(energy["mean"] > centre["mean"] + 0.3) is better
        assert bool(energy["mean"] < centre["mean"]) is not better
        assert set(per_image.columns) >= {"gradcam_energy", "random_iou", "center_pointing"}
    assert per_image["gradcam_energy"].eq(0.0).all()  # the frame never touches the lesion


def test_a_map_without_positive_value_is_undefined_not_nan_silently():
    masks = np.stack([_lesion()] * 3)
    maps = np.stack([_lesion().astype(np.float32), np.zeros((40, 40)), _lesion() * 1.0])
    with pytest.warns(UserWarning, match="1 of 3 map"):
        per_image, summary = score_masks(maps, masks, list("abc"), list("abc"), "m", n_bootstrap=0)
    assert np.isnan(per_image.loc[1, "m_energy"])
    assert summary.set_index(["method", "metric"]).loc[("m", "energy"), "n_undefined"] == 1
