"""Stacking on out-of-fold predictions, and measuring what each addition to a model adds.

`stack_oof` fits a logistic regression on out-of-fold predictions (one or several CV runs
over the same images and folds). Its own out-of-fold scores are cross-fitted: the rows of
fold ``f`` are scored by a stacker fitted on the other folds only, so no row is ever
scored by a stacker that saw its own fold.

`ablation_table` scores named variants of a prediction on the same labelled images
(one model, + test-time augmentation, + ensembling, + metadata, + logit adjustment) and
gives each step's gain with a paired bootstrap interval: the same resampled images for
both sides of the difference. `ensemble_variants` computes the usual chain for an
ensemble folder.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_float, check_int, check_option, check_seed

__all__ = ["StackingResult", "ablation_table", "ensemble_variants", "stack_oof"]

_EPS = 1e-6


def _features(blocks: Sequence[np.ndarray]) -> np.ndarray:
    return np.concatenate([np.log(np.clip(b, _EPS, 1.0)) for b in blocks], axis=1)


@dataclasses.dataclass(frozen=True)
class StackingResult:
    """What `stack_oof` returns.

    Attributes:
        classes: the class names.
        oof: the cross-fitted stacked probabilities ``(n, classes)``, in the rows of the
            first table (no row scored by a stacker fitted on its own fold).
        labels: the integer labels of those rows.
        folds: the fold of each row.
        model: the logistic regression fitted on all rows, for new predictions.
    """

    classes: tuple[str, ...]
    oof: np.ndarray
    labels: np.ndarray
    folds: np.ndarray
    model: Any

    def predict(self, member_scores: Sequence[np.ndarray]) -> np.ndarray:
        """Stacked probabilities from each CV run's probabilities, in `stack_oof` order."""
        proba = self.model.predict_proba(_features([np.asarray(s) for s in member_scores]))
        out = np.zeros((len(proba), len(self.classes)))
        out[:, self.model.classes_] = proba
        return out


def _read(table: Any, classes: Sequence[str] | None) -> tuple[Any, np.ndarray]:
    import pandas as pd

    from dermnet.train.cv import read_oof

    if isinstance(table, pd.DataFrame):
        names = [c[2:] for c in table.columns if c.startswith("p_")] if classes is None else classes
        return table, table[[f"p_{c}" for c in names]].to_numpy(dtype=np.float64)
    return read_oof(table, classes)


def stack_oof(
    oofs: Sequence[Any],
    classes: Sequence[str] | None = None,
    *,
    C: float = 1.0,
    seed: int | None = 0,
) -> StackingResult:
    """Fit a logistic-regression stacker on out-of-fold predictions, without leakage.

    Args:
        oofs: out-of-fold tables (``oof.csv`` paths, CV folders or DataFrames from
            `dermnet.train.cross_validate`) over the same images with the same folds.
        classes: the class order (default: the ``p_`` columns of the first table).
        C: inverse regularisation strength of the logistic regression.
        seed: its seed.

    Returns:
        A `StackingResult`.

    Raises:
        DataError: tables over different images or folds.

    Examples:
        >>> import pandas as pd
        >>> rng = np.random.default_rng(0)
        >>> y = np.tile([0, 1], 20)
        >>> p = np.clip(0.5 + 0.3 * (2 * y - 1) + rng.normal(0, 0.2, 40), 0.01, 0.99)
        >>> table = pd.DataFrame({"image_path": [f"{i}.png" for i in range(40)],
        ...     "label": ["a", "b"] * 20, "fold": np.arange(40) % 4,
        ...     "p_a": 1 - p, "p_b": p})
        >>> result = stack_oof([table])
        >>> result.oof.shape, bool((result.oof.argmax(1) == y).mean() > 0.8)
        ((40, 2), True)
    """
    from sklearn.linear_model import LogisticRegression

    where = "stack_oof"
    C = check_float(C, "C", where, low=0.0, low_open=True)
    seed = check_seed(seed, "seed", where)
    if isinstance(oofs, (str, bytes)) or not oofs:
        raise ParameterError(
            f"The 'oofs' parameter of {where} must be a non-empty list of out-of-fold tables. "
            f"Got {oofs!r} instead."
        )
    first, first_scores = _read(oofs[0], classes)
    names = (
        tuple(classes)
        if classes is not None
        else tuple(c[2:] for c in first.columns if c.startswith("p_"))
    )
    order = first["image_path"].astype(str).to_numpy()
    blocks = [first_scores]
    for other in oofs[1:]:
        table, scores = _read(other, names)
        index = {p: i for i, p in enumerate(table["image_path"].astype(str))}
        if set(index) != set(order):
            raise DataError(f"The out-of-fold tables of {where} must cover the same images.")
        rows = np.array([index[p] for p in order])
        if not np.array_equal(table["fold"].to_numpy()[rows], first["fold"].to_numpy()):
            raise DataError(f"The out-of-fold tables of {where} must use the same folds.")
        blocks.append(scores[rows])
    lookup = {c: i for i, c in enumerate(names)}
    labels = first["label"].astype(str).map(lookup).to_numpy()
    if np.isnan(labels.astype(float)).any():
        raise DataError(f"The out-of-fold table of {where} has labels outside {list(names)}.")
    labels = labels.astype(np.int64)
    folds = first["fold"].to_numpy()
    x = _features(blocks)

    def fitted(rows: np.ndarray) -> Any:
        return LogisticRegression(C=C, max_iter=2000, random_state=seed).fit(x[rows], labels[rows])

    oof = np.zeros((len(x), len(names)))
    for f in np.unique(folds):
        held = folds == f
        model = fitted(~held)
        oof[np.ix_(held, model.classes_)] = model.predict_proba(x[held])
    return StackingResult(names, oof, labels, folds, fitted(np.ones(len(x), dtype=bool)))


