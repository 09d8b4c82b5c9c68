"""The commands that use a trained model: ``dermnet evaluate``, ``predict`` and ``explain``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dermnet.cli.arguments import (
    SEED,
    ProgressCounter,
    UsageError,
    add_batch_size,
    add_model_file,
    add_output,
    command_parser,
    existing_path,
    float_type,
    int_type,
    is_run_folder,
    run_folder_with_model,
)

# ``predict`` moved to `dermnet.cli.predict`; these names stay importable from here.
from dermnet.cli.predict import add_predict as add_predict
from dermnet.cli.predict import check_predict as check_predict
from dermnet.cli.predict import predictions_table as predictions_table
from dermnet.cli.predict import run_predict as run_predict

__all__ = [
    "add_evaluate",
    "add_explain",
    "check_evaluate",
    "check_explain",
    "print_report_summary",
    "run_evaluate",
    "run_explain",
]

_EXPLAIN_METHODS = ("gradcam", "gradcam++", "scorecam", "layercam", "eigencam", "lime", "shap")
#: The smallest LIME sample count and SHAP evaluation budget (``LimeExplainer`` and
#: ``ShapExplainer`` check ``num_samples >= 2`` and ``max_evals >= 3``).
_LIME_MIN_SAMPLES = 2
_SHAP_MIN_EVALS = 3


def print_report_summary(run: Path, split: str) -> None:
    """Print the evaluation's compact table (95% intervals) and where the rest is."""
    suffix = "" if split == "test" else f"_{split}"
    table = run / f"summary{suffix}.txt"
    if table.is_file():
        print(table.read_text(encoding="utf-8").rstrip())
    print(f"Full report: {run / f'metrics{suffix}.md'}; page: {run / f'report{suffix}.html'}")


# -- evaluate -------------------------------------------------------------------------------
def add_evaluate(sub: Any) -> None:
    p = command_parser(sub, "evaluate", run_evaluate)
    p.add_argument("run_dir", help="a run folder written by dermnet train")
    p.add_argument("--split", choices=("test", "val"), default="test", help="default: test")
    add_model_file(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--positive-class",
        default=None,
        metavar="CLASS",
        help="the class of interest for sensitivity at fixed specificity (default: mel, "
        "malignant, ... when present)",
    )
    p.add_argument(
        "--by",
        default=None,
        metavar="COLUMNS",
        help="report subgroups by these metadata columns, comma-separated (e.g. "
        "sex,age_band,localization; age_band is derived from age)",
    )
    p.add_argument(
        "--min-group-size",
        type=int_type(low=1),
        default=30,
        help="subgroups with fewer images are reported as too small (default: %(default)s)",
    )
    target = p.add_mutually_exclusive_group()
    target.add_argument(
        "--target-risk",
        type=float_type(low=0.0, high=1.0),
        default=None,
        help="with --split val: choose the abstention threshold for this risk and save it "
        "as abstention.json (default: 0.1)",
    )
    target.add_argument(
        "--target-coverage",
        type=float_type(low=0.0, high=1.0),
        default=None,
        help="with --split val: choose the abstention threshold for this coverage instead",
    )


