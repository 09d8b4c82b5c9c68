"""BatchNorm collapse after a short from-scratch run: measured before and after the fix.

MobileNetV2 (Keras' BatchNorm momentum 0.999) trained from scratch for a few epochs on
real HAM10000 images predicts one class for every image in inference mode, while the same
weights with batch statistics do much better: the moving statistics lag far behind the
weights. This script trains the same model (same seed, same data) with Keras' BatchNorm momentum
(``bn_momentum=None``: 0.999), with 0.99, and with dermnet's default
(``bn_momentum="auto"``: 0.9 from scratch), each without re-estimating the statistics
(``fit(..., recalibrate_bn=False)``) and then after ``recalibrate_batchnorm`` (what
``dermnet.train.fit`` does by default). It reports, on held-out lesions, the
inference-mode balanced accuracy, how many classes are predicted at all, the share of the
most predicted class, and the balanced accuracy with batch statistics
(``training=True`` on shuffled batches: what the weights can do).

Usage::

    python benchmarks/bench_batchnorm.py            # 2,000 train / 600 val images, 4 epochs
    python benchmarks/bench_batchnorm.py --quick    # 600 / 300 images, 2 epochs

Needs the real data in $DERMNET_DATA_ROOT/ham10000 (or --data DIR). Exits non-zero only on
error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]


def _subset(records, n, seed):
    import numpy as np

    if n >= len(records):
        return records
    pick = np.sort(np.random.default_rng(seed).choice(len(records), n, replace=False))
    return records.subset(pick)


def _scores(model, dataset, training=False):
    import numpy as np

    labels, scores = [], []
    for x, y in dataset:
        scores.append(np.asarray(model(x, training=training)))
        labels.append(y.numpy())
    return np.concatenate(labels), np.concatenate(scores)


def _row(name, y, scores, batch_y, batch_scores, seconds):
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score

    pred = scores.argmax(1)
    counts = np.bincount(pred, minlength=scores.shape[1])
    return {
        "setting": name,
        "bal_acc": balanced_accuracy_score(y, pred),
        "classes_predicted": int((counts > 0).sum()),
        "top_class_share": counts.max() / len(pred),
        "bal_acc_batch_stats": (
            balanced_accuracy_score(batch_y, batch_scores.argmax(1))
            if batch_scores is not None
            else float("nan")
        ),
        "train_s": seconds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=Path, help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)"
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--train", type=int, default=None, help="training images")
    parser.add_argument("--val", type=int, default=None, help="validation images")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--size", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--model", default="mobilenet_v2")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    n_train = args.train or (600 if args.quick else 2000)
    n_val = args.val or (300 if args.quick else 600)
    epochs = args.epochs or (2 if args.quick else 4)

    import keras
    import numpy as np

    import dermnet
    from dermnet.data import data_root, load_ham10000, make_dataset, split
    from dermnet.models import create_model, recalibrate_batchnorm

    if args.data is None:
        try:
            args.data = data_root("ham10000")
        except dermnet.MissingFileError as exc:
            print(f"error: no --data given: {exc}")
            return 1
    if not args.data.is_dir():
        print(f"error: the HAM10000 folder {args.data} does not exist (--data DIR)")
        return 1
    records = load_ham10000(args.data)
    parts = split(records, test_size=0.2, val_size=0.0, seed=args.seed)
    train = _subset(parts.train, n_train, args.seed)
    val = _subset(parts.test, n_val, args.seed)
    size = (args.size, args.size)
    train_ds = make_dataset(train, size, args.batch_size, shuffle=True, seed=args.seed, cache=True)
    plain_train = make_dataset(train, size, args.batch_size, cache=True)
    val_ds = make_dataset(val, size, 64, cache=True)
    # batch statistics need mixed batches (the HAM10000 table is sorted by diagnosis)
    shuffled_val = make_dataset(val, size, 64, shuffle=True, seed=args.seed, cache=True)
    weights = dermnet.class_weights(train)
    steps = int(np.ceil(len(train) / args.batch_size)) * epochs
    print(
        f"{args.model} from scratch at {args.size}x{args.size}, {len(train)} train / "
        f"{len(val)} held-out HAM10000 images (grouped by lesion), {epochs} epochs = "
        f"{steps} steps, batch {args.batch_size}, balanced class weights, Adam 1e-3, "
        f"seed {args.seed}",
        flush=True,
    )

    rows = []
    for name, momentum in (
        ("bn_momentum=None (Keras: 0.999)", None),
        ("bn_momentum=0.99", 0.99),
        ("bn_momentum='auto' (0.9)", "auto"),
    ):
        dermnet.seed_everything(args.seed)
        model = create_model(
            args.model, len(records.classes), input_shape=(*size, 3), bn_momentum=momentum
        )
        started = time.perf_counter()
        dermnet.fit(
            model,
            train_ds,
            epochs=epochs,
            class_weight=weights,
            verbose=0,
            seed=args.seed,
            recalibrate_bn=False,
        )
        seconds = time.perf_counter() - started
        y, scores = _scores(model, val_ds)
        saved = model.get_weights()
        batch_y, batch_scores = _scores(model, shuffled_val, training=True)  # moves stats
        model.set_weights(saved)
        rows.append(_row(name, y, scores, batch_y, batch_scores, seconds))
        started = time.perf_counter()
        used = recalibrate_batchnorm(model, plain_train, steps=None)
        extra = time.perf_counter() - started
        y, scores = _scores(model, val_ds)
        rows.append(
            _row(
                f"  + recalibrate ({used} batches, {extra:.0f}s)",
                y,
                scores,
                batch_y,
                batch_scores,
                seconds,
            )
        )
        print(f"  done: {name} ({seconds:.0f}s training, {extra:.0f}s recalibration)", flush=True)
        keras.backend.clear_session()

    print()
    header = (
        f"| {'setting':<46} | bal. acc. (inference) | classes predicted | top-class share "
        f"| bal. acc. (batch stats) | train s |"
    )
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for r in rows:
        print(
            f"| {r['setting']:<46} | {r['bal_acc']:>21.3f} | {r['classes_predicted']:>11d} of "
            f"{len(records.classes)} | {r['top_class_share']:>15.2f} | "
            f"{r['bal_acc_batch_stats']:>23.3f} | {r['train_s']:>7.0f} |"
        )
    print("\nChance balanced accuracy: 0.143 (7 classes). Figures vary with load and seed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
