import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, MissingFileError, UnknownNameError
from dermnet.data import (
    HAM10000_CLASSES,
    ISIC2019_CLASSES,
    check_leakage,
    load_dataset,
    load_isic2018,
    load_isic2019,
    load_isic2020,
    split,
)
from tests.conftest import shared_dataset

PIXEL = np.full((6, 8, 3), 90, np.uint8)
ISIC2018_COLS = ["MEL", "NV", "BCC", "AKIEC", "BKL", "DF", "VASC"]
ISIC2019_COLS = ["MEL", "NV", "BCC", "AK", "BKL", "DF", "VASC", "SCC", "UNK"]


def _onehot(names, columns, hot):
    rows = []
    for name, label in zip(names, hot, strict=True):
        rows.append({"image": name, **{c: float(c == label) for c in columns}})
    return pd.DataFrame(rows, columns=["image", *columns])


def _isic2018(tmp_path, write_image, part="Training", with_groups=True):
    names = [f"ISIC_00{i:05d}" for i in range(4)]
    labels = ["MEL", "NV", "AKIEC", "VASC"]
    folder = tmp_path / f"ISIC2018_Task3_{part}_GroundTruth"
    folder.mkdir(parents=True)
    _onehot(names, ISIC2018_COLS, labels).to_csv(
        folder / f"ISIC2018_Task3_{part}_GroundTruth.csv", index=False
    )
    for name in names:
        write_image(tmp_path / f"ISIC2018_Task3_{part}_Input" / f"{name}.jpg", PIXEL)
    if with_groups:
        pd.DataFrame(
            {
                "image": names,
                "lesion_id": ["HAM_1", "HAM_1", "HAM_2", "HAM_3"],
                "diagnosis_confirm_type": "histopathology",
            }
        ).to_csv(tmp_path / f"ISIC2018_Task3_{part}_LesionGroupings.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(("split_name", "role"), [("training", "train"), ("val", "val")])
def test_isic2018_one_hot_ground_truth_groupings_and_role(tmp_path, write_image, split_name, role):
    part = "Training" if split_name == "training" else "Validation"
    rec = load_isic2018(_isic2018(tmp_path, write_image, part), split=split_name)
    assert rec.classes == HAM10000_CLASSES
    assert rec.frame["label"].tolist() == ["mel", "nv", "akiec", "vasc"]
    assert rec.role == role
    assert rec.group_cols == ("lesion_id",)
    assert rec.groups().tolist() == ["HAM_1", "HAM_1", "HAM_2", "HAM_3"]


def test_isic2018_joins_ham_metadata_when_present(tmp_path, write_image):
    root = _isic2018(tmp_path, write_image, with_groups=False)
    pd.DataFrame(
        {
            "lesion_id": ["L1", "L1", "L2", "L3"],
            "image_id": [f"ISIC_00{i:05d}" for i in range(4)],
            "dx": ["mel", "nv", "akiec", "vasc"],
            "age": [40, 40, None, 70],
            "sex": ["male", "male", "female", "unknown"],
            "localization": ["back", "back", "face", "trunk"],
        }
    ).to_csv(root / "HAM10000_metadata.csv", index=False)
    rec = load_isic2018(root)
    assert rec.metadata_cols == ("age", "sex", "localization")
    assert rec.groups().tolist() == ["L1", "L1", "L2", "L3"]


def test_isic2018_bad_one_hot_rows_and_missing_split(tmp_path, write_image):
    root = _isic2018(tmp_path, write_image)
    csv = root / "ISIC2018_Task3_Training_GroundTruth" / "ISIC2018_Task3_Training_GroundTruth.csv"
    table = pd.read_csv(csv)
    table.loc[2, "NV"] = 1.0  # two classes set
    table.to_csv(csv, index=False)
    with pytest.raises(DataError, match=r"1 row\(s\) do not have exactly one class.*\[2\]"):
        load_isic2018(root)
    with pytest.raises(
        MissingFileError, match=r"ISIC2018_Task3_Test_GroundTruth\.csv.*isic-archive"
    ):
        load_isic2018(root, split="test")
    with pytest.raises(UnknownNameError, match="'validation'"):
        load_isic2018(root, split="valid")


def _isic2019(tmp_path, write_image, suffix_in_files=True, unk=False, part="Training"):
    names = ["ISIC_0000000_downsampled", "ISIC_0000001", "ISIC_0024306", "ISIC_0000002"]
    labels = ["MEL", "SCC", "NV", "UNK" if unk else "AK"]
    _onehot(names, ISIC2019_COLS, labels).to_csv(
        tmp_path / f"ISIC_2019_{part}_GroundTruth.csv", index=False
    )
    pd.DataFrame(
        {
            "image": names,
            "age_approx": [55.0, None, 45.0, 70.0],
            "anatom_site_general": ["anterior torso", None, "lower extremity", "head/neck"],
            "lesion_id": ["BCN_1", None, "HAM_0000550", None],
            "sex": ["male", "female", "male", None],
        }
    ).to_csv(tmp_path / f"ISIC_2019_{part}_Metadata.csv", index=False)
    for name in names:
        stem = name if suffix_in_files else name.removesuffix("_downsampled")
        write_image(tmp_path / f"ISIC_2019_{part}_Input" / f"{stem}.jpg", PIXEL)
    return tmp_path


@pytest.mark.parametrize("suffix_in_files", [True, False])
def test_isic2019_downsampled_names_metadata_and_groups(tmp_path, write_image, suffix_in_files):
    rec = load_isic2019(_isic2019(tmp_path, write_image, suffix_in_files))
    assert rec.classes == ISIC2019_CLASSES == ("ak", "bcc", "bkl", "df", "mel", "nv", "scc", "vasc")
    assert rec.frame["label"].tolist() == ["mel", "scc", "nv", "ak"]
    assert rec.frame["image_id"].tolist()[0] == "ISIC_0000000"  # suffix removed
    assert rec.paths[0].endswith(
        "ISIC_0000000_downsampled.jpg" if suffix_in_files else "ISIC_0000000.jpg"
    )
    assert rec.metadata_cols == ("age_approx", "anatom_site_general", "sex")
    assert rec.role == "train"
    groups = rec.groups().tolist()
    assert groups[0] == "BCN_1"
    assert groups[1] != groups[3]  # rows without lesion_id are groups of their own


def test_isic2019_unk_rows_raise_or_are_recorded(tmp_path, write_image):
    root = _isic2019(tmp_path, write_image, unk=True)
    with pytest.raises(DataError, match=r"1 row\(s\) are labelled UNK.*\[3\]"):
        load_isic2019(root)
    rec = load_isic2019(root, on_error="skip")
    assert len(rec) == 3
    assert rec.excluded["reason"].tolist() == ["UNK label"]


def test_isic2019_test_split_with_unk(tmp_path, write_image):
    root = _isic2019(tmp_path, write_image, unk=True, part="Test")
    rec = load_isic2019(root, split="test", on_error="skip")
    assert rec.role == "test"
    assert len(rec) == 3
    assert rec.classes == ISIC2019_CLASSES  # the same classes as the training set
    with pytest.raises(MissingFileError, match=r"ISIC_2019_Training_GroundTruth\.csv"):
        load_isic2019(root)


def test_isic2019_and_ham10000_share_an_image_across_datasets(tmp_path, write_image):
    from dermnet.data import Records

    rec = load_isic2019(_isic2019(tmp_path, write_image))
    ham = Records(
        pd.DataFrame(
            {
                "image_path": ["/elsewhere/ISIC_0024306.jpg"],
                "image_id": ["ISIC_0024306"],
                "label": ["nv"],
            }
        ),
        HAM10000_CLASSES,
    )
    report = check_leakage(rec, ham, group_by=None)
    assert len(report.shared_files) == 1
    assert report.shared_files[0].endswith("ISIC_0024306.jpg")


def _isic2020_table(n_patients=6, per_patient=5, extra=True):
    rows = []
    for p in range(n_patients):
        for k in range(per_patient):
            i = p * per_patient + k
            rows.append(
                {
                    "image_name": f"ISIC_{i:07d}",
                    "patient_id": f"IP_{p}",
                    "lesion_id": f"IL_{i}",
                    "sex": ["male", "female", None][p % 3],
                    "age_approx": 30 + 5 * p if p != 2 else None,
                    "anatom_site_general_challenge": ["torso", "head/neck", None][k % 3],
                    "diagnosis": "unknown",
                    "benign_malignant": "malignant" if k == 0 else "benign",
                    "target": int(k == 0),
                }
            )
    table = pd.DataFrame(rows)
    if extra:
        table["asymmetry"] = 0
    return table


def test_isic2020_archive_csv_with_extra_column_and_kaggle_layout(tmp_path, write_image):
    table = _isic2020_table()
    table.to_csv(tmp_path / "ISIC_2020_Training_GroundTruth_v2_plus_asymmetry.csv", index=False)
    for name in table["image_name"]:
        write_image(tmp_path / "jpeg" / "train" / f"{name}.jpg", PIXEL)
    rec = load_isic2020(tmp_path)
    assert rec.classes == ("benign", "malignant")
    assert rec.class_counts() == {"benign": 24, "malignant": 6}
    assert rec.group_cols == ("patient_id", "lesion_id")
    assert rec.metadata_cols == ("age_approx", "sex", "anatom_site_general_challenge")
    assert "asymmetry" in rec.frame.columns
    assert "asymmetry" not in rec.metadata_cols
    parts = split(rec, test_size=0.34, seed=0)
    assert check_leakage(parts.train, parts.test).ok  # by patient
    assert set(parts.train.column("patient_id")).isdisjoint(parts.test.column("patient_id"))


def test_isic2020_kaggle_train_csv_by_path_and_label_column(tmp_path, write_image):
    table = _isic2020_table(extra=False).drop(columns=["lesion_id", "target"])
    table.to_csv(tmp_path / "train.csv", index=False)
    rec = load_dataset("isic2020", tmp_path / "train.csv", check_files=False)
    assert rec.group_cols == ("patient_id",)
    assert rec.class_counts() == {"benign": 24, "malignant": 6}
    with pytest.raises(MissingFileError, match=r"30 image file.*None of its images.*challenge2020"):
        load_isic2020(tmp_path)


def test_isic2020_bad_target_and_missing_columns(tmp_path):
    table = _isic2020_table()
    table.loc[4, "target"] = 2
    table.to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"'target' must be 0 or 1.*\['2'\].*\[4\]"):
        load_isic2020(tmp_path, check_files=False)
    table.drop(columns=["target", "benign_malignant"]).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match="lacks a label column"):
        load_isic2020(tmp_path, check_files=False)
    table.drop(columns=["patient_id"]).to_csv(tmp_path / "train.csv", index=False)
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['patient_id'\]"):
        load_isic2020(tmp_path, check_files=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(MissingFileError, match="No ISIC 2020 ground-truth CSV"):
        load_isic2020(tmp_path / "empty")


@pytest.mark.slow
def test_real_isic2020_csv_counts_and_patient_split():
    rec = load_isic2020(shared_dataset("isic2020_metadata"), check_files=False)
    assert len(rec) == 33126
    assert rec.class_counts() == {"benign": 32542, "malignant": 584}
    assert rec.frame["patient_id"].nunique() == 2056
    parts = split(rec, test_size=0.2, seed=0)
    assert check_leakage(parts.train, parts.test).ok
    share = parts.test.class_counts()["malignant"] / 584
    assert abs(share - 0.2) < 0.02  # stratified although patients mix both classes


def test_isic2019_include_unknown_keeps_unk_rows_for_evaluation_only(tmp_path, write_image):
    from dermnet.data.datasets.isic import UNKNOWN_REASON, unknown_lesions

    root = _isic2019(tmp_path, write_image, unk=True, part="Test")
    rec = load_isic2019(root, split="test", include_unknown=True)  # no error for UNK
    assert rec.frame["label"].tolist() == ["mel", "scc", "nv"]
    assert rec.classes == ISIC2019_CLASSES  # UNK is never a class
    ood = unknown_lesions(rec)
    assert ood["image_id"].tolist() == ["ISIC_0000002"]
    assert ood["label"].tolist() == ["UNK"]
    assert ood["image_path"].iloc[0].endswith("ISIC_0000002.jpg")
    assert ood["age_approx"].tolist() == [70.0]  # metadata joined as for the records
    assert rec.excluded["reason"].tolist() == [UNKNOWN_REASON]
    # without the flag an UNK row is still an error, or an exclusion with on_error="skip"
    skipped = load_isic2019(root, split="test", on_error="skip")
    assert len(unknown_lesions(skipped)) == 0


def test_isic2019_include_unknown_names_missing_unk_images(tmp_path, write_image):
    from dermnet.data.datasets.isic import unknown_lesions

    root = _isic2019(tmp_path, write_image, unk=True)
    (root / "ISIC_2019_Training_Input" / "ISIC_0000002.jpg").unlink()
    with pytest.raises(MissingFileError, match=r"1 UNK image\(s\).*ISIC_0000002"):
        load_isic2019(root, include_unknown=True)
    rec = load_isic2019(root, include_unknown=True, on_error="skip")
    assert len(unknown_lesions(rec)) == 0
    assert rec.excluded["reason"].tolist() == ["UNK label, image missing"]
    with pytest.raises(DataError, match="Records of load_isic2019"):
        unknown_lesions(rec.frame)
