"""``dermnet describe`` (a local dataset's tables and figures) and ``dermnet preprocess``
(a preprocessing cache of an image folder). Neither imports TensorFlow."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dermnet.cli.arguments import add_output, add_quiet, command_parser, int_type

__all__ = ["add_describe", "add_preprocess", "run_describe", "run_preprocess"]


def add_describe(sub: Any) -> None:
    p = command_parser(sub, "describe", run_describe)
    p.add_argument("dataset", help="a registered dataset name, e.g. ham10000, isic2020")
    p.add_argument("root", help="the dataset folder (or file, for csv/medmnist/hmnist)")
    add_output(p, None, "folder for summary.txt, CSV tables and PNG figures")
    p.add_argument("--validate", action="store_true", help="decode every image and report")
    p.add_argument(
        "--no-check-files",
        action="store_true",
        help="read the table only, without looking for the images (ISIC 2020 metadata)",
    )


def run_describe(args: argparse.Namespace) -> int:
    """Counts, groups, age/sex/site tables and figures of a local dataset.

    Load a dataset with a registered loader (see `dermnet info`) and print its description;
    --validate also decodes every image and reports problems (exit status 1 if any);
    --output writes the tables and figures.
    """
    import inspect

    from dermnet.data import describe, load_dataset, validate
    from dermnet.data.datasets import DATASETS, list_datasets

    list_datasets()  # registers every built-in loader
    options: dict[str, Any] = {}
    if args.no_check_files:
        loader = DATASETS.get(args.dataset, where="dermnet describe")
        if "check_files" not in inspect.signature(loader).parameters:
            print(
                f"dermnet describe: {args.dataset} has no --no-check-files option", file=sys.stderr
            )
            return 2
        options["check_files"] = False
    records = load_dataset(args.dataset, args.root, **options)
    info = describe(records)
    print(records.summary())
    print(info.summary())
    status = 0
    if args.validate:
        report = validate(records)
        print(report.summary())
        status = 0 if report.ok else 1
    if args.output:
        written = info.save(args.output)
        print(f"wrote {len(written)} files to {args.output}")
    return status


def add_preprocess(sub: Any) -> None:
    p = command_parser(sub, "preprocess", run_preprocess)
    p.add_argument("source", metavar="SRC", help="folder of images (searched recursively)")
    p.add_argument("destination", metavar="DST", help="cache folder to write")
    how = p.add_mutually_exclusive_group()
    how.add_argument(
        "--preset",
        default=None,
        help="preset name: dermoscopy, dermoscopy_clahe, microscopy, resize (default: dermoscopy)",
    )
    how.add_argument(
        "--pipeline",
        default=None,
        metavar="JSON",
        help="a JSON file holding a pipeline dict (Transform.to_dict())",
    )
    p.add_argument(
        "--image-size",
        type=int_type(low=1),  # `preset` checks the size with check_image_size (>= 1)
        default=224,
        help="output size in pixels for --preset (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        "-j",
        type=int_type(low=1),  # as `preprocess_folder` checks it
        default=None,
        help="worker processes (default: the CPU count)",
    )
    p.add_argument(
        "--format",
        dest="image_format",
        choices=("png", "jpg"),
        default="png",
        help="output format (default: %(default)s, lossless)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="rewrite every output, even over a cache made by another pipeline",
    )
    add_quiet(p, "no progress line")


def _pipeline(args: argparse.Namespace) -> Any:
    """The pipeline of ``--pipeline FILE``, or the ``--preset`` at ``--image-size``."""
    from dermnet.transforms import preset, transform_from_dict

    if args.pipeline is None:
        return preset(args.preset or "dermoscopy", args.image_size)
    from dermnet._core.errors import MissingFileError, ParameterError

    path = Path(args.pipeline)
    if not path.is_file():
        raise MissingFileError(f"The pipeline file given as --pipeline does not exist: {path}")
    try:
        return transform_from_dict(json.loads(path.read_text()))
    except ValueError as exc:
        raise ParameterError(f"The pipeline file {path} is not a valid pipeline: {exc}") from None


def run_preprocess(args: argparse.Namespace) -> int:
    """Apply a preprocessing preset to an image folder and write a cache.

    Apply a preprocessing pipeline (a named preset or a pipeline JSON file) to every image
    under SRC, in parallel, and write the results under DST with the same sub-folders. Re-
    running resumes: valid outputs are skipped. DST/dermnet_preprocess.json records the
    pipeline, counts and errors.
    """
    from dermnet.transforms import preprocess_folder

    pipeline = _pipeline(args)
    if not args.quiet:
        print(f"dermnet preprocess: {pipeline!r}", file=sys.stderr)
    report = preprocess_folder(
        args.source,
        args.destination,
        pipeline,
        workers=args.workers,
        image_format=args.image_format,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    print(report.summary())
    return 0 if report.ok else 1
