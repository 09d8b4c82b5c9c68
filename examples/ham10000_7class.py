"""HAM10000, 7 classes: a seed-style simple CNN next to MobileNetV2, evaluated honestly.

The notebooks this replaces train on a random image-level split, report accuracy, and
draw Grad-CAM on a few hand-picked images. This recipe splits by lesion (no lesion in
two parts), weights the classes on the training split, trains with callbacks (early
stopping on validation, best-model checkpoint, CSV history, history plot), evaluates
both models on the same held-out test lesions (balanced accuracy, macro AUC, per-class
recall, melanoma sensitivity, each with a 95% bootstrap interval) and draws Grad-CAM on
correctly AND wrongly classified test images.

MobileNetV2 is fine-tuned in two phases (dermnet.train.fine_tune) when ImageNet weights
are used, and trained from scratch (dermnet.train.fit) otherwise.

Run:
    python examples/ham10000_7class.py --quick            # about a minute on a CPU
    python examples/ham10000_7class.py --root data/HAM10000 --weights imagenet  # GPU

Writes to --output (default runs/ham10000_7class): metrics.json, predictions.csv, split.csv,
report.html (MobileNetV2) and report_simple_cnn.html, history_<model>.csv/.png,
<model>.keras, roc_<model>.png, gradcam_correct.png and gradcam_wrong.png.
"""

from __future__ import annotations

