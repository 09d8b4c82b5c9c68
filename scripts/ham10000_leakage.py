#!/usr/bin/env python3
"""Compute the HAM10000 lesion figures quoted in docs/datasets.md from the real data.

Usage: python scripts/ham10000_leakage.py [--data DIR] [--seeds 5]

``--data`` defaults to ``$DERMNET_DATA_ROOT/ham10000`` (`dermnet.data.data_root`).

Prints: how many images share a lesion; how much a random image-level split leaks (test
images whose lesion is also in train); and what that leak does to a score, shown with the
simplest possible classifier (1-nearest neighbour on 24x18 thumbnails), so that the number
reflects near-duplicate look-up, not learning.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def thumbnails(paths: list[str], size: tuple[int, int] = (24, 18)) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(paths), size[1] * size[0] * 3), np.float32)
    for i, path in enumerate(paths):
        with Image.open(path) as image:
            image.draft("RGB", (size[0] * 2, size[1] * 2))
            small = image.convert("RGB").resize(size, Image.BILINEAR)
        out[i] = np.asarray(small, np.float32).reshape(-1)
    out -= out.mean(axis=1, keepdims=True)
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-6
    return out


def nearest(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    idx = np.empty(len(test), np.int64)
    for start in range(0, len(test), 512):
        sims = test[start : start + 512] @ train.T
        idx[start : start + 512] = sims.argmax(axis=1)
    return idx


def balanced_accuracy(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    recalls = [np.mean(pred[y == c] == c) for c in range(k) if np.any(y == c)]
    return float(np.mean(recalls))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)")
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()

    from dermnet import MissingFileError
    from dermnet.data import check_leakage, data_root, load_ham10000, split

    if args.data is None:
        try:
            args.data = data_root("ham10000")
        except MissingFileError as exc:
            raise SystemExit(f"error: no --data given: {exc}") from None
    rec = load_ham10000(args.data)
    lesions = rec.frame["lesion_id"]
    per_lesion = lesions.value_counts()
    multi = per_lesion[per_lesion > 1]
    print(f"images {len(rec)}, lesions {lesions.nunique()}")
    print("lesions by number of images:", per_lesion.value_counts().sort_index().to_dict())
    print(
        f"lesions with 2+ images: {len(multi)}; images in them: {int(multi.sum())} "
        f"({100 * multi.sum() / len(rec):.1f}% of all images)"
    )
    frame = rec.frame.assign(n=lesions.map(per_lesion))
    by_class = frame.groupby("label").agg(
        images=("image_id", "size"), lesions=("lesion_id", "nunique")
    )
    by_class["shared_share_%"] = (
        frame[frame["n"] > 1].groupby("label").size() / by_class["images"] * 100
    ).round(1)
    print(by_class.to_string())

    x = thumbnails(rec.paths)
    y = rec.labels
    rows = []
    for seed in range(args.seeds):
        naive = split(rec, test_size=0.2, group_by=None, seed=seed)
        grouped = split(rec, test_size=0.2, seed=seed)
        report = check_leakage(naive.train, naive.test, group_by="lesion_id")
        leaked = set(report.shared_groups)
        test_leaky = float(np.mean([g in leaked for g in naive.test.groups()]))
        scores = []
        for parts in (naive, grouped):
            pos = {p: i for i, p in enumerate(rec.paths)}
            tr = np.array([pos[p] for p in parts.train.paths])
            te = np.array([pos[p] for p in parts.test.paths])
            nn = tr[nearest(x[tr], x[te])]
            same_lesion = float(np.mean(lesions.to_numpy()[nn] == lesions.to_numpy()[te]))
            scores.append(
                (
                    balanced_accuracy(y[te], y[nn], rec.num_classes),
                    float(np.mean(y[nn] == y[te])),
                    same_lesion,
                )
            )
        rows.append((len(leaked), test_leaky, *scores[0], *scores[1]))
        print(
            f"seed {seed}: random split shares {len(leaked)} lesions; {100 * test_leaky:.1f}% "
            f"of its test images have their lesion in train. 1-NN balanced accuracy / accuracy "
            f"/ neighbour is same lesion: random {scores[0][0]:.3f} / {scores[0][1]:.3f} / "
            f"{100 * scores[0][2]:.1f}%, grouped {scores[1][0]:.3f} / {scores[1][1]:.3f} / "
            f"{100 * scores[1][2]:.1f}%"
        )
    mean = np.mean(rows, axis=0)
    std = np.std(rows, axis=0)
    print(
        f"mean over {args.seeds} seeds: shared lesions {mean[0]:.0f}; leaky test images "
        f"{100 * mean[1]:.1f}%; 1-NN balanced accuracy random {mean[2]:.3f} +- {std[2]:.3f} vs "
        f"grouped {mean[5]:.3f} +- {std[5]:.3f}; accuracy random {mean[3]:.3f} vs grouped "
        f"{mean[6]:.3f}; nearest neighbour is the same lesion: random {100 * mean[4]:.1f}% vs "
        f"grouped {100 * mean[7]:.1f}%"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
