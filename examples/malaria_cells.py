"""NIH malaria cells: a small CNN with early stopping, learning curves and a slide-grouped split.

The NIH/NLM thin-smear cell crops (Rajaraman et al., PeerJ 2018) are named after the
smear they were cut from: ``C100P61ThinF_IMG_20150918_144348_cell_40.png`` is cell 40 of
an image of slide/patient ``C100`` (``P61``). Notebooks split the cells at random, so
cells of one slide (same patient, same staining, same microscope) land in training and
in test. This recipe reads the slide id from the file name and splits by it, trains a
small CNN with early stopping that restores the best epoch, draws the learning curves
(loss and accuracy, train and validation, per epoch) and evaluates on the held-out
slides with 95% bootstrap intervals.

Run:
    python examples/malaria_cells.py --quick                 # under a minute on a CPU
    python examples/malaria_cells.py --root data/cell_images # the full NIH download

Writes to --output (default runs/malaria_cells): metrics.json, learning_curves.png,
report.html, history.csv, split.csv, predictions.csv and model.keras.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DOWNLOAD = (
    "Download the NIH malaria cell images (cell_images.zip, 27,558 PNGs) from "
    "https://lhncbc.nlm.nih.gov/LHC-research/LHC-projects/image-processing/"
    "malaria-datasheet.html and pass --root: the folder holding cell_images/ or the two "
    "class folders Parasitized/ and Uninfected/."
)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--root", type=Path, help="malaria folder (default: $DERMNET_DATA_ROOT/malaria_rgb)"
    )
    p.add_argument("--quick", action="store_true", help="6 epochs, 48 px (CI)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("runs/malaria_cells"),
        help="output folder (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and batches")
    p.add_argument("--epochs", type=int, help="most epochs (default 50; quick 6)")
    p.add_argument("--patience", type=int, help="early-stopping patience (default 5; quick 2)")
    p.add_argument("--image-size", type=int, help="input size (default 64; quick 48)")
    return p.parse_args()


def load_records(args: argparse.Namespace):
    """The cells, with the ``slide_id`` group column that load_malaria reads from file names."""
    from dermnet import MissingFileError, data

    root = args.root
    if root is None:
        try:
            root = data.data_root("malaria_rgb")
        except MissingFileError as exc:
            if not args.quick:
                sys.exit(f"error: no --root given. {exc}\n{DOWNLOAD}")
            print(f"No malaria folder found ({exc}): using the bundled 200-cell sample.")
    if root is None:
        records, source = data.load_sample("malaria"), "bundled NIH malaria sample (200 cells)"
    else:
        try:
            records, source = data.load_malaria(root), f"NIH malaria cells at {root}"
        except (FileNotFoundError, ValueError) as exc:
            sys.exit(f"error: cannot load malaria cells from {root}: {exc}\n{DOWNLOAD}")
    # load_malaria reads the smear id (C<n>) from each file name into the group column
    # ``slide_id``; a name without one is its own group, "file:<name>"
    unmatched = sum(str(g).startswith("file:") for g in records.groups("slide_id"))
    return records, source, unmatched


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    import pandas as pd

    import dermnet
    from dermnet import data, imbalance, metrics, models, train, transforms

    quick = args.quick
    epochs = args.epochs or (6 if quick else 50)
    patience = args.patience or (2 if quick else 5)
    size = args.image_size or (48 if quick else 64)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    dermnet.seed_everything(args.seed)

    # 1. Split by slide: no smear contributes cells to two parts.
    records, source, unmatched = load_records(args)
    per_slide = records.frame.groupby("slide_id")["label"].nunique()
    found = {
        "group_by": "slide_id",
        "slides": len(per_slide),
        "slides_with_both_classes": int((per_slide > 1).sum()),
        "names_without_slide_id": unmatched,
    }
    parts = data.split(records, test_size=0.2, val_size=0.2, seed=args.seed)
    shared = {
        f"{a}_{b}": len(data.check_leakage(getattr(parts, a), getattr(parts, b)).shared_groups)
        for a, b in (("train", "val"), ("train", "test"), ("val", "test"))
    }
    print(f"{source}: {len(records)} cells from {found['slides']} slides "
          f"({found['slides_with_both_classes']} with both classes; {unmatched} file names "
          f"without a slide id, each its own group)")  # fmt: skip
    print(f"Split by slide: train {len(parts.train)}, val {len(parts.val)}, "
          f"test {len(parts.test)} cells; slides shared between parts: {shared}")  # fmt: skip

    # 2. A small CNN; early stopping on val_loss restores the best epoch's weights.
    aug = transforms.augmentation("microscopy", seed=args.seed)
    train_ds = data.make_dataset(
        parts.train, size, 32, augment=aug, shuffle=True, seed=args.seed, cache=True
    )
    val_ds = data.make_dataset(parts.val, size, 64, cache=True)
    model = models.create_model(
        "simple_cnn", records.num_classes, input_shape=(size, size, 3), dropout=0.3
    )
    history = train.fit(
        model, train_ds, val_ds,
        epochs=epochs,
        class_weight=imbalance.class_weights(parts.train),
        early_stopping=patience,
        csv_log=out / "history.csv",
        log=print, verbose=0, seed=args.seed,
    ).history  # fmt: skip
    best_epoch = int(np.argmin(history["val_loss"]))
    restored_val_loss = float(model.evaluate(val_ds, verbose=0, return_dict=True)["loss"])
    model.save(out / "model.keras")

    # 3. Learning curves, with the epoch early stopping restored.
    fig = metrics.plot_history(history)
    for ax in fig.axes:
        ax.axvline(best_epoch + 1, color="grey", linestyle="--", linewidth=1)
    fig.suptitle(f"restored: epoch {best_epoch + 1} (lowest validation loss)", fontsize=9)
    (out / "learning_curves.png").write_bytes(metrics.figure_to_png(fig))

    # 4. Evaluate once on the held-out slides.
    y, scores = metrics.collect_predictions(model, data.make_dataset(parts.test, size, 64))
    card = metrics.ModelCard.from_data(parts, model=f"simple_cnn, {size}x{size}, from scratch")
    report = metrics.evaluate(y, scores, records.classes, model_card=card, seed=args.seed)
    report.to_html(out / "report.html", title="NIH malaria cells: simple CNN", history=history)
    positive = records.classes[0]  # Parasitized

    def entry(key: str, value: float | None) -> dict:
        low, high = report.interval(key) or (None, None)
        return {"value": value, "low": low, "high": high}

    test = {
        "accuracy": entry("accuracy", report.accuracy),
        "balanced_accuracy": entry("balanced_accuracy", report.balanced_accuracy),
        "auc": entry(f"auc[{positive}]", report.per_class[positive]["auc"]),
        "sensitivity": entry(f"recall[{positive}]", report.per_class[positive]["recall"]),
        "specificity": entry(f"specificity[{positive}]", report.per_class[positive]["specificity"]),
    }
    roles = [p.frame.assign(role=r) for r, p in zip(("train", "val", "test"), parts, strict=True)]
    pd.concat(roles)[["image_id", "slide_id", "label", "role"]].to_csv(
        out / "split.csv", index=False
    )
    predictions = parts.test.frame[["image_id", "label"]].assign(**{f"p_{positive}": scores[:, 0]})
    predictions.to_csv(out / "predictions.csv", index=False)
    elapsed = round(time.perf_counter() - started, 1)
    summary = {
        "recipe": "malaria_cells",
        "quick": quick,
        "note": "quick mode: 6 epochs at most on 200 cells; the numbers are NOT meaningful"
        if quick
        else "full mode",
        "settings": {
            "seed": args.seed,
            "epochs": epochs,
            "patience": patience,
            "image_size": size,
            "model": "simple_cnn",
        },
        "data": {
            "source": source,
            "cells": len(records),
            "groups": found,
            "split": {"train": len(parts.train), "val": len(parts.val), "test": len(parts.test)},
            "test_class_counts": parts.test.class_counts(),
            "shared_slides": shared,
        },
        "early_stopping": {
            "epochs_run": len(history["loss"]),
            "best_epoch": best_epoch + 1,
            "best_val_loss": float(history["val_loss"][best_epoch]),
            "restored_val_loss": restored_val_loss,
        },
        "history": {k: [float(v) for v in vals] for k, vals in history.items()},
        "test": test,
        "evaluation": report.to_dict(),
        "elapsed_s": elapsed,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")

    stop = summary["early_stopping"]
    print(
        f"\nEarly stopping: {stop['epochs_run']} epochs run, best epoch {stop['best_epoch']} "
        f"(val loss {stop['best_val_loss']:.4f}; restored model: {restored_val_loss:.4f})"
    )
    print(f"Test split, {len(y)} cells of held-out slides (95% bootstrap intervals):")
    for key, v in test.items():
        shown = metrics.format_interval(v["value"], v["low"], v["high"])
        print(f"  {key.replace('_', ' '):18s} {shown}")
    if quick:
        print("Quick mode: 200 cells and at most 6 epochs; these numbers are not meaningful.")
    print(f"Done in {elapsed:.0f}s; open {out / 'report.html'}")


if __name__ == "__main__":
    main()