import argparse
import hashlib
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


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--root", type=Path, help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)"
    )
    p.add_argument("--quick", action="store_true", help="small subset, 64 px, 2 epochs (CI)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("runs/ham10000_7class"),
        help="output folder (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the split, weights and batches")
    p.add_argument("--epochs", type=int, help="epochs per model (default 30; quick 2)")
    p.add_argument("--image-size", type=int, help="MobileNetV2 input (default 224; quick 64)")
    p.add_argument(
        "--weights",
        default="auto",
        help="MobileNetV2 weights: auto (ImageNet if Keras has them cached, else none), "
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


def resolve_weights(choice: str, size: int) -> tuple[str | None, str]:
    if choice == "none":
        return None, "none (trained from scratch)"
    if choice == "imagenet":
        return "imagenet", "imagenet (downloaded by Keras if not cached)"
    if choice == "auto":
        from dermnet.models import find_weights, get_model_spec

        found = find_weights("mobilenet_v2", input_size=(size, size))
        if found is not None:
            return "imagenet", f"imagenet (found locally: {found})"
        missing = get_model_spec("mobilenet_v2").weights_file((size, size))
        return None, f"none: {missing} is not cached, so trained from scratch"
    if not Path(choice).is_file():
        sys.exit(f"error: --weights must be auto, imagenet, none or a file; {choice} is none.")
    return choice, f"file {choice}"


def pick(candidates: np.ndarray, y_true: np.ndarray, n: int) -> list[int]:
    """Up to ``n`` of ``candidates``, taken round-robin over the true classes."""
    by_class = [list(candidates[y_true[candidates] == c]) for c in np.unique(y_true)]
    chosen: list[int] = []
    while len(chosen) < n and any(by_class):
        chosen += [group.pop(0) for group in by_class if group][: n - len(chosen)]
    return sorted(int(i) for i in chosen)


def interval(report, key: str, value: float | None) -> dict:
    low, high = report.interval(key) or (None, None)
    return {"value": value, "low": low, "high": high}


def main() -> None:
    args = parse_args()
    started = time.perf_counter()
    import dermnet
    from dermnet import data, explain, imbalance, metrics, models, train, transforms

    quick = args.quick
    epochs = args.epochs or (2 if quick else 30)
    size = args.image_size or (64 if quick else 224)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    dermnet.seed_everything(args.seed)

    # 1. Data: split by lesion first; everything fitted below sees the training part only.
    records, source = load_records(args)
    if quick:
        records = records.subsample_per_class(40, seed=args.seed)
    parts = data.split(records, test_size=0.2, val_size=0.15, seed=args.seed)
    shared = {
        f"{a}_{b}": len(data.check_leakage(getattr(parts, a), getattr(parts, b)).shared_groups)
        for a, b in (("train", "val"), ("train", "test"), ("val", "test"))
    }
    print(f"{source}: train {len(parts.train)}, val {len(parts.val)}, test {len(parts.test)} "
          f"images; lesions shared between parts: {shared}")  # fmt: skip
    weights = imbalance.class_weights(parts.train)
    classes = list(records.classes)
    y_test = parts.test.labels
    image_ids = parts.test.frame["image_id"].astype(str).tolist()
    mnv2_weights, weights_note = resolve_weights(args.weights, size)
    print(f"MobileNetV2 weights: {weights_note}")

    def datasets(px: int):
        aug = transforms.augmentation("dermoscopy", seed=args.seed)
        train_ds = data.make_dataset(
            parts.train, px, 32, augment=aug, shuffle=True, seed=args.seed, cache=quick
        )
        return train_ds, data.make_dataset(parts.val, px, 64, cache=quick)

    # 2. Train both models with the same callbacks.
    cnn_px = models.get_model_spec("simple_cnn").input_size[0]
    plan = {"simple_cnn": (cnn_px, None), "mobilenet_v2": (size, mnv2_weights)}
    results, reports, trained = {}, {}, {}
    rows = {"image_id": image_ids, "label": [classes[i] for i in y_test]}
    for name, (px, init) in plan.items():
        train_ds, val_ds = datasets(px)
        model = models.create_model(
            name, len(classes), input_shape=(px, px, 3), weights=init, dropout=0.3
        )
        callbacks = {
            "class_weight": weights,
            "early_stopping": 1 if quick else 5,
            "checkpoint": out / f"{name}.keras",
            "csv_log": out / f"history_{name}.csv",
            "plot": out / f"history_{name}.png",
            "log": print,
            "verbose": 0,
            "seed": args.seed,
        }
        how = "two-phase fine-tuning" if init is not None else "from scratch"
        print(f"[{time.perf_counter() - started:.0f}s] Training {name} at {px}x{px}, {how}")
        if init is not None:  # pretrained: frozen backbone first, then the top 30%
            tuned = train.fine_tune(
                model, train_ds, val_ds, head_epochs=1 if quick else 3, epochs=epochs, **callbacks
            )
            history = tuned.history
            (out / f"history_{name}.png").write_bytes(  # both phases in one plot
                metrics.figure_to_png(metrics.plot_history(history))
            )
        else:
            history = train.fit(model, train_ds, val_ds, epochs=epochs, **callbacks).history

        # 3. Evaluate once on the held-out test lesions (same images, same order).
        test_ds = data.make_dataset(parts.test, px, 64)
        y, scores = metrics.collect_predictions(model, test_ds)
        card = metrics.ModelCard.from_data(
            parts, model=f"{name}, {px}x{px}, weights: {init or 'none'}, class-weighted"
        )
        report = metrics.evaluate(y, scores, classes, model_card=card, seed=args.seed)
        report.to_html(
            out / ("report.html" if name == "mobilenet_v2" else f"report_{name}.html"),
            title=f"HAM10000 7 classes: {name}",
            history=history,
        )
        fig = metrics.plot_roc_curves(y, scores, classes)
        (out / f"roc_{name}.png").write_bytes(metrics.figure_to_png(fig))
        rows[f"{name}_pred"] = [classes[i] for i in scores.argmax(1)]
        for c, cls in enumerate(classes):
            rows[f"{name}_p_{cls}"] = np.round(scores[:, c], 6).tolist()
        mel = report.per_class["mel"]["recall"]
        results[name] = {
            "input_size": px,
            "weights": weights_note if name == "mobilenet_v2" else "none (from scratch)",
            "training": "fine_tune" if init is not None else "fit",
            "epochs_run": len(history["loss"]),
            "n_test": len(y),
            "test_images_sha1": hashlib.sha1("\n".join(image_ids).encode()).hexdigest(),
            "test_labels_sha1": hashlib.sha1(y.astype(np.int64).tobytes()).hexdigest(),
            "balanced_accuracy": interval(report, "balanced_accuracy", report.balanced_accuracy),
            "macro_auc": interval(report, "macro_auc", report.macro_auc),
            "melanoma_sensitivity": interval(report, "recall[mel]", mel),
            "recall": {
                c: interval(report, f"recall[{c}]", report.per_class[c]["recall"]) for c in classes
            },
            "evaluation": report.to_dict(),
        }
        reports[name], trained[name] = report, (model, scores)

    # 4. Grad-CAM on MobileNetV2: correct and wrong test predictions, separately.
    model, scores = trained["mobilenet_v2"]
    predicted = scores.argmax(1)
    cam = explain.GradCAM(model)
    gradcam = {"model": "mobilenet_v2", "layer": cam.target_layer}
    for kind, mask in (("correct", predicted == y_test), ("wrong", predicted != y_test)):
        chosen = pick(np.flatnonzero(mask), y_test, 8)
        gradcam[kind] = [
            {"image_id": image_ids[i], "true": classes[y_test[i]], "pred": classes[predicted[i]]}
            for i in chosen
        ]
        if not chosen:
            print(f"No {kind} test predictions: gradcam_{kind}.png not drawn.")
            continue
        batch = data.make_dataset(parts.test.subset(chosen), size, len(chosen))
        images = next(iter(batch))[0].numpy()
        heatmaps, _ = cam.explain(images, predicted[chosen])
        titles = [f"true {g['true']}\npred {g['pred']}" for g in gradcam[kind]]
        fig = explain.plot_explanations(images, heatmaps, titles=titles)
        (out / f"gradcam_{kind}.png").write_bytes(metrics.figure_to_png(fig))

    import pandas as pd

    pd.DataFrame(rows).to_csv(out / "predictions.csv", index=False)
    roles = [
        p.frame.assign(role=role) for role, p in zip(("train", "val", "test"), parts, strict=True)
    ]
    pd.concat(roles)[["image_id", "lesion_id", "label", "role"]].to_csv(
        out / "split.csv", index=False
    )
    elapsed = round(time.perf_counter() - started, 1)
    summary = {
        "recipe": "ham10000_7class",
        "quick": quick,
        "note": "quick mode: tiny subset and 2 epochs; the numbers are NOT meaningful"
        if quick
        else "full mode",
        "settings": {
            "seed": args.seed,
            "epochs": epochs,
            "image_size": size,
            "weights": args.weights,
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
            "test_class_counts": parts.test.class_counts(),
            "shared_lesions": shared,
        },
        "models": results,
        "gradcam": gradcam,
        "elapsed_s": elapsed,
    }
    (out / "metrics.json").write_text(json.dumps(summary, indent=2, default=float) + "\n")

    print(f"\nTest split, {len(y_test)} images of held-out lesions (95% bootstrap intervals):")
    for name, r in results.items():
        for key in ("balanced_accuracy", "macro_auc", "melanoma_sensitivity"):
            v = r[key]
            shown = metrics.format_interval(v["value"], v["low"], v["high"])
            print(f"  {name:13s} {key.replace('_', ' '):21s} {shown}")
    if quick:
        print("Quick mode: a tiny subset trained for 2 epochs; these numbers are not meaningful.")
    print(f"Done in {elapsed:.0f}s; open {out / 'report.html'}")


if __name__ == "__main__":
    main()
