import matplotlib
import pandas as pd
import pytest

from dermnet import ParameterError
from dermnet.data import Records, describe, load_sample, split
from tests.conftest import shared_dataset

matplotlib.use("Agg")


def _records():
    frame = pd.DataFrame(
        {
            "image_path": [f"/x/{i}.jpg" for i in range(6)],
            "label": ["nv", "nv", "nv", "mel", "mel", "nv"],
            "lesion_id": ["L1", "L1", "L2", "L3", "L4", "L5"],
            "age": [30.0, 30.0, None, 60.0, 70.0, 40.0],
            "sex": ["male", "male", "female", "male", "unknown", "female"],
            "localization": ["back", "back", "face", "back", "trunk", "face"],
        }
    )
    return Records(
        frame,
        ["mel", "nv"],
        group_cols=("lesion_id",),
        metadata_cols=("age", "sex", "localization"),
    )


def test_tables_on_known_records():
    info = describe(_records())
    assert info.counts.to_dict(orient="index") == {
        "mel": {"all": 2, "share": 33.3},
        "nv": {"all": 4, "share": 66.7},
    }
    assert info.imbalance_ratio == 2.0
    assert info.groups.iloc[0].to_dict() == {
        "part": "all",
        "group": "lesion_id",
        "images": 6,
        "groups": 5,
        "images_per_group": 1.2,
        "groups_with_2+_images": 1,
    }
    assert info.age.loc["mel", "mean"] == 65.0
    assert info.age.loc["nv", "missing"] == 1
    assert info.sex.loc["male"].tolist() == [1, 2]
    assert info.sex.loc["(missing)"].tolist() == [1, 0]  # "unknown" counts as missing
    assert info.site.loc["back"].tolist() == [1, 2]
    assert info.columns == {"age": "age", "sex": "sex", "site": "localization"}
    text = info.summary()
    assert "imbalance (largest / smallest class): 2.0x" in text


def test_split_parts_figures_and_files(tmp_path):
    parts = split(load_sample("ham10000"), test_size=0.2, val_size=0.1, seed=0)
    info = describe(parts)
    assert list(info.counts.columns) == ["train", "val", "test", "all", "share"]
    assert info.counts["all"].sum() == 700
    assert info.counts.loc["df", "all"] == 50
    figs = info.figures()
    assert sorted(figs) == ["age", "class_balance", "sex", "site"]
    assert len(figs["class_balance"].axes[0].patches) == 3 * 7  # a bar per class and part
    written = info.save(tmp_path / "describe")
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "summary.txt",
            "counts.csv",
            "groups.csv",
            "age.csv",
            "sex.csv",
            "site.csv",
            "class_balance.png",
            "age.png",
            "sex.png",
            "site.png",
        ]
    )
    assert (tmp_path / "describe" / "site.png").stat().st_size > 1000


def test_bad_inputs():
    with pytest.raises(ParameterError, match="'data' parameter of describe"):
        describe("ham10000")
    with pytest.raises(ParameterError, match="'age' parameter of describe"):
        describe(_records(), age="years")
    other = Records(pd.DataFrame({"image_path": ["a"], "label": ["x"]}), ["x"])
    with pytest.raises(ParameterError, match="one class list"):
        describe({"a": _records(), "b": other})


@pytest.mark.slow
def test_real_ham10000_and_isic2020_descriptions():
    from dermnet.data import load_ham10000, load_isic2020

    ham = describe(load_ham10000(shared_dataset("ham10000")))
    assert ham.counts["all"].to_dict() == {
        "akiec": 327,
        "bcc": 514,
        "bkl": 1099,
        "df": 115,
        "mel": 1113,
        "nv": 6705,
        "vasc": 142,
    }
    assert ham.groups.iloc[0]["groups"] == 7470
    assert round(ham.imbalance_ratio, 1) == 58.3  # 6705 / 115
    assert ham.sex.loc["male"].sum() == 5406
    assert ham.site.loc["back"].sum() == 2192
    isic = describe(load_isic2020(shared_dataset("isic2020_metadata"), check_files=False))
    assert isic.counts.loc["malignant", "all"] == 584
    assert isic.columns["site"] == "anatom_site_general_challenge"
    assert isic.site.loc["torso"].sum() == 16845
    assert isic.site.loc["(missing)"].sum() == 527
    assert isic.age.loc["malignant", "median"] > isic.age.loc["benign", "median"]
