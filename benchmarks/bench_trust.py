"""Clinical trust on the 150 HAM10000 images that ship with a lesion mask.

1. Explanations against masks: energy inside the lesion mask, pointing game and top-20%
   IoU for each CAM method, against a seeded random map and a centre-Gaussian map
   (a map must beat the centre baseline to show it looks at the lesion), with bootstrap
   intervals and the paired difference to the centre baseline.
2. With a run folder: the model's predictions on the same images give a subgroup table
   (sex, age band, body site; the sample is small, so most groups are reported as too
   small, never hidden) and the risk-coverage summary (AURC) of each confidence score.

3. With ``--loco CLASS[,CLASS...]``: unknown lesions, leave-one-class-out on the full
   HAM10000 (``data_root("ham10000")``). The class is removed before a lesion-grouped
   split (seed 0, 70/15/15) of the other six, a small model is trained on them through
   `train_run` (the ``cpu_best`` recipe, ``--epochs`` epochs, default 3: about 5 minutes
   on 2 shared CPU cores; image input only), and the known test images are scored
   against every image of the held-out class (none of them was ever trained on) with
   max probability, entropy, energy (from the true pre-softmax logits of the
   ``predictions`` layer, not log-probabilities) and dihedral TTA disagreement: AUROC
   and FPR at 95% TPR with bootstrap intervals per score. ``mel`` is the suggested
   class: 1,113 images, and the clinically worst unknown (a melanoma a model has never
   learned must not be called a confident naevus). ``--quick`` uses 300 images and 1
   epoch (a smoke run: the numbers mean nothing).

With neither ``--run`` nor ``--loco`` only the mask baselines and an "oracle" (the mask
itself, blurred) are scored: the ceiling and floor every CAM method lies between. With
``--loco`` and no ``--run`` only part 3 runs.

Run: ``python benchmarks/bench_trust.py [--run RUN_FOLDER] [--limit N] [--loco mel]`` from
the project root (the masked images default to
``$DERMNET_DATA_ROOT/ham10000_fullres_sample``). Prints Markdown tables; ``--out DIR``
also writes them and a forest plot there. The CAMs are computed at the model's input
size and resized (bilinear) to the 600x450 mask, which is right because dermnet reads
images by stretching them to the input size (no crop).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _table(frame, columns) -> str:
    """A DataFrame as a Markdown table, floats to 3 decimals."""
    head = "| " + " | ".join(columns) + " |"
    lines = [head, "|" + "---|" * len(columns)]
    for row in frame[columns].itertuples(index=False):
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _blurred(mask: np.ndarray) -> np.ndarray:
    from PIL import Image, ImageFilter

    image = Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(15))
    return np.asarray(image, dtype=np.float64) / 255.0


def _model_outputs(run: Path, paths: list[str], methods: list[str], shape: tuple[int, int]):
    """Probabilities, class names and resized CAMs of the predicted class per method."""
    from dermnet.data import DataConfig, load_images
    from dermnet.explain import explain_images, load_explained_model
    from dermnet.explain.localization import resize_map

    model, names = load_explained_model(run)
    input_shape = model.input_shape
    if isinstance(input_shape, (dict, list)):
        raise SystemExit("bench_trust: models with a metadata input are not supported yet.")
    size = (int(input_shape[1]), int(input_shape[2]))
    if (Path(run) / "config.json").is_file() and (Path(run) / "split.csv").is_file():
        # a run folder: its own data config (colour constancy, resize) and scoring (TTA,
        # logit adjustment), as dermnet predict and evaluate read and score images
        from dermnet.train.run_folder import RunFolder

        folder = RunFolder(run)
        images, metadata = folder.read_files(paths)
        probs = np.asarray(folder.score(model, images, metadata), dtype=np.float64)
        names = folder.classes
    else:
        images = load_images(paths, DataConfig(size))
        probs = np.asarray(model.predict(images, batch_size=16, verbose=0), dtype=np.float64)
    predicted = probs.argmax(axis=1)
    cams = {}
    for method in methods:
        start = time.perf_counter()
        maps = explain_images(model, images, method=method, class_index=predicted.tolist())
        cams[method] = [resize_map(m, shape) for m in maps]
        print(f"  {method}: {time.perf_counter() - start:.1f} s for {len(paths)} images")
    return probs, names, cams


def _logit_views(model, images: np.ndarray, batch_size: int = 256):
    """Pre-softmax logits ``(views, n, k)`` of the 8 dihedral views of ``images``.

    The logits are those of the model's ``predictions`` Dense layer (its input times the
    kernel plus the bias), so energy is computed from real logits, not log-probabilities.
    """
    import keras

    from dermnet.train.tta import _views

    head = model.get_layer("predictions")
    if not isinstance(head, keras.layers.Dense):
        raise SystemExit("bench_trust: the model's 'predictions' layer is not a Dense layer.")
    features = keras.Model(model.inputs, head.input)
    kernel, bias = (np.asarray(w, dtype=np.float64) for w in head.get_weights())
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        views = [
            np.asarray(features.predict_on_batch(v), dtype=np.float64) @ kernel + bias
            for v in _views(chunk, "dihedral")
        ]
        out.append(np.stack(views))
    return np.concatenate(out, axis=1)


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _loco_scores(folder, model, records) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Confidence scores (higher = surer) and probabilities of ``records`` under the run
    in ``folder``."""
    from dermnet.metrics.uncertainty import confidence_scores

    images, metadata = folder.read_records(records)
    probs = np.asarray(folder.score(model, images, metadata), dtype=np.float64)
    logits = _logit_views(model, np.asarray(images, dtype=np.float32))
    mean_logits = logits.mean(axis=0)
    if folder.config.logit_adjustment:  # the same adjustment as the scored probabilities
        prior = np.asarray(folder.class_counts, dtype=np.float64)
        mean_logits = mean_logits - folder.config.logit_adjustment * np.log(prior / prior.sum())
    return confidence_scores(probs, logits=mean_logits, tta=_softmax(logits)), probs


