"""Run folders: what ``dermnet train`` writes and ``dermnet evaluate``/``predict`` read.

`train_run` turns a `RunConfig` (a built-in recipe, a TOML run file, flags) into a
run folder; `evaluate_run` and `predict_run` read one through
`dermnet.train.RunFolder`, which owns the folder's format (see its module for the files).

An interrupted run resumes from ``last.keras`` at the next epoch
(``train_run(..., resume=True)``, ``dermnet train --resume``), with the same split, the
optimizer's state and the best-model threshold restored.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import check_int, check_option, fail
from dermnet.train.run_config import RunConfig
from dermnet.train.run_folder import (
    SCHEMA_VERSION,
    RunFolder,
    load_model_file,
    replace_atomic,
    save_model_atomic,
    temporary_sibling,
    write_atomic,
    write_json,
)

__all__ = ["RunConfig", "evaluate_run", "explain_run", "predict_run", "train_run"]


def _versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    from dermnet._version import __version__

    return {
        "dermnet": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "python": platform.python_version(),
    }


def _load_records(config: RunConfig) -> Any:
    from dermnet import data

    if config.sample is not None:
        return data.load_sample(config.sample)
    return data.load_dataset(str(config.dataset), str(config.root))


def _metadata_encoder_class() -> Any:
    from dermnet import data

    encoder = getattr(data, "MetadataEncoder", None)
    if encoder is None:
        raise ParameterError(
            "metadata=True needs dermnet.data.MetadataEncoder, which this version of "
            "dermnet.data does not have yet."
        )
    return encoder


def resolve_run_data_config(config: RunConfig) -> Any:
    """The `dermnet.data.DataConfig` of a run: the model's defaults, the config's overrides."""
    from dermnet.models import resolve_data_config

    preprocessing = None
    size = config.image_size
    if config.preprocessing != "none":
        from dermnet.models import get_model_spec
        from dermnet.transforms import preset

        target = size if size is not None else get_model_spec(config.model).input_size
        preprocessing = preset(config.preprocessing, target).to_dict()
    return resolve_data_config(
        config.model, image_size=size, resize=config.resize, preprocessing=preprocessing
    )


def _split_frame(parts: Any) -> Any:
    import pandas as pd

    frames = [part.frame.assign(role=part.role) for part in parts if part is not None]
    return pd.concat(frames, ignore_index=True)


def _label_mode(config: RunConfig) -> str:
    return "one_hot" if config.label_smoothing else "int"


def _dataset(records: Any, run: RunFolder, *, training: bool, epoch: Any = None) -> Any:
    from dermnet.data import make_dataset

    config = run.config
    options: dict[str, Any] = {"cache": config.cache, "label_mode": _label_mode(config)}
    if training:
        options.update(shuffle=True, seed=config.seed, epoch=epoch)
        if config.augment != "none":
            from dermnet.transforms import augmentation

            options["augment"] = augmentation(config.augment, seed=config.seed)
    encoder = run.metadata_encoder()
    if encoder is not None:
        options.update(with_metadata=True, metadata_encoder=encoder)
    return make_dataset(records, run.data_config, config.batch_size, **options)


def _history_rows(path: Path, keep: int) -> dict[str, list[float]]:
    """The first ``keep`` rows of a CSV history (rewritten to exactly those rows)."""
    import pandas as pd

    if not path.is_file() or keep == 0:
        if path.is_file():
            path.unlink()
        return {}
    try:
        full = pd.read_csv(path)
        table = full.iloc[:keep]
        history = {c: table[c].astype(float).tolist() for c in table.columns if c != "epoch"}
    except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"The training history {path} is damaged ({type(exc).__name__}: {exc}). It holds "
            "only the per-epoch losses for the curves: delete it and run again (the curves "
            "then start at the next epoch)."
        ) from None
    if len(table) < len(full):
        write_atomic(path, table.to_csv(index=False))
    return history


def _save_atomic(model: Any, path: Path) -> None:
    """Save a ``.keras`` file so that a kill mid-save never leaves a broken file."""
    save_model_atomic(model, path)


def _make_epoch_seed_callback(seed: int, epoch: Any) -> Any:
    """At the start of epoch ``e``: every random state a function of ``(seed, e)`` alone.

    Sets the data pipeline's ``epoch`` variable (shuffle order and augmentation of the
    epoch, see `dermnet.data.make_dataset`), the global seeds, and the state of every
    ``SeedGenerator`` of the model (dropout and other random layers). A run resumed at
    epoch ``e`` therefore draws exactly what an uninterrupted run draws in epoch ``e``.
    """
    import keras

    class EpochSeed(keras.callbacks.Callback):
        def on_epoch_begin(self, e: int, logs: Any = None) -> None:
            epoch.assign(e)
            keras.utils.set_random_seed((seed + 1_000_003 * (e + 1)) % 2**32)
            generators = []
            for layer in self.model._flatten_layers():
                for generator in getattr(layer, "_seed_generators", ()):
                    if all(generator is not g for g in generators):
                        generators.append(generator)
            for i, generator in enumerate(generators):
                state = np.array([(seed + 7919 * (i + 1)) % 2**31, 104_729 * e], dtype=np.int64)
                generator.state.assign(state.astype(generator.state.dtype))

    return EpochSeed()


def _make_state_callback(run: Path, monitor: str, best: float | None, keep_best: bool) -> Any:
    import keras

    class RunState(keras.callbacks.Callback):
        """After every epoch: the best model (if kept), ``last.keras``, ``state.json``."""

        def __init__(self) -> None:
            super().__init__()
            self.best = best

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            value = (logs or {}).get(monitor)
            if keep_best and value is not None and (self.best is None or value < self.best):
                self.best = float(value)
                _save_atomic(self.model, run / "model.keras")
            _save_atomic(self.model, run / "last.keras")
            write_json(run / "state.json", {"epochs_done": epoch + 1, "finished": False})

    return RunState()


def _new_model(config: RunConfig, data_config: Any, num_classes: int, metadata_dim: Any) -> Any:
    from dermnet.models import create_model

    height, width = data_config.image_size
    return create_model(
        config.model,
        num_classes,
        input_shape=(height, width, 3),
        weights=config.weights,
        dropout=config.dropout,
        metadata_dim=metadata_dim,
        binary_output=config.binary_output,
    )


def _loss(config: RunConfig, class_counts: list[int], sigmoid: bool) -> Any:
    import keras

    from dermnet import imbalance

    if config.loss == "focal":
        if sigmoid:
            return imbalance.BinaryFocalLoss(gamma=config.focal_gamma)
        return imbalance.CategoricalFocalLoss(gamma=config.focal_gamma)
    if config.loss == "class_balanced":
        if sigmoid:
            raise ParameterError(
                "The 'loss' field 'class_balanced' needs a softmax output; set "
                "'binary_output' to 'softmax'."
            )
        return imbalance.ClassBalancedLoss(class_counts, gamma=config.focal_gamma)
    if config.label_smoothing:
        if sigmoid:
            return keras.losses.BinaryCrossentropy(label_smoothing=config.label_smoothing)
        return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    return None  # fit's default for the model and labels


def _data_facts(config: RunConfig, records: Any, parts: Any, data_config: Any) -> dict[str, Any]:
    counts = np.bincount(parts.train.labels, minlength=records.num_classes)
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "dermnet-run",
        "run": config.to_dict(),
        "data_config": data_config.to_dict(),
        "classes": list(records.classes),
        "class_counts": {c: int(n) for c, n in zip(records.classes, counts, strict=True)},
        "dataset_name": records.name,
        "group_cols": list(records.group_cols),
        "metadata_cols": list(records.metadata_cols),
        "split": {p.role: len(p) for p in (parts.train, parts.val, parts.test) if p is not None},
        "versions": _versions(),
    }


def _unstarted(out: Path) -> bool:
    """Whether the run in ``out`` never finished an epoch (a failed or killed start)."""
    return not (out / "state.json").exists() and not (out / "last.keras").exists()


def _check_images(parts: Any) -> None:
    """Check every image's header before anything is written (names the bad files)."""
    from dermnet import data

    for part in (parts.train, parts.val, parts.test):
        if part is not None:
            data.check_image_files(part).raise_if_bad("dermnet train")


