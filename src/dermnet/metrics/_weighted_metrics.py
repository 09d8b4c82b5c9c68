"""Vectorised classification metrics over many weightings of the same samples.

A bootstrap resample is a vector of multiplicities ``w`` (how often each sample was
drawn). Every metric dermnet bootstraps is a function of weighted sums, so one matrix
``W`` of shape ``(resamples, n)`` gives all resamples at once: confusion matrices by one
matrix product, ROC AUC by sorting each class's scores once and summing weights per tie
group (exactly the Mann-Whitney statistic, ties counted half, as scikit-learn does). The
point estimate is the same code with ``W = ones((1, n))``, so the point estimate and the
intervals cannot disagree on a definition.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

__all__ = ["MetricEngine", "bin_edges", "bin_index", "bootstrap_weights"]


def bin_edges(n_bins: int) -> np.ndarray:
    """Equal-width bin edges on [0, 1]."""
    return np.linspace(0.0, 1.0, n_bins + 1)


def bin_index(values: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin of each value, as ``sklearn.calibration.calibration_curve`` assigns them.

    A value on an inner edge goes to the lower bin; 1.0 goes to the last bin.
    """
    return np.searchsorted(bin_edges(n_bins)[1:-1], values, side="left")


def _divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1.0), np.nan)


class MetricEngine:
    """Precomputed sample facts; `compute` evaluates every metric for each row of W.

    Args:
        y: int labels ``(n,)``.
        scores: probabilities ``(n, k)``.
        n_bins: calibration bins.
        positive_class: class of interest for sensitivity at specificity, or ``None``.
        specificities: the specificity targets.
    """

    def __init__(
        self,
        y: np.ndarray,
        scores: np.ndarray,
        *,
        n_bins: int = 15,
        positive_class: int | None = None,
        specificities: Sequence[float] = (),
    ) -> None:
        self.n, self.k = scores.shape
        k = self.k
        self.y = y
        pred = scores.argmax(axis=1)
        self._cells = np.zeros((self.n, k * k))
        self._cells[np.arange(self.n), y * k + pred] = 1.0
        confidence = scores.max(axis=1)
        self._bins = np.zeros((self.n, n_bins))
        self._bins[np.arange(self.n), bin_index(confidence, n_bins)] = 1.0
        self._gap = (pred == y).astype(np.float64) - confidence
        one_hot = np.eye(k)[y]
        brier = np.sum((scores - one_hot) ** 2, axis=1)
        self._brier = brier / 2.0 if k == 2 else brier  # k == 2: the usual binary Brier score
        self._sorted = []
        for c in range(k):
            order = np.argsort(scores[:, c], kind="stable")
            s = scores[order, c]
            starts = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
            self._sorted.append((order, (y[order] == c).astype(np.float64), starts))
        self.positive_class = positive_class
        self.specificities = tuple(float(s) for s in specificities)

    def _group_sums(self, W: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights of positives and negatives per tie group (scores ascending), and the
        cumulative negative weight up to and including each group; arrays ``(B, groups)``."""
        order, positive, starts = self._sorted[c]
        Ws = np.take(W, order, axis=1)
        cum_pos = np.cumsum(Ws * positive, axis=1)
        cum_neg = np.cumsum(Ws, axis=1) - cum_pos
        if len(starts) < len(order):  # ties: keep the last column of each tie group
            ends = np.r_[starts[1:] - 1, len(order) - 1]
            cum_pos, cum_neg = cum_pos[:, ends], cum_neg[:, ends]
        pos = np.diff(cum_pos, axis=1, prepend=0.0)
        neg = np.diff(cum_neg, axis=1, prepend=0.0)
        return pos, neg, cum_neg

    def _auc(self, W: np.ndarray, c: int) -> np.ndarray:
        """One-vs-rest ROC AUC of class ``c`` for each row of W (ties count half)."""
        order, positive, starts = self._sorted[c]
        if len(starts) < len(order):
            pos, neg, cum_neg = self._group_sums(W, c)
            wins = (pos * (cum_neg - 0.5 * neg)).sum(axis=1)
        else:  # no ties: each positive beats the negatives sorted below it
            Ws = np.take(W, order, axis=1)
            pos = Ws * positive
            wins = (pos * np.cumsum(Ws - pos, axis=1)).sum(axis=1)
        n_pos = (W * (self.y == c)).sum(axis=1)
        return _divide(wins, n_pos * (W.sum(axis=1) - n_pos))

    def compute(self, W: np.ndarray) -> dict[str, np.ndarray]:
        """Every metric for each weighting; undefined values are NaN."""
        W = np.atleast_2d(np.asarray(W, dtype=np.float64))
        k = self.k
        total = W.sum(axis=1)
        cm = (W @ self._cells).reshape(-1, k, k)
        true = cm.sum(axis=2)
        predicted = cm.sum(axis=1)
        tp = np.diagonal(cm, axis1=1, axis2=2)
        out: dict[str, np.ndarray] = {}
        out["accuracy"] = tp.sum(axis=1) / total
        recall = _divide(tp, true)
        out["recall"] = recall
        with np.errstate(invalid="ignore"):
            out["balanced_accuracy"] = np.nanmean(np.where(true > 0, recall, np.nan), axis=1)
        out["precision"] = np.where(predicted > 0, _divide(tp, predicted), 0.0)
        f1 = np.where(true + predicted > 0, _divide(2 * tp, true + predicted), 0.0)
        out["f1"] = f1
        seen = true + predicted > 0
        out["macro_f1"] = _divide((f1 * seen).sum(axis=1), seen.sum(axis=1).astype(float))
        out["weighted_f1"] = _divide((f1 * true).sum(axis=1), true.sum(axis=1))
        negatives = total[:, None] - true
        out["specificity"] = _divide(negatives - (predicted - tp), negatives)
        observed = tp.sum(axis=1) / total
        expected = (true * predicted).sum(axis=1) / total**2
        chance = 1.0 - expected
        out["cohen_kappa"] = _divide(observed - expected, np.where(chance > 1e-12, chance, 0.0))
        cov_tp = tp.sum(axis=1) * total - (true * predicted).sum(axis=1)
        cov_pp = total**2 - (predicted**2).sum(axis=1)
        cov_tt = total**2 - (true**2).sum(axis=1)
        # 0 when all labels or all predictions are one class (scikit-learn's convention)
        out["mcc"] = np.nan_to_num(_divide(cov_tp, np.sqrt(cov_tt * cov_pp)), nan=0.0)
        aucs = np.full((W.shape[0], k), np.nan)
        for c in range(k):
            aucs[:, c] = self._auc(W, c)
        if self.positive_class is not None and self.specificities:
            pos, neg, _ = self._group_sums(W, self.positive_class)
            out["sensitivity_at_specificity"] = self._sens_at_spec(pos, neg)
        out["auc"] = aucs
        with np.errstate(invalid="ignore"):
            defined = ~np.isnan(aucs)
            out["macro_auc"] = _divide(np.nansum(aucs, axis=1), defined.sum(axis=1).astype(float))
        gaps = W @ (self._bins * self._gap[:, None])
        out["ece"] = np.abs(gaps).sum(axis=1) / total
        out["brier"] = (W @ self._brier) / total
        return out

    def _sens_at_spec(self, pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
        # Predict positive when score >= a group's score: sums over that group and above.
        tp = np.cumsum(pos[:, ::-1], axis=1)
        fp = np.cumsum(neg[:, ::-1], axis=1)
        n_pos = tp[:, -1:]
        n_neg = fp[:, -1:]
        sens = _divide(tp, np.broadcast_to(n_pos, tp.shape))
        spec = 1.0 - _divide(fp, np.broadcast_to(n_neg, fp.shape))
        result = np.empty((pos.shape[0], len(self.specificities)))
        for j, target in enumerate(self.specificities):
            ok = spec >= target - 1e-12
            best = np.max(np.where(ok, sens, 0.0), axis=1)  # the origin (sens 0) always qualifies
            undefined = (n_pos[:, 0] <= 0) | (n_neg[:, 0] <= 0)
            result[:, j] = np.where(undefined, np.nan, best)
        return result


def bootstrap_weights(
    y: np.ndarray,
    n_resamples: int,
    rng: np.random.Generator,
    *,
    stratified: bool,
    chunk: int,
) -> Iterator[np.ndarray]:
    """Multiplicity matrices of bootstrap resamples, ``chunk`` resamples at a time.

    Non-stratified: ``n`` draws with replacement from all samples. Stratified: for each
    class, as many draws as it has samples, from that class only (class counts fixed).
    """
    n = len(y)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)] if stratified else [np.arange(n)]
    done = 0
    while done < n_resamples:
        b = min(chunk, n_resamples - done)
        W = np.zeros((b, n))
        for rows in groups:
            m = len(rows)
            draws = rng.integers(0, m, size=(b, m)) + (np.arange(b) * m)[:, None]
            W[:, rows] = np.bincount(draws.ravel(), minlength=b * m).reshape(b, m)
        done += b
        yield W
