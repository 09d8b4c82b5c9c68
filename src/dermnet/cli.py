"""The ``dermnet`` command line.

Each subcommand is one ``_cmd_<name>`` function plus an ``_add_<name>`` parser builder,
registered in ``_COMMANDS``. Errors from dermnet print one clear line and exit 1; bad
arguments exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from typing import Any

from dermnet._core.errors import DermnetError
from dermnet._version import __version__

__all__ = ["main"]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an integer in [0, 2**32 - 1], got {text!r}"
        ) from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be an integer in [0, 2**32 - 1], got {value}")
    return value


# -- demo -----------------------------------------------------------------------------------
def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="train, evaluate and explain a small CNN on the bundled HAM10000 sample",
        description="Train a small CNN on 700 bundled HAM10000 images (split by lesion), "
        "evaluate it on held-out lesions, draw Grad-CAM overlays, and write metrics.json, "
        "PNG figures and report.html to --output.",
    )
    p.add_argument(
        "--output", "-o", default="dermnet-demo", help="output folder (default: %(default)s)"
    )
    p.add_argument(
        "--epochs", type=_positive_int, default=30, help="training epochs (default: %(default)s)"
    )
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: %(default)s)")
    p.add_argument(
        "--image-size",
        type=_positive_int,
        default=64,
        help="input size in pixels (default: %(default)s)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no per-epoch progress lines")


def _cmd_demo(args: argparse.Namespace) -> int:
    from dermnet.train.demo import run_demo

    log: Callable[[str], None] = (
        (lambda _m: None) if args.quiet else (lambda m: print(m, flush=True))
    )
    run_demo(
        args.output,
        epochs=args.epochs,
        seed=args.seed,
        image_size=args.image_size,
        log=log,
        verbose=0 if args.quiet else 2,
    )
    return 0


# -- info -----------------------------------------------------------------------------------
def _add_info(sub: Any) -> None:
    p = sub.add_parser(
        "info", help="versions, devices and the registered models, transforms, datasets"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect_info() -> dict[str, Any]:
    """Versions, devices and registries, as printed by ``dermnet info``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

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


def _cmd_info(args: argparse.Namespace) -> int:
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


# -- train / evaluate / predict --------------------------------------------------------------
def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1), got {value}")
    return value


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on a dataset and write a run folder (resumable)",
        description="Train a registered model on a registered dataset (or a bundled sample), "
        "split by lesion/patient, with balanced class weights, a best-model checkpoint, CSV "
        "history and curves; then evaluate it on the test split. The run folder (--output) "
        "holds config.json, split.csv, model.keras, last.keras, history.csv, history.png and "
        "metrics.json. --resume continues an interrupted run.",
    )
    data = p.add_mutually_exclusive_group()
    data.add_argument("--dataset", help="registered dataset name (see dermnet info)")
    data.add_argument("--sample", help="a bundled sample instead: ham10000 or malaria")
    p.add_argument("--root", help="the dataset's folder (with --dataset)")
    p.add_argument("--model", default="simple_cnn", help="model name (default: %(default)s)")
    p.add_argument("--weights", default=None, help="none (default), imagenet, or a weights file")
    p.add_argument("--image-size", type=_positive_int, default=None, help="input size in pixels")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default: %(default)s")
    p.add_argument("--epochs", type=_positive_int, default=None, help="default: 10")
    p.add_argument("--lr", type=_positive_float, default=1e-3, help="default: %(default)s")
    p.add_argument(
        "--schedule",
        choices=("constant", "cosine", "plateau"),
        default="constant",
        help="learning-rate schedule (default: %(default)s)",
    )
    p.add_argument("--warmup-epochs", type=float, default=0.0, help="linear warm-up epochs")
    p.add_argument("--early-stopping", type=_positive_int, default=None, help="patience")
    p.add_argument("--dropout", type=_fraction, default=0.2, help="default: %(default)s")
    p.add_argument(
        "--class-weights", choices=("balanced", "none"), default="balanced", help="loss weights"
    )
    p.add_argument("--test-size", type=_fraction, default=0.2, help="default: %(default)s")
    p.add_argument("--val-size", type=_fraction, default=0.15, help="default: %(default)s")
    p.add_argument("--seed", type=_seed, default=0, help="random seed (default: %(default)s)")
    p.add_argument("--metadata", action="store_true", help="also use patient metadata")
    p.add_argument(
        "--binary-output", choices=("softmax", "sigmoid"), default="softmax", help="2 classes"
    )
    p.add_argument("--mixed-precision", action="store_true", help="mixed-precision training")
    p.add_argument("--cache", action="store_true", help="keep decoded images in memory")
    p.add_argument("--output", "-o", default=None, help="run folder (default: runs/<model>)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue this run")
    p.add_argument("--quiet", "-q", action="store_true", help="no per-epoch lines")


