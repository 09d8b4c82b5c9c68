import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, MissingFileError, UnknownNameError
from dermnet.data import (
    HAM10000_CLASSES,
    list_datasets,
    load_dataset,
    load_ham10000,
    load_image_folder,
    load_malaria,
)
from tests.conftest import shared_dataset

PIXEL = np.full((6, 8, 3), 128, np.uint8)


def _ham(tmp_path, write_image, layout="single", n=4, missing=()):
    rows = []
    for i in range(n):
        image_id = f"ISIC_{i:07d}"
        rows.append(
            {
                "lesion_id": f"HAM_{i // 2}",
                "image_id": image_id,
                "dx": HAM10000_CLASSES[i % 7],
                "dx_type": "histo",
                "age": 50.0,
                "sex": "male",
                "localization": "back",
            }
        )
        if image_id in missing:
            continue
        folder = "images" if layout == "single" else f"HAM10000_images_part_{1 + i % 2}"
        write_image(tmp_path / folder / f"{image_id}.jpg", PIXEL)
    pd.DataFrame(rows).to_csv(tmp_path / "HAM10000_metadata.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("layout", ["single", "parts"])
def test_ham10000_layouts(tmp_path, write_image, layout):
    rec = load_ham10000(_ham(tmp_path, write_image, layout))
    assert len(rec) == 4
    assert rec.classes == HAM10000_CLASSES
    assert rec.group_cols == ("lesion_id",)
    assert set(rec.metadata_cols) == {"age", "sex", "localization"}
    assert all(p.endswith(".jpg") for p in rec.paths)


def test_ham10000_missing_image_raises_with_path_or_is_recorded_when_skipped(tmp_path, write_image):
    root = _ham(tmp_path, write_image, missing=("ISIC_0000002",))
    with pytest.raises(MissingFileError, match=r"1 image file.*ISIC_0000002"):
        load_ham10000(root)
    rec = load_ham10000(root, on_error="skip")
    assert len(rec) == 3
    assert rec.excluded["image_id"].tolist() == ["ISIC_0000002"]
    assert rec.excluded["reason"].tolist() == ["missing file"]


def test_ham10000_missing_csv_says_where_to_download(tmp_path):
    with pytest.raises(MissingFileError, match=r"10\.7910/DVN/DBW86T"):
        load_ham10000(tmp_path)


def test_ham10000_unknown_diagnosis_names_the_csv(tmp_path, write_image):
    root = _ham(tmp_path, write_image)
    table = pd.read_csv(root / "HAM10000_metadata.csv")
    table.loc[1, "dx"] = "melanomaa"
    table.to_csv(root / "HAM10000_metadata.csv", index=False)
    with pytest.raises(DataError, match=r"HAM10000_metadata.csv.*melanomaa"):
        load_ham10000(root)


def test_image_folder_and_malaria_layout_ignore_thumbs_db(tmp_path, write_image):
    for cls in ("Parasitized", "Uninfected"):
        for i in range(2):
            write_image(tmp_path / "cell_images" / cls / f"{cls}_{i}.png", PIXEL)
        (tmp_path / "cell_images" / cls / "Thumbs.db").write_bytes(b"junk")
    with pytest.warns(UserWarning, match=r"4 of 4 file names .* slide id"):
        rec = load_malaria(tmp_path)
    assert len(rec) == 4
    assert rec.class_counts() == {"Parasitized": 2, "Uninfected": 2}
    assert rec.groups("slide_id")[0] == "file:Parasitized_0.png"
    generic = load_image_folder(tmp_path / "cell_images")
    assert generic.classes == ("Parasitized", "Uninfected")


def test_image_folder_with_an_empty_class_is_an_error(tmp_path, write_image):
    write_image(tmp_path / "a" / "x.png", PIXEL)
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match=r"without images.*\['b'\]"):
        load_image_folder(tmp_path)


def test_registry_lists_and_loads_by_name(tmp_path, write_image):
    assert {"ham10000", "malaria", "image_folder"} <= set(list_datasets())
    assert len(load_dataset("ham10000", _ham(tmp_path, write_image))) == 4
    with pytest.raises(UnknownNameError, match="Did you mean 'ham10000'"):
        load_dataset("ham1000", tmp_path)


@pytest.mark.slow
def test_real_ham10000_counts():
    rec = load_ham10000(shared_dataset("ham10000"))
    assert len(rec) == 10015
    assert rec.class_counts() == {
        "akiec": 327,
        "bcc": 514,
        "bkl": 1099,
        "df": 115,
        "mel": 1113,
        "nv": 6705,
        "vasc": 142,
    }
    assert rec.frame["lesion_id"].nunique() == 7470


