"""Out-of-distribution detection, evaluated honestly.

A score separates known inputs from unknown ones when the known ("in-distribution")
inputs score higher: every confidence of `dermnet.metrics.uncertainty.confidence_scores`
follows that rule. `ood_scores_report` gives, per score, the AUROC (known vs unknown)
and the false positive rate at 95% true positive rate (the share of unknown inputs
still accepted when 95% of known ones are), each with a bootstrap interval.

`leave_one_class_out` builds the honest experiment on a labelled dataset: train on all
classes but one, and treat the held-out class as the unknown lesions.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dermnet._core.errors import DataError, LeakageError
from dermnet._core.validation import check_float, check_int, check_seed, fail
from dermnet.metrics import UndefinedMetricWarning

if TYPE_CHECKING:
    from dermnet.data import Records

__all__ = [
    "OpenSetSplit",
    "auroc",
    "fpr_at_tpr",
    "leave_one_class_out",
    "ood_scores_report",
]


def _scores(values: Any, param: str, where: str) -> np.ndarray:
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise fail(param, where, "a non-empty 1-D array of scores", a.shape)
    if not np.all(np.isfinite(a)):
        raise DataError(f"{where}: {param!r} has NaN or infinite values.")
    return a


def auroc(in_scores: Any, out_scores: Any) -> float:
    """Probability that a known input scores above an unknown one (ties count half).

    Examples:
        >>> auroc([0.9, 0.8], [0.1, 0.8])
        0.875
    """
    a = _scores(in_scores, "in_scores", "auroc")
    b = _scores(out_scores, "out_scores", "auroc")
    return float(_auroc(a[None, :], b[None, :])[0])


def _auroc(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise AUROC of score matrices ``a (B, n_in)`` and ``b (B, n_out)``."""
    b_sorted = np.sort(b, axis=1)
    out = np.empty(len(a))
    for r in range(len(a)):
        below = np.searchsorted(b_sorted[r], a[r], side="left")
        not_above = np.searchsorted(b_sorted[r], a[r], side="right")
        out[r] = (below + 0.5 * (not_above - below)).sum() / (a.shape[1] * b.shape[1])
    return out


def fpr_at_tpr(in_scores: Any, out_scores: Any, tpr: float = 0.95) -> float:
    """Share of unknown inputs accepted at the threshold that accepts ``tpr`` of known ones.

    The threshold is the highest score that keeps at least ``tpr`` of the known inputs
    (score >= threshold); scores are accepted at or above it.

    Examples:
        >>> fpr_at_tpr([0.5, 0.6, 0.7, 0.8], [0.1, 0.2])
        0.0
        >>> fpr_at_tpr([0.5, 0.6, 0.7, 0.8], [0.55, 0.9], tpr=1.0)
        1.0
    """
    where = "fpr_at_tpr"
    a = _scores(in_scores, "in_scores", where)
    b = _scores(out_scores, "out_scores", where)
    tpr = check_float(tpr, "tpr", where, low=0.0, high=1.0, low_open=True)
    return float(_fpr(a[None, :], b[None, :], tpr)[0])


def _fpr(a: np.ndarray, b: np.ndarray, tpr: float) -> np.ndarray:
    n_in = a.shape[1]
    j = int(np.floor(n_in * (1.0 - tpr) + 1e-9))  # keep the n_in - j highest known scores
    thresholds = np.sort(a, axis=1)[:, min(j, n_in - 1)]
    return (b >= thresholds[:, None]).mean(axis=1)


