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


def test_kfold_grouped_stratified_covers_every_row_once():
    from dermnet.data import kfold

    rec = _records(n_lesions=45)
    folds = kfold(rec, k=3, seed=0)
    assert [f.index for f in folds] == [0, 1, 2]
    held_out = np.concatenate([f.val.paths for f in folds])
    assert sorted(held_out) == sorted(rec.paths)
    for fold in folds:
        train, val = fold
        assert (train.role, val.role) == ("train", "val")
        assert len(train) + len(val) == len(rec)
        assert check_leakage(train, val).ok
        assert all(v == 15 for v in val.class_counts().values())  # 45 images per class / 3
    again = kfold(rec, k=3, seed=0)
    assert [f.val.paths for f in again] == [f.val.paths for f in folds]
    with pytest.raises(ParameterError, match="'k' parameter of kfold"):
        kfold(rec, k=1)
    with pytest.raises(ParameterError, match="at most the number of groups"):
        kfold(_records(n_lesions=2), k=3)


def test_split_stratifies_when_groups_mix_classes():
    # 40 patients with 10 images each, 1 malignant per patient: majority voting per group
    # would call every patient benign; per-class targets still put 20% of both in test.
    rows = []
    for p in range(40):
        for k in range(10):
            rows.append(
                {
                    "image_path": f"/x/{p}_{k}.jpg",
                    "label": "malignant" if k == 0 else "benign",
                    "patient_id": f"P{p}",
                }
            )
    rec = Records(pd.DataFrame(rows), ["benign", "malignant"], group_cols=("patient_id",))
    parts = split(rec, test_size=0.2, seed=0)
    assert parts.test.class_counts() == {"benign": 72, "malignant": 8}


def test_rows_without_group_id_are_groups_of_their_own():
    table = pd.DataFrame(
        {
            "image_path": [f"/x/{i}.jpg" for i in range(4)],
            "label": ["a"] * 4,
            "lesion_id": ["L1", None, "", "L1"],
        }
    )
    rec = Records(table, ["a"], group_cols=("lesion_id",))
    groups = rec.groups()
    assert groups[0] == groups[3] == "L1"
    assert len({groups[1], groups[2], groups[0]}) == 3
    report = check_leakage(rec.subset([1]), rec.subset([2]))
    assert report.shared_groups == ()


def test_split_refuses_held_out_parts_and_warns_on_absent_classes():
    rec = _records(n_lesions=30)
    parts = split(rec, test_size=0.3, seed=0)
    with pytest.raises(ParameterError, match="role is 'test'"):
        split(parts.test, test_size=0.5)
    rows = [{"image_path": f"/x/{i}.jpg", "label": "a", "lesion_id": f"L{i}"} for i in range(20)]
    rows.append({"image_path": "/x/rare.jpg", "label": "rare", "lesion_id": "R"})
    small = Records(pd.DataFrame(rows), ["a", "rare"], group_cols=("lesion_id",))
    with pytest.warns(UserWarning, match=r"no images of class\(es\) \['rare'\]"):
        split(small, test_size=0.2, seed=0)


def test_check_leakage_by_content_finds_renamed_copies(tmp_path, write_image):
    image = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    (tmp_path / "copy_of_a.png").write_bytes((tmp_path / "a.png").read_bytes())
    write_image(tmp_path / "b.png", 255 - image)
    left = Records(pd.DataFrame({"image_path": [str(tmp_path / "a.png")], "label": ["x"]}), ["x"])
    right = Records(
        pd.DataFrame(
            {
                "image_path": [str(tmp_path / "copy_of_a.png"), str(tmp_path / "b.png")],
                "label": ["x", "x"],
            }
        ),
        ["x"],
    )
    assert check_leakage(left, right).ok
    report = check_leakage(left, right, by_content=True)
    assert report.shared_content == ((str(tmp_path / "a.png"), str(tmp_path / "copy_of_a.png")),)
    assert "1 identical image(s)" in report.summary()
    with pytest.raises(LeakageError, match="identical"):
        report.raise_if_leaky()


@pytest.mark.slow
def test_real_ham10000_kfold_and_split_keep_the_lesion_mix():
    from dermnet.data import kfold, load_ham10000

    rec = load_ham10000(shared_dataset("ham10000"))
    parts = split(rec, test_size=0.2, val_size=0.1, seed=0)
    per_lesion = [len(p) / len(set(p.groups())) for p in parts]
    assert max(per_lesion) - min(per_lesion) < 0.1  # every part keeps ~1.34 images per lesion
    for cls, n in rec.class_counts().items():
        assert abs(parts.test.class_counts()[cls] - 0.2 * n) <= 2
    folds = kfold(rec, k=5, seed=0)
    assert sum(len(f.val) for f in folds) == 10015
    assert all(check_leakage(f.train, f.val).ok for f in folds)