def check_evaluate(args: argparse.Namespace) -> None:
    from dermnet._core.errors import ParameterError
    from dermnet.train.run_trust import check_by, parse_by, split_csv_columns

    run = run_folder_with_model(args)
    if args.split != "val" and (args.target_risk is not None or args.target_coverage is not None):
        raise UsageError(
            "--target-risk/--target-coverage choose the abstention threshold on the validation "
            "split: add --split val (the test evaluation applies the saved abstention.json)"
        )
    if args.by is not None:
        try:
            by = parse_by(args.by)
        except ParameterError as exc:
            raise UsageError(f"--by: {exc}") from None
        columns = split_csv_columns(run)
        if columns is not None:
            try:
                check_by(by, columns, f"the run's split.csv ({run / 'split.csv'})")
            except ParameterError as exc:
                raise UsageError(f"--by: {exc}") from None


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a run's model on its test (or validation) split.

    Load RUN_DIR/model.keras and score it on the run's own held-out split (from split.csv);
    print the report and write metrics.json, metrics.md, report.html and model_card.md.
    With --split val, choose an abstention threshold (max probability, for --target-risk,
    default 0.1, or --target-coverage) and save it as abstention.json; the test evaluation
    applies it and reports its coverage and risk. --by adds a subgroup table and figure.
    """
    from dermnet.train.run import evaluate_run

    with ProgressCounter("evaluate", enabled=True) as counter:
        report = evaluate_run(
            args.run_dir,
            args.split,
            model_file=args.model_file,
            progress=counter,
            positive_class=args.positive_class,
            by=args.by,
            min_group_size=args.min_group_size,
            target_risk=args.target_risk,
            target_coverage=args.target_coverage,
        )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print_report_summary(Path(args.run_dir), args.split)
        for section in report.sections:
            print(f"{section.title}: {section.text}")
    return 0


# -- explain --------------------------------------------------------------------------------
def add_explain(sub: Any) -> None:
    p = command_parser(sub, "explain", run_explain)
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to explain")
    p.add_argument(
        "--model", "-m", required=True, metavar="RUN_OR_FILE", help="a .keras file or run folder"
    )
    p.add_argument(
        "--method",
        choices=_EXPLAIN_METHODS,
        default="gradcam",
        help="explanation method (default: %(default)s)",
    )
    add_output(p, "dermnet-explain", "output folder")
    p.add_argument(
        "--class",
        dest="class_index",
        type=int_type(low=0),
        default=None,
        help="class index to explain (default: each image's predicted class)",
    )
    p.add_argument("--layer", default=None, help="CAM target layer path (default: automatic)")
    p.add_argument(
        "--num-samples",
        type=int_type(low=_LIME_MIN_SAMPLES),
        default=1000,
        help="LIME perturbed samples per image (default: %(default)s)",
    )
    p.add_argument(
        "--segmentation",
        choices=("quickshift", "slic", "felzenszwalb"),
        default="quickshift",
        help="LIME superpixels (default: %(default)s)",
    )
    p.add_argument(
        "--max-evals",
        type=int_type(low=_SHAP_MIN_EVALS),
        default=500,
        help="SHAP partition evaluations per image (default: %(default)s)",
    )
    add_batch_size(p)
    p.add_argument("--seed", type=SEED, default=0, help="random seed for LIME (default: 0)")
    p.add_argument(
        "--masks",
        default=None,
        metavar="DIR",
        help="a folder of lesion masks named by the images' file stems (e.g. ISIC_x.png or "
        "ISIC_x_segmentation.png): score each map against its mask (energy, pointing game, "
        "IoU) beside random and centre-Gaussian maps; writes localization.csv",
    )


def check_explain(args: argparse.Namespace) -> None:
    model = existing_path(args.model, "--model")
    if model.is_dir():
        if not (model / "model.keras").is_file():
            raise UsageError(f"--model: the folder {model} has no model.keras")
    elif model.suffix != ".keras":
        raise UsageError(f"--model: expected a .keras file or a run folder, got {model}")
    run_folder = is_run_folder(model)
    if args.masks is not None and not Path(args.masks).is_dir():
        raise UsageError(f"--masks: {args.masks} is not a folder")
    for image in args.images:
        path = Path(image)
        if run_folder and path.is_dir():
            continue  # a run explains folders of images too
        if not path.is_file():
            what = "is a folder, not an image file" if path.is_dir() else "does not exist"
            raise UsageError(f"IMAGE: {path} {what}")


def _explain_options(args: argparse.Namespace) -> dict[str, Any]:
    """The options of the chosen method, from the command line."""
    options: dict[str, Any] = {"batch_size": args.batch_size}
    if args.method == "lime":
        options.update(num_samples=args.num_samples, segmentation=args.segmentation, seed=args.seed)
    elif args.method == "shap":
        options.update(max_evals=args.max_evals, seed=args.seed)
    elif args.layer is not None:
        options["target_layer"] = args.layer
    return options


def run_explain(args: argparse.Namespace) -> int:
    """Explain a saved model's predictions on image files (overlays + HTML page).

    Load a model (a .keras file or a run folder with model.keras), explain its prediction
    for each image with the chosen method, and write one overlay PNG per image,
    explanations.json and index.html to --output. Images are resized to the model's input
    size.
    """
    options = {"method": args.method, "class_index": args.class_index, **_explain_options(args)}
    if args.masks is not None:
        options["masks"] = args.masks
    model = Path(args.model)
    if is_run_folder(model):
        from dermnet.train.run import explain_run

        # the run's data config, TTA and logit adjustment: the probabilities of predict
        records = explain_run(model, args.images, args.output, **options)
    else:
        from dermnet.explain import write_explanations

        records = write_explanations(args.model, args.images, args.output, **options)
    for r in records:
        print(
            f"{r['file']}: predicted {r['predicted']} ({r['probability']:.3f}), "
            f"explained {r['explained']} -> {r['overlay']}"
        )
    print(f"Wrote {len(records)} overlays and index.html to {args.output}")
    summary = Path(args.output) / "localization_summary.csv"
    if args.masks is not None and summary.is_file():
        import pandas as pd

        from dermnet.explain.mask_scores import summary_lines

        print("Agreement with the lesion masks (mean [95% CI], difference to the centre map):")
        for line in summary_lines(pd.read_csv(summary)):
            print("  " + line)
        print(f"Per image: {Path(args.output) / 'localization.csv'}")
    return 0
