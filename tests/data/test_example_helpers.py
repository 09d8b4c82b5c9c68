"""The helpers the examples used to write by hand: per-class subsample, benign/malignant
relabelling and the data root from ``DERMNET_DATA_ROOT``."""

import numpy as np
import pandas as pd
import pytest

from dermnet import MissingFileError, ParameterError
from dermnet.data import (
    HAM10000_MALIGNANT,
    Records,
    data_root,
    load_sample,
    split,
    to_benign_malignant,
)


def _records(counts, groups=False):
    labels = [c for c, k in counts.items() for _ in range(k)]
    frame = pd.DataFrame({"image_path": [f"{i}.jpg" for i in range(len(labels))], "label": labels})
    if groups:
        frame["lesion_id"] = [f"L{i // 2}" for i in range(len(labels))]
    return Records(frame, list(counts), group_cols=("lesion_id",) if groups else ())


def test_subsample_per_class_caps_each_class_and_keeps_order():
    rec = _records({"a": 10, "b": 3, "c": 6})
    sub = rec.subsample_per_class(4, seed=1)
    assert sub.class_counts() == {"a": 4, "b": 3, "c": 4}
    positions = [int(p.split(".")[0]) for p in sub.paths]
    assert positions == sorted(positions)  # the records' own order is kept
    assert set(positions) <= set(range(19))


def test_subsample_per_class_is_deterministic_and_seeded():
    rec = _records({"a": 30, "b": 30})
    assert rec.subsample_per_class(5, seed=3).paths == rec.subsample_per_class(5, seed=3).paths
    assert rec.subsample_per_class(5, seed=3).paths != rec.subsample_per_class(5, seed=4).paths


def test_subsample_per_class_matches_the_examples_hand_written_draw():
    rec = load_sample("ham10000")
    rng = np.random.default_rng(7)
    keep = [rng.permutation(np.flatnonzero(rec.labels == c))[:20] for c in range(rec.num_classes)]
    expected = rec.subset(np.sort(np.concatenate(keep)))
    got = rec.subsample_per_class(20, seed=7)
    assert got.paths == expected.paths
    assert got.group_cols == rec.group_cols
    assert got.role == rec.role


@pytest.mark.parametrize("n", [0, -1, 2.5, "3"])
def test_subsample_per_class_refuses_a_bad_n(n):
    with pytest.raises(ParameterError, match=r"'n' parameter of Records\.subsample_per_class"):
        _records({"a": 3}).subsample_per_class(n)


def test_to_benign_malignant_uses_the_standard_mapping():
    assert HAM10000_MALIGNANT == ("akiec", "bcc", "mel")
    rec = load_sample("ham10000")
    binary = to_benign_malignant(rec)
    assert binary.classes == ("benign", "malignant")
    assert binary.name == f"{rec.name}_binary"
    dx = binary.column("dx")
    assert (dx == rec.column("label")).all()
    expected = np.isin(dx, ["mel", "bcc", "akiec"]).astype(int)
    np.testing.assert_array_equal(binary.labels, expected)
    counts = rec.class_counts()
    assert binary.class_counts()["malignant"] == counts["mel"] + counts["bcc"] + counts["akiec"]
    assert binary.group_cols == ("lesion_id",)
    assert binary.metadata_cols == rec.metadata_cols


def test_to_benign_malignant_keeps_the_role_so_splits_stay_usable():
    train = split(load_sample("ham10000"), seed=0).train
    binary = to_benign_malignant(train)
    assert binary.role == "train"
    assert len(binary) == len(train)


def test_to_benign_malignant_refuses_classes_the_records_lack():
    cells = load_sample("malaria")
    with pytest.raises(ParameterError, match="'malignant' parameter of to_benign_malignant"):
        to_benign_malignant(cells)
    with pytest.raises(ParameterError, match="'records' parameter"):
        to_benign_malignant(cells.frame)


def test_data_root_reads_the_environment_variable(tmp_path, monkeypatch):
    (tmp_path / "ham10000").mkdir()
    monkeypatch.setenv("DERMNET_DATA_ROOT", str(tmp_path))
    assert data_root() == tmp_path.resolve()
    assert data_root("ham10000") == (tmp_path / "ham10000").resolve()
    with pytest.raises(
        MissingFileError, match=r"No folder .*isic2020.*sub-folders are \['ham10000'\]"
    ):
        data_root("isic2020")


def test_data_root_names_the_variable_when_unset_or_wrong(tmp_path, monkeypatch):
    monkeypatch.delenv("DERMNET_DATA_ROOT", raising=False)
    with pytest.raises(MissingFileError, match="DERMNET_DATA_ROOT is not set"):
        data_root()
    monkeypatch.setenv("DERMNET_DATA_ROOT", str(tmp_path / "absent"))
    with pytest.raises(MissingFileError, match=r"DERMNET_DATA_ROOT=.*absent.*not an existing"):
        data_root()
    with pytest.raises(ParameterError, match="'dataset' parameter of data_root"):
        data_root("")
