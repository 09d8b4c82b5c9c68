"""``dermnet predict``: a run's predictions for image files and folders."""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path
from typing import Any

from dermnet.cli.arguments import (
    ProgressCounter,
    add_batch_size,
    add_model_file,
    add_output,
    add_quiet,
    command_parser,
    existing_path,
    float_type,
    run_folder_with_model,
)

__all__ = ["add_predict", "check_predict", "predictions_table", "run_predict"]


# -- predict --------------------------------------------------------------------------------
def add_predict(sub: Any) -> None:
    p = command_parser(sub, "predict", run_predict)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by dermnet train")
    p.add_argument(
        "images",
        nargs="+",
        metavar="INPUT",
        help="image files, folders, CSVs of image paths, or one shard folder",
    )
    add_output(p, None, "CSV file, appended batch by batch and resumed (default: standard output)")
    add_model_file(p)
    add_batch_size(p)
    p.add_argument(
        "--threshold",
        type=float_type(low=0.0, high=1.0),
        default=0.5,
        help="flag predictions whose top probability is below this as low_confidence "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start --output afresh (default: skip the images it holds already)",
    )
    add_quiet(p, "no progress bar")


def check_predict(args: argparse.Namespace) -> None:
    run_folder_with_model(args)
    for image in args.images:
        existing_path(image, "INPUT")


def predictions_table(table: Any, threshold: float = 0.5) -> Any:
    """The table ``dermnet predict`` writes, from `dermnet.train.predict_run`'s frame.

    Args:
        table: a ``pandas.DataFrame`` with ``image_path``, ``prediction``,
            ``confidence`` and ``p_<class>`` columns.
        threshold: a top-class probability below it is flagged ``low_confidence``.

    Returns:
        A frame with ``image``, ``prediction``, ``probability``, ``low_confidence`` and
        the ``p_<class>`` columns.
    """
    classes = [c for c in table.columns if c.startswith("p_")]
    out = table.rename(columns={"image_path": "image", "confidence": "probability"})
    out["low_confidence"] = out["probability"] < threshold
    return out[["image", "prediction", "probability", "low_confidence", *classes]]


def run_predict(args: argparse.Namespace) -> int:
    """Predict images with a run's model, streaming the rows to a CSV.

    Classify image files, folders (searched recursively), CSVs of image paths (an
    image_path column; other columns are a metadata run's metadata) or a shard folder with
    RUN_DIR's model, read as in training, batch by batch in constant memory. Each batch's
    rows are appended to --output at once; run the same command again after an interruption
    and it skips the images already there. Columns: image, prediction (the top class),
    probability (of the top class), low_confidence (below --threshold), p_<class> per class,
    and confidence and abstain when the run holds abstention.json (dermnet evaluate).
    Images that cannot be read are listed with the reason in OUTPUT.errors.csv (and named
    on standard error); the others are scored, and the exit status is then 1.
    """
    from dermnet.train.prediction import predict_to_csv

    output = args.output
    with tempfile.TemporaryDirectory() as scratch:
        target = output or str(Path(scratch) / "predictions.csv")
        with ProgressCounter("predict", enabled=not args.quiet) as counter:
            summary = predict_to_csv(
                args.run_dir,
                args.images,
                target,
                model_file=args.model_file,
                batch_size=args.batch_size,
                threshold=args.threshold,
                overwrite=bool(args.overwrite or output is None),
                progress=counter,
            )
        if output is None:
            sys.stdout.write(Path(target).read_text(encoding="utf-8"))
            return _report_unreadable(summary, None)
    parts = [
        f"{summary.written} predictions written to {output} "
        f"({summary.low_confidence} below the --threshold {args.threshold:g})"
    ]
    if summary.skipped:
        parts.append(f"{summary.skipped} already there, skipped")
    if summary.failed:
        parts.append(f"{summary.failed} images could not be read: see {summary.errors}")
    print("; ".join(parts))
    return _report_unreadable(summary, summary.errors)


def _report_unreadable(summary: Any, errors: Path | None) -> int:
    """Name the images this call could not score on standard error; 1 if any, else 0."""
    if not summary.failed:
        return 0
    with open(summary.errors, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    shown = "; ".join(f"{image}: {reason}" for image, reason, *_ in rows[-summary.failed :][:5])
    more = f"; ... ({summary.failed} in all)" if summary.failed > 5 else ""
    where = f" (listed in {errors})" if errors is not None else ""
    print(f"dermnet predict: not readable images: {shown}{more}{where}", file=sys.stderr)
    return 1
