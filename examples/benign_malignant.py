"""HAM10000 benign vs malignant: a CNN and VGG16, ROC curves, a threshold tuned on validation.

Malignant = melanoma (mel), basal cell carcinoma (bcc) and actinic keratosis / Bowen's
disease (akiec); the four other classes are benign. The notebooks this replaces report
accuracy at the default 0.5 cut-off, which on 80% benign data says little about how
many cancers are missed. This recipe splits by lesion, weights the classes on the
training split, draws both models' ROC curves on the test lesions, and chooses the
decision threshold on the VALIDATION split only (Youden's J, and the highest specificity
that keeps 90% sensitivity) with dermnet.imbalance.tune_threshold. The thresholds are
then applied unchanged to the test split: sensitivity and specificity with 95% bootstrap
intervals, next to the default 0.5.

Run:
    python examples/benign_malignant.py --quick            # about a minute on a CPU
    python examples/benign_malignant.py --root data/HAM10000 --weights imagenet  # GPU

Writes to --output (default runs/benign_malignant): metrics.json, predictions.csv (the
validation and test scores of both models), roc.png, report.html (VGG16),
report_compact_cnn.html, history_<model>.csv/.png and <model>.keras.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

DOWNLOAD = (
    "Download HAM10000 from https://doi.org/10.7910/DVN/DBW86T (or the ISIC archive) and "
    "pass --root: a folder with HAM10000_metadata.csv and the images "
    "(HAM10000_images_part_1/ and _part_2/, or images/)."
)
TARGET_SENSITIVITY = 0.90


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--root", type=Path, help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)"
    )
    p.add_argument("--quick", action="store_true", help="small subset, 32 px, 2 epochs (CI)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("runs/benign_malignant"),
        help="output folder (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and batches")
    p.add_argument("--epochs", type=int, help="epochs per model (default 30; quick 2)")
    p.add_argument("--image-size", type=int, help="input size (default 224; quick 32)")
    p.add_argument(
        "--weights",
        default="auto",
        help="VGG16 weights: auto (ImageNet if Keras has them cached, else none), "
        "imagenet (lets Keras download them), none, or a local weights file",
    )
    return p.parse_args()


def load_records(args: argparse.Namespace):
    from dermnet import MissingFileError, data

    root = args.root
    if root is None:
        try:
            root = data.data_root("ham10000")
        except MissingFileError as exc:
            if not args.quick:
                sys.exit(f"error: no --root given. {exc}\n{DOWNLOAD}")
            print(f"No HAM10000 folder found ({exc}): using the bundled 700-image sample.")
            return data.load_sample("ham10000"), "bundled HAM10000 sample (700 images)"
    try:
        return data.load_ham10000(root), f"HAM10000 at {root}"
    except (FileNotFoundError, ValueError) as exc:
        sys.exit(f"error: cannot load HAM10000 from {root}: {exc}\n{DOWNLOAD}")


def to_binary(records, per_class: int | None, seed: int):
    """Benign/malignant records (optionally up to ``per_class`` images of each diagnosis)."""
    from dermnet import data

    if per_class is not None:
        records = records.subsample_per_class(per_class, seed=seed)
    return data.to_benign_malignant(records)


def resolve_weights(choice: str) -> tuple[str | None, str]:
    if choice == "none":
        return None, "none (trained from scratch)"
    if choice == "imagenet":
        return "imagenet", "imagenet (downloaded by Keras if not cached)"
    if choice == "auto":
        from dermnet.models import find_weights, get_model_spec

        found = find_weights("vgg16")
        if found is not None:
            return "imagenet", f"imagenet (found locally: {found})"
        missing = get_model_spec("vgg16").weights_file()
        return None, f"none: {missing} is not cached, so trained from scratch"
    if not Path(choice).is_file():
        sys.exit(f"error: --weights must be auto, imagenet, none or a file; {choice} is none.")
    return choice, f"file {choice}"


def operating_point(y: np.ndarray, p: np.ndarray, threshold: float, seed: int) -> dict:
    """Sensitivity and specificity of ``p >= threshold``, with bootstrap intervals."""
    from dermnet import metrics

    decided = (p >= threshold).astype(int)
    intervals, _ = metrics.bootstrap_intervals(
        y, np.eye(2)[decided], class_names=["benign", "malignant"], seed=seed
    )
    point = {"threshold": float(threshold)}
    for key, positives in (("sensitivity", 1), ("specificity", 0)):
        low, high = intervals[f"{'recall' if positives else 'specificity'}[malignant]"]
        value = float((decided[y == positives] == positives).mean())
        point[key] = {"value": value, "low": low, "high": high}
    return point


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    import matplotlib.pyplot as plt
    import pandas as pd
    from sklearn.metrics import roc_curve

    import dermnet
    from dermnet import data, imbalance, metrics, models, train, transforms

    quick = args.quick
    epochs = args.epochs or (2 if quick else 30)
    size = args.image_size or (32 if quick else 224)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    dermnet.seed_everything(args.seed)

    # 1. Data: binary labels, split by lesion; class weights from the training part only.
    records, source = load_records(args)
    records = to_binary(records, 30 if quick else None, args.seed)
    parts = data.split(records, test_size=0.2, val_size=0.2, seed=args.seed)
    leak = data.check_leakage(parts.train, parts.test)
    print(f"{source}: train {len(parts.train)}, val {len(parts.val)}, test {len(parts.test)} "
          f"images ({parts.test.class_counts()} in test); shared lesions train/test: "
          f"{len(leak.shared_groups)}")  # fmt: skip
    weights = imbalance.class_weights(parts.train)
    vgg_weights, weights_note = resolve_weights(args.weights)
    print(f"VGG16 weights: {weights_note}")
    aug = transforms.augmentation("dermoscopy", seed=args.seed)
    train_ds = data.make_dataset(
        parts.train, size, 32, augment=aug, shuffle=True, seed=args.seed, cache=quick
    )
    val_ds = data.make_dataset(parts.val, size, 64, cache=quick)
    test_ds = data.make_dataset(parts.test, size, 64, cache=quick)

    rows = pd.concat([parts.val.frame.assign(role="val"), parts.test.frame.assign(role="test")])
    rows = rows[["image_id", "lesion_id", "dx", "label", "role"]].reset_index(drop=True)
    y_test = parts.test.labels
    results, roc = {}, {}
    for name, init in (("compact_cnn", None), ("vgg16", vgg_weights)):
        # 2. Train: fine-tune when pretrained, else from scratch (VGG16 at a lower rate).
        print(f"[{time.perf_counter() - started:.0f}s] Training {name} at {size}x{size}, "
              f"{'two-phase fine-tuning' if init else 'from scratch'}")  # fmt: skip
        model = models.create_model(name, 2, input_shape=(size, size, 3), weights=init, dropout=0.3)
        options = {
            "class_weight": weights,
            "early_stopping": 1 if quick else 5,
            "checkpoint": out / f"{name}.keras",
            "csv_log": out / f"history_{name}.csv",
            "plot": out / f"history_{name}.png",
            "log": print,
            "verbose": 0,
            "seed": args.seed,
        }
        if init is not None:
            result = train.fine_tune(
                model, train_ds, val_ds, head_epochs=1 if quick else 3, epochs=epochs, **options
            )
            history = result.history
            (out / f"history_{name}.png").write_bytes(  # both phases in one plot
                metrics.figure_to_png(metrics.plot_history(history))
            )
        else:
            rate = 1e-4 if name == "vgg16" else 1e-3  # VGG16 has no BatchNorm
            history = train.fit(
                model, train_ds, val_ds, epochs=epochs, learning_rate=rate, **options
            ).history

        # 3. Thresholds from the validation split only (Records with role "val": a test
        #    split passed here would raise a LeakageError).
        _, s_val = metrics.collect_predictions(model, val_ds)
        p_val = s_val[:, 1].astype(np.float64)
        youden = imbalance.tune_threshold(parts.val, p_val, "youden")
        screen = imbalance.tune_threshold(
            parts.val, p_val, "sensitivity", target=TARGET_SENSITIVITY
        )

        # 4. ... applied unchanged to the test split.
        y, s_test = metrics.collect_predictions(model, test_ds)
        p_test = s_test[:, 1].astype(np.float64)
        rows[f"{name}_p_malignant"] = np.concatenate([p_val, p_test])
        card = metrics.ModelCard.from_data(
            parts, model=f"{name}, {size}x{size}, weights: {init or 'none'}, class-weighted"
        )
        report = metrics.evaluate(y, s_test, ["benign", "malignant"], model_card=card,
                                  seed=args.seed)  # fmt: skip
        report.to_html(
            out / ("report.html" if name == "vgg16" else f"report_{name}.html"),
            title=f"HAM10000 benign vs malignant: {name}",
            history=history,
        )
        low, high = report.interval("auc[malignant]")
        auc = report.per_class["malignant"]["auc"]
        results[name] = {
            "weights": weights_note if name == "vgg16" else "none (from scratch)",
            "training": "fine_tune" if init is not None else "fit",
            "epochs_run": len(history["loss"]),
            "auc": {"value": auc, "low": low, "high": high},
            "thresholds": {
                "default": operating_point(y, p_test, 0.5, args.seed),
                "youden": operating_point(y, p_test, youden.threshold, args.seed),
                f"sensitivity_{TARGET_SENSITIVITY:.2f}": operating_point(
                    y, p_test, screen.threshold, args.seed
                ),
            },
            "tuned_on": {
                "split": "val",
                "n_positive": youden.n_positive,
                "n_negative": youden.n_negative,
                "youden": {
                    "threshold": youden.threshold,
                    "sensitivity": youden.sensitivity,
                    "specificity": youden.specificity,
                },
                "sensitivity": {
                    "threshold": screen.threshold,
                    "target": TARGET_SENSITIVITY,
                    "sensitivity": screen.sensitivity,
                    "specificity": screen.specificity,
                },
            },
            "evaluation": report.to_dict(),
        }
        roc[name] = (roc_curve(y, p_test), auc, results[name]["thresholds"])

    # 5. Both ROC curves on the test lesions, with the operating points chosen on validation.
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for (name, ((fpr, tpr, _), auc, points)), color in zip(roc.items(), ("C0", "C1"), strict=True):
        ax.plot(fpr, tpr, color=color, label=f"{name} (AUC {auc:.3f})")
        for key, marker in zip(points, ("o", "s", "^"), strict=True):
            sens, spec = points[key]["sensitivity"]["value"], points[key]["specificity"]["value"]
            ax.plot(1 - spec, sens, marker, color=color, label=f"{name} @ {key}")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set(xlabel="1 - specificity", ylabel="sensitivity (malignant)",
           title="ROC on the test lesions")  # fmt: skip
    ax.legend(fontsize=7, loc="lower right")
    (out / "roc.png").write_bytes(metrics.figure_to_png(fig))

    rows.to_csv(out / "predictions.csv", index=False)
    elapsed = round(time.perf_counter() - started, 1)
    summary = {
        "recipe": "benign_malignant",
        "quick": quick,
        "note": "quick mode: tiny subset and 2 epochs; the numbers are NOT meaningful"
        if quick
        else "full mode",
        "settings": {
            "seed": args.seed,
            "epochs": epochs,
            "image_size": size,
            "weights": args.weights,
            "malignant": list(data.HAM10000_MALIGNANT),
            "class_weight": weights,
        },
        "data": {
            "source": source,
            "images": len(records),
            "split": {
                "group_by": "lesion_id",
                "train": len(parts.train),
                "val": len(parts.val),
                "test": len(parts.test),
            },
            "val_class_counts": parts.val.class_counts(),
            "test_class_counts": parts.test.class_counts(),
            "shared_lesions_train_test": len(leak.shared_groups),
        },
        "models": results,
        "elapsed_s": elapsed,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")

    print(f"\nTest split, {len(y_test)} images of held-out lesions (95% bootstrap intervals):")
    for name, r in results.items():
        a = r["auc"]
        print(f"  {name:11s} AUC {metrics.format_interval(a['value'], a['low'], a['high'])}")
        for key, point in r["thresholds"].items():
            sens, spec = point["sensitivity"], point["specificity"]
            print(
                f"  {name:11s} {key:16s} t={point['threshold']:.3f}  sensitivity "
                f"{metrics.format_interval(sens['value'], sens['low'], sens['high'])}  "
                f"specificity {metrics.format_interval(spec['value'], spec['low'], spec['high'])}"
            )
    if quick:
        print("Quick mode: a tiny subset trained for 2 epochs; these numbers are not meaningful.")
    print(f"Done in {elapsed:.0f}s; open {out / 'report.html'}")


if __name__ == "__main__":
    main()
