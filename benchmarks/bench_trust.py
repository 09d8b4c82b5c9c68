"""Clinical trust on the 150 HAM10000 images that ship with a lesion mask.

1. Explanations against masks: energy inside the lesion mask, pointing game and top-20%
   IoU for each CAM method, against a seeded random map and a centre-Gaussian map
   (a map must beat the centre baseline to show it looks at the lesion), with bootstrap
   intervals and the paired difference to the centre baseline.
2. With a run folder: the model's predictions on the same images give a subgroup table
   (sex, age band, body site; the sample is small, so most groups are reported as too
   small, never hidden) and the risk-coverage summary (AURC) of each confidence score.

Without ``--run`` only the baselines and an "oracle" (the mask itself, blurred) are
scored: the ceiling and floor every CAM method lies between. Nothing is trained.

Run: ``python benchmarks/bench_trust.py [--run RUN_FOLDER] [--limit N]`` from the project
root (the data folder defaults to ``$DERMNET_DATA_ROOT/ham10000_fullres_sample``). Prints
Markdown tables; ``--out DIR`` also writes them and a forest plot there. The CAMs are
computed at the model's input size and resized (bilinear) to the 600x450 mask, which is
right because dermnet reads images by stretching them to the input size (no crop).
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
    args = parser.parse_args(argv)

    from dermnet.data import data_root
    from dermnet.explain.localization import load_lesion_masks, localization_report, read_mask
    from dermnet.metrics.subgroups import age_bands, subgroup_report
    from dermnet.metrics.uncertainty import aurc, confidence_scores, optimal_aurc

    frame = load_lesion_masks(args.data or data_root("ham10000_fullres_sample"))
    if args.limit:
        frame = frame.iloc[: args.limit].reset_index(drop=True)
    masks = [read_mask(p) for p in frame["mask_path"]]
    shape = masks[0].shape
    if any(m.shape != shape for m in masks):
        raise SystemExit("bench_trust: the masks differ in size; this script expects one size.")
    print(
        f"{len(masks)} masked images from {args.data}, {shape[1]}x{shape[0]}, lesion area "
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
