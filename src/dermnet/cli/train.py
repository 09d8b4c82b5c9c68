"""``dermnet train`` (a recipe, a TOML run file and options make a run folder; or resume
one) and ``dermnet recipes``.

Every `RunConfig` field is a ``train`` option generated from the field's declaration: its
type, its constraint (checked at parse time by the field's own check) and its help.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dermnet._core.errors import UnknownNameError
from dermnet.cli.arguments import (
    UsageError,
    add_output,
    add_quiet,
    argument_type,
    command_parser,
    existing_path,
    known,
    progress_log,
    run_folder,
)
from dermnet.cli.errors import cli_message
from dermnet.cli.evaluate import print_report_summary

__all__ = [
    "add_cv",
    "add_ensemble",
    "add_recipes",
    "add_train",
    "check_cv",
    "check_ensemble",
    "check_recipes",
    "check_train",
    "run_cv",
    "run_ensemble",
    "run_recipes",
    "run_train",
]

#: Command-line spellings of run-config fields that differ from ``--field-name``.
_FIELD_FLAGS = {"learning_rate": ("--lr", "--learning-rate"), "lr_schedule": ("--schedule",)}
#: Fields the command line sets through other options (or not at all).
_NOT_FLAGS = ("recipe",)


def _field_type(field: dataclasses.Field[Any]) -> Callable[[str], Any]:
    """An argparse ``type`` for a `RunConfig` field, checked by the field's own constraint."""
    from dermnet.train.run_config import _check_field, _kinds

    base, optional = _kinds(field)
    convert = {"int": int, "float": float, "str": str}[base]

    def parse(text: str) -> Any:
        return None if optional and text.lower() == "none" else convert(text)

    def check(value: Any) -> Any:
        _check_field(field, value, "dermnet train")
        return value

    return argument_type(check, parse, base)


def _add_field_options(p: argparse.ArgumentParser) -> None:
    """One option per `RunConfig` field, built from the field's declaration.

    Defaults are suppressed: only the options a user gives override the recipe and the run
    file.
    """
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


