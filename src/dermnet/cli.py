"""The ``dermnet`` command line.

Each subcommand is one ``_cmd_<name>`` function plus an ``_add_<name>`` parser builder,
registered in ``_COMMANDS``, and optionally a ``_check_<name>`` in ``_CHECKS`` that
validates the arguments, paths and names before TensorFlow is imported (so a bad
argument is reported in well under a second).

Exit statuses: 0 success; 2 a bad command line (argparse's errors and the ``_check_``
functions: a missing option, an unknown name, a path that does not exist); 1 an error
while running (one line ``dermnet CMD: error: ...``; the traceback with ``--verbose``);
130 interrupted. TensorFlow's start-up lines are hidden unless ``--verbose``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import sys
import traceback
import warnings
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from dermnet._core.errors import DermnetError, OptionalDependencyError, UnknownNameError
from dermnet._core.progress import Progress, write_line
from dermnet._core.quiet_import import hide_native_stderr, import_tensorflow_quietly
from dermnet._version import __version__

__all__ = ["main"]


class UsageError(Exception):
    """A command line that cannot run: reported like argparse's errors, exit status 2."""


def _log(quiet: bool) -> Callable[[str], None]:
    """Progress lines on standard output, drawn around a progress bar on a terminal."""
    return (lambda _m: None) if quiet else write_line


def _existing_path(text: str | None, option: str, *, kind: str = "any") -> Path:
    """``Path(text)``, or a `UsageError` naming ``option`` when it does not exist."""
    if text is None:
        raise UsageError(f"{option} is required")
    path = Path(text).expanduser()
    if kind == "dir" and not path.is_dir():
        what = "is a file, not a folder" if path.is_file() else "does not exist"
        raise UsageError(f"{option}: the folder {path} {what}")
    if not path.exists():
        raise UsageError(f"{option}: {path} does not exist")
    return path


def _run_folder(text: str, option: str) -> Path:
    """A run folder (a folder holding config.json, as ``dermnet train`` writes)."""
    path = _existing_path(text, option, kind="dir")
    if not (path / "config.json").is_file():
        raise UsageError(
            f"{option}: {path} is not a run folder (it has no config.json; run folders are "
            "written by dermnet train and dermnet demo)"
        )
    return path


def _is_run_folder(path: Path) -> bool:
    """Whether ``path`` is a run folder (its config.json describes a run), not just a folder
    holding a model and a config.json of class names."""
    config = path / "config.json"
    if not (path.is_dir() and config.is_file()):
        return False
    try:
        info = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # damaged: let the run-folder reader name the problem
    return isinstance(info, dict) and "run" in info