@pytest.mark.slow
def test_malaria_slide_ids_from_nih_file_names(tmp_path, write_image):
    names = {
        "Parasitized": [
            "C100P61ThinF_IMG_20150918_144348_cell_40.png",
            "C7NthinF_IMG_1_cell_2.png",
        ],
        "Uninfected": ["C100P61ThinF_IMG_20150918_150000_cell_3.png", "C8P9_cell_1.png"],
    }
    for cls, files in names.items():
        for name in files:
            write_image(tmp_path / cls / name, PIXEL)
    rec = load_malaria(tmp_path)
    assert rec.group_cols == ("slide_id",)
    files = rec.frame["image_path"].map(lambda p: p.split("/")[-1])
    by_file = dict(zip(files, rec.groups(), strict=True))
    assert by_file["C100P61ThinF_IMG_20150918_144348_cell_40.png"] == "C100"
    assert by_file["C100P61ThinF_IMG_20150918_150000_cell_3.png"] == "C100"
    assert by_file["C7NthinF_IMG_1_cell_2.png"] == "C7"
    assert by_file["C8P9_cell_1.png"] == "C8"


@pytest.mark.slow
def test_real_malaria_counts():
    rec = load_malaria(shared_dataset("malaria_rgb"))
    assert rec.class_counts() == {"Parasitized": 100, "Uninfected": 100}
    assert len(set(rec.groups("slide_id"))) == 108  # smears C<n>; none unmatched


def test_ham10000_metadata_subset_csv_and_check_files_false(tmp_path, write_image):
    root = _ham(tmp_path, write_image, missing=("ISIC_0000001",))
    (root / "HAM10000_metadata.csv").rename(root / "HAM10000_metadata_subset.csv")
    rec = load_ham10000(root, check_files=False)
    assert len(rec) == 4  # the table only: the missing image is not looked for
    assert rec.frame["image_id"].tolist()[1] == "ISIC_0000001"


def test_ham10000_duplicate_image_id_is_named_or_excluded(tmp_path, write_image):
    root = _ham(tmp_path, write_image)
    table = pd.read_csv(root / "HAM10000_metadata.csv")
    table.loc[3, "image_id"] = "ISIC_0000000"
    table.to_csv(root / "HAM10000_metadata.csv", index=False)
    with pytest.raises(DataError, match=r"1 duplicate image_id.*ISIC_0000000.*rows \[0, 3\]"):
        load_ham10000(root)
    rec = load_ham10000(root, on_error="skip")
    assert len(rec) == 3
    assert rec.excluded["reason"].tolist() == ["duplicate image_id"]
    assert "excluded: 1 (duplicate image_id: 1" in rec.summary()


def test_ham10000_csv_without_expected_columns(tmp_path):
    pd.DataFrame({"image": ["a"], "diagnosis": ["nv"]}).to_csv(
        tmp_path / "HAM10000_metadata.csv", index=False
    )
    with pytest.raises(DataError, match=r"lacks the column\(s\) \['lesion_id', 'image_id', 'dx'\]"):
        load_ham10000(tmp_path)


def test_ham10000_verify_finds_truncated_jpeg(tmp_path, write_image):
    root = _ham(tmp_path, write_image)
    path = root / "images" / "ISIC_0000002.jpg"
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    write_image(path, big)
    path.write_bytes(path.read_bytes()[:300])
    assert len(load_ham10000(root)) == 4  # existence is all that is checked by default
    with pytest.raises(DataError, match=r"unreadable image: 1 \(.*ISIC_0000002\.jpg"):
        load_ham10000(root, verify=True)
    rec = load_ham10000(root, verify=True, on_error="skip")
    assert len(rec) == 3
    assert rec.excluded["image_id"].tolist() == ["ISIC_0000002"]
    assert rec.excluded["reason"].iloc[0].startswith("unreadable image: ")


def test_malaria_nested_kaggle_layout_palette_and_rgba(tmp_path, write_image):
    base = tmp_path / "cell_images" / "cell_images"
    write_image(base / "Parasitized" / "p0.png", PIXEL, mode="P")
    write_image(base / "Parasitized" / "p1.png", PIXEL, mode="RGBA")
    write_image(base / "Uninfected" / "u0.png", PIXEL)
    (base / "Uninfected" / "notes.txt").write_text("not an image")
    with (
        pytest.warns(UserWarning, match="slide id"),
        pytest.warns(UserWarning, match=r"1 file\(s\).*Uninfected/notes\.txt"),
    ):
        rec = load_malaria(tmp_path, verify=True)
    assert rec.class_counts() == {"Parasitized": 2, "Uninfected": 1}
    assert rec.frame["image_id"].tolist() == ["Parasitized/p0", "Parasitized/p1", "Uninfected/u0"]
    assert rec.excluded["image_path"].tolist() == [str(base / "Uninfected" / "notes.txt")]
    assert rec.excluded["reason"].tolist() == ["not an image file extension (.txt)"]


