"""The ``dermnet shard`` command: pack a dataset into TFRecord shards, then verify them.

``dermnet shard --dataset ham10000 --root data/ham10000 OUT`` (or ``--csv table.csv``,
with the `load_csv` columns ``image`` and ``label``) writes the shard folder ``OUT``
with `dermnet.data.shards.write_shards` (parallel, resumable after an interrupt, with a
progress bar), then re-reads every shard with `verify_shards` and prints the index.
``--encoding pixels --image-size 224`` stores the images decoded and resized to the
training size (`dermnet.data.shard_pixels`): the fastest to read, at that size only.
Numeric options are checked when the command line is parsed (exit status 2). The
command line wires `add_shard_arguments` and `run_shard` (the ``cli`` package owns the
wiring).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from dermnet._core.argtypes import argument_type
from dermnet._core.errors import DermnetError
from dermnet._core.validation import check_image_size, check_int
from dermnet.data.data_config import INTERPOLATIONS, RESIZE_MODES
from dermnet.data.shard_pixels import ENCODINGS

__all__ = ["add_shard_arguments", "run_shard"]


def _int(low: int, high: int | None = None) -> Callable[[str], int]:
    return argument_type(lambda v: check_int(v, "value", "dermnet shard", low=low, high=high), int)


def _size(text: str) -> tuple[int, int]:
    """``224`` (square) or ``HEIGHTxWIDTH`` (e.g. ``450x600``)."""
    parts = text.lower().split("x")
    if len(parts) == 2:
        return int(parts[0]), int(parts[1])
    return int(text)  # type: ignore[return-value]  # an int: check_image_size squares it


_IMAGE_SIZE = argument_type(
    lambda v: check_image_size(v, "value", "dermnet shard", minimum=8), _size, "size"
)


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dermnet shard`` to ``parser``.

    Examples:
        >>> import argparse
        >>> parser = argparse.ArgumentParser()
        >>> add_shard_arguments(parser)
        >>> args = parser.parse_args(["--dataset", "ham10000", "--root", "d", "out"])
        >>> args.shard_size, args.max_side, args.workers, args.encoding
        (1024, None, None, 'jpeg')
        >>> args = parser.parse_args(
        ...     ["--csv", "t.csv", "out", "--encoding", "pixels", "--image-size", "450x600"]
        ... )
        >>> args.encoding, args.image_size
        ('pixels', (450, 600))
    """
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", help="a registered dataset name, e.g. ham10000, isic2020")
    source.add_argument(
        "--csv", help="a table of images (columns 'image' and 'label'; see load_csv)"
    )
    parser.add_argument(
        "--root", help="the dataset folder (with --dataset), or the images' folder (with --csv)"
    )
    parser.add_argument("out", help="the shard folder to write (local, or a gs:// URL)")
    parser.add_argument(
        "--shard-size", type=_int(1), default=1024, help="images per shard (default 1024)"
    )
    parser.add_argument(
        "--max-side",
        type=_int(16),
        default=None,
        help="re-encode images whose longer side is over this many pixels (JPEG)",
    )
    parser.add_argument(
        "--quality", type=_int(50, 100), default=95, help="JPEG quality of re-encoded images (95)"
    )
    parser.add_argument(
        "--encoding",
        choices=ENCODINGS,
        default="jpeg",
        help="jpeg (default): the image files, readable at any size; pixels: decoded and "
        "resized to --image-size (fastest to read, at that size only)",
    )
    parser.add_argument(
        "--image-size",
        type=_IMAGE_SIZE,
        default=None,
        help="with --encoding pixels: the stored size, 224 or HEIGHTxWIDTH (e.g. 450x600)",
    )
    parser.add_argument(
        "--resize", choices=RESIZE_MODES, default=None, help="with pixels: resize mode (stretch)"
    )
    parser.add_argument(
        "--interpolation",
        choices=INTERPOLATIONS,
        default=None,
        help="with pixels: resize method (bilinear)",
    )
    parser.add_argument(
        "--workers", type=_int(1), default=None, help="shards written at once (default: CPUs, <= 8)"
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="rewrite every shard, even finished ones"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def run_shard(args: argparse.Namespace) -> int:
    """Write and verify the shard folder that ``args`` describe; return the exit status.

    Returns:
        0 when the shards are written and verified; 2 on bad options or input (the
        message, on standard error, names the file or option).
    """
    from dermnet.data.datasets import list_datasets, load_dataset
    from dermnet.data.datasets.folders import load_csv
    from dermnet.data.shards import verify_shards, write_shards

    progress = not args.quiet
    try:
        if args.dataset is not None:
            if args.root is None:
                print("dermnet shard: --dataset needs --root (the dataset folder)", file=sys.stderr)
                return 2
            list_datasets()  # registers every built-in loader
            records = load_dataset(args.dataset, args.root)
        else:
            records = load_csv(args.csv, args.root)
        print(records.summary())
        start = time.perf_counter()
        index = write_shards(
            records,
            args.out,
            shard_size=args.shard_size,
            max_side=args.max_side,
            quality=args.quality,
            encoding=args.encoding,
            image_size=args.image_size,
            resize=args.resize,
            interpolation=args.interpolation,
            workers=args.workers,
            resume=not args.no_resume,
            progress=progress,
        )
        written = time.perf_counter() - start
        verify_shards(args.out, progress=progress)
    except DermnetError as exc:
        print(f"dermnet shard: {exc}", file=sys.stderr)
        return 2
    size = sum(int(s["bytes"]) for s in index.shards)
    stored = "" if index.pixels is None else f" as pixels at {index.pixels.describe()}"
    print(
        f"wrote {index.count} images{stored} into {len(index.shards)} shards ({size / 1e6:.1f} MB) "
        f"in {args.out} in {written:.1f} s; verified (counts and SHA-256)"
    )
    return 0