def ood_scores_report(
    in_scores: Mapping[str, Any] | Any,
    out_scores: Mapping[str, Any] | Any,
    *,
    tpr: float = 0.95,
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> pd.DataFrame:
    """AUROC and FPR at ``tpr`` TPR of each score, known vs unknown, with intervals.

    Args:
        in_scores: ``{score name: (n_in,) scores}`` of the known inputs (or one array,
            named ``"score"``); higher must mean more in-distribution.
        out_scores: the same names for the unknown inputs.
        tpr: the true positive rate of the FPR column.
        n_bootstrap: resamples (known and unknown resampled separately, paired across
            scores); 0 for no intervals.
        ci: confidence level.
        seed: bootstrap seed.

    Returns:
        One row per score: ``score, n_in, n_out, auroc, auroc_low, auroc_high, fpr,
        fpr_low, fpr_high`` (``fpr`` is at ``tpr``). A constant score gets AUROC 0.5
        and FPR 1 with a warning: it cannot tell the two apart.

    Raises:
        DataError: the two mappings name different scores, or scores are not finite.

    Examples:
        >>> table = ood_scores_report({"msp": [0.9, 0.8, 0.95]}, {"msp": [0.3, 0.5]},
        ...                           n_bootstrap=0)
        >>> table[["score", "auroc", "fpr"]].values.tolist()
        [['msp', 1.0, 0.0]]
    """
    where = "ood_scores_report"
    tpr = check_float(tpr, "tpr", where, low=0.0, high=1.0, low_open=True)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", where, low=0)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_seed(seed, "seed", where)
    known = dict(in_scores) if isinstance(in_scores, Mapping) else {"score": in_scores}
    unknown = dict(out_scores) if isinstance(out_scores, Mapping) else {"score": out_scores}
    if set(known) != set(unknown):
        raise DataError(
            f"{where}: in_scores and out_scores must name the same scores. Got "
            f"{sorted(known)} and {sorted(unknown)}."
        )
    arrays = {
        name: (
            _scores(known[name], f"in_scores[{name!r}]", where),
            _scores(unknown[name], f"out_scores[{name!r}]", where),
        )
        for name in known
    }
    sizes = {(len(a), len(b)) for a, b in arrays.values()}
    if len(sizes) > 1:
        raise DataError(
            f"{where}: every score must cover the same inputs; sizes are {sorted(sizes)}."
        )
    n_in, n_out = sizes.pop()
    rng = np.random.default_rng(seed)
    idx_in = rng.integers(0, n_in, size=(n_bootstrap, n_in)) if n_bootstrap else None
    idx_out = rng.integers(0, n_out, size=(n_bootstrap, n_out)) if n_bootstrap else None
    tail = (1.0 - ci) / 2.0
    rows = []
    for name, (a, b) in arrays.items():
        if np.ptp(np.r_[a, b]) == 0:
            warnings.warn(
                f"{where}: score {name!r} is constant; it cannot separate known from unknown "
                "inputs (AUROC 0.5).",
                UndefinedMetricWarning,
                stacklevel=2,
            )
        row = {
            "score": name,
            "n_in": n_in,
            "n_out": n_out,
            "auroc": float(_auroc(a[None], b[None])[0]),
            "auroc_low": np.nan,
            "auroc_high": np.nan,
            "fpr": float(_fpr(a[None], b[None], tpr)[0]),
            "fpr_low": np.nan,
            "fpr_high": np.nan,
        }
        if n_bootstrap:
            ra, rb = a[idx_in], b[idx_out]
            for key, values in (("auroc", _auroc(ra, rb)), ("fpr", _fpr(ra, rb, tpr))):
                row[f"{key}_low"], row[f"{key}_high"] = (
                    float(v) for v in np.quantile(values, [tail, 1.0 - tail])
                )
        rows.append(row)
    return pd.DataFrame(rows)


@dataclasses.dataclass(frozen=True)
class OpenSetSplit:
    """Records for an open-set experiment from `leave_one_class_out`.

    Attributes:
        known: the records of every other class, with the held-out class removed from
            their class list (split them into train/val/test as usual).
        unknown: the held-out class's records, marked ``role="test"``: evaluation only.
        held_out: the held-out class name.
    """

    known: Records
    unknown: Records
    held_out: str


def leave_one_class_out(records: Records, held_out_class: str) -> OpenSetSplit:
    """Hold one class out as "unknown lesions" for out-of-distribution evaluation.

    Train on ``known`` (its classes are the others, in their order), then score the
    known test split and ``unknown`` with the same confidence and report them with
    `ood_scores_report`. A lesion or patient (the first group column) present on both
    sides would make the unknown set partly known, and is refused.

    Raises:
        UnknownNameError: ``held_out_class`` is not a class of the records.
        DataError: the held-out class has no records, or it is the only other class.
        LeakageError: a group id (e.g. ``lesion_id``) has records on both sides.

    Examples:
        >>> import pandas as pd
        >>> from dermnet.data import Records
        >>> frame = pd.DataFrame({"image_path": list("abcd"), "label": ["nv", "mel", "df", "nv"]})
        >>> parts = leave_one_class_out(Records(frame, ["mel", "nv", "df"]), "df")
        >>> parts.known.classes, len(parts.known), parts.unknown.role
        (('mel', 'nv'), 3, 'test')
    """
    from dermnet._core.validation import check_option

    where = "leave_one_class_out"
    held = check_option(held_out_class, records.classes, "held_out_class", where)
    labels = np.asarray(records.frame["label"])
    out_mask = labels == held
    if not out_mask.any():
        raise DataError(f"{where}: class {held!r} has no records in {records.name!r}.")
    rest = tuple(c for c in records.classes if c != held)
    if len(rest) < 2:
        raise DataError(
            f"{where}: holding out {held!r} leaves {list(rest)}; a classifier needs at least "
            "two known classes."
        )
    if records.group_cols:
        ids = records.groups()
        shared = set(ids[out_mask]) & set(ids[~out_mask])
        if shared:
            raise LeakageError(
                f"{where}: {len(shared)} {records.group_cols[0]} value(s) have records in "
                f"class {held!r} and in other classes (first: {sorted(shared)[:3]}); the "
                "unknown set would not be unknown."
            )
    from dermnet.data import Records as _Records

    kept = records.subset(~out_mask)
    known = _Records(
        kept.frame,
        rest,
        name=f"{records.name} without {held}",
        group_cols=records.group_cols,
        metadata_cols=records.metadata_cols,
        role=records.role,
        excluded=records.excluded,
        images=kept.images,
    )
    unknown = records.subset(out_mask, role="test")
    return OpenSetSplit(known=known, unknown=unknown, held_out=held)
