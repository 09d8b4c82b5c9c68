"""The leakage lesson: one model, three ways to split HAM10000, three different "results".

HAM10000 has 10,015 images of 7,470 lesions: many lesions were photographed several
times. This recipe trains the same model with the same settings under three protocols
and measures both the leak and the test numbers of each:

  random      a random image-level split: images of one lesion land in train and test.
  oversample  the pipeline that reported 97%: oversample the whole dataset (minority
              images copied) and THEN split at random, so copies of one image are on
              both sides. dermnet refuses this unless asked (allow_unsplit=True, which
              warns); the recipe asks, to show the anti-pattern.
  grouped     split grouped by lesion_id (dermnet.data.split): the honest reference.

Run:
    python examples/leakage_lesson.py --quick            # ~1 minute on a CPU
    python examples/leakage_lesson.py                    # full HAM10000 (GPU advised)
    python examples/leakage_lesson.py --root path/to/HAM10000 --epochs 10

Writes to --output (default runs/leakage_lesson): metrics.json, leakage_table.md,
leakage.png and report.html (the honest arm, with a model card).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ARMS = ("random", "oversample", "grouped")  # the honest arm last, as the reference
TITLES = {
    "random": "random image-level split",
    "oversample": "oversample, then random split",
    "grouped": "lesion-grouped split (honest)",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--root", type=Path, help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)"
    )
    p.add_argument("--quick", action="store_true", help="small subset, 2 epochs (a smoke run)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("runs/leakage_lesson"),
        help="output folder (default runs/leakage_lesson)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of splits, weights and shuffles")
    p.add_argument("--epochs", type=int, help="epochs per arm (default 10; 2 with --quick)")
    p.add_argument("--image-size", type=int, help="input size (default 64; 32 with --quick)")
    p.add_argument("--model", default="simple_cnn", help="model name, trained from scratch")
    return p.parse_args(argv)


def load_records(args: argparse.Namespace):
    from dermnet import MissingFileError
    from dermnet.data import data_root, load_ham10000, load_sample

    if args.root is not None:
        return load_ham10000(args.root), str(args.root)
    try:
        root = data_root("ham10000")
    except MissingFileError as exc:
        if args.quick:
            print(f"No HAM10000 folder found ({exc}): using the bundled 700-image sample.")
            return load_sample("ham10000"), "bundled HAM10000 sample"
        sys.exit(
            f"No HAM10000 folder: {exc} Or pass --root DIR, a folder with "
            "HAM10000_metadata.csv and the images (HAM10000_images_part_1/part_2 or images/). "
            "Download it by hand from https://doi.org/10.7910/DVN/DBW86T (or run with --quick "
            "on the bundled sample)."
        )
    return load_ham10000(root), str(root)


def make_parts(arm: str, records, seed: int):
    """(train, val, test) records of one protocol, and the warning dermnet gave, if any."""
    from sklearn.model_selection import train_test_split

    from dermnet.data import split
    from dermnet.imbalance import oversample

    if arm == "grouped":
        return tuple(split(records, 0.2, 0.1, group_by="lesion_id", seed=seed)), None
    if arm == "random":  # stratified, but image by image: a lesion's images scatter
        return tuple(split(records, 0.2, 0.1, group_by=None, seed=seed)), None
    # The anti-pattern: copy minority images until every class matches the largest, on
    # the whole dataset, then split the rows at random (sklearn's train_test_split).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        copied = oversample(records, "max", allow_unsplit=True, seed=seed)
    warned = "; ".join(f"{w.category.__name__}: {w.message}" for w in caught) or None
    rows = np.arange(len(copied))
    rest, test = train_test_split(rows, test_size=0.2, stratify=copied.labels, random_state=seed)
    train, val = train_test_split(
        rest, test_size=0.125, stratify=copied.labels[rest], random_state=seed
    )
    roles = ((train, "train"), (val, "val"), (test, "test"))
    return tuple(copied.subset(i, role=r) for i, r in roles), warned


def measure_leak(train, test) -> dict:
    from dermnet.data import check_leakage

    leak = check_leakage(train, test, "lesion_id")
    shared_lesions, shared_files = set(leak.shared_groups), set(train.paths) & set(test.paths)
    lesion_in_train = np.isin(test.groups("lesion_id"), list(shared_lesions))
    file_in_train = np.isin(test.paths, list(shared_files))
    return {
        "shared_lesions": len(shared_lesions),
        "shared_files": len(shared_files),
        "test_images_lesion_in_train": float(lesion_in_train.mean()),
        "test_images_file_in_train": float(file_in_train.mean()),
    }


def run_arm(arm: str, records, args: argparse.Namespace) -> tuple[dict, object]:
    from dermnet import imbalance, metrics, models, seed_everything, train
    from dermnet.data import make_dataset

    (tr, va, te), warned = make_parts(arm, records, args.seed)
    if warned:
        print(f"  dermnet warned: {warned}")
    leak = measure_leak(tr, te)
    size = (args.image_size, args.image_size)
    seed_everything(args.seed)  # the same initial weights in every arm
    model = models.create_model(args.model, records.num_classes, input_shape=(*size, 3))
    history = train.fit(
        model,
        make_dataset(tr, size, 64, shuffle=True, seed=args.seed, cache=True),
        make_dataset(va, size, 128, cache=True),
        epochs=args.epochs,
        class_weight=imbalance.class_weights(tr),
        seed=args.seed,
        verbose=0,
    )
    scores = model.predict(make_dataset(te, size, 128), verbose=0)
    card = metrics.ModelCard.from_data(
        {"train": tr, "val": va, "test": te},
        model=f"{args.model} from scratch, {args.epochs} epochs, balanced class weights",
        limitations=(
            "A teaching run: the leaky arms' numbers are wrong by construction.",
            "Research use only, not for patients.",
        ),
    )
    report = metrics.evaluate(te.labels, scores, records.classes, model_card=card)
    sizes = {"train": len(tr), "val": len(va), "test": len(te)}
    result = {"protocol": TITLES[arm], "sizes": sizes, "leak": leak, "warning": warned}
    for key in ("accuracy", "balanced_accuracy", "macro_auc"):
        result[key] = {"value": getattr(report, key), "ci95": list(report.intervals[key])}
    return result, (report, history)


def leakage_table(arms: dict) -> str:
    from dermnet.metrics import format_interval

    rows = [
        "| protocol | train / test images | lesions shared | identical files shared | test "
        "images whose lesion / identical file is in train | accuracy [95% CI] | balanced "
        "accuracy [95% CI] | macro AUC [95% CI] |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in arms.values():
        cells = [
            format_interval(r[k]["value"], *r[k]["ci95"])
            for k in ("accuracy", "balanced_accuracy", "macro_auc")
        ]
        leak, n = r["leak"], r["sizes"]
        rows.append(
            f"| {r['protocol']} | {n['train']} / {n['test']} | {leak['shared_lesions']} | "
            f"{leak['shared_files']} | {leak['test_images_lesion_in_train']:.0%} / "
            f"{leak['test_images_file_in_train']:.0%} | " + " | ".join(cells) + " |"
        )
    return "\n".join(rows) + "\n"


def plot_arms(arms: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.8))
    keys = ("accuracy", "balanced_accuracy", "macro_auc")
    for j, arm in enumerate(arms):
        r = arms[arm]
        x = np.arange(len(keys)) + (j - 1) * 0.27
        vals = np.array([r[k]["value"] for k in keys])
        err = np.abs(np.array([r[k]["ci95"] for k in keys]).T - vals)
        ax.bar(x, vals, 0.27, yerr=err, capsize=3, label=r["protocol"])
    ax.set_xticks(range(len(keys)), ["accuracy", "balanced accuracy", "macro AUC"])
    ax.set_ylim(0, 1.2)
    ax.set_title("Same model, three protocols (test set, 95% bootstrap CI)")
    ax.legend(fontsize=7, loc="upper center", ncol=3)
    fig.tight_layout()
    return fig


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.epochs = args.epochs or (2 if args.quick else 10)
    args.image_size = args.image_size or (32 if args.quick else 64)
    started = time.perf_counter()
    try:
        records, source = load_records(args)
    except (FileNotFoundError, ValueError) as exc:  # dermnet errors derive from these
        sys.exit(f"Cannot load HAM10000: {exc}")
    from dermnet import metrics
    from dermnet.data import split

    if args.quick and len(records) > 800:  # a class-stratified subset of whole lesions
        records = split(records, 800 / len(records), seed=args.seed).test.with_role(None)
    print(f"{len(records)} images of {len(set(records.groups('lesion_id')))} lesions from {source}")
    arms, reports = {}, {}
    for arm in ARMS:
        print(f"[{arm}] {TITLES[arm]}: training {args.model} for {args.epochs} epoch(s)")
        arms[arm], reports[arm] = run_arm(arm, records, args)
    out = args.output
    out.mkdir(parents=True, exist_ok=True)
    (out / "leakage_table.md").write_text(leakage_table(arms))
    fig = plot_arms(arms)
    (out / "leakage.png").write_bytes(metrics.figure_to_png(fig))
    report, history = reports["grouped"]
    report.to_html(
        out / "report.html",
        title="Leakage lesson: the honest (lesion-grouped) arm",
        history=history,
        extra_figures={"The three protocols side by side (test set, 95% CI)": fig},
    )
    result = {
        "recipe": "leakage_lesson",
        "quick": args.quick,
        "note": "quick mode: a smoke run, the numbers are not meaningful" if args.quick else "",
        "data": {
            "source": source,
            "images": len(records),
            "lesions": len(set(records.groups("lesion_id"))),
        },
        "settings": {k: getattr(args, k) for k in ("seed", "epochs", "image_size", "model")},
        "arms": arms,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n" + leakage_table(arms))
    if args.quick:
        print("Quick mode: a smoke run on a small subset; these numbers are not meaningful.")
    print(f"Done in {result['elapsed_s']:.0f}s; wrote {out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