def test_malaria_without_class_folders_says_where_to_download(tmp_path):
    (tmp_path / "Parasitized").mkdir()
    with pytest.raises(MissingFileError, match=r"lhncbc\.nlm\.nih\.gov"):
        load_malaria(tmp_path)


def test_image_folder_explicit_class_order_and_missing_class_folder(tmp_path, write_image):
    for cls in ("b", "a"):
        write_image(tmp_path / cls / "x.png", PIXEL)
    rec = load_image_folder(tmp_path, classes=("b", "a"))
    assert rec.classes == ("b", "a")
    assert rec.labels.tolist() == [0, 1]
    with pytest.raises(MissingFileError, match=r"\['c'\].*sub-folders are \['a', 'b'\]"):
        load_image_folder(tmp_path, classes=("a", "c"))
    with pytest.raises(DataError, match="no class sub-folders"):
        load_image_folder(tmp_path / "a")


def _csv_dataset(tmp_path, write_image, values=("img0.jpg", "sub/img1.png", "img2")):
    write_image(tmp_path / "img0.jpg", PIXEL)
    write_image(tmp_path / "sub" / "img1.png", PIXEL)
    write_image(tmp_path / "deep" / "img2.bmp", PIXEL)
    table = pd.DataFrame(
        {
            "file": list(values),
            "diagnosis": ["benign", "malignant", "benign"],
            "patient": ["P1", "P1", "P2"],
            "age": [30, None, 50],
        }
    )
    table.to_csv(tmp_path / "labels.csv", index=False)
    return tmp_path / "labels.csv"


def test_csv_resolves_names_relative_paths_and_ids(tmp_path, write_image):
    from dermnet.data import load_csv

    csv = _csv_dataset(tmp_path, write_image)
    rec = load_csv(
        csv,
        image_col="file",
        label_col="diagnosis",
        group_col="patient",
        metadata_cols=["age"],
        recursive=True,
    )
    assert rec.classes == ("benign", "malignant")
    assert [p.rsplit("/", 2)[-2:] for p in rec.paths] == [
        [tmp_path.name, "img0.jpg"],
        ["sub", "img1.png"],
        ["deep", "img2.bmp"],
    ]
    assert rec.group_cols == ("patient",)
    assert rec.metadata_cols == ("age",)
    assert rec.name == "labels"
    with pytest.raises(MissingFileError, match=r"1 image file.*img2"):
        load_csv(csv, image_col="file", label_col="diagnosis")  # not recursive


def test_csv_bad_inputs_name_the_column_label_and_class(tmp_path, write_image):
    from dermnet.data import load_csv

    csv = _csv_dataset(tmp_path, write_image)
    with pytest.raises(DataError, match=r"labels\.csv lacks the column\(s\) \['label'\]"):
        load_csv(csv, image_col="file")
    with pytest.raises(DataError, match=r"labels\.csv.*\['malignant'\]"):
        load_csv(csv, image_col="file", label_col="diagnosis", classes=["benign"])
    with pytest.raises(DataError, match=r"class\(es\) \['other'\] have no rows"):
        load_csv(
            csv,
            image_col="file",
            label_col="diagnosis",
            classes=["benign", "malignant", "other"],
            recursive=True,
        )
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="cannot be read"):
        load_csv(tmp_path / "empty.csv")


def test_csv_skip_records_missing_files(tmp_path, write_image):
    from dermnet.data import load_csv

    csv = _csv_dataset(tmp_path, write_image, values=("img0.jpg", "gone.jpg", "sub/img1.png"))
    rec = load_csv(csv, image_col="file", label_col="diagnosis", on_error="skip")
    assert len(rec) == 2
    assert rec.excluded["file"].tolist() == ["gone.jpg"]
    assert rec.excluded["reason"].tolist() == ["missing file"]


@pytest.mark.slow
def test_real_ham10000_full_resolution_sample():
    rec = load_ham10000(shared_dataset("ham10000_fullres_sample"))
    assert len(rec) == 150
    assert {k: v for k, v in rec.class_counts().items() if v} == {"bcc": 5, "mel": 15, "nv": 130}


@pytest.mark.slow
def test_real_malaria_palette_pngs_verify():
    rec = load_malaria(shared_dataset("malaria_rgb"), verify=True)
    assert len(rec) == 200
    from dermnet.data import validate

    assert validate(rec).modes == {"RGB": 189, "P": 11}
