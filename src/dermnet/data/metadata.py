"""Encoding of patient and lesion metadata (age, sex, body site) as a model input vector."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, LeakageError, ParameterError
from dermnet._core.validation import check_option
from dermnet.data.records import Records, _missing, check_records

__all__ = ["MetadataEncoder", "UnseenCategoryWarning"]

_SCALES = ("standard", "minmax", "none")


class UnseenCategoryWarning(UserWarning):
    """A category absent from the training records was encoded as all zeros."""


def _is_numeric(values: pd.Series) -> bool:
    present = values[~_missing(values)]
    if present.empty:
        return False
    return bool(pd.to_numeric(present, errors="coerce").notna().all())


class MetadataEncoder:
    """Turns metadata columns into a float32 vector per image, fitted on training data only.

    Numeric columns (age) are filled where missing with the training median, flagged in
    an ``<col>_missing`` column, and scaled with training statistics. Categorical columns
    (sex, body site) are one-hot encoded over the categories seen in training, with a
    ``<col>_missing`` flag; a category not seen in training is encoded as all zeros and
    counted in an `UnseenCategoryWarning`, never silently. Missing means NaN or one
    of `MISSING_STRINGS` (HAM10000 writes ``unknown``).

    The fitted state is JSON-serializable (`to_dict`), so a saved training run can
    re-apply exactly the same encoding at inference.

    Args:
        numeric: numeric columns; with ``categorical`` also ``None`` (default), both are
            inferred from ``records.metadata_cols`` (a column whose present values all
            parse as numbers is numeric).
        categorical: categorical columns.
        scale: ``"standard"`` (z-score, default), ``"minmax"`` (to [0, 1]) or ``"none"``.

    Attributes:
        numeric_: numeric columns after `fit`.
        categorical_: categorical columns after `fit`.
        stats_: per numeric column ``{"center", "scale", "fill"}`` (training statistics).
        categories_: per categorical column, the sorted training categories.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> parts = split(load_sample("ham10000"), test_size=0.2, seed=0)
        >>> encoder = MetadataEncoder().fit(parts.train)
        >>> encoder.feature_names[:4]
        ['age', 'age_missing', 'sex=female', 'sex=male']
        >>> encoder.transform(parts.train).shape == (len(parts.train), encoder.dim)
        True
    """

    def __init__(
        self,
        *,
        numeric: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        scale: str = "standard",
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.scale = scale

    # -- fitting ----------------------------------------------------------------------------
    def _columns(self, records: Records) -> tuple[list[str], list[str]]:
        if self.numeric is None and self.categorical is None:
            frame = records.frame
            numeric = [c for c in records.metadata_cols if _is_numeric(frame[c])]
            categorical = [c for c in records.metadata_cols if c not in numeric]
        else:
            numeric = [str(c) for c in (self.numeric or ())]
            categorical = [str(c) for c in (self.categorical or ())]
        both = sorted(set(numeric) & set(categorical))
        if both:
            raise ParameterError(
                f"MetadataEncoder columns must be numeric or categorical, not both: {both}."
            )
        if not numeric and not categorical:
            raise DataError(
                f"MetadataEncoder has no columns to encode: records {records.name!r} have no "
                "metadata_cols; pass numeric=[...] and/or categorical=[...]."
            )
        return numeric, categorical

    def fit(self, records: Records) -> MetadataEncoder:
        """Learn the statistics and categories from the *training* records.

        Raises:
            LeakageError: ``records`` are a validation or test part (their statistics
                must not shape the encoding).
            DataError: a column is missing or a numeric column holds text.
        """
        check_records(records, "MetadataEncoder.fit")
        if records.role in ("val", "test"):
            raise LeakageError(
                f"MetadataEncoder.fit was given records whose role is {records.role!r}. Fit "
                "it on the training part only (e.g. parts.train) and use transform() on the "
                "validation and test parts, so that their statistics do not leak."
            )
        scale = check_option(self.scale, _SCALES, "scale", "MetadataEncoder")
        numeric, categorical = self._columns(records)
        frame = self._frame(records, [*numeric, *categorical])
        stats = {}
        for col in numeric:
            values = self._numbers(frame[col], col, records)
            present = values[~np.isnan(values)]
            if present.size == 0:
                raise DataError(
                    f"Column {col!r} of records {records.name!r} has no values to fit on."
                )
            if scale == "standard":
                center, spread = float(present.mean()), float(present.std())
            elif scale == "minmax":
                center, spread = float(present.min()), float(present.max() - present.min())
            else:
                center, spread = 0.0, 1.0
            stats[col] = {
                "center": center,
                "scale": spread if spread > 0 else 1.0,
                "fill": float(np.median(present)),
            }
        categories = {}
        for col in categorical:
            values = frame[col]
            present = values[~_missing(values)].astype(str).str.strip()
            categories[col] = sorted(set(present))
        self.numeric_ = numeric
        self.categorical_ = categorical
        self.stats_ = stats
        self.categories_ = categories
        return self

    # -- encoding ---------------------------------------------------------------------------
    @staticmethod
    def _frame(records: Records, columns: list[str]) -> pd.DataFrame:
        frame = records.frame
        lacking = [c for c in columns if c not in frame.columns]
        if lacking:
            raise DataError(
                f"The records {records.name!r} lack the metadata column(s) {lacking}; their "
                f"columns are {list(frame.columns)}."
            )
        return frame[columns]

    @staticmethod
    def _numbers(values: pd.Series, col: str, records: Records) -> np.ndarray:
        missing = _missing(values)
        numbers = pd.to_numeric(values.where(~missing), errors="coerce")
        bad = numbers.isna() & ~missing
        if bad.any():
            rows = [int(i) for i in np.flatnonzero(bad.to_numpy())[:5]]
            shown = sorted({str(v) for v in values[bad]})[:5]
            raise DataError(
                f"Numeric metadata column {col!r} of records {records.name!r} holds "
                f"non-numbers {shown} (first rows: {rows})."
            )
        return numbers.to_numpy(dtype=np.float64, na_value=np.nan)

    def _check_fitted(self) -> None:
        if not hasattr(self, "stats_"):
            raise ParameterError(
                "This MetadataEncoder is not fitted yet; call fit(train_records) first."
            )

    def transform(self, records: Records) -> np.ndarray:
        """Encode ``records`` (any role) with the fitted statistics.

        Returns:
            float32 array of shape ``(len(records), dim)``.

        Raises:
            DataError: a column is missing or a numeric column holds text.
        """
        self._check_fitted()
        frame = self._frame(records, [*self.numeric_, *self.categorical_])
        blocks: list[np.ndarray] = []
        for col in self.numeric_:
            values = self._numbers(frame[col], col, records)
            stat = self.stats_[col]
            missing = np.isnan(values)
            filled = np.where(missing, stat["fill"], values)
            blocks.append(((filled - stat["center"]) / stat["scale"])[:, None])
            blocks.append(missing[:, None].astype(np.float64))
        unseen: dict[str, dict[str, int]] = {}
        for col in self.categorical_:
            values = frame[col]
            missing = _missing(values).to_numpy()
            text = values.astype(object).where(~missing, "").astype(str).str.strip().to_numpy()
            cats = self.categories_[col]
            onehot = (text[:, None] == np.array(cats, dtype=object)[None, :]).astype(np.float64)
            blocks.append(onehot.reshape(len(text), len(cats)))
            blocks.append(missing[:, None].astype(np.float64))
            new = ~missing & (onehot.sum(axis=1) == 0)
            if new.any():
                unseen[col] = pd.Series(text[new]).value_counts().to_dict()
        if unseen:
            parts = [
                f"{col}: " + ", ".join(f"{k!r} ({v})" for k, v in list(counts.items())[:5])
                for col, counts in unseen.items()
            ]
            total = sum(sum(c.values()) for c in unseen.values())
            warnings.warn(
                f"MetadataEncoder: {total} value(s) of records {records.name!r} were not seen "
                f"in training and are encoded as all zeros: {'; '.join(parts)}.",
                UnseenCategoryWarning,
                stacklevel=2,
            )
        out = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(records), 0))
        return out.astype(np.float32)

    def fit_transform(self, records: Records) -> np.ndarray:
        """`fit` then `transform` the same (training) records."""
        return self.fit(records).transform(records)

    @property
    def feature_names(self) -> list[str]:
        """Name of each output column, e.g. ``["age", "age_missing", "sex=female", ...]``."""
        self._check_fitted()
        names: list[str] = []
        for col in self.numeric_:
            names += [col, f"{col}_missing"]
        for col in self.categorical_:
            names += [f"{col}={c}" for c in self.categories_[col]] + [f"{col}_missing"]
        return names

    @property
    def dim(self) -> int:
        """Length of the encoded vector."""
        return len(self.feature_names)

    # -- (de)serialization ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict of the parameters and (if fitted) the fitted state."""
        from dermnet._version import __version__

        data: dict[str, Any] = {
            "class_name": type(self).__name__,
            "dermnet_version": __version__,
            "config": {
                "numeric": None if self.numeric is None else list(self.numeric),
                "categorical": None if self.categorical is None else list(self.categorical),
                "scale": self.scale,
            },
        }
        if hasattr(self, "stats_"):
            data["state"] = {
                "numeric": list(self.numeric_),
                "categorical": list(self.categorical_),
                "stats": {c: dict(s) for c, s in self.stats_.items()},
                "categories": {c: list(v) for c, v in self.categories_.items()},
            }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MetadataEncoder:
        """Rebuild an encoder (fitted if the dict holds a state) from `to_dict`."""
        if not isinstance(data, dict) or "config" not in data:
            raise ParameterError(
                "The 'data' parameter of MetadataEncoder.from_dict must be a dict written by "
                f"to_dict() (with a 'config' key). Got {data!r} instead."
            )
        if data.get("class_name", cls.__name__) != cls.__name__:
            raise ParameterError(
                f"This dict describes a {data['class_name']!r}, not a {cls.__name__!r}."
            )
        config = dict(data["config"])
        unknown = sorted(set(config) - {"numeric", "categorical", "scale"})
        if unknown:
            raise ParameterError(f"MetadataEncoder.from_dict got unknown fields {unknown}.")
        encoder = cls(**config)
        state = data.get("state")
        if state is not None:
            encoder.numeric_ = list(state["numeric"])
            encoder.categorical_ = list(state["categorical"])
            encoder.stats_ = {
                c: {k: float(v) for k, v in s.items()} for c, s in state["stats"].items()
            }
            for col, stat in encoder.stats_.items():
                if not all(math.isfinite(v) for v in stat.values()):
                    raise ParameterError(f"MetadataEncoder.from_dict: bad statistics for {col!r}.")
            encoder.categories_ = {c: list(v) for c, v in state["categories"].items()}
        return encoder

    def __repr__(self) -> str:
        fitted = f", dim={self.dim}" if hasattr(self, "stats_") else ", not fitted"
        return (
            f"MetadataEncoder(numeric={self.numeric!r}, categorical={self.categorical!r}, "
            f"scale={self.scale!r}{fitted})"
        )
