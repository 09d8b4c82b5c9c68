"""`RunFolder`: the one reader of a run folder, and the one way its model scores images.

A run folder (written by ``dermnet train``, ``dermnet demo`` and `train_run`) holds:

- ``config.json``: ``schema_version``, the `RunConfig` (``run``), the
  `dermnet.data.DataConfig` (``data_config``: how raw pixels become model input), class
  names, training class counts, split sizes, the dataset's group and metadata columns,
  versions;
- ``split.csv``: every image with its role (train/val/test), the exact split;
- ``model.keras`` (the kept model: best or last epoch) and ``last.keras`` (the last epoch,
  optimizer included, for resuming); ``state.json`` (epochs done, finished);
- ``metadata_encoder.json`` (image+metadata runs);
- ``history.csv``, ``history.png``, ``logs/`` (TensorBoard);
- for an ensemble (``kind`` ``"dermnet-ensemble"``, `dermnet.train.build_ensemble`):
  ``model.keras`` averages the members' outputs and ``config.json`` lists them under
  ``ensemble``;
- after evaluation: ``metrics.json``, ``metrics.md`` (the full report), ``report.html``,
  ``model_card.md`` and ``confusion_matrix.png``.

Every command that uses a run (evaluate, predict, explain, export, a server) reads it
through `RunFolder`, and scores images with `RunFolder.score`, which applies the run's
test-time augmentation and logit adjustment: the same pixels and the same probabilities
whichever command asks.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet.train.run_config import RunConfig

__all__ = ["SCHEMA_VERSION", "RunFolder"]

#: The run-folder format this version writes and the newest it reads.
SCHEMA_VERSION = 1


def read_json(path: Path, what: str = "file", remedy: str = "") -> Any:
    """Read a JSON file of a run folder, naming the file (and ``remedy``) in every error."""
    hint = f" {remedy}" if remedy else ""
    if not path.is_file():
        raise MissingFileError(f"The run folder lacks {path.name}: {path}.{hint}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"The {what} {path} is not valid JSON ({exc}).{hint}") from None


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomic(tmp: Path, path: Path) -> None:
    """Flush ``tmp`` to disk and rename it to ``path`` (then flush the folder)."""
    _fsync_file(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def temporary_sibling(path: Path) -> Path:
    """A hidden file next to ``path`` with the same suffix, for an atomic write."""
    return path.with_name(f".{path.stem}.partial{path.suffix}")


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file atomically: write a hidden sibling, fsync it, rename it over ``path``.

    A kill at any moment leaves either the old file or the new one, never a part.
    """
    path = Path(path)
    tmp = temporary_sibling(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(tmp, "wb") as handle:
        handle.write(data)
    replace_atomic(tmp, path)


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically: an interrupted run never leaves half a file."""
    write_atomic(path, json.dumps(data, indent=2) + "\n")


def save_model_atomic(model: Any, path: str | os.PathLike[str]) -> None:
    """Save a ``.keras`` (or ``.weights.h5``) file so that a kill mid-save never breaks it."""
    path = Path(path)
    suffix = ".weights.h5" if path.name.endswith(".weights.h5") else path.suffix
    tmp = path.with_name(f".{path.name[: -len(suffix)]}.partial{suffix}")
    if suffix == ".weights.h5":
        model.save_weights(tmp)
    else:
        model.save(tmp)
    replace_atomic(tmp, path)


class RunFolder:
    """A training run's folder, read and checked once.

    Args:
        path: the run folder (or a ``.keras`` file inside one).

    Attributes:
        path: the folder.
        info: the content of ``config.json``.
        config: the run's `RunConfig`.
        classes: the class names, in output order.
        data_config: how raw pixels become model input (`dermnet.data.DataConfig`).

    Raises:
        MissingFileError: the folder or its ``config.json`` does not exist.
        DataError: ``config.json`` is unreadable, or written by a newer dermnet.

    Examples:
        >>> run = RunFolder("runs/demo")  # doctest: +SKIP
        >>> probabilities = run.predict_files(["lesion.jpg"])  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise ParameterError(
                f"A run folder must be given as a path. Got {type(path).__name__} instead."
            )
        root = Path(path).expanduser()
        if root.is_file() and root.suffix == ".keras":
            root = root.parent
        if not root.is_dir():
            raise MissingFileError(f"The run folder does not exist: {root}")
        config_file = root / "config.json"
        if not config_file.is_file():
            raise MissingFileError(
                f"{root} is not a run folder: it has no config.json (dermnet train and "
                "dermnet demo write one)."
            )
        info = read_json(
            config_file,
            "run config",
            "It describes the run (model, data config, classes); without it the folder "
            "cannot be used. Restore it from a copy of the run folder, or retrain.",
        )
        if not isinstance(info, dict) or "run" not in info or "classes" not in info:
            raise DataError(f"{config_file} is not a dermnet run config (no 'run'/'classes').")
        version = info.get("schema_version", 0)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            from dermnet._version import __version__

            raise DataError(
                f"The run folder {root} was written by a newer dermnet (run-folder schema "
                f"{version!r}); dermnet {__version__} reads schema {SCHEMA_VERSION} and "
                "older. Upgrade dermnet to read it."
            )
        self.path = root
        self.info: dict[str, Any] = info
        self.schema_version = version
        try:
            self.config = RunConfig.from_dict(info["run"])
        except (ParameterError, TypeError) as exc:
            raise DataError(f"{config_file}: its 'run' section is not valid: {exc}") from None
        self.classes: list[str] = [str(c) for c in info["classes"]]
        self.data_config = self._data_config()

    # -- facts --------------------------------------------------------------------------
    def _data_config(self) -> Any:
        from dermnet.data import DataConfig

        stored = self.info.get("data_config")
        if stored is not None:
            try:
                return DataConfig.from_dict(stored).validate()
            except (ParameterError, TypeError) as exc:
                raise DataError(
                    f"{self.path / 'config.json'}: its 'data_config' is not valid: {exc}"
                ) from None
        # schema 0 (before data configs were stored): the model's size, stretched.
        from dermnet.models import resolve_data_config

        return resolve_data_config(self.config.model, image_size=self.config.image_size)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r}, model={self.config.model!r})"

    @property
    def is_ensemble(self) -> bool:
        """Whether the folder holds an ensemble (`dermnet.train.build_ensemble`)."""
        return self.info.get("kind") == "dermnet-ensemble"

    @property
    def class_counts(self) -> list[int]:
        """Training images per class (the prior of logit adjustment)."""
        counts = self.info.get("class_counts")
        if counts is None:
            labels = self.records("train").labels
            return np.bincount(labels, minlength=len(self.classes)).tolist()
        return [int(counts[c]) for c in self.classes]

    def state(self) -> dict[str, Any]:
        """``state.json``: epochs done and whether the run finished ({} if absent)."""
        path = self.path / "state.json"
        if not path.is_file():
            return {}
        remedy = (
            "It records how many epochs finished, so --resume cannot continue; "
            "evaluate and predict still work with model.keras. Retrain into a new folder "
            "to continue training."
        )
        state = read_json(path, "run state", remedy)
        done = state.get("epochs_done", 0) if isinstance(state, dict) else None
        if not isinstance(done, int) or isinstance(done, bool) or done < 0:
            raise DataError(
                f"The run state {path} is damaged: it must hold 'epochs_done', a whole "
                f"number >= 0. Got {state!r} instead. {remedy}"
            )
        return state

    def metadata_encoder(self) -> Any:
        """The fitted `dermnet.data.MetadataEncoder` of a metadata run, else ``None``."""
        if not self.config.metadata:
            return None
        from dermnet.data import MetadataEncoder

        path = self.path / "metadata_encoder.json"
        remedy = (
            "It holds how the run encodes age, sex and site, fitted on its training split; "
            "without it the model cannot be used. Retrain the run (dermnet train)."
        )
        if not path.is_file():
            raise MissingFileError(
                f"The run {self.path} uses patient metadata but has no metadata_encoder.json: "
                f"{path}. {remedy}"
            )
        stored = read_json(path, "metadata encoder", remedy)
        try:
            return MetadataEncoder.from_dict(stored)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise DataError(
                f"The metadata encoder {path} is damaged ({type(exc).__name__}: {exc}). {remedy}"
            ) from None

    def records(self, role: str) -> Any:
        """The run's own ``train``, ``val`` or ``test`` images (from ``split.csv``)."""
        import pandas as pd

        from dermnet.data import Records

        path = self.path / "split.csv"
        remedy = (
            "It lists every image of the run with its role (train/val/test); without it the "
            "run's own test images are unknown. Restore it from a copy of the run folder, or "
            "retrain (dermnet train); predict on image files still works."
        )
        if not path.is_file():
            raise MissingFileError(f"The run folder lacks split.csv: {path}. {remedy}")
        try:
            table = pd.read_csv(path, keep_default_na=True)
        except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise DataError(
                f"The split file {path} is not a readable CSV ({exc}). {remedy}"
            ) from None
        missing = [c for c in ("image_path", "label", "role") if c not in table.columns]
        if missing:
            raise DataError(
                f"The split file {path} is damaged: it has no {missing} column(s) "
                f"(columns: {list(table.columns)}). {remedy}"
            )
        part = table[table["role"] == role].drop(columns="role")
        if part.empty:
            raise DataError(f"The run {self.path} has no {role!r} images in split.csv.")
        return Records(
            part,
            self.classes,
            name=self.info.get("dataset_name", "run"),
            group_cols=tuple(self.info.get("group_cols", ())),
            metadata_cols=tuple(self.info.get("metadata_cols", ())),
            role=role,
        )

    def model_path(self, model_file: str = "model.keras") -> Path:
        """The path of a model file in the folder, checked to exist."""
        path = self.path / model_file
        if not path.is_file():
            raise MissingFileError(
                f"The run folder has no {model_file} (nothing trained yet?): {path}"
            )
        return path

    def load_model(self, model_file: str = "model.keras") -> Any:
        """Load ``model.keras`` (or another model file of the run) for inference."""
        return load_model_file(self.model_path(model_file), compile=False)

    def model_card_facts(self, evaluated_on: str = "test") -> dict[str, Any]:
        """The run's facts for a model card: model, data, split, training, seed."""
        c = self.config
        training = [
            f"{c.optimizer} (learning rate {c.learning_rate:g}"
            + (f", weight decay {c.weight_decay:g}" if c.weight_decay is not None else "")
            + f"), {c.lr_schedule} schedule"
            + (f" with {c.warmup_epochs:g} warm-up epochs" if c.warmup_epochs else ""),
            f"loss {c.loss}"
            + (f" with label smoothing {c.label_smoothing:g}" if c.label_smoothing else ""),
            f"class weights {c.class_weights}",
            f"augmentation {c.augment}",
            f"preprocessing {c.preprocessing}",
        ]
        if c.metadata:
            training.append("image + patient metadata fusion")
        if c.tta != "none":
            training.append(f"test-time augmentation {c.tta}")
        if c.logit_adjustment:
            training.append(f"logit adjustment tau={c.logit_adjustment:g}")
        return {
            "model": c.model,
            "weights": c.weights,
            "image_size": list(self.data_config.image_size),
            "dataset": c.dataset or f"{c.sample} (bundled sample)",
            "num_images": int(sum(self.info.get("split", {}).values())),
            "classes": self.classes,
            "split": self.info.get("split", {}),
            "group_by": (self.info.get("group_cols") or [None])[0],
            "seed": c.seed,
            "recipe": c.recipe,
            "epochs": int(self.state().get("epochs_done", c.epochs)),
            "training": "; ".join(training),
            "evaluated_on": evaluated_on,
        }

    # -- scoring ------------------------------------------------------------------------
    def score(
        self,
        model: Any,
        images: np.ndarray,
        metadata: np.ndarray | None = None,
        *,
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Class probabilities for images already read with the run's data config.

        Applies the run's test-time augmentation (``tta``) and logit adjustment, and
        turns a one-unit sigmoid output into two columns. Every command that scores
        images for a run goes through here.

        Args:
            model: the run's model (`load_model`).
            images: float32 ``(n, h, w, 3)`` from `dermnet.data.load_images` (or
                `dermnet.data.make_dataset`) with `data_config`.
            metadata: ``(n, d)`` encoded metadata for a metadata run.
            batch_size: images per forward pass.
            progress: called with ``(done, total)`` after each batch.

        Returns:
            float32 ``(n, num_classes)`` probabilities.
        """
        from dermnet.imbalance import logit_adjust
        from dermnet.train.tta import predict_tta

        images = np.asarray(images, dtype=np.float32)
        if self.config.metadata and metadata is None:
            raise ParameterError(
                f"The run {self.path} fuses patient metadata; give the encoded metadata too."
            )
        n = len(images)
        chunks = []
        step = max(1, int(batch_size))
        for start in range(0, n, step):
            x = images[start : start + step]
            inputs: Any = x
            if self.config.metadata:
                inputs = {"image": x, "metadata": np.asarray(metadata)[start : start + step]}
            out = predict_tta(model, inputs, transforms=self.config.tta, batch_size=step)
            chunks.append(np.asarray(out, dtype=np.float64))
            if progress is not None:
                progress(min(start + step, n), n)
        scores = np.concatenate(chunks) if chunks else np.zeros((0, len(self.classes)))
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = np.concatenate([1.0 - scores, scores], axis=1)
        if self.config.logit_adjustment:
            scores = logit_adjust(scores, self.class_counts, tau=self.config.logit_adjustment)
        return np.asarray(scores, dtype=np.float32)

    def read_records(self, records: Any, *, batch_size: int = 64) -> tuple[np.ndarray, Any]:
        """Pixels (and encoded metadata) of ``records``, read with the run's data config."""
        from dermnet.data import make_dataset

        dataset = make_dataset(records, self.data_config, batch_size, label_mode=None)
        images = np.concatenate([np.asarray(b) for b in dataset.as_numpy_iterator()])
        encoder = self.metadata_encoder()
        metadata = encoder.transform(records) if encoder is not None else None
        return images, metadata

    def read_files(
        self,
        paths: list[str],
        *,
        metadata: Mapping[str, Mapping[str, Any]] | None = None,
        batch_size: int = 64,
    ) -> tuple[np.ndarray, Any]:
        """Pixels of image files read with the run's data config, and their metadata.

        For a metadata run, ``metadata`` maps a file's name (or path) to its metadata
        values, e.g. ``{"ISIC_0024306.jpg": {"age": 45, "sex": "male", ...}}``; files
        without an entry are encoded as "missing" (what the encoder does with unknown
        values), never dropped.
        """
        from dermnet.data import load_images

        images = load_images(paths, self.data_config, batch_size=batch_size)
        encoder = self.metadata_encoder()
        if encoder is None:
            return images, None
        import pandas as pd

        from dermnet.data import Records

        columns = list(self.info.get("metadata_cols", ()))
        rows = []
        for p in paths:
            given = (metadata or {}).get(p) or (metadata or {}).get(Path(p).name) or {}
            rows.append({"image_path": p, "label": self.classes[0], **dict(given)})
        frame = pd.DataFrame(rows)
        for col in columns:
            if col not in frame.columns:
                frame[col] = np.nan
        records = Records(frame, self.classes, metadata_cols=tuple(columns))
        return images, encoder.transform(records)

    def predict_files(
        self,
        paths: list[str],
        *,
        model: Any = None,
        metadata: Mapping[str, Mapping[str, Any]] | None = None,
        batch_size: int = 64,
        progress: Callable[[int, int], None] | None = None,
    ) -> np.ndarray:
        """Class probabilities of image files: `read_files`, then `score`."""
        model = self.load_model() if model is None else model
        images, encoded = self.read_files(paths, metadata=metadata, batch_size=batch_size)
        return self.score(model, images, encoded, batch_size=batch_size, progress=progress)


def load_model_file(path: Path, *, compile: bool = True) -> Any:
    """Load a model file of a run folder; a damaged file is named with what to do."""
    from dermnet._core.errors import DermnetError, ModelFileError
    from dermnet.models import load_model
    from dermnet.train import ensemble_layer  # noqa: F401  (registers EnsembleMean)

    try:
        return load_model(path, compile=compile)
    except DermnetError as exc:
        if isinstance(exc, MissingFileError) and not path.is_file():
            raise
        problem = str(exc)
    except Exception as exc:  # Keras raises ValueError, OSError, zipfile.BadZipFile, ...
        problem = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    if path.name == "last.keras":
        remedy = (
            "It is the checkpoint that --resume continues from; evaluate and predict still "
            "work with model.keras. To train on, retrain into a new folder."
        )
    else:
        remedy = (
            "Use the other model file of the run (model_file='last.keras' or "
            "'model.keras', the CLI's --model-file) if it is intact, or retrain."
        )
    raise ModelFileError(
        f"The model file {path} is damaged and cannot be read ({problem}). {remedy}"
    ) from None