def _cmd_train(args: argparse.Namespace) -> int:
    from dermnet.train.run import RunConfig, train_run

    log: Callable[[str], None] = (
        (lambda _m: None) if args.quiet else (lambda m: print(m, flush=True))
    )
    if args.resume is not None:
        summary = train_run(None, args.resume, resume=True, epochs=args.epochs, log=log)
    else:
        if args.dataset is None and args.sample is None:
            print(
                "dermnet train: error: give --dataset NAME --root DIR, or --sample NAME",
                file=sys.stderr,
            )
            return 2
        weights = None if args.weights in (None, "none", "None") else args.weights
        config = RunConfig(
            model=args.model,
            dataset=args.dataset,
            root=args.root,
            sample=args.sample,
            weights=weights,
            image_size=args.image_size,
            batch_size=args.batch_size,
            epochs=args.epochs or 10,
            learning_rate=args.lr,
            lr_schedule=args.schedule,
            warmup_epochs=args.warmup_epochs,
            early_stopping=args.early_stopping,
            dropout=args.dropout,
            class_weights=args.class_weights,
            test_size=args.test_size,
            val_size=args.val_size,
            seed=args.seed,
            metadata=args.metadata,
            binary_output=args.binary_output,
            mixed_precision=args.mixed_precision,
            cache=args.cache,
        )
        summary = train_run(config, args.output or os.path.join("runs", args.model), log=log)
    if args.quiet:
        print(json.dumps(summary))
    return 0


def _add_evaluate(sub: Any) -> None:
    p = sub.add_parser(
        "evaluate",
        help="evaluate a run's model on its test (or validation) split",
        description="Load RUN_DIR/model.keras and score it on the run's own held-out split "
        "(from split.csv); print the report and write metrics.json.",
    )
    p.add_argument("run_dir", help="a run folder written by dermnet train")
    p.add_argument("--split", choices=("test", "val"), default="test", help="default: test")
    p.add_argument("--model-file", default="model.keras", help="model.keras or last.keras")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from dermnet.train.run import evaluate_run

    report = evaluate_run(args.run_dir, args.split, model_file=args.model_file)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.to_markdown())
    return 0


def _add_predict(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="predict images with a run's model",
        description="Classify image files and folders (searched recursively) with "
        "RUN_DIR/model.keras, preprocessed as in training; write or print a CSV with the "
        "predicted class and one probability per class.",
    )
    p.add_argument("run_dir", help="a run folder written by dermnet train")
    p.add_argument("images", nargs="+", help="image files and/or folders")
    p.add_argument("--output", "-o", default=None, help="CSV file (default: print)")
    p.add_argument("--model-file", default="model.keras", help="model.keras or last.keras")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default: %(default)s")


def _cmd_predict(args: argparse.Namespace) -> int:
    from dermnet.train.run import predict_run

    table = predict_run(
        args.run_dir, args.images, model_file=args.model_file, batch_size=args.batch_size
    )
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"{len(table)} predictions written to {args.output}")
    else:
        print(table.to_csv(index=False), end="")
    return 0


_COMMANDS: dict[str, tuple[Callable[[Any], None], Callable[[argparse.Namespace], int]]] = {
    "demo": (_add_demo, _cmd_demo),
    "info": (_add_info, _cmd_info),
    "train": (_add_train, _cmd_train),
    "evaluate": (_add_evaluate, _cmd_evaluate),
    "predict": (_add_predict, _cmd_predict),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dermnet`` command."""
    parser = argparse.ArgumentParser(
        prog="dermnet",
        description="dermnet: deep learning for dermoscopy and microscopy image classification.",
    )
    parser.add_argument("--version", action="version", version=f"dermnet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add, _ in _COMMANDS.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dermnet`` command; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command][1](args)
    except DermnetError as exc:
        print(f"dermnet {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
