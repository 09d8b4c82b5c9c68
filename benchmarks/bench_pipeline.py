#!/usr/bin/env python3
"""Throughput of ``dermnet.data.make_dataset`` on real and synthetic dermoscopy images.

One table, measured in one run (methods interleaved, median of ``--repeats`` passes after
a warm-up pass, so load from other processes hits every method alike):

- HAM10000 at 200x150, resized to 224: a bare ``tf.data`` pipeline (read_file ->
  decode_jpeg -> resize -> batch -> prefetch, parallel map), ``make_dataset``, and
  ``make_dataset`` with augmentation: the Keras flip+rotation of earlier runs, and
  dermnet's recipe sets ``dihedral`` and ``dermoscopy``, in the input pipeline
  (``augment_on="data"``) and inside the model (``augmenting_model``, here on the CPU);
  ``dihedral`` and ``geometric`` also at 64 px, the size of the CPU recipe.
- Full resolution: the 150 HAM10000 images at 600x450 in ``ham10000_fullres_sample``
  (repeated) and a synthetic set of 2000x1500 JPEGs made here (those images upscaled):
  bare ``tf.data`` decode+resize against ``make_dataset`` (DCT-scaled decoding), and at
  600x450 also against the same images read from TFRecord shards (`write_shards`): JPEG
  shards (the same bytes, decoded the same) and pixel shards (``encoding="pixels"``,
  stored decoded and resized to 224: no decode, no resize when read).

Targets (issue 16): ``make_dataset`` >= 0.9x bare at full resolution; shards >= 1.5x the
JPEG folder at 600x450; augmentation at most 2x the un-augmented pipeline. Exits non-zero
only on error, never because a target is missed.

Usage: python benchmarks/bench_pipeline.py [--quick] [--data FOLDER] [--only 224|fullres]
(``--data`` defaults to `dermnet.data.data_root()`, i.e. ``$DERMNET_DATA_ROOT``.)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark this checkout, not an installed copy

import numpy as np  # noqa: E402


def bare_tf(paths: list[str], size: int, batch: int) -> object:
    import tensorflow as tf

    def load(path: tf.Tensor) -> tf.Tensor:
        image = tf.io.decode_jpeg(tf.io.read_file(path), channels=3)
        return tf.image.resize(image, (size, size))

    ds = tf.data.Dataset.from_tensor_slices(paths)
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch).prefetch(tf.data.AUTOTUNE)


def count(iterable: Iterable[object], step: Callable[[object], object] | None = None) -> int:
    n = 0
    for element in iterable:
        x = element[0] if isinstance(element, tuple) else element
        if step is not None:
            step(x)
        n += int(x.shape[0])
    return n


def measure(methods: dict[str, Callable[[], int]], n: int, repeats: int) -> dict[str, float]:
    """Images per second of each method: median of ``repeats`` interleaved passes."""
    times: dict[str, list[float]] = {name: [] for name in methods}
    for name, run in methods.items():  # warm-up: tracing, thread pools
        got = run()
        if got != n:
            raise RuntimeError(f"{name} yielded {got} images, expected {n}")
    for _ in range(repeats):
        for name, run in methods.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: n / statistics.median(t) for name, t in times.items()}


def table(title: str, rate: dict[str, float], base: str) -> None:
    print(f"\n{title}")
    print(f"| path | images/s | vs {base} |\n|---|---|---|")
    for name, value in rate.items():
        print(f"| {name} | {value:,.0f} | {value / rate[base]:.2f}x |")


def section_224(data: Path, images: int, repeats: int) -> None:
    import keras
    import tensorflow as tf

    from dermnet.data import load_ham10000, make_dataset
    from dermnet.transforms import augmentation
    from dermnet.transforms.augment_presets import augmenting_model

    records = load_ham10000(data / "ham10000")
    records = records.subset(np.arange(min(images, len(records))))
    for path in records.paths:  # warm the OS file cache so that no method pays for the disk
        Path(path).read_bytes()
    keras_aug = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal_and_vertical", seed=0),
            keras.layers.RandomRotation(0.1, seed=1),
        ]
    )
    paths = list(records.paths)
    bare = bare_tf(paths, 224, 32)
    plain = make_dataset(records, 224, 32)
    ds = {
        "keras flip+rotation (data)": make_dataset(records, 224, 32, augment=keras_aug, seed=0),
        "dihedral (data)": make_dataset(
            records, 224, 32, augment=augmentation("dihedral", seed=0), seed=0
        ),
        "dermoscopy (data)": make_dataset(
            records, 224, 32, augment=augmentation("dermoscopy", seed=0), seed=0
        ),
    }
    inputs = keras.Input((224, 224, 3))
    identity = keras.Model(inputs, inputs)
    in_model = augmenting_model(identity, augmentation("dermoscopy", seed=0))
    step = tf.function(lambda x: in_model(x, training=True))
    plain64 = make_dataset(records, 64, 32)
    ds64 = {
        name: make_dataset(records, 64, 32, augment=augmentation(name, seed=0), seed=0)
        for name in ("dihedral", "geometric")
    }
    methods: dict[str, Callable[[], int]] = {
        "bare tf.data": lambda: count(bare),
        "make_dataset": lambda: count(plain),
        **{f"make_dataset + {k}": (lambda d=d: count(d)) for k, d in ds.items()},
        "make_dataset + dermoscopy (model, CPU)": lambda: count(plain, step),
        "64 px: make_dataset": lambda: count(plain64),
        **{f"64 px: make_dataset + {k} (data)": (lambda d=d: count(d)) for k, d in ds64.items()},
    }
    rate = measure(methods, len(records), repeats)
    table(
        f"HAM10000 200x150 JPEGs to 224 (64 where marked), {len(records)} per pass, batch 32",
        rate,
        "bare tf.data",
    )
    for name in [*ds, "dermoscopy (model, CPU)"]:
        print(f"  cost of {name}: {rate['make_dataset'] / rate['make_dataset + ' + name]:.1f}x")
    for name in ds64:
        cost = rate["64 px: make_dataset"] / rate[f"64 px: make_dataset + {name} (data)"]
        print(f"  cost of {name} at 64 px: {cost:.1f}x")


def section_fullres(data: Path, repeat: int, repeats: int, big: int) -> None:
    from PIL import Image

    from dermnet.data import load_ham10000, make_dataset
    from dermnet.data.shards import write_shards

    folder = data / "ham10000_fullres_sample"
    if not folder.is_dir():
        print(f"\n(no {folder}: full-resolution rows skipped)")
        return
    records = load_ham10000(folder)
    index = np.concatenate([np.arange(len(records))] * repeat)
    many = records.subset(index)
    work = Path(tempfile.mkdtemp(prefix="bench_pipeline_"))
    start = time.perf_counter()
    write_shards(many, work / "shards", shard_size=256, progress=False)
    jpeg_time = time.perf_counter() - start
    start = time.perf_counter()
    pixel_dir = work / "pixel_shards"
    write_shards(many, pixel_dir, shard_size=256, encoding="pixels", image_size=224, progress=False)
    pixel_time = time.perf_counter() - start
    print(
        f"\n(wrote {len(many)} images into JPEG shards in {jpeg_time:.1f} s, "
        f"{_folder_mb(work / 'shards'):.0f} MB; into pixel shards at 224 in "
        f"{pixel_time:.1f} s, {_folder_mb(pixel_dir):.0f} MB)"
    )
    bare = bare_tf(list(many.paths), 224, 32)
    fast = make_dataset(many, 224, 32)
    full = make_dataset(many, 224, 32, fast_jpeg=False)
    shards = make_dataset(work / "shards", 224, 32)
    pixels = make_dataset(pixel_dir, 224, 32)
    methods: dict[str, Callable[[], int]] = {
        "bare tf.data decode + resize": lambda: count(bare),
        "make_dataset (fast_jpeg)": lambda: count(fast),
        "make_dataset, fast_jpeg=False": lambda: count(full),
        "make_dataset from shards": lambda: count(shards),
        "make_dataset from pixel shards (224)": lambda: count(pixels),
        # what a user waits for: building the dataset (the JPEG folder's header pass over
        # every file; the shards' index and records.csv) and then one pass
        "make_dataset (fast_jpeg), built + one pass": lambda: count(make_dataset(many, 224, 32)),
        "make_dataset from shards, built + one pass": lambda: count(
            make_dataset(work / "shards", 224, 32)
        ),
        "make_dataset from pixel shards (224), built + one pass": lambda: count(
            make_dataset(pixel_dir, 224, 32)
        ),
    }
    rate = measure(methods, len(many), repeats)
    table(
        f"600x450 HAM10000 JPEGs ({len(records)} images x {repeat}) to 224",
        rate,
        "bare tf.data decode + resize",
    )
    for kind, row in (
        ("JPEG shards", "make_dataset from shards"),
        ("pixel shards", "make_dataset from pixel shards (224)"),
    ):
        ratio = rate[row] / rate["make_dataset (fast_jpeg)"]
        built = (
            rate[f"{row}, built + one pass"] / rate["make_dataset (fast_jpeg), built + one pass"]
        )
        print(
            f"  {kind} vs the JPEG folder: {ratio:.2f}x per pass over a built dataset, "
            f"{built:.2f}x building included"
        )
    builds: dict[str, list[float]] = {"JPEG folder": [], "shards": [], "pixel shards": []}
    sources = (("JPEG folder", many), ("shards", work / "shards"), ("pixel shards", pixel_dir))
    for _ in range(repeats):
        for name, source in sources:
            start = time.perf_counter()
            make_dataset(source, 224, 32)
            builds[name].append(time.perf_counter() - start)
    print(
        "  building the dataset (median): "
        + ", ".join(f"{k} {statistics.median(v):.2f} s" for k, v in builds.items())
        + f" for {len(many)} images"
    )

    big_dir = work / "big"
    big_dir.mkdir()
    files = []
    for i, path in enumerate(records.paths[:big]):
        with Image.open(path) as image:
            target = big_dir / f"big{i}.jpg"
            image.convert("RGB").resize((2000, 1500), Image.BICUBIC).save(target, quality=90)
        files.append(target)
    frame = records.frame.iloc[: len(files)].copy()
    frame["image_path"] = [str(f) for f in files]
    from dermnet.data import Records

    large = Records(frame, records.classes, name="synthetic_2000x1500")
    large = large.subset(np.concatenate([np.arange(len(large))] * 4))
    bare_big = bare_tf(list(large.paths), 224, 32)
    fast_big = make_dataset(large, 224, 32)
    rate = measure(
        {
            "bare tf.data decode + resize": lambda: count(bare_big),
            "make_dataset (fast_jpeg)": lambda: count(fast_big),
        },
        len(large),
        repeats,
    )
    table(
        f"synthetic 2000x1500 JPEGs ({len(files)} images x 4) to 224",
        rate,
        "bare tf.data decode + resize",
    )


def _folder_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", default=None, help="the datasets folder (default: dermnet.data.data_root())"
    )
    parser.add_argument("--images", type=int, default=1024, help="200x150 images per pass")
    parser.add_argument("--repeat", type=int, default=8, help="passes over the 150 600x450")
    parser.add_argument("--big", type=int, default=48, help="synthetic 2000x1500 images")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="fewer images, 2 repeats")
    parser.add_argument(
        "--only", choices=("224", "fullres"), default=None, help="run one section of the table"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeat, args.big, args.repeats = 320, 2, 16, 2

    import tensorflow as tf

    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs; median of {args.repeats} "
        "interleaved passes"
    )
    from dermnet.data import data_root

    data = data_root() if args.data is None else Path(args.data)
    if args.only in (None, "224"):
        section_224(data, args.images, args.repeats)
    if args.only in (None, "fullres"):
        section_fullres(data, args.repeat, args.repeats, args.big)
    return 0


if __name__ == "__main__":
    sys.exit(main())
