"""Run folders: what ``dermnet train`` writes and ``dermnet evaluate``/``predict`` read.

A run folder holds everything needed to inspect, resume, evaluate and use a training run:

- ``config.json``: the `RunConfig`, classes, split sizes, versions;
- ``split.csv``: every image with its role (train/val/test), the exact split;
- ``model.keras``: the best model so far (lowest validation loss), its BatchNorm
  statistics re-estimated after training;
- ``last.keras``: the model after the last finished epoch, optimizer included;
- ``state.json``: epochs finished, and whether the run is complete;
- ``history.csv`` and ``history.png``: one row per epoch, and the curves;
- ``metrics.json`` and ``confusion_matrix.png``: test-set metrics of ``model.keras``;
- ``metadata_encoder.json``: the fitted metadata encoding (image+metadata runs only).

An interrupted run resumes from ``last.keras`` at the next epoch
(``train_run(..., resume=True)``, ``dermnet train --resume``), with the same split, the
optimizer's state and the best-model threshold restored.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import (
    check_bool,
    check_float,
    check_int,
    check_option,
    check_path,
    check_seed,
    fail,
)

__all__ = ["RunConfig", "evaluate_run", "predict_run", "train_run"]

_CLASS_WEIGHTS = ("balanced", "none")
_SCHEDULES = ("constant", "cosine", "plateau")


@dataclasses.dataclass(frozen=True)
class RunConfig(ConfigMixin):
    """Everything a training run needs, saved as ``config.json`` in the run folder.

    Give the data as a registered ``dataset`` name with its ``root`` folder (see
    `dermnet.data.list_datasets`), or as a bundled ``sample`` name.

    Attributes:
        model: a registered model name.
        dataset: a registered dataset name, e.g. ``"ham10000"``.
        root: the dataset's folder.
        sample: a bundled sample instead (``"ham10000"``, ``"malaria"``).
        weights: ``None``, ``"imagenet"`` or a weights file (see
            `dermnet.models.create_model`).
        image_size: square input size; ``None`` uses the model's default.
        batch_size: images per batch.
        epochs: epochs in all.
        learning_rate: the (peak) learning rate.
        lr_schedule: ``"constant"``, ``"cosine"`` or ``"plateau"``.
        warmup_epochs: epochs of linear warm-up.
        early_stopping: patience in epochs, or ``None``.
        dropout: dropout before the classifier.
        class_weights: ``"balanced"`` (inverse class frequency) or ``"none"``.
        test_size: share of images for the test set (grouped by lesion/patient).
        val_size: share of images for validation.
        seed: seeds the split, the initial weights and the shuffling.
        metadata: use patient metadata too (an image+metadata model, with
            ``dermnet.data.MetadataEncoder``).
        binary_output: ``"softmax"`` or ``"sigmoid"`` for two-class data.
        mixed_precision: train in mixed precision.
        cache: keep decoded images in memory after the first epoch.
    """

    model: str = "simple_cnn"
    dataset: str | None = None
    root: str | None = None
    sample: str | None = None
    weights: str | None = None
    image_size: int | None = None
    batch_size: int = 32
    epochs: int = 10
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    early_stopping: int | None = None
    dropout: float = 0.2
    class_weights: str = "balanced"
    test_size: float = 0.2
    val_size: float = 0.15
    seed: int = 0
    metadata: bool = False
    binary_output: str = "softmax"
    mixed_precision: bool = False
    cache: bool = False

    def validate(self) -> RunConfig:
        """Check every field; return ``self``.

        Raises:
            ParameterError: a field has a bad value (the message names it).
        """
        from dermnet.models import get_model_spec

        where = "RunConfig"
        get_model_spec(self.model)
        if (self.sample is None) == (self.dataset is None):
            raise ParameterError(
                "RunConfig needs either 'dataset' (with 'root') or 'sample'. Got "
                f"dataset={self.dataset!r}, sample={self.sample!r}."
            )
        if self.dataset is not None and self.root is None:
            raise ParameterError(f"RunConfig needs the 'root' folder of dataset {self.dataset!r}.")
        check_int(self.image_size, "image_size", where, low=8, allow_none=True)
        check_int(self.batch_size, "batch_size", where, low=1)
        check_int(self.epochs, "epochs", where, low=1)
        check_float(self.learning_rate, "learning_rate", where, low=0.0, low_open=True)
        check_option(self.lr_schedule, _SCHEDULES, "lr_schedule", where)
        check_float(self.warmup_epochs, "warmup_epochs", where, low=0.0)
        check_int(self.early_stopping, "early_stopping", where, low=1, allow_none=True)
        check_float(self.dropout, "dropout", where, low=0.0, high=1.0, high_open=True)
        check_option(self.class_weights, _CLASS_WEIGHTS, "class_weights", where)
        check_float(self.test_size, "test_size", where, low=0.0, high=1.0, low_open=True)
        check_float(self.val_size, "val_size", where, low=0.0, high=1.0, high_open=True)
        check_seed(self.seed, "seed", where)
        check_bool(self.metadata, "metadata", where)
        check_bool(self.mixed_precision, "mixed_precision", where)
        check_bool(self.cache, "cache", where)
        return self


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


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)  # atomic: an interrupted run never leaves half a file


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise MissingFileError(f"The run folder lacks {path.name}: {path}")
    return json.loads(path.read_text())


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


def _input_size(config: RunConfig) -> int:
    from dermnet.models import get_model_spec

    if config.image_size is not None:
        return int(config.image_size)
    return int(get_model_spec(config.model).input_size[0])


def _split_frame(parts: Any) -> Any:
    import pandas as pd

    frames = [part.frame.assign(role=part.role) for part in parts if part is not None]
    return pd.concat(frames, ignore_index=True)


def _records_from_split(run: Path, role: str) -> Any:
    import pandas as pd

    from dermnet.data import Records

    config = _read_json(run / "config.json")
    table = pd.read_csv(run / "split.csv", keep_default_na=True)
    part = table[table["role"] == role].drop(columns="role")
    if part.empty:
        raise DataError(f"The run {run} has no {role!r} images in split.csv.")
    return Records(
        part,
        config["classes"],
        name=config.get("dataset_name", "run"),
        group_cols=tuple(config.get("group_cols", ())),
        metadata_cols=tuple(config.get("metadata_cols", ())),
        role=role,
    )


def _dataset(records: Any, config: RunConfig, run: Path, *, training: bool) -> Any:
    from dermnet.data import make_dataset

    size = _input_size(config)
    options: dict[str, Any] = {"cache": config.cache}
    if training:
        options.update(shuffle=True, seed=config.seed)
    if config.metadata:
        encoder = _metadata_encoder_class().from_dict(_read_json(run / "metadata_encoder.json"))
        options.update(with_metadata=True, metadata_encoder=encoder)
    return make_dataset(records, size, config.batch_size, **options)


def _history_rows(path: Path, keep: int) -> dict[str, list[float]]:
    """The first ``keep`` rows of a CSV history (rewritten to exactly those rows)."""
    import pandas as pd

    if not path.is_file() or keep == 0:
        if path.is_file():
            path.unlink()
        return {}
    table = pd.read_csv(path).iloc[:keep]
    table.to_csv(path, index=False)
    return {c: table[c].astype(float).tolist() for c in table.columns if c != "epoch"}


def _make_state_callback(run: Path) -> Any:
    import keras

    class RunState(keras.callbacks.Callback):
        """Save ``last.keras`` and ``state.json`` after every epoch (last callback)."""

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.model.save(run / "last.keras")
            _write_json(run / "state.json", {"epochs_done": epoch + 1, "finished": False})

    return RunState()


def _new_model(config: RunConfig, num_classes: int, metadata_dim: int | None) -> Any:
    from dermnet.models import create_model

    size = _input_size(config)
    return create_model(
        config.model,
        num_classes,
        input_shape=(size, size, 3),
        weights=config.weights,
        dropout=config.dropout,
        metadata_dim=metadata_dim,
        binary_output=config.binary_output,
    )


def train_run(
    config: RunConfig | None,
    output_dir: str | os.PathLike[str],
    *,
    resume: bool = False,
    epochs: int | None = None,
    log: Callable[[str], None] = print,
    verbose: int | str = 0,
) -> dict[str, Any]:
    """Train a model as ``config`` says and write a run folder; or resume one.

    Steps: load the data, split it (grouped by lesion/patient, stratified, seeded;
    written to ``split.csv``), build the model, train with `dermnet.train.fit`
    (balanced class weights by default, best-model checkpoint, CSV history, curves),
    then evaluate the best model on the test split (``metrics.json``).

    Args:
        config: the run's configuration; ``None`` when resuming (it is read from
            ``config.json``).
        output_dir: the run folder. A new run refuses a folder that holds a run already.
        resume: continue the run in ``output_dir`` from its last finished epoch.
        epochs: with ``resume``, a new total number of epochs (to train longer).
        log: receives progress lines.
        verbose: Keras' own progress output (0: only ``log`` lines).

    Returns:
        A summary: the run folder, epochs done, best validation loss and test metrics.

    Raises:
        ParameterError: bad configuration, or a folder that already holds a run.
        MissingFileError: resuming a folder that has no run.
    """
    import keras

    from dermnet import imbalance, models
    from dermnet._core.seeding import seed_everything
    from dermnet.data import split
    from dermnet.train.callbacks import HistoryPlot
    from dermnet.train.trainer import _trains_batchnorm, fit, recalibrate_after_training

    run = Path(output_dir)
    started = time.perf_counter()
    if resume:
        info = _read_json(run / "config.json")
        config = RunConfig.from_dict(info["run"])
        if epochs is not None:
            epochs = check_int(epochs, "epochs", "train_run", low=1)
            config = dataclasses.replace(config, epochs=epochs)
            info["run"] = config.to_dict()
            _write_json(run / "config.json", info)
        state = _read_json(run / "state.json") if (run / "state.json").is_file() else {}
        done = int(state.get("epochs_done", 0))
        log(f"Resuming {run} after epoch {done} of {config.epochs}")
    else:
        if not isinstance(config, RunConfig):
            raise fail("config", "train_run", "a RunConfig", type(config).__name__)
        config.validate()
        if (run / "config.json").exists():
            raise ParameterError(
                f"The folder {run} already holds a training run. Resume it with "
                "resume=True (dermnet train --resume), or choose another output folder."
            )
        done = 0
    run.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)

    model = None
    if not resume:
        records = _load_records(config)
        log(f"Loaded {len(records)} images, {records.num_classes} classes ({records.name})")
        parts = split(
            records, test_size=config.test_size, val_size=config.val_size, seed=config.seed
        )
        encoder = _metadata_encoder_class()().fit(parts.train) if config.metadata else None
        # Build the model before writing anything: a bad model setting leaves no half run.
        model = _new_model(config, records.num_classes, encoder.dim if encoder else None)
        _split_frame(parts).to_csv(run / "split.csv", index=False)
        if encoder is not None:
            _write_json(run / "metadata_encoder.json", encoder.to_dict())
        _write_json(
            run / "config.json",
            {
                "run": config.to_dict(),
                "classes": list(records.classes),
                "dataset_name": records.name,
                "group_cols": list(records.group_cols),
                "metadata_cols": list(records.metadata_cols),
                "split": {
                    p.role: len(p) for p in (parts.train, parts.val, parts.test) if p is not None
                },
                "versions": _versions(),
            },
        )
    info = _read_json(run / "config.json")
    classes = info["classes"]
    train_records = _records_from_split(run, "train")
    has_val = config.val_size > 0
    val_records = _records_from_split(run, "val") if has_val else None
    train_ds = _dataset(train_records, config, run, training=True)
    val_ds = _dataset(val_records, config, run, training=False) if has_val else None
    monitor = "val_loss" if has_val else "loss"
    history = _history_rows(run / "history.csv", done)
    best = min(history[monitor]) if history.get(monitor) else None

    if done >= config.epochs:
        log(f"The run already has {done} of {config.epochs} epochs; evaluating only.")
    else:
        compile_model = True
        if model is None and (run / "last.keras").is_file():  # resuming
            model = models.load_model(run / "last.keras")
            compile_model = False
        elif model is None:  # resuming a run that never finished an epoch
            metadata_dim = None
            if config.metadata:
                encoding = _read_json(run / "metadata_encoder.json")
                metadata_dim = int(_metadata_encoder_class().from_dict(encoding).dim)
            model = _new_model(config, len(classes), metadata_dim)
            done = 0
        weights = (
            imbalance.class_weights(train_records) if config.class_weights == "balanced" else None
        )
        callbacks = [
            keras.callbacks.ModelCheckpoint(
                str(run / "model.keras"),
                monitor=monitor,
                save_best_only=True,
                initial_value_threshold=best,
            ),
            HistoryPlot(run / "history.png", initial=history),
            _make_state_callback(run),
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
            lr_schedule=(
                config.lr_schedule
                if compile_model or config.lr_schedule != "cosine"
                else None  # a resumed optimizer keeps its cosine schedule and step
            ),
            warmup_epochs=config.warmup_epochs if compile_model else 0,
            early_stopping=config.early_stopping,
            monitor=monitor,
            class_weight=weights,
            csv_log=run / "history.csv",
            callbacks=callbacks,
            compile=compile_model,
            mixed_precision=config.mixed_precision,
            log=log,
            verbose=verbose,
            recalibrate_bn=False,  # done below, on the best model too
        )
        if _trains_batchnorm(model):
            used = recalibrate_after_training(model, train_ds, checkpoint=run / "model.keras")
            log(f"Re-estimated BatchNorm statistics of model.keras from {used} batches")
    state = _read_json(run / "state.json") if (run / "state.json").is_file() else {}
    state["finished"] = True
    _write_json(run / "state.json", state)
    report = evaluate_run(run, "test")
    history = _history_rows(run / "history.csv", 10**9)
    head = report.headline()
    summary = {
        "run": str(run),
        "epochs_done": int(state.get("epochs_done", 0)),
        "best_" + monitor: min(history[monitor]) if history.get(monitor) else None,
        "test": head,
        "wall_time_s": round(time.perf_counter() - started, 1),
    }
    log(
        f"Test: balanced accuracy {head['balanced_accuracy']:.3f}, "
        f"macro AUC {_fmt(head.get('macro_auc'))}. Run folder: {run}"
    )
    return summary


def _fmt(value: Any) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def _scores(model: Any, dataset: Any) -> np.ndarray:
    scores = np.asarray(model.predict(dataset, verbose=0))
    if scores.ndim == 2 and scores.shape[1] == 1:  # one sigmoid unit: P(class 1)
        scores = np.concatenate([1.0 - scores, scores], axis=1)
    return scores


def evaluate_run(
    run_dir: str | os.PathLike[str],
    split: str = "test",
    *,
    model_file: str = "model.keras",
    write: bool = True,
) -> Any:
    """Evaluate a run's model on its own test (or validation) split.

    Args:
        run_dir: a run folder written by `train_run`.
        split: ``"test"`` or ``"val"``.
        model_file: the model in the folder (``"model.keras"``, the best; or
            ``"last.keras"``).
        write: write ``metrics.json`` (``metrics_val.json`` for ``split="val"``) and the
            confusion matrix PNG.

    Returns:
        A `dermnet.metrics.EvaluationReport`.
    """
    from dermnet.metrics import evaluate, figure_to_png, plot_confusion_matrix
    from dermnet.models import load_model

    run = check_path(run_dir, "run_dir", "evaluate_run", kind="dir", what="run folder")
    split = check_option(split, ("test", "val"), "split", "evaluate_run")
    info = _read_json(run / "config.json")
    config = RunConfig.from_dict(info["run"])
    path = run / model_file
    if not path.is_file():
        raise MissingFileError(f"The run folder has no {model_file} (nothing trained yet?): {path}")
    records = _records_from_split(run, split)
    model = load_model(path, compile=False)
    scores = _scores(model, _dataset(records, config, run, training=False))
    report = evaluate(records.labels, scores, info["classes"])
    if write:
        suffix = "" if split == "test" else f"_{split}"
        result = {
            "split": split,
            "model_file": model_file,
            "images": len(records),
            **report.to_dict(),
        }
        _write_json(run / f"metrics{suffix}.json", result)
        figure = plot_confusion_matrix(report.confusion_matrix, info["classes"])
        (run / f"confusion_matrix{suffix}.png").write_bytes(figure_to_png(figure))
    return report


def _image_paths(inputs: Sequence[str | os.PathLike[str]]) -> list[str]:
    from dermnet.data.loaders import IMAGE_EXTENSIONS

    paths: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
            if not found:
                raise DataError(f"No images ({', '.join(IMAGE_EXTENSIONS)}) in folder {path}.")
            paths += found
        elif path.is_file():
            paths.append(str(path.resolve()))
        else:
            raise MissingFileError(f"The image or folder to predict does not exist: {path}")
    return paths


def predict_run(
    run_dir: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]],
    *,
    model_file: str = "model.keras",
    batch_size: int = 32,
) -> Any:
    """Predict images (files or folders) with a run's model, preprocessed as in training.

    Args:
        run_dir: a run folder written by `train_run`.
        inputs: image files and/or folders (searched recursively).
        model_file: the model in the folder.
        batch_size: images per batch.

    Returns:
        A ``pandas.DataFrame``: ``image_path``, ``prediction`` (class name),
        ``confidence``, and one ``p_<class>`` probability column per class.
    """
    import pandas as pd

    from dermnet.data import Records, make_dataset
    from dermnet.models import load_model

    run = check_path(run_dir, "run_dir", "predict_run", kind="dir", what="run folder")
    batch_size = check_int(batch_size, "batch_size", "predict_run", low=1)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    info = _read_json(run / "config.json")
    config = RunConfig.from_dict(info["run"])
    if config.metadata:
        raise ParameterError(
            f"The run {run} uses patient metadata; predict its images with the Python API "
            "(load_model + make_dataset(..., with_metadata=True))."
        )
    classes = info["classes"]
    paths = _image_paths(inputs)
    frame = pd.DataFrame({"image_path": paths, "label": classes[0]})  # label unused
    dataset = make_dataset(Records(frame, classes), _input_size(config), batch_size)
    model_path = run / model_file
    if not model_path.is_file():
        raise MissingFileError(f"The run folder has no {model_file}: {model_path}")
    scores = _scores(load_model(model_path, compile=False), dataset)
    out = pd.DataFrame({"image_path": paths})
    out["prediction"] = [classes[i] for i in scores.argmax(axis=1)]
    out["confidence"] = scores.max(axis=1)
    for i, name in enumerate(classes):
        out[f"p_{name}"] = scores[:, i]
    return out
