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
    rec = load_malaria(tmp_path)
    assert len(rec) == 4
    assert rec.class_counts() == {"Parasitized": 2, "Uninfected": 2}
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
def test_real_malaria_counts():
    rec = load_malaria(shared_dataset("malaria_rgb"))
    assert rec.class_counts() == {"Parasitized": 100, "Uninfected": 100}