def _start_run(out: Path, parts: Any, encoder: Any, facts: dict[str, Any], model: Any) -> RunFolder:
    """Write a new run's first files, once its inputs are known good; return its folder.

    The files are written to a hidden sibling folder first; the run's datasets are built
    from it and their first batches read, the loss and class weights set up. Only then
    are the files moved into ``out`` (``config.json`` last): a start that fails leaves
    ``out`` as it was, and nothing blocks a rerun.
    """
    stage = out.parent / f".{out.name}.starting"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        write_atomic(stage / "split.csv", _split_frame(parts).to_csv(index=False))
        if encoder is not None:
            write_json(stage / "metadata_encoder.json", encoder.to_dict())
        write_json(stage / "config.json", facts)
        _check_start(RunFolder(stage), model)
        out.mkdir(parents=True, exist_ok=True)
        for stale in ("state.json", "history.csv", "history.png", "metadata_encoder.json"):
            (out / stale).unlink(missing_ok=True)
        shutil.rmtree(out / "logs", ignore_errors=True)
        for name in ("split.csv", "metadata_encoder.json", "config.json"):
            if (stage / name).is_file():
                replace_atomic(stage / name, out / name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return RunFolder(out)


def _check_start(folder: RunFolder, model: Any) -> None:
    """Read the first batch of the training and validation data; set up loss and weights."""
    import tensorflow as tf

    from dermnet import imbalance

    config = folder.config
    train_records = folder.records("train")
    datasets = [_dataset(train_records, folder, training=True)]
    if config.val_size > 0:
        datasets.append(_dataset(folder.records("val"), folder, training=False))
    for ds in datasets:
        try:
            next(iter(ds.take(1)))
        except tf.errors.OpError as exc:
            first = (exc.message or "").splitlines()[0] if exc.message else ""
            raise DataError(
                f"The run's images cannot be read ({type(exc).__name__}: {first}). Nothing "
                "was written. Check the images with dermnet.data.validate(records) (or "
                "dermnet describe DATASET ROOT --validate), fix or remove the bad files, and "
                "run again."
            ) from None
    if config.class_weights != "none":
        imbalance.class_weights(train_records, method=config.class_weights)
    _loss(config, folder.class_counts, int(model.output_shape[-1]) == 1)


def train_run(
    config: RunConfig | None,
    output_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    epochs: int | None = None,
    log: Callable[[str], None] = print,
    verbose: int | str = 0,
    callbacks: Sequence[Any] = (),
    evaluate_on: Sequence[str] = ("test",),
) -> dict[str, Any]:
    """Train a model as ``config`` says and write a run folder; or resume one.

    Steps: load the data, split it (grouped by lesion/patient, stratified, seeded;
    written to ``split.csv``), resolve the data config (the model's input size and the
    run's resize and preprocessing), build the model, train with `dermnet.train.fit`
    (the config's optimizer, loss, class weights, schedule, augmentation; best or last
    model kept; CSV history, curves, TensorBoard logs), then evaluate the kept model on
    the test split with the run's test-time augmentation and logit adjustment
    (``metrics.json``, ``metrics.md``, ``report.html``, ``model_card.md``).

    Args:
        config: the run's configuration; ``None`` when resuming (it is read from
            ``config.json``).
        output_dir: the run folder. A new run refuses a folder that holds a run already.
        resume: continue the run in ``output_dir`` from its last finished epoch.
        epochs: with ``resume``, a new total number of epochs (to train longer).
        log: receives progress lines.
        verbose: Keras' own progress output (0: only ``log`` lines).
        callbacks: more Keras callbacks (e.g. a progress bar).
        evaluate_on: the splits to evaluate at the end (``"test"``, ``"val"``).

    Returns:
        A summary: the run folder, epochs done, best validation loss and the metrics
        (with 95% intervals) of each evaluated split.

    Raises:
        ParameterError: bad configuration, or a folder that already holds a run.
        MissingFileError: resuming a folder that has no run.
    """
    import keras

    from dermnet import imbalance
    from dermnet._core.seeding import seed_everything
    from dermnet.data import split
    from dermnet.train.callbacks import HistoryPlot
    from dermnet.train.trainer import _trains_batchnorm, fit, recalibrate_after_training

    out = Path(output_dir)
    started = time.perf_counter()
    for role in evaluate_on:
        check_option(role, ("test", "val"), "evaluate_on", "train_run")
    model = None
    if resume:
        folder = RunFolder(out)
        config = folder.config
        if epochs is not None:
            epochs = check_int(epochs, "epochs", "train_run", low=1)
            config = dataclasses.replace(config, epochs=epochs)
            folder.info["run"] = config.to_dict()
            write_json(out / "config.json", folder.info)
            folder = RunFolder(out)
        done = int(folder.state().get("epochs_done", 0))
        log(f"Resuming {out} after epoch {done} of {config.epochs}")
    else:
        if not isinstance(config, RunConfig):
            raise fail("config", "train_run", "a RunConfig", type(config).__name__)
        config.validate()
        if (out / "config.json").exists():
            if not _unstarted(out):
                raise ParameterError(
                    f"The folder {out} already holds a training run. Resume it (dermnet "
                    "train --resume FOLDER), or choose another output folder."
                )
            log(f"Replacing the run in {out}, which never finished an epoch")
        data_config = resolve_run_data_config(config)
        seed_everything(config.seed)
        records = _load_records(config)
        log(f"Loaded {len(records)} images, {records.num_classes} classes ({records.name})")
        if config.max_images is not None and len(records) > config.max_images:
            rng = np.random.default_rng(config.seed)
            records = records.subset(np.sort(rng.permutation(len(records))[: config.max_images]))
            log(f"Using a random subset of {len(records)} images (max_images)")
        group = "auto" if config.group_by is None else config.group_by
        parts = split(
            records,
            test_size=config.test_size,
            val_size=config.val_size,
            group_by=group,
            seed=config.seed,
        )
        _check_images(parts)
        encoder = _metadata_encoder_class()().fit(parts.train) if config.metadata else None
        # Build the model before writing anything: a bad model setting leaves no half run.
        model = _new_model(config, data_config, records.num_classes, encoder and encoder.dim)
        facts = _data_facts(config, records, parts, data_config)
        folder = _start_run(out, parts, encoder, facts, model)
        done = 0
    seed_everything(config.seed)

    import tensorflow as tf

    classes = folder.classes
    train_records = folder.records("train")
    has_val = config.val_size > 0
    val_records = folder.records("val") if has_val else None
    epoch = tf.Variable(done, dtype=tf.int64, trainable=False, name="dermnet_epoch")
    train_ds = _dataset(train_records, folder, training=True, epoch=epoch)
    val_ds = _dataset(val_records, folder, training=False) if has_val else None
    monitor = "val_loss" if has_val else "loss"
    history = _history_rows(out / "history.csv", done)
    best = min(history[monitor]) if history.get(monitor) else None
    keep_best = config.keep == "best"

    if done >= config.epochs:
        log(f"The run already has {done} of {config.epochs} epochs; evaluating only.")
    else:
        compile_model = True
        if model is None and (out / "last.keras").is_file():  # resuming
            model = load_model_file(out / "last.keras")
            compile_model = False
        elif model is None:  # resuming a run that never finished an epoch
            encoder = folder.metadata_encoder()
            model = _new_model(config, folder.data_config, len(classes), encoder and encoder.dim)
            done = 0
        weights = None
        if config.class_weights != "none":
            weights = imbalance.class_weights(train_records, method=config.class_weights)
        sigmoid = int(model.output_shape[-1]) == 1
        cbs = [
            HistoryPlot(out / "history.png", initial=history),
            keras.callbacks.TensorBoard(log_dir=str(out / "logs"), write_graph=False),
            *callbacks,
            _make_epoch_seed_callback(config.seed, epoch),
            _make_state_callback(out, monitor, best, keep_best),
        ]
        log(
            f"Training {config.model} on {len(train_records)} images "
            f"(epochs {done + 1}-{config.epochs})"
        )
        fit(
            model,
            train_ds,
            val_ds,
            epochs=config.epochs,
            initial_epoch=done,
            learning_rate=config.learning_rate,
            optimizer=config.optimizer,
            weight_decay=config.weight_decay,
            loss=_loss(config, folder.class_counts, sigmoid),
            lr_schedule=(
                config.lr_schedule
                if compile_model or config.lr_schedule != "cosine"
                else None  # a resumed optimizer keeps its cosine schedule and step
            ),
            warmup_epochs=config.warmup_epochs if compile_model else 0,
            early_stopping=config.early_stopping,
            monitor=monitor,
            class_weight=weights,
            csv_log=out / "history.csv",
            callbacks=cbs,
            compile=compile_model,
            mixed_precision=config.mixed_precision,
            log=log,
            verbose=verbose,
            recalibrate_bn=False,  # done below, on the kept model too
        )
        if not keep_best:
            _save_atomic(model, out / "model.keras")
        if _trains_batchnorm(model):
            used = recalibrate_after_training(
                model,
                train_ds,
                checkpoint=out / "model.keras" if keep_best else None,
            )
            if not keep_best:
                _save_atomic(model, out / "model.keras")
            log(f"Re-estimated BatchNorm statistics of model.keras from {used} batches")
    state = folder.state()
    state["finished"] = True
    write_json(out / "state.json", state)
    history = _history_rows(out / "history.csv", 10**9)
    summary: dict[str, Any] = {
        "run": str(out),
        "epochs_done": int(state.get("epochs_done", 0)),
        "best_" + monitor: min(history[monitor]) if history.get(monitor) else None,
    }
    for role in evaluate_on:
        report = evaluate_run(out, role)
        summary[role] = {**report.headline(), "intervals": _intervals(report)}
        log(f"{_role_name(role)}: {_headline_text(report)}")
    summary["wall_time_s"] = round(time.perf_counter() - started, 1)
    log(f"Run folder: {out} (open {out / 'report.html'})")
    return summary


def _role_name(role: str) -> str:
    return {"test": "Test", "val": "Validation"}[role]


def _intervals(report: Any) -> dict[str, list[float]]:
    out = {}
    for name in ("accuracy", "balanced_accuracy", "macro_auc"):
        try:
            interval = report.interval(name)
        except (KeyError, ValueError, ParameterError):
            continue
        if interval is not None:
            out[name] = [float(interval[0]), float(interval[1])]
    return out


def _headline_text(report: Any) -> str:
    head = report.headline()
    intervals = _intervals(report)
    parts = []
    for name, label in (("balanced_accuracy", "balanced accuracy"), ("macro_auc", "macro AUC")):
        value = head.get(name)
        if value is None:
            parts.append(f"{label} undefined")
            continue
        ci = intervals.get(name)
        parts.append(f"{label} {value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
    return ", ".join(parts) + " (95% bootstrap intervals)"


def evaluate_run(
    run_dir: str | os.PathLike[str],
    split: str = "test",
    *,
    model_file: str = "model.keras",
    write: bool = True,
    n_bootstrap: int = 1000,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
    extra_figures: Mapping[str, Any] | None = None,
    positive_class: str | None = None,
) -> Any:
    """Evaluate a run's model on its own test (or validation) split.

    The images are read with the run's data config and scored with
    `RunFolder.score` (test-time augmentation and logit adjustment as configured).

    Args:
        run_dir: a run folder written by `train_run`.
        split: ``"test"`` or ``"val"``.
        model_file: the model in the folder (``"model.keras"``, the kept one; or
            ``"last.keras"``).
        write: write ``metrics.json``, ``metrics.md``, ``report.html``,
            ``model_card.md`` and ``confusion_matrix.png`` (with a ``_val`` suffix for
            ``split="val"``).
        n_bootstrap: bootstrap resamples for the 95% intervals.
        batch_size: images per forward pass.
        progress: called with ``(done, total)`` while scoring.
        extra_figures: more figures for ``report.html``, ``{caption: figure or PNG}``.
        positive_class: the class of interest (sensitivity at fixed specificity); by
            default the one `dermnet.metrics.evaluate` picks by name (mel, malignant, ...).

    Returns:
        A `dermnet.metrics.EvaluationReport`.
    """
    from dermnet.metrics import evaluate

    split = check_option(split, ("test", "val"), "split", "evaluate_run")
    folder = RunFolder(run_dir)
    model = folder.load_model(model_file)
    records = folder.records(split)
    images, metadata = folder.read_records(records, batch_size=batch_size)
    scores = folder.score(model, images, metadata, batch_size=batch_size, progress=progress)
    options = {} if positive_class is None else {"positive_class": positive_class}
    report = evaluate(
        records.labels,
        scores,
        folder.classes,
        n_bootstrap=n_bootstrap,
        seed=folder.config.seed,
        **options,
    )
    if write:
        _write_evaluation(folder, report, split, model_file, len(records), extra_figures)
    return report


def _model_card(folder: RunFolder, split: str) -> Any:
    from dermnet import metrics

    return metrics.ModelCard.from_run_info(folder.model_card_facts(evaluated_on=split))


def _write_evaluation(
    folder: RunFolder,
    report: Any,
    split: str,
    model_file: str,
    images: int,
    extra_figures: Mapping[str, Any] | None = None,
) -> None:
    from dermnet.metrics import figure_to_png, plot_confusion_matrix

    run = folder.path
    suffix = "" if split == "test" else f"_{split}"
    card = _model_card(folder, split)
    report = report.with_model_card(card)
    result = {"split": split, "model_file": model_file, "images": images, **report.to_dict()}
    write_json(run / f"metrics{suffix}.json", result)
    write_atomic(run / f"metrics{suffix}.md", report.to_markdown())
    write_atomic(run / f"summary{suffix}.txt", report.summary() + "\n")
    history = _history_rows(run / "history.csv", 10**9) or None
    name = {"test": "test", "val": "validation"}[split]
    html = run / f"report{suffix}.html"
    report.to_html(
        temporary_sibling(html),
        title=f"dermnet run {run.name}: {folder.config.model} on the {name} split",
        history=history,
        extra_figures=extra_figures,
    )
    replace_atomic(temporary_sibling(html), html)
    write_atomic(run / f"model_card{suffix}.md", report.model_card_markdown())
    figure = plot_confusion_matrix(report.confusion_matrix, folder.classes)
    write_atomic(run / f"confusion_matrix{suffix}.png", figure_to_png(figure))


def _image_paths(inputs: Sequence[str | os.PathLike[str]]) -> list[str]:
    from dermnet.data.loaders import IMAGE_EXTENSIONS

    paths: list[str] = []
    other: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            found = [str(p) for p in files if p.suffix.lower() in IMAGE_EXTENSIONS]
            other += [str(p) for p in files if p.suffix.lower() not in IMAGE_EXTENSIONS]
            if not found:
                raise DataError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}.")
            paths += found
        elif path.is_file():
            paths.append(str(path.resolve()))
        else:
            raise MissingFileError(f"The image or folder to predict does not exist: {path}")
    if other:
        import warnings

        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        warnings.warn(
            f"scored {len(paths)} of {len(paths) + len(other)} files: {len(other)} file(s) in "
            f"the given folder(s) are not images dermnet reads ({', '.join(IMAGE_EXTENSIONS)}): "
            f"{shown}",
            UserWarning,
            stacklevel=3,
        )
    return paths


def predict_run(
    run_dir: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    model_file: str = "model.keras",
    batch_size: int = 64,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Predict images (files or folders) with a run's model, read as in training.

    Args:
        run_dir: a run folder written by `train_run`.
        inputs: image files and/or folders (searched recursively).
        model_file: the model in the folder.
        batch_size: images per batch.
        metadata: for a metadata run, ``{file name or path: {column: value}}``; files
            without an entry are scored with their metadata marked missing.
        progress: called with ``(done, total)`` while scoring.

    Returns:
        A ``pandas.DataFrame``: ``image_path``, ``prediction`` (class name),
        ``confidence``, and one ``p_<class>`` probability column per class.
    """
    import pandas as pd

    batch_size = check_int(batch_size, "batch_size", "predict_run", low=1)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    folder = RunFolder(run_dir)
    paths = _image_paths(inputs)
    model = folder.load_model(model_file)
    scores = folder.predict_files(
        paths, model=model, metadata=metadata, batch_size=batch_size, progress=progress
    )
    out = pd.DataFrame({"image_path": paths})
    out["prediction"] = [folder.classes[i] for i in scores.argmax(axis=1)]
    out["confidence"] = scores.max(axis=1)
    for i, name in enumerate(folder.classes):
        out[f"p_{name}"] = scores[:, i]
    return out


def explain_run(
    run_dir: str | os.PathLike[str],
    images: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    method: str = "gradcam",
    model_file: str = "model.keras",
    class_index: int | None = None,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Explain image files with a run's model: overlays, ``explanations.json``, ``index.html``.

    The files are read with the run's data config and the reported probabilities come
    from `RunFolder.score` (the run's test-time augmentation and logit adjustment), so
    they equal what `predict_run` gives for the same files.

    Args:
        run_dir: a run folder.
        images: image files and/or folders (searched recursively).
        output: the output folder.
        method: an explanation method (`dermnet.explain.list_methods`).
        model_file: the model in the folder.
        class_index: the class to explain; ``None``: each image's predicted class.
        metadata: for a metadata run, as in `predict_run`.
        **options: passed to `dermnet.explain.write_explanations`.

    Returns:
        One dict per image (see `dermnet.explain.write_explanations`).
    """
    from dermnet.explain import write_explanations

    folder = RunFolder(run_dir)
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    paths = _image_paths(images)
    model = folder.load_model(model_file)
    _, encoded = folder.read_files(paths, metadata=metadata)

    def scorer(array: np.ndarray, meta: Any) -> np.ndarray:
        return folder.score(model, array, meta)

    return write_explanations(
        model,
        paths,
        output,
        method=method,
        class_names=folder.classes,
        class_index=class_index,
        data_config=folder.data_config,
        metadata=encoded,
        scorer=scorer,
        **options,
    )
