"""Benchmark: bootstrap intervals, dermnet's vectorised engine vs the usual scikit-learn loop.

The usual recipe (and what most evaluation scripts do) draws resample indices in a Python
loop and calls scikit-learn once per metric per resample. dermnet evaluates all resamples
at once from a matrix of multiplicities. Both are fed the *same* resamples here, so their
numbers must agree to rounding; the table reports the largest difference and the speed
ratio, measured in the same run.

    python benchmarks/bench_metrics.py            # 1,000 resamples
    python benchmarks/bench_metrics.py --quick    # 200 resamples

Cases: HAM10000-test size (2,000 images, 7 classes) and ISIC-2020 size (33,126 images,
2 classes, 1.8% positive), with synthetic scores. Exits non-zero only on error.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from sklearn import metrics as skm

from dermnet.metrics._engine import MetricEngine, bootstrap_weights

METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "cohen_kappa", "mcc", "macro_auc", "brier")


def synthetic(n: int, k: int, prevalence: float | None, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n) if prevalence is None else (rng.random(n) < prevalence).astype(int)
    logits = rng.normal(size=(n, k)) + 1.3 * np.eye(k)[y]
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, scores


def sklearn_metrics(y: np.ndarray, s: np.ndarray, k: int) -> dict[str, float]:
    pred = s.argmax(axis=1)
    labels = list(range(k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aucs = [skm.roc_auc_score(y == c, s[:, c]) for c in range(k) if 0 < (y == c).sum() < len(y)]
        return {
            "accuracy": skm.accuracy_score(y, pred),
            "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
            "macro_f1": skm.f1_score(y, pred, average="macro"),
            "cohen_kappa": skm.cohen_kappa_score(y, pred),
            "mcc": skm.matthews_corrcoef(y, pred),
            "macro_auc": float(np.mean(aucs)),
            "brier": skm.brier_score_loss(
                y, s if k > 2 else s[:, 1], labels=labels if k > 2 else None
            ),
        }


def run_case(name: str, n: int, k: int, prevalence: float | None, resamples: int) -> dict:
    y, scores = synthetic(n, k, prevalence)
    rng = np.random.default_rng(0)
    chunk = max(1, min(resamples, 2_000_000 // n))
    weights = list(bootstrap_weights(y, resamples, rng, stratified=True, chunk=chunk))

    start = time.perf_counter()
    engine = MetricEngine(y, scores, n_bins=15)
    ours = [engine.compute(W) for W in weights]
    t_ours = time.perf_counter() - start
    ours_all = {m: np.concatenate([r[m] for r in ours]) for m in METRICS}

    start = time.perf_counter()
    rows = []
    for W in weights:
        for w in W:
            idx = np.repeat(np.arange(n), w.astype(np.int64))
            rows.append(sklearn_metrics(y[idx], scores[idx], k))
    t_loop = time.perf_counter() - start
    loop_all = {m: np.array([r[m] for r in rows]) for m in METRICS}
    diff = max(float(np.max(np.abs(ours_all[m] - loop_all[m]))) for m in METRICS)
    return {
        "case": name,
        "n": n,
        "classes": k,
        "resamples": resamples,
        "loop_s": t_loop,
        "dermnet_s": t_ours,
        "speedup": t_loop / t_ours,
        "max_abs_diff": diff,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 resamples instead of 1,000")
    args = parser.parse_args(argv)
    resamples = 200 if args.quick else 1000
    cases = [
        ("HAM10000 test size", 2000, 7, None),
        ("ISIC 2020 size", 33126, 2, 0.018),
    ]
    print(f"Bootstrap of {len(METRICS)} metrics ({', '.join(METRICS)}), {resamples} resamples")
    print("(the same resamples fed to both; CPU, shared machine)\n")
    header = (
        f"{'case':<20} {'n':>6} {'k':>2} {'sklearn loop s':>14} {'dermnet s':>10} "
        f"{'speedup':>8} {'max |diff|':>11}"
    )
    print(header)
    print("-" * len(header))
    for name, n, k, prevalence in cases:
        r = run_case(name, n, k, prevalence, resamples)
        print(
            f"{r['case']:<20} {r['n']:>6} {r['classes']:>2} {r['loop_s']:>14.2f} "
            f"{r['dermnet_s']:>10.3f} {r['speedup']:>7.1f}x {r['max_abs_diff']:>11.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
