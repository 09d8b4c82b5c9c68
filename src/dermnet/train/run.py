"""Training a run: `train_run` turns a `RunConfig` (a built-in recipe, a TOML run file,
flags) into a run folder, which `dermnet.train.RunFolder` owns the format of.

`evaluate_run`, `predict_run` and `explain_run`, which read a trained run, live in
`dermnet.train.run_results` and are importable from here as before.

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

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_int, check_option, fail
from dermnet.train.run_config import RunConfig
from dermnet.train.run_folder import (
    SCHEMA_VERSION,
    RunFolder,
    load_model_file,
    replace_atomic,
    save_model_atomic,
    write_atomic,
    write_json,
)
from dermnet.train.run_results import (
    _headline_text,
    _history_rows,
    _intervals,
    _role_name,
    evaluate_run,
    explain_run,
    predict_run,
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


def load_run_records(config: RunConfig, log: Callable[[str], None] = print) -> Any:
    """The records a run trains on: its dataset or bundled sample, at most ``max_images``.

    The subset is drawn with the run's seed, in the records' order, so the same config
    gives the same images (`train_run` and cross-validation share it).
    """
    from dermnet import data

    if config.sample is not None:
        records = data.load_sample(config.sample)
    else:
        records = data.load_dataset(str(config.dataset), str(config.root))
    log(f"Loaded {len(records)} images, {records.num_classes} classes ({records.name})")
    if config.max_images is not None and len(records) > config.max_images:
        rng = np.random.default_rng(config.seed)
        records = records.subset(np.sort(rng.permutation(len(records))[: config.max_images]))
        log(f"Using a random subset of {len(records)} images (max_images)")
    return records


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
            options["augment_on"] = config.augment_on
    encoder = run.metadata_encoder()
    if encoder is not None:
        options.update(with_metadata=True, metadata_encoder=encoder)
    return make_dataset(records, run.data_config, config.batch_size, **options)


def _training_model(model: Any, train_ds: Any) -> Any:
    """``model`` behind the dataset's ``model_augmentation`` (``augment_on="model"``).

    A model resumed from ``last.keras`` is already the wrapper; any other model is
    returned as it is when the dataset augments its own images.
    """
    from dermnet.transforms.augment_presets import augmenting_model, unwrap_augmenting_model

    augment = getattr(train_ds, "model_augmentation", None)
    if augment is None or unwrap_augmenting_model(model) is not model:
        return model
    return augmenting_model(model, augment)


def _save_atomic(model: Any, path: Path) -> None:
    """Save a ``.keras`` file so that a kill mid-save never leaves a broken file."""
    save_model_atomic(model, path)


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


def _given_parts(parts: Any) -> Any:
    """The training records of a `Split` given to `train_run` (checked)."""
    train = getattr(parts, "train", None)
    if train is None or not hasattr(train, "classes"):
        raise fail("parts", "train_run", "a dermnet.data.Split with train records", parts)
    return train


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
    parts: Any = None,
    metadata_encoder: Any = None,
    extra_facts: Mapping[str, Any] | None = None,
    strategy: str | None = None,
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
        parts: a ready `dermnet.data.Split` (``train``, ``val``, ``test`` records, ``test``
            may be ``None``) to train on instead of loading and splitting the config's
            data (cross-validation trains each fold this way); a new run only.
        metadata_encoder: with ``parts``, a fitted `dermnet.data.MetadataEncoder` for a
            metadata run (default: fitted on ``parts.train``).
        extra_facts: more entries for the run's ``config.json`` (e.g. ``{"cv": {...}}``).
        strategy: ``"multi_worker"`` trains with `dermnet.train.fit` on every worker of
            the cluster in ``TF_CONFIG`` (`dermnet.train.distributed.fit_multi_worker`);
            ``None`` trains in this process.

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
    from dermnet.train.batchnorm import recalibrate_after_training, trains_batchnorm
    from dermnet.train.callbacks import EpochSeed, HistoryPlot, RunState
    from dermnet.train.trainer import fit

    out = Path(output_dir)
    started = time.perf_counter()
    for role in evaluate_on:
        check_option(role, ("test", "val"), "evaluate_on", "train_run")
    model = None
    if strategy is not None:
        check_option(strategy, ("multi_worker",), "strategy", "train_run")
    if resume and (parts is not None or metadata_encoder is not None or extra_facts):
        raise ParameterError(
            "The 'parts', 'metadata_encoder' and 'extra_facts' parameters of train_run start "
            "a new run; a resumed run reads them from its folder. Drop them or resume=False."
        )
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
        if parts is None:
            records = load_run_records(config, log)
            group = "auto" if config.group_by is None else config.group_by
            parts = split(
                records,
                test_size=config.test_size,
                val_size=config.val_size,
                group_by=group,
                seed=config.seed,
            )
        else:
            records = _given_parts(parts)
        _check_images(parts)
        encoder = metadata_encoder
        if encoder is None and config.metadata:
            encoder = _metadata_encoder_class()().fit(parts.train)
        # Build the model before writing anything: a bad model setting leaves no half run.
        model = _new_model(config, data_config, records.num_classes, encoder and encoder.dim)
        facts = {**_data_facts(config, records, parts, data_config), **dict(extra_facts or {})}
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
        # augment_on="model": train the model behind its augmentation (last.keras keeps
        # the wrapper, to resume), deploy the model alone (model.keras).
        from dermnet.transforms.augment_presets import unwrap_augmenting_model

        trained = _training_model(model, train_ds)
        model = unwrap_augmenting_model(trained)
        weights = None
        if config.class_weights != "none":
            weights = imbalance.class_weights(train_records, method=config.class_weights)
        sigmoid = int(model.output_shape[-1]) == 1
        cbs = [
            HistoryPlot(out / "history.png", initial=history),
            *(  # the multi-worker loop has no compiled optimizer for TensorBoard to read
                [keras.callbacks.TensorBoard(log_dir=str(out / "logs"), write_graph=False)]
                if strategy is None
                else []
            ),
            *callbacks,
            EpochSeed(config.seed, epoch),
            RunState(out, monitor, best, keep_best),
        ]
        log(
            f"Training {config.model} on {len(train_records)} images "
            f"(epochs {done + 1}-{config.epochs})"
        )
        fit(
            trained,
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
            **({"strategy": strategy} if strategy is not None else {}),
        )
        if not keep_best:
            _save_atomic(model, out / "model.keras")
        if trains_batchnorm(model):
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