def _known(lookup: Callable[[], Any], option: str) -> None:
    """Run a registry lookup; an unknown name becomes a `UsageError` naming ``option``."""
    try:
        lookup()
    except UnknownNameError as exc:
        raise UsageError(f"{option}: {exc}") from None


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
    from dermnet.train.callbacks import ProgressBar
    from dermnet.train.demo import run_demo

    run_demo(
        args.output,
        epochs=args.epochs,
        seed=args.seed,
        image_size=args.image_size,
        log=_log(args.quiet),
        verbose=0,
        callbacks=[] if args.quiet else [ProgressBar(summary=False)],
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


# -- describe -------------------------------------------------------------------------------
def _add_describe(sub: Any) -> None:
    p = sub.add_parser(
        "describe",
        help="counts, groups, age/sex/site tables and figures of a local dataset",
        description="Load a dataset with a registered loader (see `dermnet info`) and print "
        "its description; --validate also decodes every image and reports problems (exit "
        "status 1 if any); --output writes the tables and figures.",
    )
    p.add_argument("dataset", help="a registered dataset name, e.g. ham10000, isic2020")
    p.add_argument("root", help="the dataset folder (or file, for csv/medmnist/hmnist)")
    p.add_argument("--output", "-o", help="folder for summary.txt, CSV tables and PNG figures")
    p.add_argument("--validate", action="store_true", help="decode every image and report")
    p.add_argument(
        "--no-check-files",
        action="store_true",
        help="read the table only, without looking for the images (ISIC 2020 metadata)",
    )


def _cmd_describe(args: argparse.Namespace) -> int:
    import inspect

    from dermnet.data import describe, load_dataset, validate
    from dermnet.data.loaders import DATASETS, list_datasets

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


# -- preprocess -----------------------------------------------------------------------------
def _add_preprocess(sub: Any) -> None:
    p = sub.add_parser(
        "preprocess",
        help="apply a preprocessing preset to an image folder and write a cache",
        description="Apply a preprocessing pipeline (a named preset or a pipeline JSON "
        "file) to every image under SRC, in parallel, and write the results under DST "
        "with the same sub-folders. Re-running resumes: valid outputs are skipped. "
        "DST/dermnet_preprocess.json records the pipeline, counts and errors.",
    )
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
        type=_positive_int,
        default=224,
        help="output size in pixels for --preset (default: %(default)s)",
    )
    p.add_argument(
        "--workers",
        "-j",
        type=_positive_int,
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
    p.add_argument("--quiet", "-q", action="store_true", help="no progress line")


def _cmd_preprocess(args: argparse.Namespace) -> int:
    from dermnet.transforms import preprocess_folder, preset, transform_from_dict

    if args.pipeline is not None:
        from pathlib import Path

        from dermnet._core.errors import MissingFileError, ParameterError

        path = Path(args.pipeline)
        if not path.is_file():
            raise MissingFileError(f"The pipeline file given as --pipeline does not exist: {path}")
        try:
            pipeline = transform_from_dict(json.loads(path.read_text()))
        except ValueError as exc:
            raise ParameterError(
                f"The pipeline file {path} is not a valid pipeline: {exc}"
            ) from None
    else:
        pipeline = preset(args.preset or "dermoscopy", args.image_size)
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


# -- explain --------------------------------------------------------------------------------
_EXPLAIN_METHODS = ("gradcam", "gradcam++", "scorecam", "layercam", "eigencam", "lime", "shap")


def _add_explain(sub: Any) -> None:
    p = sub.add_parser(
        "explain",
        help="explain a saved model's predictions on image files (overlays + HTML page)",
        description="Load a model (a .keras file or a run folder with model.keras), explain "
        "its prediction for each image with the chosen method, and write one overlay PNG per "
        "image, explanations.json and index.html to --output. Images are resized to the "
        "model's input size.",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files to explain")
    p.add_argument(
        "--model", "-m", required=True, metavar="RUN_OR_FILE", help="a .keras file or run folder"
    )
    p.add_argument(
        "--method",
        choices=_EXPLAIN_METHODS,
        default="gradcam",
        help="explanation method (default: %(default)s)",
    )
    p.add_argument(
        "--output", "-o", default="dermnet-explain", help="output folder (default: %(default)s)"
    )
    p.add_argument(
        "--class",
        dest="class_index",
        type=int,
        default=None,
        help="class index to explain (default: each image's predicted class)",
    )
    p.add_argument("--layer", default=None, help="CAM target layer path (default: automatic)")
    p.add_argument(
        "--num-samples",
        type=_positive_int,
        default=1000,
        help="LIME perturbed samples per image (default: %(default)s)",
    )
    p.add_argument(
        "--segmentation",
        choices=("quickshift", "slic", "felzenszwalb"),
        default="quickshift",
        help="LIME superpixels (default: %(default)s)",
    )
    p.add_argument(
        "--max-evals",
        type=_positive_int,
        default=500,
        help="SHAP partition evaluations per image (default: %(default)s)",
    )
    p.add_argument("--batch-size", type=_positive_int, default=32, help="images per forward pass")
    p.add_argument("--seed", type=_seed, default=0, help="random seed for LIME (default: 0)")


def _check_explain(args: argparse.Namespace) -> None:
    model = _existing_path(args.model, "--model")
    if model.is_dir():
        if not (model / "model.keras").is_file():
            raise UsageError(f"--model: the folder {model} has no model.keras")
    elif model.suffix != ".keras":
        raise UsageError(f"--model: expected a .keras file or a run folder, got {model}")
    run_folder = _is_run_folder(model)
    for image in args.images:
        path = Path(image)
        if run_folder and path.is_dir():
            continue  # a run explains folders of images too
        if not path.is_file():
            what = "is a folder, not an image file" if path.is_dir() else "does not exist"
            raise UsageError(f"IMAGE: {path} {what}")


def _cmd_explain(args: argparse.Namespace) -> int:
    from dermnet.explain import write_explanations

    options: dict[str, Any] = {"batch_size": args.batch_size}
    if args.method in ("lime",):
        options.update(num_samples=args.num_samples, segmentation=args.segmentation, seed=args.seed)
    elif args.method == "shap":
        options.update(max_evals=args.max_evals, seed=args.seed)
    elif args.layer is not None:
        options["target_layer"] = args.layer
    model = Path(args.model)
    if _is_run_folder(model):
        from dermnet.train.run import explain_run

        # the run's data config, TTA and logit adjustment: the probabilities of predict
        records = explain_run(
            model,
            args.images,
            args.output,
            method=args.method,
            class_index=args.class_index,
            **options,
        )
    else:
        records = write_explanations(
            args.model,
            args.images,
            args.output,
            method=args.method,
            class_index=args.class_index,
            **options,
        )
    for r in records:
        print(
            f"{r['file']}: predicted {r['predicted']} ({r['probability']:.3f}), "
            f"explained {r['explained']} -> {r['overlay']}"
        )
    print(f"Wrote {len(records)} overlays and index.html to {args.output}")
    return 0


# -- train / evaluate / predict --------------------------------------------------------------
#: Command-line spellings of run-config fields that differ from ``--field-name``.
_FIELD_FLAGS = {"learning_rate": ("--lr", "--learning-rate"), "lr_schedule": ("--schedule",)}
#: Fields the command line sets through other options (or not at all).
_NOT_FLAGS = ("recipe",)


def _field_type(field: Any) -> Callable[[str], Any]:
    """An argparse ``type`` for a `RunConfig` field, checked by the field's own constraint."""
    from dermnet._core.errors import ParameterError
    from dermnet.train.run_config import _check_field, _kinds

    base, optional = _kinds(field)

    def convert(text: str) -> Any:
        if optional and text.lower() == "none":
            return None
        try:
            value: Any = {"int": int, "float": float, "str": str}[base](text)
        except ValueError:
            word = {"int": "an integer", "float": "a number"}[base]
            raise argparse.ArgumentTypeError(f"must be {word}, got {text!r}") from None
        try:
            _check_field(field, value, "dermnet train")
        except ParameterError as exc:
            message = str(exc).split(" must be ", 1)[-1]
            raise argparse.ArgumentTypeError(f"must be {message}") from None
        return value

    convert.__name__ = base  # argparse names the type in its messages
    return convert


def _add_field_options(p: argparse.ArgumentParser) -> None:
    """One option per `RunConfig` field, built from the field's declaration.

    Defaults are suppressed: only the options a user gives override the recipe and the run
    file.
    """
    import dataclasses

    from dermnet.train.run_config import RunConfig, _kinds

    data = p.add_mutually_exclusive_group()
    for field in dataclasses.fields(RunConfig):
        if field.name in _NOT_FLAGS:
            continue
        flags = _FIELD_FLAGS.get(field.name, ("--" + field.name.replace("_", "-"),))
        meta = field.metadata
        default = "none" if field.default is None else field.default
        help_text = f"{meta['help']} (default: {default})"
        where = data if field.name in ("dataset", "sample") else p
        base = _kinds(field)[0]
        kwargs: dict[str, Any] = {"dest": field.name, "default": argparse.SUPPRESS}
        if base == "bool":
            where.add_argument(
                *flags, action=argparse.BooleanOptionalAction, help=help_text, **kwargs
            )
            continue
        if meta.get("choices") is not None:
            kwargs["choices"] = meta["choices"]
        else:
            kwargs["type"] = _field_type(field)
            kwargs["metavar"] = {"int": "N", "float": "X", "str": field.name.upper()}[base]
        where.add_argument(*flags, help=help_text, **kwargs)


def _add_train(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train a model from a recipe, a run file or options; write a run folder",
        description="Train a model and write a run folder (--output): config.json, split.csv, "
        "model.keras, last.keras, history, TensorBoard logs, then the evaluation on the test "
        "split: metrics.json, metrics.md, report.html and model_card.md. Settings come from "
        "a built-in --recipe (dermnet recipes lists them), then a TOML --config file, then "
        "the options below, each overriding the one before. --resume continues an "
        "interrupted run.",
    )
    p.add_argument("--recipe", metavar="NAME", help="start from this built-in recipe")
    p.add_argument("--config", metavar="FILE", help="a TOML run file (field = value lines)")
    p.add_argument(
        "--output", "-o", default=None, help="run folder (default: runs/<recipe or model>)"
    )
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue this run")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    _add_field_options(p)


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run-config fields given on the command line."""
    from dermnet.train.run_config import RunConfig

    names = [n for n in RunConfig.field_names() if n not in _NOT_FLAGS]
    given = {name: getattr(args, name) for name in names if hasattr(args, name)}
    if given.get("dataset") is not None:
        given["sample"] = None  # --dataset replaces a recipe's bundled sample
    if given.get("sample") is not None:
        given.update(dataset=None, root=None)
    if given.get("weights") in ("none", "None"):
        given["weights"] = None
    return given


def _train_config(args: argparse.Namespace) -> Any:
    """The validated run config of ``dermnet train`` (no TensorFlow), or a `UsageError`."""
    from dermnet._core.errors import MissingFileError, ParameterError
    from dermnet.train.run_config import list_recipes, load_run_config

    if args.recipe is not None and args.recipe not in list_recipes():
        _check_recipe(args.recipe, "--recipe")
    overrides = _overrides(args)
    try:
        config = load_run_config(args.config, recipe=args.recipe, overrides=overrides)
    except MissingFileError as exc:
        raise UsageError(f"--config: {exc}") from None
    except UnknownNameError as exc:
        raise UsageError(f"--model: {exc}") from None
    except ParameterError as exc:
        message = cli_message(str(exc))
        if "needs either 'dataset'" in message:
            message = "give --dataset NAME --root DIR, or --sample NAME (or a --recipe/--config)"
        elif "needs the 'root' folder" in message:
            message = f"--root DIR is required with --dataset {overrides.get('dataset')}"
        raise UsageError(message) from None
    return config


def _check_recipe(name: str, option: str) -> None:
    """A `UsageError` naming ``option`` when no built-in recipe is called ``name``."""
    from dermnet._core.errors import ParameterError
    from dermnet.train.run_config import get_recipe

    try:
        get_recipe(name)
    except ParameterError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _check_train(args: argparse.Namespace) -> None:
    if args.resume is not None:
        _run_folder(args.resume, "--resume")
        return
    config = _train_config(args)
    if config.dataset is not None:
        from dermnet.data.loaders import DATASETS, list_datasets

        list_datasets()  # registers every built-in loader
        _known(lambda: DATASETS.get(config.dataset, where="--dataset"), "--dataset")
        _existing_path(config.root, "--root")
    else:
        from dermnet._core.registry import look_up_option
        from dermnet.data.samples import SAMPLES

        _known(
            lambda: look_up_option(config.sample, SAMPLES, param="--sample", where="dermnet train"),
            "--sample",
        )
    if config.weights not in (None, "imagenet"):
        _existing_path(config.weights, "--weights")
    output = Path(args.output or os.path.join("runs", config.recipe or config.model))
    if (output / "config.json").exists() and any(
        (output / name).exists() for name in ("state.json", "last.keras")
    ):
        raise UsageError(
            f"--output: {output} already holds a training run; continue it with "
            f"dermnet train --resume {output}, or choose another --output folder"
        )
    args.run_config = config


def _run_batch_size(run_dir: str) -> int | None:
    """The batch size a run folder trains with (``None`` when it cannot be read)."""
    try:
        run = json.loads((Path(run_dir) / "config.json").read_text(encoding="utf-8"))["run"]
        size = run.get("config", run).get("batch_size")  # {"config": {...}} or flat
    except (OSError, ValueError, KeyError, AttributeError):
        return None
    return size if isinstance(size, int) and size > 0 else None


def _cmd_train(args: argparse.Namespace) -> int:
    from dermnet.train.callbacks import ProgressBar
    from dermnet.train.run import train_run

    log = _log(args.quiet)

    def progress(batch_size: int | None) -> list[Any]:
        # The epoch lines come from ``log``; the bar shows images/s when the batch is known.
        return [] if args.quiet else [ProgressBar(batch_size=batch_size, summary=False)]

    if args.resume is not None:
        epochs = getattr(args, "epochs", None)
        summary = train_run(
            None,
            args.resume,
            resume=True,
            epochs=epochs,
            log=log,
            callbacks=progress(_run_batch_size(args.resume)),
        )
        output = args.resume
    else:
        config = args.run_config if hasattr(args, "run_config") else _train_config(args)
        output = args.output or os.path.join("runs", config.recipe or config.model)
        summary = train_run(config, output, log=log, callbacks=progress(config.batch_size))
    if args.quiet:
        print(json.dumps(summary))
    else:
        _print_report_summary(Path(output), "test")
    return 0


def _print_report_summary(run: Path, split: str) -> None:
    """Print the evaluation's compact table (95% intervals) and where the rest is."""
    suffix = "" if split == "test" else f"_{split}"
    table = run / f"summary{suffix}.txt"
    if table.is_file():
        print(table.read_text(encoding="utf-8").rstrip())
    print(f"Full report: {run / f'metrics{suffix}.md'}; page: {run / f'report{suffix}.html'}")


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
    p.add_argument(
        "--positive-class",
        default=None,
        metavar="CLASS",
        help="the class of interest for sensitivity at fixed specificity (default: mel, "
        "malignant, ... when present)",
    )


def _check_evaluate(args: argparse.Namespace) -> None:
    run = _run_folder(args.run_dir, "RUN_DIR")
    if not (run / args.model_file).is_file():
        raise UsageError(f"--model-file: the run folder {run} has no {args.model_file}")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from dermnet.train.run import evaluate_run

    counter = _ProgressCounter("evaluate", enabled=True)
    try:
        report = evaluate_run(
            args.run_dir,
            args.split,
            model_file=args.model_file,
            progress=counter,
            positive_class=args.positive_class,
        )
    finally:
        counter.close()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print_report_summary(Path(args.run_dir), args.split)
    return 0


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {value}")
    return value


def _add_predict(sub: Any) -> None:
    p = sub.add_parser(
        "predict",
        help="predict images with a run's model",
        description="Classify image files and folders (searched recursively) with "
        "RUN_DIR/model.keras, read as in training. Writes a CSV table (to standard output, "
        "or --output): image, prediction (the top class), probability (of the top class), "
        "low_confidence (True when that probability is below --threshold), then p_<class>, "
        "one probability column per class.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by dermnet train")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files and/or folders")
    p.add_argument("--output", "-o", default=None, help="CSV file (default: standard output)")
    p.add_argument("--model-file", default="model.keras", help="model.keras or last.keras")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default: %(default)s")
    p.add_argument(
        "--threshold",
        type=_probability,
        default=0.5,
        help="flag predictions whose top probability is below this as low_confidence "
        "(default: %(default)s)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _check_predict(args: argparse.Namespace) -> None:
    run = _run_folder(args.run_dir, "RUN_DIR")
    if not (run / args.model_file).is_file():
        raise UsageError(f"--model-file: the run folder {run} has no {args.model_file}")
    for image in args.images:
        _existing_path(image, "IMAGE")


def predictions_table(table: Any, threshold: float = 0.5) -> Any:
    """The table ``dermnet predict`` writes, from `dermnet.train.predict_run`'s frame.

    Args:
        table: a ``pandas.DataFrame`` with ``image_path``, ``prediction``,
            ``confidence`` and ``p_<class>`` columns.
        threshold: a top-class probability below it is flagged ``low_confidence``.

    Returns:
        A frame with ``image``, ``prediction``, ``probability``, ``low_confidence`` and
        the ``p_<class>`` columns.
    """
    classes = [c for c in table.columns if c.startswith("p_")]
    out = table.rename(columns={"image_path": "image", "confidence": "probability"})
    out["low_confidence"] = out["probability"] < threshold
    return out[["image", "prediction", "probability", "low_confidence", *classes]]


class _ProgressCounter:
    """A ``progress(done, total)`` callback that draws a `Progress` bar."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self.bar: Progress | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(total, label=self.label, unit="img", enabled=self.enabled)
        self.bar.update(done - self.bar.done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _cmd_predict(args: argparse.Namespace) -> int:
    from dermnet.train.run import predict_run

    counter = _ProgressCounter("predict", enabled=not args.quiet)
    try:
        table = predict_run(
            args.run_dir,
            args.images,
            model_file=args.model_file,
            batch_size=args.batch_size,
            progress=counter,
        )
    finally:
        counter.close()
    table = predictions_table(table, args.threshold)
    if args.output:
        table.to_csv(args.output, index=False)
        low = int(table["low_confidence"].sum())
        print(
            f"{len(table)} predictions written to {args.output} "
            f"({low} below the --threshold {args.threshold:g})"
        )
    else:
        print(table.to_csv(index=False), end="")
    return 0


# -- export ---------------------------------------------------------------------------------
_EXPORT_FORMATS = {"savedmodel": "saved_model", "tflite": "tflite", "onnx": "onnx"}


def _add_export(sub: Any) -> None:
    p = sub.add_parser(
        "export",
        help="export a run's model to SavedModel, TFLite or ONNX",
        description="Export RUN/model.keras (or a .keras file) and check that the export "
        "gives the same outputs as the Keras model on random inputs. The exported graph "
        "takes the input 'image' (float32, 0-255, batch x height x width x 3). ONNX needs "
        'the optional packages tf2onnx and onnxruntime: pip install "dermnet[onnx]".',
    )
    p.add_argument("run", metavar="RUN", help="a run folder or a .keras file")
    p.add_argument(
        "--format", "-f", required=True, choices=tuple(_EXPORT_FORMATS), help="export format"
    )
    p.add_argument(
        "--output",
        "-o",
        default=None,
        metavar="PATH",
        help="where to write (default: beside the model: saved_model/, model.tflite or model.onnx)",
    )
    p.add_argument("--model-file", default="model.keras", help="in a run folder: model.keras")
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


def _check_export(args: argparse.Namespace) -> None:
    source = _existing_path(args.run, "RUN")
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


def _cmd_export(args: argparse.Namespace) -> int:
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


# -- recipes --------------------------------------------------------------------------------
def _add_recipes(sub: Any) -> None:
    p = sub.add_parser(
        "recipes",
        help="list the built-in training recipes (dermnet train --recipe NAME)",
        description="List the built-in recipes with one line each; --show NAME prints a "
        "recipe as a TOML run file to copy and edit (dermnet train --config FILE).",
    )
    p.add_argument("--show", metavar="NAME", default=None, help="print this recipe as TOML")


def _check_recipes(args: argparse.Namespace) -> None:
    if args.show is not None:
        _check_recipe(args.show, "--show")


def _cmd_recipes(args: argparse.Namespace) -> int:
    from dermnet.train.run_config import get_recipe, list_recipes, recipe_summary

    if args.show is not None:
        print(get_recipe(args.show).to_toml(), end="")
        return 0
    names = list_recipes()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}}  {recipe_summary(name)}")
    return 0


_COMMANDS: dict[str, tuple[Callable[[Any], None], Callable[[argparse.Namespace], int]]] = {
    "demo": (_add_demo, _cmd_demo),
    "describe": (_add_describe, _cmd_describe),
    "explain": (_add_explain, _cmd_explain),
    "export": (_add_export, _cmd_export),
    "info": (_add_info, _cmd_info),
    "preprocess": (_add_preprocess, _cmd_preprocess),
    "recipes": (_add_recipes, _cmd_recipes),
    "train": (_add_train, _cmd_train),
    "evaluate": (_add_evaluate, _cmd_evaluate),
    "predict": (_add_predict, _cmd_predict),
}

#: Checks of the command line that run before TensorFlow is imported; they raise
#: `UsageError` (exit status 2) or a `DermnetError` (exit status 1).
_CHECKS: dict[str, Callable[[argparse.Namespace], None]] = {
    "evaluate": _check_evaluate,
    "explain": _check_explain,
    "export": _check_export,
    "predict": _check_predict,
    "recipes": _check_recipes,
    "train": _check_train,
}

#: Commands that never import TensorFlow.
_WITHOUT_TENSORFLOW = frozenset({"describe", "preprocess", "recipes"})


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``dermnet`` command."""
    parser = argparse.ArgumentParser(
        prog="dermnet",
        description="dermnet: deep learning for dermoscopy and microscopy image classification.",
    )
    parser.add_argument("--version", action="version", version=f"dermnet {__version__}")
    verbose_help = "show TensorFlow's start-up lines, and tracebacks on errors"
    parser.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for add, _ in _COMMANDS.values():
        add(sub)
    for command in sub.choices.values():  # --verbose also after the subcommand
        command.add_argument(
            "--verbose", "-v", action="store_true", default=argparse.SUPPRESS, help=verbose_help
        )
    return parser


#: Python names in messages, as the command line spells them.
_CLI_SPELLING = {
    "learning_rate": "--lr",
    "lr_schedule": "--schedule",
    "run_dir": "RUN_DIR",
    "output_dir": "--output",
}
_FUNCTIONS_BEHIND_THE_CLI = (
    "RunConfig|train_run|evaluate_run|predict_run|run_demo|write_explanations|export_model"
)


def cli_message(text: str) -> str:
    """Rewrite a library error message in the command line's terms.

    ``"The 'image_size' parameter (or field) of RunConfig must be ..."`` becomes
    ``"--image-size must be ..."``; ``positive_class=`` becomes ``--positive-class``
    (unless the message says it is the Python spelling); ``resume=True`` becomes
    ``--resume``.
    """

    def flag(match: re.Match[str]) -> str:
        name = match.group(1)
        return _CLI_SPELLING.get(name, "--" + name.replace("_", "-"))

    text = re.sub(
        rf"The '(\w+)' (?:parameter|field) of (?:{_FUNCTIONS_BEHIND_THE_CLI})\b", flag, text
    )
    text = re.sub(r"\bpositive_class=(?! in Python)", "--positive-class ", text)
    text = re.sub(r"\bresume=True\b", "--resume", text)
    return text


def _dermnet_error_inside(exc: BaseException) -> str | None:
    """The message of a dermnet error raised inside a ``tf.data`` function, if any.

    TensorFlow re-raises an exception from a pipeline function as its own error type
    (``InvalidArgumentError``), with the original ``DataError: ...`` line in its message.
    """
    text = str(getattr(exc, "message", None) or exc)
    for name in ("DataError: ", "MissingFileError: ", "ParameterError: "):
        if name in text:
            return text.split(name, 1)[1].splitlines()[0].strip()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dermnet`` command; returns the exit status.

    0: success; 1: an error while running (one line on standard error, the traceback
    with ``--verbose``); 2: a bad command line; 130: interrupted.
    """
    args = build_parser().parse_args(argv)
    verbose = bool(getattr(args, "verbose", False))
    command = args.command

    def show_warning(message: Any, category: Any, *rest: Any, **kwargs: Any) -> None:
        # one line in the command's voice; the code location only with --verbose
        where = f" ({rest[0]}:{rest[1]})" if verbose and len(rest) >= 2 else ""
        print(f"dermnet {command}: warning: {message}{where}", file=sys.stderr)

    warnings.showwarning = show_warning
    try:
        if command in _CHECKS:
            _CHECKS[command](args)  # before TensorFlow: a bad argument fails fast
        if command not in _WITHOUT_TENSORFLOW:
            import_tensorflow_quietly(verbose=verbose)
        return _COMMANDS[command][1](args)
    except UsageError as exc:
        print(f"dermnet {command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"dermnet {command}: interrupted", file=sys.stderr)
        return 130
    except DermnetError as exc:
        if verbose:
            traceback.print_exc()
        print(f"dermnet {command}: error: {cli_message(str(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:
        if verbose:
            traceback.print_exc()
        embedded = _dermnet_error_inside(exc)
        if embedded is not None:  # raised inside a tf.data pipeline, carried by TensorFlow
            print(f"dermnet {command}: error: {cli_message(embedded)}", file=sys.stderr)
            return 1
        hint = "" if verbose else " (run with --verbose for the traceback)"
        print(f"dermnet {command}: error: {type(exc).__name__}: {exc}{hint}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
