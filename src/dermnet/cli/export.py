"""``dermnet export``: a run's model as a SavedModel, a TFLite or an ONNX file, checked."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from dermnet._core.errors import OptionalDependencyError
from dermnet._core.quiet_import import hide_native_stderr
from dermnet.cli.arguments import (
    UsageError,
    add_model_file,
    add_output,
    command_parser,
    existing_path,
)

__all__ = ["add_export", "check_export", "run_export"]

_EXPORT_FORMATS = {"savedmodel": "saved_model", "tflite": "tflite", "onnx": "onnx"}


def add_export(sub: Any) -> None:
    p = command_parser(sub, "export", run_export)
    p.add_argument("run", metavar="RUN", help="a run folder or a .keras file")
    p.add_argument(
        "--format", "-f", required=True, choices=tuple(_EXPORT_FORMATS), help="export format"
    )
    add_output(
        p,
        None,
        "where to write (default: beside the model: saved_model/, model.tflite or model.onnx)",
        metavar="PATH",
    )
    add_model_file(p, "in a run folder: model.keras")
    p.add_argument(
        "--no-check", action="store_true", help="skip running the export to compare outputs"
    )


def _export_paths(args: argparse.Namespace) -> tuple[Path, Path]:
    """The model to export and where to write it."""
    source = Path(args.run).expanduser()
    model = source / args.model_file if source.is_dir() else source
    stem = "model" if source.is_dir() else model.stem
    default = {
        "savedmodel": f"{stem}_saved_model" if stem != "model" else "saved_model",
        "tflite": f"{stem}.tflite",
        "onnx": f"{stem}.onnx",
    }[args.format]
    output = Path(args.output).expanduser() if args.output else model.parent / default
    return model, output


def check_export(args: argparse.Namespace) -> None:
    source = existing_path(args.run, "RUN")
    model, _ = _export_paths(args)
    if source.is_dir() and not model.is_file():
        raise UsageError(f"RUN: the folder {source} has no {args.model_file}")
    if source.is_file() and source.suffix != ".keras":
        raise UsageError(f"RUN: expected a run folder or a .keras file, got {source}")
    if args.format == "onnx":
        needed = ["tf2onnx"] + ([] if args.no_check else ["onnxruntime"])
        missing = [name for name in needed if importlib.util.find_spec(name) is None]
        if missing:
            raise OptionalDependencyError(
                f"--format onnx needs the optional package(s) {', '.join(missing)}, which "
                'are not installed. Install them with: pip install "dermnet[onnx]"'
            )


def run_export(args: argparse.Namespace) -> int:
    """Export a run's model to SavedModel, TFLite or ONNX.

    Export RUN/model.keras (or a .keras file) and check that the export gives the same
    outputs as the Keras model on random inputs. The exported graph takes the model's image
    input, 'image' (float32, 0-255, batch x height x width x 3). ONNX needs the optional
    packages tf2onnx and onnxruntime: pip install "dermnet[onnx]".
    """
    from dermnet.models import export_model, load_model

    model_path, output = _export_paths(args)
    model = load_model(model_path, compile=False)
    # The TFLite converter and interpreter write C++ lines ("Created TensorFlow Lite
    # XNNPACK delegate"): shown with --verbose, or when the export fails.
    with hide_native_stderr(verbose=getattr(args, "verbose", False)):
        result = export_model(
            model, output, format=_EXPORT_FORMATS[args.format], check=not args.no_check
        )
    checked = (
        "not checked"
        if result.max_abs_diff is None
        else f"outputs within {result.max_abs_diff:.2g} of the Keras model"
    )
    print(
        f"Exported {model_path} as {args.format} to {result.path} "
        f"({result.size_bytes / 1e6:.2f} MB; {checked})"
    )
    return 0
