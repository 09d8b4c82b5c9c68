"""``dermnet predict``: a run's predictions for image files and folders."""

from __future__ import annotations

import argparse
from typing import Any

from dermnet._core.progress import Progress
from dermnet.cli.arguments import (
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


class _ProgressCounter:
    """A ``progress(done, total)`` callback that draws a `Progress` bar."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(total, label=self.label, unit="img", enabled=self.enabled)
        self.bar.update(done - self.bar.done)

    def __enter__(self) -> _ProgressCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


# -- predict --------------------------------------------------------------------------------
def add_predict(sub: Any) -> None:
    p = command_parser(sub, "predict", run_predict)
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by dermnet train")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files and/or folders")
    add_output(p, None, "CSV file (default: standard output)")
    add_model_file(p)
    add_batch_size(p)
    p.add_argument(
        "--threshold",
        type=float_type(low=0.0, high=1.0),
        default=0.5,
        help="flag predictions whose top probability is below this as low_confidence "
        "(default: %(default)s)",
    )
    add_quiet(p, "no progress bar")


def check_predict(args: argparse.Namespace) -> None:
    run_folder_with_model(args)
    for image in args.images:
        existing_path(image, "IMAGE")


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
    """Predict images with a run's model.

    Classify image files and folders (searched recursively) with RUN_DIR/model.keras, read
    as in training. Writes a CSV table (to standard output, or --output): image, prediction
    (the top class), probability (of the top class), low_confidence (True when that
    probability is below --threshold), then p_<class>, one probability column per class.
    """
    from dermnet.train.run import predict_run

    with _ProgressCounter("predict", enabled=not args.quiet) as counter:
        table = predict_run(
            args.run_dir,
            args.images,
            model_file=args.model_file,
            batch_size=args.batch_size,
            progress=counter,
        )
    table = predictions_table(table, args.threshold)
    if args.output:
        table.to_csv(args.output, index=False)
        low = int(table["low_confidence"].sum())
        print(
            f"{len(table)} predictions written to {args.output} "
            f"({low} below the --threshold {args.threshold:g})"
        )
    else:
        print(table.to_csv(index=False), end="")
    return 0
