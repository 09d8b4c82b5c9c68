"""Loaders never drop anything silently: every left-out file or row is named or recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from dermnet import DataError
from dermnet.data import load_csv, load_ham10000, load_image_folder, load_malaria, sample_path


@pytest.fixture(scope="module")
def real_jpeg() -> Path:
    return sorted((sample_path("ham10000") / "images").glob("*.jpg"))[0]


def test_image_folder_reads_every_supported_format_and_reports_the_rest(tmp_path, real_jpeg):
    image = Image.open(real_jpeg)
    (tmp_path / "nevus").mkdir()
    for name, fmt in [
        ("a.jpg", "jpeg"),
        ("b.PNG", "png"),
        ("c.webp", "webp"),
        ("d.tif", "tiff"),
        ("e.gif", "gif"),
        ("f.bmp", "bmp"),
    ]:
        image.save(tmp_path / "nevus" / name, fmt)
    (tmp_path / "nevus" / "g.heic").write_bytes(b"\0" * 8)
    (tmp_path / "nevus" / "notes.txt").write_text("seen by Dr X")
    (tmp_path / "nevus" / "Thumbs.db").write_bytes(b"\0")
    with pytest.warns(UserWarning, match=r"2 file\(s\).*nevus/g\.heic, nevus/notes\.txt"):
        records = load_image_folder(tmp_path, verify=True)
    assert [Path(p).name for p in records.paths] == [
        "a.jpg",
        "b.PNG",
        "c.webp",
        "d.tif",
        "e.gif",
        "f.bmp",
    ]
    assert records.excluded["reason"].tolist() == [
        "not an image file extension (.heic)",
        "not an image file extension (.txt)",
    ]


def test_malaria_verify_skip_records_the_bad_file(tmp_path):
    for cls in ("Parasitized", "Uninfected"):
        shutil.copytree(sample_path("malaria") / cls, tmp_path / cls)
    victim = sorted((tmp_path / "Uninfected").glob("*.png"))[0]
    victim.write_bytes(victim.read_bytes()[:100])
    with pytest.raises(DataError, match=victim.name):
        load_malaria(tmp_path, verify=True)
    records = load_malaria(tmp_path, verify=True, on_error="skip")
    assert len(records) == 199
    assert records.excluded["image_path"].tolist() == [str(victim)]
    assert records.excluded["reason"].iloc[0].startswith("unreadable image")
    assert "excluded: 1" in records.summary()


def test_ham10000_verify_names_a_truncated_image(tmp_path):
    source = sample_path("ham10000")
    shutil.copy(source / "HAM10000_metadata.csv", tmp_path)
    shutil.copytree(source / "images", tmp_path / "images")
    victim = sorted((tmp_path / "images").glob("*.jpg"))[3]
    victim.write_bytes(victim.read_bytes()[:2000])
    assert len(load_ham10000(tmp_path)) == 700  # existence only, by default
    with pytest.raises(DataError, match=rf"(?s){victim.name}.*on_error='skip'"):
        load_ham10000(tmp_path, verify=True)
    records = load_ham10000(tmp_path, verify=True, on_error="skip")
    assert records.excluded["image_path"].tolist() == [str(victim)]


def _table(tmp_path: Path, labels, images=None) -> Path:
    for i in range(len(labels)):
        Image.new("RGB", (8, 8)).save(tmp_path / f"{i}.png")
    images = images or [f"{i}.png" for i in range(len(labels))]
    path = tmp_path / "table.csv"
    pd.DataFrame({"image": images, "label": labels}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("blank", ["", "   "])
def test_csv_blank_label_names_its_row(tmp_path, blank):
    csv = _table(tmp_path, ["mel", "nv", blank, "nv"])
    with pytest.raises(
        DataError, match=r"1 row\(s\) have an empty or blank label.*row\(s\) 2 \(CSV line\(s\) 4\)"
    ):
        load_csv(csv)


def test_csv_na_label_has_its_own_message_and_can_be_a_named_class(tmp_path):
    csv = _table(tmp_path, ["mel", "NA", "nv", "NA"])
    with pytest.raises(
        DataError, match=r"\['NA'\].*row\(s\) 1, 3.*read as a missing value.*classes="
    ):
        load_csv(csv)
    records = load_csv(csv, classes=["mel", "nv", "NA"])
    assert records.class_counts() == {"mel": 1, "nv": 1, "NA": 2}


def test_csv_paths_outside_the_root_are_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "secret.png")
    csv = _table(data, ["mel", "nv"], images=["0.png", "../secret.png"])
    with pytest.raises(DataError, match=r"1 image path\(s\).*outside.*row 1: '\.\./secret\.png'"):
        load_csv(csv)
    absolute = _table(data, ["mel", "nv"], images=["0.png", str(tmp_path / "secret.png")])
    with pytest.raises(DataError, match="allow_outside_root=True"):
        load_csv(absolute)
    records = load_csv(absolute, allow_outside_root=True)
    assert records.paths[1] == str(tmp_path / "secret.png")
