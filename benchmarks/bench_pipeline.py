#!/usr/bin/env python3
"""Throughput of ``dermnet.data.make_dataset`` on the real HAM10000 images.

Compares, in the same run and on the same files, images per second of:

- a plain Python loop with PIL (open, convert to RGB, resize, stack into float32 batches),
  what most notebooks do;
- a bare, hand-written ``tf.data`` pipeline (read_file -> decode_jpeg -> resize -> batch
  -> prefetch, parallel map with AUTOTUNE), the fastest simple thing one can write;
- ``make_dataset`` as users call it, without and with a batch augmentation
  (``keras.Sequential`` of RandomFlip and RandomRotation), and reading from its memory cache.

Targets (issue #3): ``make_dataset`` >= 0.9x the bare pipeline and >= 3x the PIL loop.
Methods run interleaved, ``--repeats`` times each after one warm-up pass, and the median
is reported, so that load from other processes hits every method alike. Exits non-zero
only on error, never because a target is missed.

Usage: python benchmarks/bench_pipeline.py [--quick] [--data ../shared/data/ham10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not an installed copy

import numpy as np  # noqa: E402


def pil_loop(paths: list[str], labels: np.ndarray, size: int, batch: int) -> Iterable[object]:
    from PIL import Image

    for start in range(0, len(paths), batch):
        images = []
        for path in paths[start : start + batch]:
            with Image.open(path) as image:
                rgb = image.convert("RGB").resize((size, size), Image.BILINEAR)
            images.append(np.asarray(rgb, dtype=np.float32))
        yield np.stack(images), labels[start : start + batch]


def bare_tf(paths: list[str], labels: np.ndarray, size: int, batch: int) -> object:
    import tensorflow as tf

    def load(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(image, (size, size)), label

    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def _bench_fullres(folder: Path, size: int, batch: int, repeats: int) -> None:
    """Full-resolution (600x450) HAM10000 JPEGs: what DCT-scaled decoding (fast_jpeg) buys."""
    from dermnet.data import load_ham10000, make_dataset

    records = load_ham10000(folder)
    paths, labels = records.paths, records.labels.astype(np.int32)
    methods: dict[str, Callable[[], Iterable[object]]] = {
        "PIL loop": lambda: pil_loop(paths, labels, size, batch),
        "bare tf.data": lambda: bare,
        "make_dataset, fast_jpeg=False": lambda: full,
        "make_dataset (fast_jpeg=True)": lambda: fast,
    }
    bare = bare_tf(paths, labels, size, batch)
    full = make_dataset(records, size, batch, fast_jpeg=False)
    fast = make_dataset(records, size, batch)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for make in methods.values():
        count(make())
    for _ in range(max(repeats, 3)):
        for name, make in methods.items():
            start = time.perf_counter()
            count(make())
            times[name].append(time.perf_counter() - start)
    rate = {name: len(records) / statistics.median(t) for name, t in times.items()}
    print(f"\nFull-resolution HAM10000 JPEGs (600x450, {folder}), {len(records)} per pass:")
    print(f"{'method':<34}{'images/s':>10}{'vs bare':>10}{'vs PIL':>9}")
    for name, value in rate.items():
        print(
            f"{name:<34}{value:>10.0f}{value / rate['bare tf.data']:>9.2f}x"
            f"{value / rate['PIL loop']:>8.2f}x"
        )
    print()


def count(iterable: Iterable[object]) -> int:
    n = 0
    for x, _ in iterable:
        n += int(x.shape[0])
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "ham10000"))
    parser.add_argument("--images", type=int, default=1500, help="images per pass")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="600 images, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeats = 600, 2

    import keras
    import tensorflow as tf

    from dermnet.data import load_ham10000, make_dataset

    records = load_ham10000(args.data)
    records = records.subset(np.arange(min(args.images, len(records))))
    paths, labels = records.paths, records.labels.astype(np.int32)
    for path in paths:  # warm the OS file cache so that no method pays for the disk
        Path(path).read_bytes()
    augment = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal_and_vertical", seed=0),
            keras.layers.RandomRotation(0.1, seed=1),
        ]
    )
    size, batch = args.size, args.batch
    cached = make_dataset(records, size, batch, cache="memory")
    methods: dict[str, Callable[[], Iterable[object]]] = {
        "PIL loop": lambda: pil_loop(paths, labels, size, batch),
        "bare tf.data": lambda: bare_tf_ds,
        "make_dataset": lambda: plain_ds,
        "make_dataset + augment": lambda: aug_ds,
        "make_dataset, cache (2nd+ epoch)": lambda: cached,
    }
    bare_tf_ds = bare_tf(paths, labels, size, batch)
    plain_ds = make_dataset(records, size, batch)
    aug_ds = make_dataset(records, size, batch, augment=augment, seed=0)
    times: dict[str, list[float]] = {name: [] for name in methods}
    for make in methods.values():  # warm-up: tracing, thread pools, fills the cache
        count(make())
    for _ in range(args.repeats):
        for name, make in methods.items():
            start = time.perf_counter()
            n = count(make())
            times[name].append(time.perf_counter() - start)
            if n != len(records):
                raise RuntimeError(f"{name} yielded {n} images, expected {len(records)}")
    rate = {name: len(records) / statistics.median(t) for name, t in times.items()}
    print(
        f"HAM10000 images ({Path(args.data)}), {len(records)} per pass, resized to "
        f"{size}x{size}, batch {batch}, median of {args.repeats} passes; "
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs"
    )
    print(f"{'method':<34}{'images/s':>10}{'vs bare':>10}{'vs PIL':>9}")
    for name, value in rate.items():
        print(
            f"{name:<34}{value:>10.0f}{value / rate['bare tf.data']:>9.2f}x"
            f"{value / rate['PIL loop']:>8.2f}x"
        )
    fullres = Path(args.data).parent / "ham10000_fullres_sample"
    if fullres.is_dir():
        _bench_fullres(fullres, size, batch, args.repeats)
    ratio_bare = rate["make_dataset"] / rate["bare tf.data"]
    ratio_pil = rate["make_dataset"] / rate["PIL loop"]
    print(
        f"targets: make_dataset >= 0.9x bare: {ratio_bare:.2f}x "
        f"({'met' if ratio_bare >= 0.9 else 'MISSED'}); >= 3x PIL: {ratio_pil:.2f}x "
        f"({'met' if ratio_pil >= 3 else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
