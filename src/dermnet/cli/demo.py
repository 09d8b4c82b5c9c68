"""``dermnet demo`` (train, evaluate and explain on the bundled sample) and ``dermnet info``."""

from __future__ import annotations

import argparse
import json
import platform
from importlib import metadata
from typing import Any

from dermnet._core.quiet_import import import_tensorflow_quietly
from dermnet._version import __version__
from dermnet.cli.arguments import (
    SEED,
    add_output,
    add_quiet,
    command_parser,
    int_type,
    progress_log,
)
from dermnet.train.demo import MIN_IMAGE_SIZE

__all__ = ["add_demo", "add_info", "collect_info", "run_demo_command", "run_info"]


def add_demo(sub: Any) -> None:
    p = command_parser(sub, "demo", run_demo_command)
    add_output(p, "dermnet-demo", "output folder")
    p.add_argument(
        "--epochs", type=int_type(low=1), default=30, help="training epochs (default: %(default)s)"
    )
    p.add_argument("--seed", type=SEED, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--image-size",
        type=int_type(low=MIN_IMAGE_SIZE),
        default=64,
        help="input size in pixels (default: %(default)s)",
    )
    add_quiet(p, "no per-epoch progress lines")


def run_demo_command(args: argparse.Namespace) -> int:
    """Train, evaluate and explain a small CNN on the bundled HAM10000 sample.

    Train a small CNN on 700 bundled HAM10000 images (split by lesion), evaluate it on held-
    out lesions, draw Grad-CAM overlays, and write metrics.json, PNG figures and report.html
    to --output.
    """
    from dermnet.train.callbacks import ProgressBar
    from dermnet.train.demo import run_demo

    run_demo(
        args.output,
        epochs=args.epochs,
        seed=args.seed,
        image_size=args.image_size,
        log=progress_log(args.quiet),
        verbose=0,
        callbacks=[] if args.quiet else [ProgressBar(summary=False)],
    )
    return 0


def add_info(sub: Any) -> None:
    p = command_parser(sub, "info", run_info)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect_info() -> dict[str, Any]:
    """Versions, devices and registries, as printed by ``dermnet info``."""
    tf = import_tensorflow_quietly()

    from dermnet.data import list_datasets
    from dermnet.data.samples import SAMPLES
    from dermnet.models import list_models
    from dermnet.transforms import list_transforms

    packages = [
        "tensorflow",
        "keras",
        "numpy",
        "pandas",
        "scikit-learn",
        "opencv-python-headless",
        "shap",
        "lime",
        "matplotlib",
    ]
    return {
        "dermnet": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": {p: _version(p) for p in packages},
        "devices": [f"{d.device_type}: {d.name}" for d in tf.config.list_physical_devices()],
        "models": list_models(),
        "transforms": list_transforms(),
        "datasets": list_datasets(),
        "samples": sorted(SAMPLES),
    }


def run_info(args: argparse.Namespace) -> int:
    """Versions, devices and the registered models, transforms, datasets."""
    info = collect_info()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"dermnet {info['dermnet']} (Python {info['python']}, {info['platform']})")
    print("packages:")
    for name, version in info["packages"].items():
        print(f"  {name:<24} {version}")
    print("devices:")
    for device in info["devices"]:
        print(f"  {device}")
    for key in ("models", "transforms", "datasets", "samples"):
        print(f"{key} ({len(info[key])}): {', '.join(info[key])}")
    return 0
