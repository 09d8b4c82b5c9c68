"""Melanoma vs the rest with patient metadata: an honest 2x2 ablation.

The published pipeline: Xception with age, sex and body site and HSV + blur
preprocessing, reporting a validation AUC of 0.83. This recipe fuses an Xception image
branch with an age/sex/site branch (dermnet.data.MetadataEncoder, fitted on the training
part only) and asks what each ingredient is worth: preprocessing {none, HSV + blur} x
metadata {without, with}, on the same lesion- (or patient-) grouped split, with the same
seed and epochs, each arm scored once on the same test images: melanoma ROC AUC with a
95% bootstrap interval.

Run:
    python examples/melanoma_metadata.py --quick                 # smoke run, CPU
    python examples/melanoma_metadata.py --weights imagenet      # full HAM10000, GPU
    python examples/melanoma_metadata.py --dataset isic2020 --root path/to/ISIC2020

Writes to --output (default runs/melanoma_metadata): metrics.json, split.csv (the part of
every image), roc.png (the four ROC curves) and report.html (the HSV + blur + metadata
arm, i.e. the published configuration, with a model card).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HINTS = {
    "ham10000": "a folder with HAM10000_metadata.csv and the images (download by hand from "
    "https://doi.org/10.7910/DVN/DBW86T)",
    "isic2020": "a folder with ISIC_2020_Training_GroundTruth_v2.csv (or Kaggle's train.csv) "
    "and the JPEGs in train/ (download by hand from https://challenge2020.isic-archive.com)",
}
CLASSES = ("other", "melanoma")
QUICK_NOTE = (
    "Quick mode trains simple_cnn, not Xception: one epoch of Xception at its 71 px "
    "minimum on 160 images took 78 CPU-seconds, so four arms cannot fit a ~90 s smoke run "
    "on 2 CPU cores. Pass --model xception to run the real backbone."
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--dataset",
        choices=("ham10000", "isic2020"),
        default="ham10000",
        help="HAM10000 (mel vs rest) or ISIC 2020 (malignant vs benign)",
    )
    p.add_argument(
        "--root", type=Path, help="dataset folder (default: $DERMNET_DATA_ROOT/<dataset>)"
    )
    p.add_argument(
        "--quick", action="store_true", help="tiny subset, small input, 1 epoch (a smoke run)"
    )
    p.add_argument(
        "--output",
        type=Path,
        default=Path("runs/melanoma_metadata"),
        help="output folder (default runs/melanoma_metadata)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of split, weights, shuffles")
    p.add_argument("--epochs", type=int, help="epochs per arm (default 10; 1 with --quick)")
    p.add_argument(
        "--image-size",
        type=int,
        help="input size (default: the model's own; with --quick its minimum, at least 32)",
    )
    p.add_argument(
        "--model",
        help="image backbone (default xception; simple_cnn with --quick: see the tutorial)",
    )
    p.add_argument(
        "--weights",
        default="auto",
        help="auto (ImageNet if Keras has it "
        "cached, else from scratch), imagenet (download), none, or a file",
    )
    p.add_argument(
        "--subset",
        type=int,
        help="use at most this many images (grouped, "
        "class-stratified); default all, 400 with --quick",
    )
    return p.parse_args(argv)


def load_records(args: argparse.Namespace):
    """Binary records (other, melanoma) grouped by lesion (HAM10000) or patient (ISIC)."""
    from dermnet import MissingFileError
    from dermnet.data import Records, data_root, load_ham10000, load_isic2020, load_sample

    root, missing = args.root, ""
    if root is None:
        try:
            root = data_root(args.dataset)
        except MissingFileError as exc:
            missing = str(exc)
    if root is not None:
        loader = load_ham10000 if args.dataset == "ham10000" else load_isic2020
        records, source = loader(root), str(root)
    elif args.quick and args.dataset == "ham10000":
        print(f"No HAM10000 folder found ({missing}): using the bundled 700-image sample.")
        records, source = load_sample("ham10000"), "bundled HAM10000 sample"
    else:
        sys.exit(f"No {args.dataset} data ({missing}): pass --root DIR, {HINTS[args.dataset]}.")
    positive = "mel" if args.dataset == "ham10000" else "malignant"
    frame = records.frame
    frame["label"] = np.where(frame["label"] == positive, "melanoma", "other")
    binary = Records(
        frame,
        CLASSES,
        name=records.name,
        group_cols=records.group_cols,
        metadata_cols=records.metadata_cols,
    )
    return binary, source


def resolve_weights(choice: str, model: str) -> tuple[str | None, str]:
    """The ``weights`` argument for create_model and a sentence saying what was used."""
    if choice == "none":
        return None, "none: trained from scratch"
    if choice == "imagenet":
        return "imagenet", "ImageNet (Keras downloads them if not cached)"
    if choice == "auto":
        from dermnet.models import find_weights, get_model_spec

        found = find_weights(model) if "imagenet" in get_model_spec(model).pretrained else None
        if found is not None:
            return "imagenet", f"ImageNet, from a local copy ({found})"
        return None, "none: trained from scratch (no local copy of ImageNet weights)"
    if not Path(choice).is_file():
        sys.exit(f"--weights must be auto, imagenet, none or a weights file; {choice} is none.")
    return choice, f"from the file {choice}"


def run_arm(parts, encoder, prep, with_meta: bool, args, weights):
    from dermnet import imbalance, models, seed_everything, train
    from dermnet.data import make_dataset

    size = (args.image_size, args.image_size)
    kw = {
        "transforms": prep,
        "cache": True,
        "with_metadata": with_meta,
        "metadata_encoder": encoder if with_meta else None,
    }
    train_ds = make_dataset(parts.train, size, 16, shuffle=True, seed=args.seed, **kw)
    val_ds = make_dataset(parts.val, size, 64, **kw)
    seed_everything(args.seed)  # the same initial weights in every arm
    model = models.create_model(
        args.model,
        2,
        input_shape=(*size, 3),
        weights=weights,
        dropout=0.2,
        metadata_dim=encoder.dim if with_meta else None,
    )
    history = train.fit(
        model,
        train_ds,
        val_ds,
        epochs=args.epochs,
        learning_rate=1e-4 if weights else 1e-3,
        class_weight=imbalance.class_weights(parts.train),
        seed=args.seed,
        verbose=0,
    )
    scores = model.predict(make_dataset(parts.test, size, 64, **kw), verbose=0)
    return model, history, scores


def plot_roc(y, arms: dict, scores: dict):
    import matplotlib.pyplot as plt
    from sklearn.metrics import roc_curve

    from dermnet.metrics import format_interval

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    for name, arm in arms.items():
        fpr, tpr, _ = roc_curve(y, scores[name][:, 1])
        ax.plot(fpr, tpr, label=f"{name}: AUC {format_interval(arm['auc'], *arm['auc_ci95'])}")
    ax.plot([0, 1], [0, 1], ls="--", color="gray", lw=1)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity (melanoma)")
    ax.set_title("Melanoma ROC on the test set, four arms")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    try:
        records, source = load_records(args)
    except (FileNotFoundError, ValueError) as exc:  # dermnet errors derive from these
        sys.exit(f"Cannot load {args.dataset}: {exc}")
    from dermnet import metrics, transforms
    from dermnet.data import MetadataEncoder, split
    from dermnet.metrics import format_interval
    from dermnet.models import get_model_spec

    if args.model is None and args.quick:
        print(QUICK_NOTE)
    args.model = args.model or ("simple_cnn" if args.quick else "xception")
    spec = get_model_spec(args.model)
    args.epochs = args.epochs or (1 if args.quick else 10)
    small = max(spec.min_input_size[0], 32)
    args.image_size = args.image_size or (small if args.quick else spec.input_size[0])
    args.subset = args.subset or (400 if args.quick else None)
    weights, weights_text = resolve_weights(args.weights, args.model)
    print(f"Weights: {weights_text}")
    group = records.group_cols[0]  # lesion_id (HAM10000) or patient_id (ISIC 2020)
    if args.subset and args.subset < len(records):  # grouped, class-stratified subset
        records = split(records, args.subset / len(records), seed=args.seed).test.with_role(None)
    parts = split(records, 0.2, 0.15, group_by=group, seed=args.seed)
    encoder = MetadataEncoder().fit(parts.train)  # the training part only
    print(
        f"{len(records)} images from {source}; split by {group}: train {len(parts.train)}, "
        f"val {len(parts.val)}, test {len(parts.test)}; metadata: {encoder.feature_names}"
    )
    preps = {
        "none": None,
        "hsv_blur": transforms.Compose(
            [transforms.GaussianBlur(sigma=1.0), transforms.ConvertColor("hsv")]
        ),
    }
    y_test = parts.test.labels
    test_sha = hashlib.sha1("\n".join(parts.test.paths).encode()).hexdigest()
    arms, scores = {}, {}
    for prep_name, prep in preps.items():
        for with_meta in (False, True):
            name = f"{prep_name} + {'metadata' if with_meta else 'image only'}"
            print(f"[{name}] training {args.model} for {args.epochs} epoch(s)")
            model, history, scores[name] = run_arm(parts, encoder, prep, with_meta, args, weights)
            report = metrics.evaluate(y_test, scores[name], CLASSES, n_bootstrap=1000)
            arms[name] = {
                "preprocessing": prep_name,
                "metadata": with_meta,
                "model_inputs": [t.name.split(":")[0] for t in model.inputs],
                "auc": report.per_class["melanoma"]["auc"],
                "auc_ci95": list(report.intervals["auc[melanoma]"]),
                "balanced_accuracy": report.balanced_accuracy,
                "balanced_accuracy_ci95": list(report.intervals["balanced_accuracy"]),
                "test_images": len(y_test),
                "test_paths_sha1": test_sha,
            }
            if prep_name == "hsv_blur" and with_meta:  # the published configuration
                kept = (report, history)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    fig = plot_roc(y_test, arms, scores)
    (out / "roc.png").write_bytes(metrics.figure_to_png(fig))
    with open(out / "split.csv", "w") as f:  # which part every image went to
        f.write("part,image_id\n")
        for role, part in zip(("train", "val", "test"), parts, strict=True):
            f.writelines(f"{role},{i}\n" for i in part.frame["image_id"])
    report, history = kept
    card = metrics.ModelCard.from_data(
        parts,
        model=f"{args.model} + metadata branch, HSV + blur preprocessing, {args.epochs} "
        f"epoch(s), weights: {weights_text}",
        intended_use="Research on melanoma triage; shows what metadata and preprocessing add.",
    )
    report.with_model_card(card).to_html(
        out / "report.html",
        title="Melanoma with metadata: HSV + blur + metadata arm",
        history=history,
        extra_figures={"The four arms on the same test images": fig},
    )
    result = {
        "recipe": "melanoma_metadata",
        "quick": args.quick,
        "note": "quick mode: a smoke run, the numbers are not meaningful" if args.quick else "",
        "data": {
            "dataset": args.dataset,
            "source": source,
            "images": len(records),
            "melanoma": int(records.labels.sum()),
            "group_by": group,
        },
        "split": {"train": len(parts.train), "val": len(parts.val), "test": len(parts.test)},
        "settings": {
            "model": args.model,
            "quick_note": QUICK_NOTE if args.quick else "",
            "weights": weights_text,
            "epochs": args.epochs,
            "image_size": args.image_size,
            "seed": args.seed,
        },
        "metadata_encoder": {
            "fitted_on": parts.train.role,
            "rows": len(parts.train),
            "state": encoder.to_dict(),
        },
        "arms": arms,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nMelanoma ROC AUC on {len(y_test)} test images ({int(y_test.sum())} melanomas):")
    for name, arm in arms.items():
        print(f"  {name:<26} AUC {format_interval(arm['auc'], *arm['auc_ci95'])}")
    if args.quick:
        print("Quick mode: a smoke run on a tiny subset; these numbers are not meaningful.")
    print(f"Done in {result['elapsed_s']:.0f}s; wrote {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
