import numpy as np
import pandas as pd
import pytest

from dermnet import DataError
from dermnet.data import Records, validate
from tests.conftest import shared_dataset


def _bad_dataset(tmp_path, write_image):
    good = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    paths = [
        write_image(tmp_path / "ok.png", good),
        write_image(tmp_path / "palette.png", good, mode="P"),
        write_image(tmp_path / "truncated.jpg", good),
        tmp_path / "absent.jpg",
        tmp_path / "text.jpg",
        write_image(tmp_path / "picture.ppm", good),  # a format dermnet does not read
    ]
    paths[2].write_bytes(paths[2].read_bytes()[:200])
    paths[4].write_text("this is not a picture")
    frame = pd.DataFrame(
        {
            "image_path": [str(p) for p in paths] + [str(paths[0])],
            "image_id": ["a", "b", "c", "d", "e", "f", "a"],
            "label": ["x"] * 7,
            "age": [1.0, None, None, 3.0, 4.0, 5.0, 1.0],
        }
    )
    return Records(frame, ["x", "empty"], metadata_cols=("age",))


def test_validate_reports_each_kind_of_problem(tmp_path, write_image):
    rec = _bad_dataset(tmp_path, write_image)
    report = validate(rec, workers=2)
    assert not report.ok
    assert report.counts() == {
        "unreadable image": 2,
        "missing file": 1,
        "unsupported format": 1,
        "duplicate image id": 1,
        "duplicate image file": 1,
        "empty class": 1,
    }
    problems = report.problems.set_index("image_path")
    assert problems.loc[str(tmp_path / "truncated.jpg"), "problem"] == "unreadable image"
    assert problems.loc[str(tmp_path / "picture.ppm"), "detail"].startswith(
        "unsupported format PPM"
    )
    assert report.bad_rows.tolist() == [2, 3, 4, 5, 6]
    assert report.modes == {"RGB": 2, "P": 1}  # ok, palette, the repeated ok
    assert report.sizes == {"min": (40, 40), "max": (40, 40)}
    assert report.missing_metadata == {"age": 2}
    text = report.summary()
    assert "missing file: 1" in text
    assert "absent.jpg" in text
    with pytest.raises(DataError, match="unreadable image: 2"):
        report.raise_if_problems()


def test_drop_bad_records_every_exclusion(tmp_path, write_image):
    rec = _bad_dataset(tmp_path, write_image)
    kept = validate(rec).drop_bad(rec)
    assert kept.frame["image_id"].tolist() == ["a", "b"]
    assert len(kept.excluded) == 5
    assert kept.excluded["reason"].str.split(":").str[0].tolist() == [
        "unreadable image",
        "missing file",
        "unreadable image",
        "unsupported format",
        "duplicate image id",
    ]
    assert validate(kept, check_classes=False).ok


def test_existence_only_check_and_in_memory_images(tmp_path, write_image):
    rec = _bad_dataset(tmp_path, write_image)
    quick = validate(rec, check_images=False, check_duplicates=False, check_classes=False)
    assert quick.counts() == {"missing file": 1}
    arrays = Records(
        pd.DataFrame({"image_path": ["m#0", "m#1"], "label": ["x", "x"]}),
        ["x"],
        images=np.zeros((2, 5, 4, 3), np.uint8),
    )
    report = validate(arrays)
    assert report.ok
    assert report.sizes == {"min": (5, 4), "max": (5, 4)}


@pytest.mark.slow
def test_real_ham10000_validates_clean():
    from dermnet.data import load_ham10000

    report = validate(load_ham10000(shared_dataset("ham10000")))
    assert report.ok, report.summary()
    assert report.num_checked == 10015
    assert report.sizes == {"min": (150, 200), "max": (150, 200)}
    assert report.missing_metadata == {"age": 57, "sex": 57, "localization": 234}