# -- ablation --------------------------------------------------------------------------


def _resample_weights(y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``(n, len(y))`` bootstrap counts, resampled within each class (class sizes kept)."""
    w = np.zeros((n, len(y)))
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        w[:, rows] = rng.multinomial(len(rows), np.full(len(rows), 1.0 / len(rows)), size=n)
    return w


def _balanced_accuracy(y: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    correct = (scores.argmax(1) == y).astype(float)
    recalls = [(w[:, y == c] * correct[y == c]).sum(1) / w[:, y == c].sum(1) for c in np.unique(y)]
    return np.mean(recalls, axis=0)


def _weighted_auc(pos: np.ndarray, s: np.ndarray, w: np.ndarray) -> np.ndarray:
    """One-vs-rest ROC AUC for each row of weights (ties count one half)."""
    order = np.argsort(s, kind="mergesort")
    s, pos, w = s[order], pos[order], w[:, order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    pw = np.add.reduceat(w * pos, starts, axis=1)
    nw = np.add.reduceat(w * ~pos, starts, axis=1)
    below = np.cumsum(nw, axis=1) - nw
    total = pw.sum(1) * nw.sum(1)
    return (pw * (below + 0.5 * nw)).sum(1) / np.where(total > 0, total, np.nan)


def _macro_auc(y: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    aucs = [_weighted_auc(y == c, scores[:, c], w) for c in np.unique(y)]
    return np.nanmean(aucs, axis=0)


_METRICS = {"balanced_accuracy": _balanced_accuracy, "macro_auc": _macro_auc}


def ablation_table(
    y_true: Any,
    variants: Mapping[str, Any],
    *,
    compare: str = "previous",
    metrics: Sequence[str] = ("balanced_accuracy", "macro_auc"),
    n_bootstrap: int = 1000,
    ci: float = 0.95,
    seed: int | None = 0,
) -> list[dict[str, Any]]:
    """What each variant adds, with paired bootstrap intervals of the difference.

    Every variant is a probability array over the same images. The images are resampled
    (within each class) ``n_bootstrap`` times; each resample scores every variant, so a
    difference's interval reflects only the change between the variants, not the
    luck of the images both saw.

    Args:
        y_true: integer labels ``(n,)``.
        variants: ``{name: probabilities (n, classes)}`` in order, e.g. ``{"one model":
            ..., "+ TTA": ..., "+ 5-fold ensemble": ..., "+ logit adjustment": ...}``.
        compare: ``"previous"`` (each step against the one before) or ``"first"`` (each
            against the first variant).
        metrics: ``"balanced_accuracy"`` and/or ``"macro_auc"``.
        n_bootstrap: resamples.
        ci: the interval's level.
        seed: the resampling seed.

    Returns:
        One row per variant: ``variant``, then for each metric its value, its interval
        (``<metric>_low``/``_high``), the difference to the reference (``<metric>_gain``,
        ``None`` for the first) and the gain's interval.

    Raises:
        ParameterError: fewer than one variant, an unknown metric or ``compare``.
        DataError: a variant whose shape does not match the labels.

    Examples:
        >>> y = np.array([0, 0, 1, 1] * 10)
        >>> weak = np.tile([[0.6, 0.4], [0.4, 0.6], [0.6, 0.4], [0.4, 0.6]], (10, 1))
        >>> strong = np.eye(2)[y] * 0.8 + 0.1
        >>> rows = ablation_table(y, {"weak": weak, "strong": strong}, n_bootstrap=200)
        >>> rows[1]["balanced_accuracy_gain"], rows[1]["balanced_accuracy_gain_low"] > 0
        (0.5, True)
    """
    where = "ablation_table"
    compare = check_option(compare, ("previous", "first"), "compare", where)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", where, low=1)
    ci = check_float(ci, "ci", where, low=0.0, high=1.0, low_open=True, high_open=True)
    for m in metrics:
        check_option(m, tuple(_METRICS), "metrics", where)
    if not variants:
        raise ParameterError(f"The 'variants' parameter of {where} must name one variant or more.")
    y = np.asarray(y_true, dtype=np.int64)
    arrays = {}
    for name, scores in variants.items():
        array = np.asarray(scores, dtype=np.float64)
        if array.ndim != 2 or len(array) != len(y):
            raise DataError(
                f"The variant {name!r} of {where} must be probabilities ({len(y)}, classes). "
                f"Got shape {array.shape} instead."
            )
        arrays[name] = array
    rng = np.random.default_rng(check_seed(seed, "seed", where))
    w = _resample_weights(y, n_bootstrap, rng)
    ones = np.ones((1, len(y)))
    tail = (1 - ci) / 2
    values = {m: {v: _METRICS[m](y, a, ones)[0] for v, a in arrays.items()} for m in metrics}
    boots = {m: {v: _METRICS[m](y, a, w) for v, a in arrays.items()} for m in metrics}
    names = list(arrays)
    rows = []
    for i, name in enumerate(names):
        row: dict[str, Any] = {"variant": name}
        ref = None if i == 0 else names[i - 1] if compare == "previous" else names[0]
        for m in metrics:
            row[m] = float(values[m][name])
            low, high = np.nanquantile(boots[m][name], [tail, 1 - tail])
            row[f"{m}_low"], row[f"{m}_high"] = float(low), float(high)
            if ref is None:
                row[f"{m}_gain"] = row[f"{m}_gain_low"] = row[f"{m}_gain_high"] = None
                continue
            diff = boots[m][name] - boots[m][ref]
            low, high = np.nanquantile(diff, [tail, 1 - tail])
            row[f"{m}_gain"] = float(values[m][name] - values[m][ref])
            row[f"{m}_gain_low"], row[f"{m}_gain_high"] = float(low), float(high)
        rows.append(row)
    return rows


def ensemble_variants(
    folder: Any, split: str = "test", *, tta: str = "dihedral", tau: float = 1.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The usual chain for `ablation_table`, on an ensemble folder's own split.

    ``"one model"`` (the first member, no TTA), ``"+ TTA"`` (with ``tta``), ``"+ ensemble"``
    (the mean of all members with TTA), ``"+ logit adjustment"`` (``tau`` with the training
    prior). Metadata is compared by passing two ensembles' scores to `ablation_table`.

    Returns:
        ``(labels, variants)``.
    """
    from dermnet.imbalance import logit_adjust
    from dermnet.train.ensemble import member_scores
    from dermnet.train.run_folder import RunFolder

    folder = folder if isinstance(folder, RunFolder) else RunFolder(folder)
    records = folder.records(split)
    images, metadata = folder.read_records(records)
    plain = member_scores(folder, images, metadata, tta="none", logit_adjustment=False)
    augmented = member_scores(folder, images, metadata, tta=tta, logit_adjustment=False)
    if (folder.info.get("ensemble") or {}).get("combine") == "logit":
        log_mean = np.mean(np.log(np.clip(augmented, _EPS, 1.0)), axis=0)
        combined = np.exp(log_mean - log_mean.max(axis=1, keepdims=True))
        combined /= combined.sum(axis=1, keepdims=True)
    else:
        combined = np.mean(augmented, axis=0)
    variants = {"one model": plain[0], "+ TTA": augmented[0], "+ ensemble": combined}
    variants["+ logit adjustment"] = logit_adjust(combined, folder.class_counts, tau=tau)
    return records.labels, variants
