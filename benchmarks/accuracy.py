"""The accuracy benchmark: HAM10000, 7 classes, from scratch on a CPU, two built-in recipes.

Both recipes run through the library's own path (`dermnet.train.train_run`, what
``dermnet train --recipe NAME`` does), on the same lesion-grouped split (70/15/15, fixed
seed, ``weights=None``: no ImageNet weights), and are scored on the validation and the
test split with seeded bootstrap 95% intervals:

- ``baseline_cnn``: the seed-style ``simple_cnn`` at 64x64 (three conv-pool blocks, Adam
  1e-3, no class weights, no augmentation), trained as Kaggle notebooks train it:
  up to 30 epochs with early stopping on validation loss, restoring the best weights;
- ``cpu_best``: dermnet's best recipe for a 30-minute CPU budget: ``fast_cnn`` at 64x64
  fused with age/sex/body site, plain cross-entropy, dihedral augmentation, AdamW with a
  warm-up and cosine decay, 8-view test-time augmentation and post-hoc logit adjustment
  by the training prior (nothing tuned on validation). With ``--members K`` (default 3)
  it trains K such runs on the same split (member ``i`` with seed ``seed + i`` for its
  initial weights and data order) and scores their ensemble (`build_ensemble`), with an
  ablation on validation of what TTA, the ensemble and logit adjustment each add (paired
  bootstrap intervals, `ablation_table`).

``--image-only`` trains the best recipe a second time without metadata and adds what the
metadata adds to the ablation.

Targets (issue 15), on validation: with metadata balanced accuracy >= 0.70 and macro AUC
>= 0.95; image-only balanced accuracy >= 0.66; both above the baseline's upper 95% bound.
The script prints a table and writes ``results.json``, ``results.md`` and one run folder
per recipe (``report.html``, ``model.keras``, ...) to ``--output``; it exits 0 (1 only on
error), never because a target is missed.

    python benchmarks/accuracy.py              # the full benchmark (~50 min, 2 cores)
    python benchmarks/accuracy.py --quick      # a smoke run (numbers meaningless)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_BALANCED_ACCURACY = 0.70
TARGET_MACRO_AUC = 0.95
TARGET_IMAGE_ONLY_BALANCED_ACCURACY = 0.66
RECIPES = ("baseline_cnn", "cpu_best")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--root", type=Path, help="HAM10000 folder (default: $DERMNET_DATA_ROOT/ham10000)"
    )
    p.add_argument("--output", type=Path, default=REPO / "runs" / "accuracy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--recipes",
        nargs=2,
        default=list(RECIPES),
        metavar=("BASELINE", "BEST"),
        help="the two built-in recipes to compare (default: %(default)s)",
    )
    p.add_argument(
        "--members",
        type=int,
        default=3,
        help="runs of the best recipe in its ensemble (default: %(default)s; 1: one run)",
    )
    p.add_argument(
        "--set",
        dest="best_overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a field of the best recipe (repeatable), e.g. --set epochs=32",
    )
    p.add_argument(
        "--image-only",
        action="store_true",
        help="also train the best recipe without metadata (what metadata adds)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="1,000 images and 1 epoch per recipe: a smoke run of the whole path",
    )
    args = p.parse_args(argv)
    if args.members < 1:
        p.error(f"--members must be 1 or more; got {args.members}")
    overrides = {}
    for item in args.best_overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            p.error(f"--set takes KEY=VALUE (e.g. epochs=32); got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value  # a bare string, e.g. --set tta=flips
    args.best_overrides = overrides
    return args


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def row(name: str, summary: dict, role: str, params: int) -> dict:
    metrics = json.loads(
        (Path(summary["run"]) / f"metrics{'' if role == 'test' else '_' + role}.json").read_text()
    )
    intervals = metrics.get("intervals", {})
    mel = metrics["per_class"].get("mel", {})
    return {
        "model": name,
        "split": role,
        "train_seconds": summary["train_seconds"],
        "epochs": summary["epochs_done"],
        "params": params,
        "balanced_accuracy": metrics["balanced_accuracy"],
        "balanced_accuracy_ci": intervals.get("balanced_accuracy"),
        "macro_auc": metrics["macro_auc"],
        "macro_auc_ci": intervals.get("macro_auc"),
        "melanoma_sensitivity": mel.get("recall"),
        "melanoma_sensitivity_ci": intervals.get("recall[mel]"),
        "accuracy": metrics["accuracy"],
        "accuracy_ci": intervals.get("accuracy"),
    }


def train_recipe(config, folder: Path, members: int, log) -> dict:
    """Train ``config`` into ``folder`` (one run), or ``members`` runs and their ensemble.

    Members share member 0's split (``parts``); member ``i`` trains with seed
    ``config.seed + i`` (initial weights, data order, augmentation). The ensemble folder
    (``folder / "ensemble"``) is evaluated on validation and test like a run.
    """
    import dataclasses

    from dermnet.data import Split
    from dermnet.train import build_ensemble, evaluate_run, train_run
    from dermnet.train.run_folder import RunFolder

    log(
        f"{folder.name}: {config.model} {config.image_size}px, up to {config.epochs} epochs"
        f"{f', {members} members' if members > 1 else ''}"
    )
    t0 = time.perf_counter()
    if members == 1:
        summary = train_run(config, folder, log=log, evaluate_on=("val", "test"))
        summary["train_seconds"] = round(time.perf_counter() - t0, 1)
        return summary
    runs, parts, epochs = [], None, 0
    for i in range(members):
        member = dataclasses.replace(config, seed=config.seed + i)
        run = folder / f"member_{i}"
        done = train_run(member, run, log=log, evaluate_on=(), parts=parts)
        epochs += done["epochs_done"]
        if parts is None:
            first = RunFolder(run)
            parts = Split(first.records("train"), first.records("val"), first.records("test"))
        runs.append(run)
        log(f"member {i + 1}/{members} done at {time.perf_counter() - t0:.0f} s")
    train_seconds = round(time.perf_counter() - t0, 1)
    ensemble = build_ensemble(runs, folder / "ensemble", tta=config.tta)
    for split in ("val", "test"):
        report = evaluate_run(ensemble.path, split=split)
        log(f"ensemble {split}: balanced accuracy {report.balanced_accuracy:.3f}")
    return {"run": str(ensemble.path), "train_seconds": train_seconds, "epochs_done": epochs}


def ablation_rows(ensembles: dict[str, Path], best: str) -> list[dict]:
    """What TTA, the ensemble, logit adjustment (and metadata) add on validation."""
    import numpy as np

    from dermnet.train.stacking import ablation_table, ensemble_variants

    labels, variants = ensemble_variants(ensembles[best], "val")
    rows = ablation_table(labels, variants)
    image_only = ensembles.get(f"{best}_image_only")
    if image_only is not None:
        other_labels, other = ensemble_variants(image_only, "val")
        if not np.array_equal(labels, other_labels):
            raise RuntimeError("the image-only and metadata runs have different validation sets")
        rows += ablation_table(
            labels,
            {
                "image only (every step)": list(other.values())[-1],
                "+ metadata (every step)": list(variants.values())[-1],
            },
        )
    return rows


def ablation_text(rows: list[dict]) -> str:
    """The ablation rows as a Markdown table."""
    lines = [
        "**What each step adds** (validation; the gain against the row before, paired "
        "bootstrap 95% interval)",
        "",
        "| variant | balanced accuracy | gain | macro AUC | gain |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r["variant"]]
        for m in ("balanced_accuracy", "macro_auc"):
            cells.append(fmt(r[m], (r[f"{m}_low"], r[f"{m}_high"])))
            gain = r[f"{m}_gain"]
            cells.append(
                ""
                if gain is None
                else f"{gain:+.3f} [{r[f'{m}_gain_low']:+.3f}, {r[f'{m}_gain_high']:+.3f}]"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fmt(value: float | None, ci) -> str:
    from dermnet.metrics import format_interval

    if value is None:
        return "undefined"
    return format_interval(value, *ci) if ci else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if args.root is None:
        from dermnet import MissingFileError
        from dermnet.data import data_root

        try:
            args.root = data_root("ham10000")
        except MissingFileError as exc:
            print(f"accuracy.py: no --root given: {exc}", file=sys.stderr)
            return 1
    if not (args.root / "HAM10000_metadata.csv").exists():
        print(
            f"accuracy.py: {args.root} has no HAM10000_metadata.csv. Download HAM10000 from "
            "https://doi.org/10.7910/DVN/DBW86T (or ISIC) and pass --root.",
            file=sys.stderr,
        )
        return 1
    started = time.perf_counter()
    import dermnet
    from dermnet.train import load_run_config

    args.output.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict]] = {"val": [], "test": []}
    best = dict(args.best_overrides)
    plans = [(args.recipes[0], 1, {}), (args.recipes[1], args.members, best)]
    if args.image_only:
        plans.append((args.recipes[1], args.members, {**best, "metadata": False}))
    ensembles: dict[str, Path] = {}
    split_sizes = None
    for recipe, members, extra in plans:
        overrides = {"dataset": "ham10000", "root": str(args.root), "seed": args.seed, **extra}
        if args.quick:
            overrides.update(epochs=1, max_images=1000, early_stopping=None, warmup_epochs=0.0)
        config = load_run_config(recipe=recipe, overrides=overrides)
        label = recipe + ("_image_only" if extra.get("metadata") is False else "")
        folder = args.output / label
        if folder.exists():
            shutil.rmtree(folder)  # a benchmark always trains afresh
        summary = train_recipe(config, folder, members, log)
        info = json.loads((Path(summary["run"]) / "config.json").read_text())
        split_sizes = info["split"]
        name = (
            f"{label}: {config.model} {config.image_size}px"
            f"{' + metadata' if config.metadata else ''}"
            f"{', TTA ' + config.tta if config.tta != 'none' else ''}"
            f"{', logit-adjusted' if config.logit_adjustment else ''}"
            f"{f', ensemble of {members}' if members > 1 else ''}"
            + "".join(f", {k}={v}" for k, v in extra.items() if k != "metadata")
        )
        params = dermnet.load_model(Path(summary["run"]) / "model.keras").count_params()
        for role in rows:
            rows[role].append(row(name, summary, role, params))
        if recipe == args.recipes[1]:
            ensembles[label] = Path(summary["run"])

    base, top = rows["val"][:2]
    checks = {
        f"balanced accuracy >= {TARGET_BALANCED_ACCURACY}": top["balanced_accuracy"]
        >= TARGET_BALANCED_ACCURACY,
        f"macro AUC >= {TARGET_MACRO_AUC}": top["macro_auc"] >= TARGET_MACRO_AUC,
        "balanced accuracy above the baseline's upper bound": top["balanced_accuracy"]
        > base["balanced_accuracy_ci"][1],
        "macro AUC above the baseline's upper bound": top["macro_auc"] > base["macro_auc_ci"][1],
    }
    if args.image_only:
        image_only = rows["val"][2]
        checks[f"image-only balanced accuracy >= {TARGET_IMAGE_ONLY_BALANCED_ACCURACY}"] = (
            image_only["balanced_accuracy"] >= TARGET_IMAGE_ONLY_BALANCED_ACCURACY
        )
        checks["image-only balanced accuracy above the baseline's upper bound"] = (
            image_only["balanced_accuracy"] > base["balanced_accuracy_ci"][1]
        )
    log("ablation on validation (what each step adds)")
    ablation = ablation_rows(ensembles, args.recipes[1])
    total = time.perf_counter() - started
    tables = []
    for role, title in (("val", "Validation split"), ("test", "Test split")):
        lines = [
            f"**{title}** ({split_sizes[role]} images)",
            "",
            "| recipe | balanced accuracy | macro AUC | melanoma sensitivity | accuracy | "
            "epochs | train time | params |",
            "|---|---|---|---|---|---:|---:|---:|",
        ]
        for r in rows[role]:
            lines.append(
                f"| {r['model']} | {fmt(r['balanced_accuracy'], r['balanced_accuracy_ci'])} | "
                f"{fmt(r['macro_auc'], r['macro_auc_ci'])} | "
                f"{fmt(r['melanoma_sensitivity'], r['melanoma_sensitivity_ci'])} | "
                f"{fmt(r['accuracy'], r['accuracy_ci'])} | {r['epochs']} | "
                f"{r['train_seconds']:.0f} s | {r['params']:,} |"
            )
        tables.append("\n".join(lines))
    verdict = "\n".join(f"- [{'x' if ok else ' '}] {k} (validation)" for k, ok in checks.items())
    summary_text = (
        f"HAM10000 ({sum(split_sizes.values())} images, split grouped by lesion_id, seed "
        f"{args.seed}), weights=None, {os.cpu_count()} CPU cores, total {total / 60:.1f} min"
        f"{' (QUICK smoke run: numbers are meaningless)' if args.quick else ''}.\n\n"
        + "\n\n".join(tables)
        + f"\n\n95% bootstrap intervals.\n\n{ablation_text(ablation)}\n\n{verdict}\n"
    )
    (args.output / "results.md").write_text(summary_text)
    result = {
        "rows": rows["val"],
        "test_rows": rows["test"],
        "checks": checks,
        "ablation": ablation,
        "total_seconds": round(total, 1),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "split": split_sizes,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "dermnet": dermnet.__version__,
    }
    (args.output / "results.json").write_text(json.dumps(result, indent=2))
    print("\n" + summary_text)
    print(f"run folders: {', '.join(str(p) for p in sorted(args.output.iterdir()) if p.is_dir())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
