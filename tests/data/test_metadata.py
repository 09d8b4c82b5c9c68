import json

import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, LeakageError, ParameterError
from dermnet.data import MetadataEncoder, Records, UnseenCategoryWarning
from tests.conftest import shared_dataset


def _records(ages, sexes, sites, role="train"):
    n = len(ages)
    frame = pd.DataFrame(
        {
            "image_path": [f"/x/{i}.jpg" for i in range(n)],
            "label": ["a"] * n,
            "age": ages,
            "sex": sexes,
            "site": sites,
        }
    )
    return Records(frame, ["a"], metadata_cols=("age", "sex", "site"), role=role)


def test_known_encoding_of_numbers_categories_and_missing_values():
    train = _records(
        [20.0, 40.0, None, 60.0],
        ["male", "female", "unknown", "male"],
        ["back", "face", "back", None],
    )
    enc = MetadataEncoder().fit(train)
    assert enc.numeric_ == ["age"]
    assert enc.categorical_ == ["sex", "site"]
    assert enc.feature_names == [
        "age",
        "age_missing",
        "sex=female",
        "sex=male",
        "sex_missing",
        "site=back",
        "site=face",
        "site_missing",
    ]
    assert enc.dim == 8
    std = np.std([20.0, 40.0, 60.0])
    out = enc.transform(train)
    assert out.dtype == np.float32
    np.testing.assert_allclose(
        out,
        [
            [(20 - 40) / std, 0, 0, 1, 0, 1, 0, 0],
            [0, 0, 1, 0, 0, 0, 1, 0],
            [0, 1, 0, 0, 1, 1, 0, 0],  # age filled with the median (40) and flagged
            [(60 - 40) / std, 0, 0, 1, 0, 0, 0, 1],
        ],
        rtol=1e-6,
    )


def test_statistics_come_from_training_only_and_unseen_categories_warn():
    train = _records([10.0, 30.0], ["male", "female"], ["back", "face"])
    test = _records([100.0, None], ["other", "male"], ["palms", "back"], role="test")
    enc = MetadataEncoder(scale="minmax").fit(train)
    with pytest.warns(
        UnseenCategoryWarning, match=r"2 value\(s\).*sex: 'other' \(1\).*site: 'palms'"
    ):
        out = enc.transform(test)
    np.testing.assert_allclose(out[0], [4.5, 0, 0, 0, 0, 0, 0, 0])  # (100-10)/20, zeros
    np.testing.assert_allclose(out[1], [0.5, 1, 0, 1, 0, 1, 0, 0])  # median 20 -> 0.5


def test_fit_refuses_held_out_records():
    test = _records([10.0], ["male"], ["back"], role="test")
    with pytest.raises(LeakageError, match=r"role is 'test'.*training part only"):
        MetadataEncoder().fit(test)
    with pytest.raises(LeakageError, match="'val'"):
        MetadataEncoder().fit(test.with_role("val"))


def test_round_trip_through_json_gives_the_same_encoding():
    train = _records([20.0, 40.0, 61.0], ["male", "female", "male"], ["back", "face", "back"])
    enc = MetadataEncoder().fit(train)
    text = json.dumps(enc.to_dict())
    again = MetadataEncoder.from_dict(json.loads(text))
    np.testing.assert_array_equal(again.transform(train), enc.transform(train))
    assert again.feature_names == enc.feature_names
    unfitted = MetadataEncoder.from_dict(MetadataEncoder(numeric=["age"]).to_dict())
    with pytest.raises(ParameterError, match="not fitted"):
        unfitted.transform(train)
    with pytest.raises(ParameterError, match="unknown fields"):
        MetadataEncoder.from_dict({"config": {"colour": 1}})


def test_explicit_columns_and_bad_columns():
    train = _records([20.0, 40.0], ["male", "female"], ["back", "face"])
    enc = MetadataEncoder(categorical=["site"]).fit(train)
    assert enc.feature_names == ["site=back", "site=face", "site_missing"]
    with pytest.raises(DataError, match=r"lack the metadata column\(s\) \['weight'\]"):
        MetadataEncoder(numeric=["weight"]).fit(train)
    with pytest.raises(DataError, match=r"holds non-numbers \['female', 'male'\]"):
        MetadataEncoder(numeric=["sex"]).fit(train)
    with pytest.raises(ParameterError, match="not both"):
        MetadataEncoder(numeric=["age"], categorical=["age"]).fit(train)
    with pytest.raises(ParameterError, match="'scale' parameter of MetadataEncoder"):
        MetadataEncoder(scale="zscore").fit(train)
    bare = Records(pd.DataFrame({"image_path": ["a"], "label": ["a"]}), ["a"])
    with pytest.raises(DataError, match="no metadata_cols"):
        MetadataEncoder().fit(bare)


@pytest.mark.slow
def test_real_isic2020_metadata_encoding():
    from dermnet.data import load_isic2020, split

    rec = load_isic2020(shared_dataset("isic2020_metadata"), check_files=False)
    parts = split(rec, test_size=0.2, seed=0)
    enc = MetadataEncoder().fit(parts.train)
    assert enc.feature_names[:5] == [
        "age_approx",
        "age_approx_missing",
        "sex=female",
        "sex=male",
        "sex_missing",
    ]
    assert enc.dim == 12  # age (2) + sex (3) + 6 sites + site missing
    out = enc.transform(parts.test)
    assert out.shape == (len(parts.test), 12)
    assert np.isfinite(out).all()
    assert abs(float(enc.transform(parts.train)[:, 0].mean())) < 0.05  # z-scored on train
    missing_site = out[:, -1].sum()
    assert 0 < missing_site < 0.05 * len(out)
