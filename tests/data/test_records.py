import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, ParameterError
from dermnet.data import Records


def _frame(labels, groups=None):
    rows = {"image_path": [f"/x/{i}.jpg" for i in range(len(labels))], "label": labels}
    if groups is not None:
        rows["lesion_id"] = groups
    return pd.DataFrame(rows)


def test_labels_follow_the_fixed_class_order():
    rec = Records(_frame(["b", "a", "c", "a"]), ["c", "b", "a"])
    assert rec.labels.tolist() == [1, 2, 0, 2]
    assert rec.class_counts() == {"c": 1, "b": 1, "a": 2}


def test_unknown_label_names_the_label_and_rows():
    with pytest.raises(DataError, match=r"\['zzz'\].*first rows: \[1\]"):
        Records(_frame(["a", "zzz"]), ["a", "b"])


def test_missing_column_and_duplicate_classes_are_errors():
    with pytest.raises(DataError, match="no 'lesion_id' column"):
        Records(_frame(["a"]), ["a"], group_cols=("lesion_id",))
    with pytest.raises(ParameterError, match="unique"):
        Records(_frame(["a"]), ["a", "a"])


def test_subset_keeps_classes_and_sets_role():
    rec = Records(
        _frame(["a", "b", "a"], ["L1", "L2", "L3"]), ["a", "b"], group_cols=("lesion_id",)
    )
    sub = rec.subset(np.array([True, False, True]), role="train")
    assert len(sub) == 2
    assert sub.role == "train"
    assert sub.classes == ("a", "b")
    assert sub.class_counts() == {"a": 2, "b": 0}
    assert rec.role is None
    with pytest.raises(ParameterError, match="length 3"):
        rec.subset(np.array([True]))


def test_summary_mentions_counts_and_groups():
    rec = Records(
        _frame(["a", "b", "a"], ["L1", "L1", "L2"]), ["a", "b"], group_cols=("lesion_id",)
    )
    text = rec.summary()
    assert "images: 3" in text
    assert "lesion_id: 2 distinct" in text
    assert "66.7%" in text


def test_frame_is_a_copy():
    rec = Records(_frame(["a"]), ["a"])
    frame = rec.frame
    frame.loc[0, "label"] = "changed"
    assert rec.frame.loc[0, "label"] == "a"


def test_exclude_keeps_a_reason_for_every_row_and_accumulates():
    rec = Records(_frame(["a", "b", "a", "b"]), ["a", "b"])
    once = rec.exclude([1], "missing file")
    twice = once.exclude(np.array([False, True, False]), "unreadable image")
    assert len(twice) == 2
    assert twice.excluded["reason"].tolist() == ["missing file", "unreadable image"]
    assert twice.excluded["image_path"].tolist() == ["/x/1.jpg", "/x/2.jpg"]
    assert "excluded: 2 (missing file: 1, unreadable image: 1" in twice.summary()
    with pytest.raises(ParameterError, match="one str per excluded row"):
        rec.exclude([0, 1], ["only one"])


def test_in_memory_images_follow_subsets_and_are_checked():
    images = np.arange(3 * 2 * 2 * 3, dtype=np.uint8).reshape(3, 2, 2, 3)
    rec = Records(_frame(["a", "b", "a"]), ["a", "b"], images=images)
    sub = rec.subset([2, 0])
    np.testing.assert_array_equal(sub.images, images[[2, 0]])
    assert "images held in memory: 2x2 RGB" in rec.summary()
    with pytest.raises(ParameterError, match="uint8 array of shape"):
        Records(_frame(["a"]), ["a"], images=np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ParameterError, match="one image per row"):
        Records(_frame(["a"]), ["a"], images=np.zeros((2, 2, 2, 3), np.uint8))


def test_summary_counts_missing_metadata():
    frame = _frame(["a", "a"]).assign(sex=["male", "unknown"], age=[None, 40.0])
    rec = Records(frame, ["a"], metadata_cols=("sex", "age"))
    assert "metadata: sex (1 missing), age (1 missing)" in rec.summary()
