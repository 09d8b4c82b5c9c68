import warnings

import numpy as np
import pandas as pd
import pytest

from dermnet import LeakageError, ParameterError
from dermnet.data import Records, load_sample, split
from dermnet.imbalance import (
    LeakageWarning,
    balanced_dataset,
    ensure_training_split,
    oversample,
    resample,
    undersample,
)

RESAMPLERS = [oversample, undersample, resample]


@pytest.fixture(scope="module")
def parts():
    return split(load_sample("ham10000"), test_size=0.25, val_size=0.15, seed=0)


def _spanning(parts, role="train", **extra):
    """What a user gets by concatenating the train and test tables and calling it training."""
    frame = pd.concat([parts.train.frame, parts.test.frame], ignore_index=True)
    frame = frame.assign(**extra) if extra else frame
    t = parts.train
    return Records(frame, t.classes, name=t.name, group_cols=t.group_cols, role=role)


@pytest.mark.parametrize("resampler", RESAMPLERS)
def test_the_training_split_is_accepted(parts, resampler):
    out = resampler(parts.train, holdout=[parts.val, parts.test])
    assert out.role == "train"


@pytest.mark.parametrize("resampler", RESAMPLERS)
@pytest.mark.parametrize("role", ["val", "test"])
def test_evaluation_splits_are_refused(parts, resampler, role):
    records = parts.val if role == "val" else parts.test
    with pytest.raises(LeakageError, match=f"role is '{role}'"):
        resampler(records)


@pytest.mark.parametrize("resampler", RESAMPLERS)
def test_resampling_records_that_span_train_and_test_is_refused(parts, resampler):
    spanning = _spanning(parts)
    with pytest.raises(LeakageError, match=r"overlap the holdout.*lesion_id"):
        resampler(spanning, holdout=parts.test)


def test_records_marked_with_several_splits_in_a_column_are_refused(parts):
    split_col = ["train"] * len(parts.train) + ["test"] * len(parts.test)
    spanning = _spanning(parts, split=split_col)
    with pytest.raises(LeakageError, match=f"span splits.*{len(parts.test)} row.*'test'"):
        oversample(spanning)
    # the fix the message suggests works
    train_only = spanning.subset(spanning.column("split") == "train", role="train")
    assert len(oversample(train_only)) > 0


def test_unsplit_records_are_refused_with_a_way_forward_or_accepted_loudly():
    records = load_sample("ham10000")  # role None: not split yet
    with pytest.raises(LeakageError, match=r"cannot tell.*dermnet.data.split"):
        oversample(records)
    with pytest.warns(LeakageWarning, match="role=None"):
        out = oversample(records, allow_unsplit=True)
    assert out.role is None
    assert len(oversample(records.with_role("train"))) == len(out)


def test_the_guard_checks_its_arguments(parts):
    with pytest.raises(ParameterError, match="'records'"):
        ensure_training_split(np.arange(3))
    with pytest.raises(ParameterError, match="'holdout'"):
        ensure_training_split(parts.train, holdout=[np.arange(3)])
    with pytest.raises(ParameterError, match="'allow_unsplit'"):
        ensure_training_split(parts.train, allow_unsplit="yes")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a proper training split raises no warning
        assert ensure_training_split(parts.train, holdout=parts.test) is parts.train


def test_the_balanced_stream_has_the_same_guard(parts):
    with pytest.raises(LeakageError, match="role is 'test'"):
        balanced_dataset(parts.test, 32, 8)
    with pytest.raises(LeakageError, match="overlap"):
        balanced_dataset(_spanning(parts), 32, 8, holdout=parts.test)