def _loco(held_out: str, args: argparse.Namespace) -> str:
    """Train without ``held_out``; the OOD table of the known test set vs that class."""
    import tempfile

    from dermnet.data import Split, data_root, split
    from dermnet.data.datasets.ham10000 import load_ham10000
    from dermnet.metrics.ood import leave_one_class_out, ood_scores_report
    from dermnet.train.run import train_run
    from dermnet.train.run_config import load_run_config
    from dermnet.train.run_folder import RunFolder

    started = time.perf_counter()
    root = args.ham10000 or data_root("ham10000")
    records = load_ham10000(root)
    if args.quick:
        rng = np.random.default_rng(0)
        keep = np.zeros(len(records), dtype=bool)
        keep[rng.choice(len(records), size=min(300, len(records)), replace=False)] = True
        records = records.subset(keep)
    parts = leave_one_class_out(records, held_out)
    config = load_run_config(
        recipe=args.recipe,
        overrides={
            "dataset": "ham10000",
            "root": str(root),
            "epochs": args.epochs,
            "warmup_epochs": min(1.0, args.epochs / 4),
            "metadata": False,
            "seed": 0,
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # --quick: classes too small for every part
        train, val, test = split(
            parts.known, test_size=config.test_size, val_size=config.val_size, seed=0
        )
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out / f"loco_{held_out}" if args.out is not None else Path(tmp) / "run"
        print(
            f"leave {held_out!r} out: train {len(train)}, val {len(val)}, known test "
            f"{len(test)}, unknown {len(parts.unknown)} images; {config.recipe} recipe "
            f"({config.model}, {config.image_size}px, tta {config.tta}), {config.epochs} "
            "epoch(s), image input only"
        )
        train_run(
            config,
            out,
            parts=Split(train, val, test),
            evaluate_on=(),
            log=lambda line: print(f"  {line}"),
        )
        trained = time.perf_counter() - started
        folder = RunFolder(out)
        model = folder.load_model()
        known, probs = _loco_scores(folder, model, test)
        unknown, _ = _loco_scores(folder, model, parts.unknown)
        labels = np.asarray([folder.classes.index(v) for v in test.frame["label"]])
    table = ood_scores_report(known, unknown, n_bootstrap=args.bootstrap, seed=0)
    hits = probs.argmax(axis=1) == labels
    recalls = [hits[labels == k].mean() for k in np.unique(labels)]
    total = time.perf_counter() - started
    columns = ["score", "n_in", "n_out", "auroc", "auroc_low", "auroc_high"]
    columns += ["fpr", "fpr_low", "fpr_high"]
    return "\n".join(
        [
            f"## Unknown lesions: {held_out} held out",
            "",
            f"Known: the {len(test)} test images of the other six classes; unknown: all "
            f"{len(parts.unknown)} {held_out} images. fpr: share of unknown images accepted "
            f"at the threshold that keeps 95% of the known ones; 95% bootstrap intervals "
            f"({args.bootstrap} resamples). The six-class model on its known test images: "
            f"accuracy {hits.mean():.3f}, balanced accuracy {np.mean(recalls):.3f}. "
            f"Training {trained / 60:.1f} min, total "
            f"{total / 60:.1f} min (budget about 8 min on 2 shared CPU cores)"
            + (" [--quick: 300 images, numbers meaningless]" if args.quick else "")
            + ".",
            "",
            _table(table, columns),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        help="masked image folder (default: data_root() / ham10000_fullres_sample)",
    )
    parser.add_argument("--run", type=Path, help="a run folder (or .keras file) to score")
    parser.add_argument("--methods", default="gradcam,gradcam++,layercam,eigencam")
    parser.add_argument("--limit", type=int, default=0, help="first N images only (0: all)")
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--top-fraction", type=float, default=0.2)
    parser.add_argument("--out", type=Path, help="folder for the tables and the figure")
    parser.add_argument(
        "--loco",
        help="leave-one-class-out OOD: held-out HAM10000 class(es), comma-separated "
        "(e.g. mel; mel,bcc)",
    )
    parser.add_argument("--ham10000", type=Path, help="default: data_root('ham10000')")
    parser.add_argument("--recipe", default="cpu_best", help="the --loco training recipe")
    parser.add_argument("--epochs", type=int, default=3, help="--loco training epochs")
    parser.add_argument(
        "--quick", action="store_true", help="--loco on 300 images, 1 epoch (smoke run)"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.bootstrap = 1, min(args.bootstrap, 100)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1; got {args.epochs}")
    if args.loco:
        from dermnet._core.errors import DermnetError

        try:
            sections = [_loco(c.strip(), args) for c in args.loco.split(",") if c.strip()]
        except DermnetError as exc:
            print(f"bench_trust: {exc}", file=sys.stderr)
            return 2
        print("\n\n".join(sections))
        if args.out is not None:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "bench_trust_loco.md").write_text("\n\n".join(sections) + "\n")
        if args.run is None:
            return 0

    from dermnet.data import data_root
    from dermnet.explain.localization import load_lesion_masks, localization_report, read_mask
    from dermnet.metrics.subgroups import age_bands, subgroup_report
    from dermnet.metrics.uncertainty import aurc, confidence_scores, optimal_aurc

    masked = args.data or data_root("ham10000_fullres_sample")
    frame = load_lesion_masks(masked)
    if args.limit:
        frame = frame.iloc[: args.limit].reset_index(drop=True)
    masks = [read_mask(p) for p in frame["mask_path"]]
    shape = masks[0].shape
    if any(m.shape != shape for m in masks):
        raise SystemExit("bench_trust: the masks differ in size; this script expects one size.")
    print(
        f"{len(masks)} masked images from {masked}, {shape[1]}x{shape[0]}, lesion area "
        f"{np.mean([m.mean() for m in masks]):.1%} of the image on average"
    )

    cams = {"oracle (blurred mask)": [_blurred(m) for m in masks]}
    outputs = None
    if args.run is not None:
        methods = [m.strip() for m in args.methods.split(",") if m.strip()]
        outputs = _model_outputs(args.run, list(frame["image_path"]), methods, shape)
        cams.update(outputs[2])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = localization_report(
            cams, masks, top_fraction=args.top_fraction, n_bootstrap=args.bootstrap
        )
    for w in caught:
        print(f"warning: {w.message}")
    text = ["## Mask agreement", ""]
    columns = [
        "method",
        "metric",
        "n",
        "n_undefined",
        "mean",
        "low",
        "high",
        "diff_vs_center",
        "diff_low",
        "diff_high",
    ]
    text.append(_table(table, columns))

    if outputs is not None:
        probs, names, _ = outputs
        names = list(names) if names else [str(i) for i in range(probs.shape[1])]
        labels = frame.get("dx")
        if labels is None or not set(labels.dropna()) <= set(names):
            print("The run's classes do not cover the images' dx labels: no subgroup table.")
        else:
            y = np.array([names.index(v) for v in labels])
            groups = {
                "sex": frame["sex"].to_numpy(dtype=object),
                "age_band": age_bands(frame["age"]),
                "localization": frame["localization"].to_numpy(dtype=object),
            }
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = subgroup_report(
                    y, probs, groups, names, min_size=20, n_bootstrap=args.bootstrap
                )
            text += ["", "## Subgroups", "", report.to_markdown()]
            correct = probs.argmax(axis=1) == y
            rows = [
                f"| {name} | {aurc(score, correct):.4f} |"
                for name, score in confidence_scores(probs).items()
            ]
            text += [
                "",
                "## Risk-coverage",
                "",
                f"accuracy {correct.mean():.3f}; the best "
                f"possible AURC is {optimal_aurc(correct):.4f}",
                "",
                "| score | AURC |",
                "|---|---|",
                *rows,
            ]
            if args.out is not None:
                args.out.mkdir(parents=True, exist_ok=True)
                report.plot("balanced_accuracy").savefig(args.out / "subgroup_gaps.png", dpi=110)
    result = "\n".join(text)
    print(result)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_trust.md").write_text(result + "\n", encoding="utf-8")
        table.to_csv(args.out / "mask_agreement.csv", index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
