"""The ``dermnet shard`` command: pack a dataset into TFRecord shards, then verify them.

``dermnet shard --dataset ham10000 --root data/ham10000 OUT`` (or ``--csv table.csv``,
with the `load_csv` columns ``image`` and ``label``) writes the shard folder ``OUT``
with `dermnet.data.shards.write_shards` (parallel, resumable after an interrupt, with a
progress bar), then re-reads every shard with `verify_shards` and prints the index. The
command line wires `add_shard_arguments` and `run_shard` (the ``cli`` package owns the
wiring).
"""

from __future__ import annotations

import argparse
import sys
import time

from dermnet._core.errors import DermnetError

__all__ = ["add_shard_arguments", "run_shard"]


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``dermnet shard`` to ``parser``.

    Examples:
        >>> import argparse
        >>> parser = argparse.ArgumentParser()
        >>> add_shard_arguments(parser)
        >>> args = parser.parse_args(["--dataset", "ham10000", "--root", "d", "out"])
        >>> args.shard_size, args.max_side, args.workers
        (1024, None, None)
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
        "--shard-size", type=int, default=1024, help="images per shard (default 1024)"
    )
    parser.add_argument(
        "--max-side",
        type=int,
        default=None,
        help="re-encode images whose longer side is over this many pixels (JPEG)",
    )
    parser.add_argument(
        "--quality", type=int, default=95, help="JPEG quality of re-encoded images (95)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="shards written at once (default: CPUs, <= 8)"
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
    print(
        f"wrote {index.count} images into {len(index.shards)} shards ({size / 1e6:.1f} MB) "
        f"in {args.out} in {written:.1f} s; verified (counts and SHA-256)"
    )
    return 0