def add_train(sub: Any) -> None:
    p = command_parser(sub, "train", run_train)
    p.add_argument("--recipe", metavar="NAME", help="start from this built-in recipe")
    p.add_argument("--config", metavar="FILE", help="a TOML run file (field = value lines)")
    add_output(p, None, "run folder (default: runs/<recipe or model>)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="continue this run")
    p.add_argument(
        "--strategy",
        choices=("multi_worker",),
        default=None,
        help="multi_worker: train on every worker of the cluster in TF_CONFIG (run the same "
        "command in each worker; the chief's run folder is the one to keep)",
    )
    add_quiet(p)
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


def _check_data_source(config: Any) -> None:
    """The config's dataset and root, or its bundled sample, exist."""
    if config.dataset is not None:
        from dermnet.data.datasets import DATASETS, list_datasets

        list_datasets()  # registers every built-in loader
        known(lambda: DATASETS.get(config.dataset, where="--dataset"), "--dataset")
        existing_path(config.root, "--root")
        return
    from dermnet._core.registry import look_up_option
    from dermnet.data.samples import SAMPLES

    known(
        lambda: look_up_option(config.sample, SAMPLES, param="--sample", where="dermnet train"),
        "--sample",
    )


def _output(args: argparse.Namespace, config: Any) -> Path:
    """The run folder: ``--output``, or ``runs/<recipe or model>``."""
    return Path(args.output or os.path.join("runs", config.recipe or config.model))


def _check_strategy(args: argparse.Namespace) -> None:
    """``--strategy multi_worker`` needs a valid ``TF_CONFIG`` (checked without TensorFlow)."""
    if getattr(args, "strategy", None) != "multi_worker":
        return
    from dermnet._core.errors import ParameterError
    from dermnet.train.cluster import read_tf_config

    try:
        read_tf_config()
    except ParameterError as exc:
        raise UsageError(f"--strategy multi_worker: {cli_message(str(exc))}") from None


def check_train(args: argparse.Namespace) -> None:
    _check_strategy(args)
    if args.resume is not None:
        run_folder(args.resume, "--resume")
        return
    config = _train_config(args)
    _check_data_source(config)
    if config.weights not in (None, "imagenet"):
        existing_path(config.weights, "--weights")
    output = _output(args, config)
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


def run_train(args: argparse.Namespace) -> int:
    """Train a model from a recipe, a run file or options; write a run folder.

    Train a model and write a run folder (--output): config.json, split.csv, model.keras,
    last.keras, history, TensorBoard logs, then the evaluation on the test split:
    metrics.json, metrics.md, report.html and model_card.md. Settings come from a built-in
    --recipe (dermnet recipes lists them), then a TOML --config file, then the options
    below, each overriding the one before. --resume continues an interrupted run.
    """
    from dermnet.train.callbacks import ProgressBar
    from dermnet.train.run import train_run

    def progress(batch_size: int | None) -> list[Any]:
        # The epoch lines come from ``log``; the bar shows images/s when the batch is known.
        return [] if args.quiet else [ProgressBar(batch_size=batch_size, summary=False)]

    options: dict[str, Any] = {"log": progress_log(args.quiet)}
    if getattr(args, "strategy", None) == "multi_worker":
        from dermnet.train.worker_fit import worker_strategy

        worker_strategy()  # before any other TensorFlow operation
        options["strategy"] = args.strategy
    if args.resume is not None:
        output = Path(args.resume)
        options.update(resume=True, epochs=getattr(args, "epochs", None))
        config = None
        batch_size = _run_batch_size(args.resume)
    else:
        config = args.run_config if hasattr(args, "run_config") else _train_config(args)
        output = _output(args, config)
        batch_size = config.batch_size
    summary = train_run(config, output, callbacks=progress(batch_size), **options)
    if args.quiet:
        print(json.dumps(summary))
    else:
        print_report_summary(output, "test")
    return 0


# -- cv -------------------------------------------------------------------------------------
def add_cv(sub: Any) -> None:
    from dermnet.train.cv import add_cv_arguments

    p = command_parser(sub, "cv", run_cv)
    add_cv_arguments(p)
    _add_field_options(p)


def check_cv(args: argparse.Namespace) -> None:
    if args.folds < 2:
        raise UsageError(f"--folds: must be an int >= 2. Got {args.folds} instead.")
    if args.holdout is not None and not 0.0 <= args.holdout < 1.0:
        raise UsageError(f"--holdout: must be >= 0 and < 1. Got {args.holdout} instead.")
    if args.n_bootstrap < 0:
        raise UsageError(f"--n-bootstrap: must be an int >= 0. Got {args.n_bootstrap} instead.")
    config = _train_config(args)
    _check_data_source(config)
    if config.weights not in (None, "imagenet"):
        existing_path(config.weights, "--weights")


def run_cv(args: argparse.Namespace) -> int:
    """Cross-validate a run config: K grouped, stratified folds, one run folder each.

    Split the data once (a held-out part, then K folds grouped by lesion or patient, each
    class spread evenly), train one run folder per fold (validation = its fold) and keep
    the out-of-fold predictions: oof.csv, pooled and per-fold metrics with 95% intervals
    and their spread in cv_metrics.json and report.html. Settings as for dermnet train
    (--recipe, --config, then the options). Rerun the same command to resume fold by fold;
    --ensemble also combines the fold models.
    """
    from dermnet.train.cv import run_cv as cross_validate_command

    if getattr(args, "weights", None) in ("none", "None"):
        args.weights = None
    return cross_validate_command(args)


# -- ensemble -------------------------------------------------------------------------------
def add_ensemble(sub: Any) -> None:
    p = command_parser(sub, "ensemble", run_ensemble)
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run folders to combine (2 or more)")
    add_output(p, None, "the ensemble folder to write (required)")
    p.add_argument(
        "--combine",
        choices=("probability", "logit"),
        default="probability",
        help="average the members' probabilities or their logits (default: %(default)s)",
    )
    p.add_argument(
        "--tta",
        choices=("none", "flips", "dihedral"),
        default=None,
        help="the ensemble's test-time augmentation (default: the first run's)",
    )
    p.add_argument(
        "--model-file",
        default="model.keras",
        help="each run's model file (default: %(default)s)",
    )
    p.add_argument(
        "--overwrite", action="store_true", help="replace an ensemble already in --output"
    )


def check_ensemble(args: argparse.Namespace) -> None:
    if len(args.runs) < 2:
        raise UsageError(f"give 2 or more run folders to combine. Got {len(args.runs)}.")
    if args.output is None:
        raise UsageError("--output is required: the ensemble folder to write")
    for text in args.runs:
        run = run_folder(text, "RUN_DIR")
        if not (run / args.model_file).is_file():
            raise UsageError(f"RUN_DIR: {run} has no {args.model_file}")


def run_ensemble(args: argparse.Namespace) -> int:
    """Combine run folders into one ensemble folder that works like a single run.

    The runs (for example seeds or folds of one recipe) must share their classes, data
    config, metadata encoding and logit adjustment; the message names the run that
    differs. The ensemble averages the members' probabilities (or logits) with the test-time
    augmentation of --tta. Its split keeps only the validation and test images that every
    member held out, so no evaluation scores an image a member trained on. dermnet evaluate,
    predict, explain (Grad-CAM averaged over the members), serve and export take the
    ensemble folder like any run folder.
    """
    from dermnet.train.ensemble import build_ensemble

    folder = build_ensemble(
        args.runs,
        args.output,
        combine=args.combine,
        tta=args.tta,
        model_file=args.model_file,
        overwrite=args.overwrite,
    )
    held = ", ".join(f"{role} {n}" for role, n in folder.info["split"].items() if role != "train")
    print(
        f"Ensemble of {len(args.runs)} runs ({args.combine} mean, TTA {folder.config.tta}) "
        f"in {folder.path}; held-out images: {held or 'none shared by every member'}."
    )
    if held:
        role = "test" if "test" in folder.info["split"] else "val"
        print(f"Evaluate it with: dermnet evaluate {folder.path} --split {role}")
    return 0


# -- recipes --------------------------------------------------------------------------------
def add_recipes(sub: Any) -> None:
    p = command_parser(sub, "recipes", run_recipes)
    p.add_argument("--show", metavar="NAME", default=None, help="print this recipe as TOML")


def check_recipes(args: argparse.Namespace) -> None:
    if args.show is not None:
        _check_recipe(args.show, "--show")


def run_recipes(args: argparse.Namespace) -> int:
    """List the built-in training recipes (dermnet train --recipe NAME).

    List the built-in recipes with one line each; --show NAME prints a recipe as a TOML run
    file to copy and edit (dermnet train --config FILE).
    """
    from dermnet.train.run_config import get_recipe, list_recipes, recipe_summary

    if args.show is not None:
        print(get_recipe(args.show).to_toml(), end="")
        return 0
    names = list_recipes()
    width = max(len(n) for n in names)
    for name in names:
        print(f"{name:<{width}}  {recipe_summary(name)}")
    return 0
