"""Throughput of dermnet.transforms on the 150 full-resolution HAM10000 images.

Run from the repository root (the data are read from $DERMNET_DATA_ROOT unless --data):

    python benchmarks/bench_transforms.py            # 150 images, 2 epochs
    python benchmarks/bench_transforms.py --quick    # 30 images, 1 epoch

Part 1: images per second of every registered transform on the real images at their
original 600x450 and resized to 224x224, one process, OpenCV limited to --cv-threads
threads; "x decode" is the transform's speed relative to decoding the same JPEGs in the
same run (0.5 = the transform costs twice a decode).

Part 2: the "dermoscopy" preset (hair removal, Shades of Gray, padded resize to 224)
applied inside tf.data (decode + tf_map) versus reading the offline cache written by
preprocess_folder (decode PNG); both batch 32 and prefetch. The cache build time is
reported too, with the number of epochs after which the cache has paid for itself.

Exits non-zero only on error (missing data included). Timings depend on the machine and
its load: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # benchmark the checkout, not an installed copy
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _configs(masks: bool):
    """One instance of every registered transform, with the parameters a user would pick."""
    from dermnet import transforms as T
    from dermnet.transforms.presets import MALARIA_REFERENCE

    configs = {
        "bilateral_filter": T.BilateralFilter(),
        "center_crop": T.CenterCrop(200),
        "clahe": T.CLAHE(),
        "compose": T.preset("dermoscopy", 224),
        "convert_color": T.ConvertColor("lab"),
        "denoise_nl_means": T.DenoiseNLMeans(),
        "enhance_edges": T.EnhanceEdges("sobel", "channel"),
        "equalize_histogram": T.EqualizeHistogram(),
        "gaussian_blur": T.GaussianBlur(1.5),
        "gray_world": T.GrayWorld(),
        "max_rgb": T.MaxRGB(),
        "median_blur": T.MedianBlur(5),
        "reinhard_normalize": T.ReinhardNormalize(**MALARIA_REFERENCE),
        "remove_hair": T.RemoveHair(),
        "resize": T.Resize(224, mode="pad"),
        "shades_of_gray": T.ShadesOfGray(),
        "unsharp_mask": T.UnsharpMask(),
    }
    if masks:
        configs["crop_to_mask"] = T.CropToMask(margin=0.1)
    missing = sorted(set(T.list_transforms()) - set(configs) - {"crop_to_mask"})
    if missing:
        raise SystemExit(f"bench_transforms.py has no configuration for: {missing}")
    return configs


def _load(folder: Path, n: int):
    from PIL import Image

    paths = sorted((folder / "images").glob("*.jpg"))[:n]
    if not paths:
        raise SystemExit(f"no JPEG images in {folder / 'images'}")
    images, masks = [], []
    for path in paths:
        images.append(np.asarray(Image.open(path).convert("RGB")))
        mask_path = folder / "masks_expert" / f"{path.stem}_expert.png"
        masks.append(np.asarray(Image.open(mask_path)) > 0 if mask_path.is_file() else None)
    return paths, images, masks


def _rate(fn, items, min_seconds: float) -> float:
    """Items per second of fn over items, repeated until min_seconds have passed."""
    fn(items[0])  # warm-up (imports, OpenCV kernels)
    done, started = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return done / elapsed


def part1(paths, images, masks, min_seconds: float) -> list[tuple[str, float, float, float]]:
    import cv2

    from dermnet.transforms import Resize

    small = [Resize(224)(img) for img in images]
    small_masks = [
        None if m is None else Resize(224)(img, mask=m)[1]
        for img, m in zip(images, masks, strict=True)
    ]
    blobs = [np.fromfile(p, np.uint8) for p in paths]
    decode = _rate(lambda b: cv2.imdecode(b, cv2.IMREAD_COLOR), blobs, min_seconds)
    rows = [("(decode JPEG 600x450, reference)", decode, float("nan"), 1.0)]
    have_masks = all(m is not None for m in masks)
    for name, transform in sorted(_configs(have_masks).items()):
        if name == "crop_to_mask":
            big = list(zip(images, masks, strict=True))
            low = list(zip(small, small_masks, strict=True))
            r_big = _rate(lambda p, t=transform: t(p[0], mask=p[1]), big, min_seconds)
            r_small = _rate(lambda p, t=transform: t(p[0], mask=p[1]), low, min_seconds)
        else:
            r_big = _rate(transform, images, min_seconds)
            r_small = _rate(transform, small, min_seconds)
        label = "compose (= dermoscopy preset)" if name == "compose" else name
        rows.append((label, r_big, r_small, r_big / decode))
    return rows


def part2(folder: Path, paths, epochs: int, workers: int) -> dict[str, float]:
    import tensorflow as tf

    from dermnet.transforms import preprocess_folder, preset, tf_map

    pipeline = preset("dermoscopy", 224)
    files = [str(p) for p in paths]

    def online():
        ds = tf.data.Dataset.from_tensor_slices(files)
        ds = ds.map(
            lambda p: tf.io.decode_jpeg(tf.io.read_file(p), channels=3),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        ds = ds.map(tf_map(pipeline, output_dtype="float32"), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(32).prefetch(tf.data.AUTOTUNE)

    def cached(root: Path):
        cache_files = sorted(str(p) for p in root.rglob("*.png"))

        def load(p):
            image = tf.io.decode_png(tf.io.read_file(p), channels=3)
            return tf.cast(tf.ensure_shape(image, [224, 224, 3]), tf.float32)

        ds = tf.data.Dataset.from_tensor_slices(cache_files)
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(32).prefetch(tf.data.AUTOTUNE)

    def epochs_per_second(ds) -> float:
        for _ in ds.take(1):  # build the pipeline, warm the threads
            pass
        started = time.perf_counter()
        n = 0
        for _ in range(epochs):
            for batch in ds:
                n += int(batch.shape[0])
        return n / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory(prefix="dermnet-bench-") as tmp:
        source = Path(tmp) / "src"
        source.mkdir()
        for p in paths:  # only the selected images
            shutil.copy(p, source / p.name)
        started = time.perf_counter()
        report = preprocess_folder(
            source, Path(tmp) / "cache", pipeline, workers=workers, progress=False
        )
        build = time.perf_counter() - started
        if not report.ok:
            raise SystemExit(report.summary())
        online_rate = epochs_per_second(online())
        cached_rate = epochs_per_second(cached(Path(tmp) / "cache"))
    n = len(paths)
    saved_per_epoch = n / online_rate - n / cached_rate
    return {
        "images": n,
        "online": online_rate,
        "cached": cached_rate,
        "build_seconds": build,
        "build_rate": n / build,
        "break_even_epochs": build / saved_per_epoch if saved_per_epoch > 0 else float("inf"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="30 images, 1 epoch, short timings")
    parser.add_argument(
        "--data",
        help="folder with images/ and masks_expert/ "
        "(default: $DERMNET_DATA_ROOT/ham10000_fullres_sample)",
    )
    parser.add_argument("--cv-threads", type=int, default=1, help="OpenCV threads in part 1")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for the cache build (default: %(default)s)",
    )
    parser.add_argument("--skip-tfdata", action="store_true", help="run part 1 only")
    args = parser.parse_args()

    import cv2

    from dermnet import MissingFileError
    from dermnet.data import data_root

    if args.data is None:
        try:
            args.data = data_root("ham10000_fullres_sample")
        except MissingFileError as exc:
            print(f"error: no --data given: {exc}", file=sys.stderr)
            return 2
    folder = Path(args.data)
    if not (folder / "images").is_dir():
        print(f"error: the real images are not at {folder} (use --data)", file=sys.stderr)
        return 2
    n, epochs, min_seconds = (30, 1, 0.5) if args.quick else (150, 2, 2.0)
    paths, images, masks = _load(folder, n)
    cv2.setNumThreads(args.cv_threads)
    print(
        f"dermnet transforms benchmark: {len(images)} HAM10000 images ({folder}), "
        f"OpenCV {cv2.__version__} with {args.cv_threads} thread(s), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print("\nPart 1: images per second, one process")
    print(f"{'transform':<34} {'600x450':>10} {'224x224':>10} {'x decode':>9}")
    for name, big, small, ratio in part1(paths, images, masks, min_seconds):
        small_text = "" if np.isnan(small) else f"{small:10.1f}"
        print(f"{name:<34} {big:10.1f} {small_text:>10} {ratio:9.2f}")
    if args.skip_tfdata:
        return 0
    cv2.setNumThreads(-1)
    result = part2(folder, paths, epochs, args.workers)
    print(
        f"\nPart 2: 'dermoscopy' preset -> 224x224, batches of 32, {epochs} epoch(s) "
        f"of {result['images']} images"
    )
    print(f"{'pipeline':<48} {'images/s':>10}")
    print(f"{'tf.data: decode JPEG + tf_map(preset)':<48} {result['online']:10.1f}")
    print(f"{'tf.data: decode the offline PNG cache':<48} {result['cached']:10.1f}")
    print(f"{'cache / online':<48} {result['cached'] / result['online']:9.1f}x")
    print(
        f"cache build (preprocess_folder, {args.workers} workers): "
        f"{result['build_seconds']:.1f} s ({result['build_rate']:.1f} images/s); it pays for "
        f"itself after {result['break_even_epochs']:.1f} epoch(s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
