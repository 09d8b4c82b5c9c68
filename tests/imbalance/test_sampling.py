import numpy as np
import pytest

from dermnet import DataError, ParameterError
from dermnet.imbalance import oversample, resample, resample_indices, undersample
from dermnet.imbalance.sampling import target_counts


def _check_rows_are_copies(original, resampled):
    """Every resampled row is a row of the original, traced by source_index."""
    src = resampled.column("source_index")
    assert np.array_equal(np.asarray(resampled.paths), np.asarray(original.paths)[src])
    assert np.array_equal(resampled.labels, original.labels[src])


def test_oversample_raises_every_class_to_the_largest_and_keeps_all_originals(tiny_records):
    records = tiny_records()
    out = oversample(records, seed=0)
    assert out.class_counts() == {"a": 12, "b": 12, "c": 12}
    _check_rows_are_copies(records, out)
    assert set(out.column("source_index")) == set(range(len(records)))  # nothing dropped
    assert out.role == "train"
    assert out.group_cols == records.group_cols


def test_undersample_lowers_every_class_to_the_smallest_without_copies(tiny_records):
    records = tiny_records()
    out = undersample(records, seed=0)
    assert out.class_counts() == {"a": 3, "b": 3, "c": 3}
    _check_rows_are_copies(records, out)
    assert len(set(out.column("source_index"))) == len(out)  # no duplicates


def test_resample_goes_both_ways_to_a_target(tiny_records):
    records = tiny_records()
    out = resample(records, 6, seed=0)
    assert out.class_counts() == {"a": 6, "b": 6, "c": 6}
    src = out.column("source_index")
    a_rows = src[out.labels == 0]
    assert len(set(a_rows)) == 6  # undersampled without replacement
    c_rows = src[out.labels == 2]
    assert set(c_rows) == set(np.flatnonzero(records.labels == 2))  # all 3 kept, 3 copies
    assert resample(records, seed=0).class_counts() == {"a": 7, "b": 7, "c": 7}  # mean 6.67


def test_targets_by_class_name_or_index(tiny_records):
    records = tiny_records()
    assert oversample(records, {"c": 9}).class_counts() == {"a": 12, "b": 5, "c": 9}
    assert undersample(records, {0: 4}).class_counts() == {"a": 4, "b": 5, "c": 3}
    assert oversample(records, 2).class_counts() == records.class_counts()  # never lowers
    assert undersample(records, 20).class_counts() == records.class_counts()  # never raises
    with pytest.raises(ParameterError, match="'target'"):
        oversample(records, {"z": 4})
    with pytest.raises(ParameterError, match="'target'"):
        oversample(records, "biggest")


def test_resampling_is_seeded(tiny_records):
    records = tiny_records()
    a = oversample(records, seed=1).paths
    assert a == oversample(records, seed=1).paths
    assert a != oversample(records, seed=2).paths


def test_resampling_twice_still_traces_the_first_records(tiny_records):
    records = tiny_records()
    twice = undersample(oversample(records, seed=0), 4, seed=1)
    _check_rows_are_copies(records, twice)


def test_a_class_without_images_cannot_be_oversampled(tiny_records):
    records = tiny_records()
    no_c = records.subset(records.labels != 2)
    with pytest.raises(DataError, match=r"\['c'\] have no images"):
        oversample(no_c, 10)
    with pytest.warns(UserWarning, match=r"\['c'\] have no images and stay absent"):
        assert undersample(no_c).class_counts() == {"a": 5, "b": 5, "c": 0}
    assert oversample(no_c, {"a": 12, "b": 12}).class_counts()["b"] == 12


def test_resample_indices_on_plain_labels():
    y = np.array([0] * 8 + [1] * 2)
    idx = resample_indices(y, "max", seed=0)
    assert np.bincount(y[idx]).tolist() == [8, 8]
    assert set(np.flatnonzero(y == 1)) <= set(idx)
    idx = resample_indices(y, "min", mode="under", seed=0, shuffle=False)
    assert y[idx].tolist() == [0, 0, 1, 1]
    with pytest.raises(ParameterError, match="'labels'"):
        resample_indices([0.5, 1.0])
    with pytest.raises(ParameterError, match="'mode'"):
        resample_indices(y, mode="sideways")


def test_target_counts():
    with pytest.warns(UserWarning, match=r"\[2\] have no images"):
        assert target_counts([10, 4, 0], "max").tolist() == [10, 10, 0]
    assert target_counts([10, 4, 1], "median").tolist() == [4, 4, 4]
    assert target_counts([10, 4, 1], 5, mode="over").tolist() == [10, 5, 5]
    with pytest.raises(DataError, match="no images"):
        target_counts([0, 0], "max")
