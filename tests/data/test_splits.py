import numpy as np
import pandas as pd
import pytest

from dermnet import LeakageError, ParameterError
from dermnet.data import Records, check_leakage, load_sample, split
from tests.conftest import shared_dataset


def _records(n_lesions=60, per_lesion=3, classes=("a", "b", "c")):
    rows = []
    for lesion in range(n_lesions):
        for k in range(per_lesion):
            rows.append(
                {
                    "image_path": f"/x/{lesion}_{k}.jpg",
                    "image_id": f"{lesion}_{k}",
                    "label": classes[lesion % len(classes)],
                    "lesion_id": f"L{lesion}",
                }
            )
    return Records(pd.DataFrame(rows), classes, group_cols=("lesion_id",))


def test_grouped_split_shares_no_lesion_and_covers_every_row():
    rec = _records()
    parts = split(rec, test_size=0.2, val_size=0.2, seed=1)
    sizes = [len(parts.train), len(parts.val), len(parts.test)]
    assert sum(sizes) == len(rec)
    for a, b in [(parts.train, parts.test), (parts.train, parts.val), (parts.val, parts.test)]:
        assert check_leakage(a, b).ok
    assert (parts.train.role, parts.val.role, parts.test.role) == ("train", "val", "test")


def test_split_is_stratified_and_deterministic():
    rec = _records(n_lesions=90)
    a = split(rec, test_size=0.3, seed=3)
    b = split(rec, test_size=0.3, seed=3)
    assert a.test.paths == b.test.paths
    counts = a.test.class_counts()
    assert all(abs(v - 27) <= 3 for v in counts.values())  # 30% of 90 images per class
    assert split(rec, test_size=0.3, seed=4).test.paths != a.test.paths


def test_check_leakage_finds_shared_lesions_and_files():
    rec = _records(n_lesions=4, per_lesion=2)
    report = check_leakage(rec.subset([0, 2]), rec.subset([1, 2]))
    assert report.shared_groups == ("L0", "L1")
    assert any("0_0" in f or "1_0" in f for f in report.shared_files)
    with pytest.raises(LeakageError, match="lesion_id"):
        report.raise_if_leaky()


def test_bad_sizes_are_errors():
    rec = _records()
    with pytest.raises(ParameterError, match="test_size"):
        split(rec, test_size=1.5)
    with pytest.raises(ParameterError, match="< 1"):
        split(rec, test_size=0.6, val_size=0.5)
    with pytest.raises(ParameterError, match="group_by"):
        split(rec, group_by="patient")


def test_sample_split_by_lesion():
    parts = split(load_sample("ham10000"), test_size=0.25, seed=0)
    lesions_train = set(parts.train.column("lesion_id"))
    assert lesions_train.isdisjoint(parts.test.column("lesion_id"))
    assert all(v > 0 for v in parts.test.class_counts().values())


@pytest.mark.slow
def test_real_ham10000_random_split_leaks_and_grouped_does_not():
    from dermnet.data import load_ham10000

    rec = load_ham10000(shared_dataset("ham10000"))
    grouped = split(rec, test_size=0.2, seed=0)
    assert check_leakage(grouped.train, grouped.test).ok
    naive = split(rec, test_size=0.2, group_by=None, seed=0)
    shared = check_leakage(naive.train, naive.test, group_by="lesion_id").shared_groups
    assert len(shared) > 500  # a random image-level split puts hundreds of lesions on both sides
    assert np.isclose(len(grouped.test) / len(rec), 0.2, atol=0.01)
