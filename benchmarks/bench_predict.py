#!/usr/bin/env python3
"""Streaming prediction (``dermnet predict`` / `predict_to_csv`) against bare ``model.predict``.

- Throughput: `predict_to_csv` over N HAM10000 JPEGs (repeated through symbolic links
  under unique names when N is over the folder's count) against a bare loop on the same
  images: a ``tf.data`` pipeline (read_file -> decode_jpeg -> resize, parallel map,
  batched) feeding ``model.predict_on_batch``, nothing written. Both use the same tiny
  run folder (simple_cnn, one epoch on the bundled sample). `predict_to_csv` is timed in
  a fresh process twice over: the whole call (loading the model included, which the
  bare loop does before its clock starts) and after its first batch is written (the
  steady rate that sets the time of a 100,000-image run).
- Memory: the peak resident set size of `predict_to_csv` in a fresh process at N/10 and
  N images (flat means constant memory: the images and rows stream).

Target (issue 16): >= 0.9x bare, peak memory flat from N/10 to N. Exits non-zero only on
error, never because a target is missed.

Usage: python benchmarks/bench_predict.py [--quick] [--images N] [--data FOLDER]

The JPEGs are read from ``--data`` (a folder of ``*.jpg``), by default
``dermnet.data.data_root("ham10000") / "images"`` (set ``DERMNET_DATA_ROOT``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not an installed copy

_CHILD = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[4])
from dermnet.train.prediction import predict_to_csv
first = []
def progress(done, total):
    if not first:
        first.append((time.perf_counter(), done))
start = time.perf_counter()
summary = predict_to_csv(sys.argv[1], sys.argv[2], sys.argv[3], batch_size=64, overwrite=True,
                         progress=progress)
end = time.perf_counter()
t_first, n_first = first[0]
print(json.dumps({"seconds": end - start, "written": summary.written,
                  "steady_seconds": end - t_first, "steady_images": summary.written - n_first,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def image_list(source: Path, n: int, folder: Path) -> Path:
    """A CSV of ``n`` unique image paths (links to the source JPEGs, repeated as needed)."""
    files = sorted(source.glob("*.jpg"))
    if not files:
        raise SystemExit(f"no JPEGs in {source}")
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        link = folder / f"img_{i:06d}.jpg"
        if not link.exists():
            link.symlink_to(files[i % len(files)])
        rows.append(str(link))
    listing = folder.parent / f"images_{n}.csv"
    listing.write_text("image_path\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return listing


def make_run(out: Path, size: int) -> Path:
    from dermnet.train.run import RunConfig, train_run

    config = RunConfig(sample="ham10000", model="simple_cnn", image_size=size, epochs=1)
    train_run(config, out, log=lambda _m: None, evaluate_on=())
    return out


def bare(run: Path, paths: list[str], batch_size: int = 64) -> float:
    """Seconds of a bare tf.data decode+resize feeding ``model.predict_on_batch``."""
    import tensorflow as tf

    from dermnet.train.run_folder import RunFolder

    folder = RunFolder(run)
    model = folder.load_model()
    height, width = folder.data_config.image_size

    def load(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(image, (height, width))

    dataset = (
        tf.data.Dataset.from_tensor_slices(paths)
        .map(load, num_parallel_calls=tf.data.AUTOTUNE)
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    start = time.perf_counter()
    for batch in dataset:
        model.predict_on_batch(batch)
    return time.perf_counter() - start


def child(run: Path, listing: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(run), str(listing), str(out), str(ROOT / "src")],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 images")
    parser.add_argument("--images", type=int, default=None, help="default 10,000 (--quick 1,000)")
    parser.add_argument(
        "--data",
        default=None,
        help="folder of JPEGs (default: data_root('ham10000') / 'images', DERMNET_DATA_ROOT)",
    )
    parser.add_argument("--size", type=int, default=128, help="model input side (default 128)")
    args = parser.parse_args()
    n = args.images or (1000 if args.quick else 10000)
    small = max(n // 10, 64)
    if args.data is None:
        from dermnet.data import data_root

        source = data_root("ham10000") / "images"
    else:
        source = Path(args.data)
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        run = make_run(tmp / "run", args.size)
        listing = image_list(source, n, tmp / "links")
        small_listing = tmp / f"images_{small}.csv"
        lines = listing.read_text().splitlines()
        small_listing.write_text("\n".join(lines[: small + 1]) + "\n")
        paths = lines[1:]
        bare(run, paths[: min(256, n)])  # warm-up: graph tracing, file cache
        bare_s = bare(run, paths)
        ours = child(run, listing, tmp / "p.csv")
        ours_small = child(run, small_listing, tmp / "p_small.csv")
    rate_bare = n / bare_s
    rate_ours = n / ours["seconds"]
    rate_steady = ours["steady_images"] / ours["steady_seconds"]
    print(f"predict over {n} HAM10000 JPEGs at {args.size}px, simple_cnn, batch 64, 2 cores")
    print("| path | images/s | vs bare |")
    print("|---|---|---|")
    print(f"| bare tf.data + model.predict_on_batch | {rate_bare:,.0f} | 1.00x |")
    print(
        f"| predict_to_csv, whole call (model load included) | {rate_ours:,.0f} | "
        f"{rate_ours / rate_bare:.2f}x |"
    )
    print(
        f"| predict_to_csv, after its first batch | {rate_steady:,.0f} | "
        f"{rate_steady / rate_bare:.2f}x |"
    )
    print(
        f"peak RSS: {ours_small['max_rss_mb']:.0f} MB at {small} images, "
        f"{ours['max_rss_mb']:.0f} MB at {n} images "
        f"({ours['max_rss_mb'] / ours_small['max_rss_mb']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
