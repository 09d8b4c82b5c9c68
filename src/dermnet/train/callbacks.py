"""Keras callbacks used by `dermnet.train.fit` and `train_run`: progress lines and bars, a
history plot, the per-epoch seeds and the per-epoch files of a run folder.

Defines Keras subclasses, so it imports Keras at module level.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import keras
import numpy as np

from dermnet._core.progress import Progress

__all__ = ["CSVHistory", "EpochLogger", "EpochSeed", "HistoryPlot", "ProgressBar", "RunState"]


def _log_order(key: str) -> tuple[bool, bool, bool]:
    """Training before validation, the loss first, the learning rate last."""
    name = key.removeprefix("val_")
    return (key == "learning_rate", key.startswith("val_"), name != "loss")


def _format_logs(logs: Mapping[str, Any]) -> str:
    parts = []
    for key in sorted(logs, key=_log_order):  # stable: Keras' order within each rank
        value = logs[key]
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        parts.append(f"{key} {number:.3g}" if key == "learning_rate" else f"{key} {number:.4f}")
    return "  ".join(parts)


class EpochLogger(keras.callbacks.Callback):
    """Print one line per epoch: epoch, losses, metrics, learning rate and time.

    Args:
        log: receives each line (default ``print``).
        total_epochs: shown as ``epoch 3/10``; by default Keras' ``epochs``.

    Example line::

        epoch 3/10  loss 0.6120  accuracy 0.7710  val_loss 0.7002  val_accuracy 0.7301  12.4s
    """

    def __init__(self, log: Callable[[str], None] = print, total_epochs: int | None = None) -> None:
        super().__init__()
        self.log = log
        self.total_epochs = total_epochs
        self._started = 0.0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        total = self.total_epochs or self.params.get("epochs")
        text = _format_logs(logs or {})
        self.log(f"epoch {epoch + 1}/{total}  {text}  {time.perf_counter() - self._started:.1f}s")


class ProgressBar(keras.callbacks.Callback):
    """A progress bar within each epoch (per batch) and one summary line per epoch.

    Uses `dermnet._core.progress.Progress`: on a terminal the bar is redrawn in place and
    replaced by the epoch's summary line; in a log file a bar line is written at most every
    ``interval`` seconds. ``model.predict(..., callbacks=[ProgressBar()])`` shows a bar
    for prediction too.

    Args:
        stream: where to write (default ``sys.stderr``).
        batch_size: images per batch; when given the rate reads ``img/s``, otherwise
            ``batch/s``.
        interval: least seconds between two bar lines (see `Progress`).
        total_epochs: shown as ``epoch 3/10``; by default Keras' ``epochs``.
        summary: write the epoch's summary line. ``False`` when another callback
            (`EpochLogger`, the ``log`` of `dermnet.train.fit`) writes it: the bar is
            then erased at the end of each epoch; write those lines with
            `dermnet._core.progress.write_line` so that they do not mangle the bar.

    Example lines (a log file)::

        epoch 1/2  [##########----------] 100/200  loss 0.734  410.2 img/s  ETA 0:08
        epoch 1/2  loss 0.6120  accuracy 0.7710  val_loss 0.7002  val_accuracy 0.7301  16.1s
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        batch_size: int | None = None,
        interval: float | None = None,
        total_epochs: int | None = None,
        summary: bool = True,
    ) -> None:
        super().__init__()
        self.stream = stream
        self.summary = summary
        self.batch_size = batch_size
        self.interval = interval
        self.total_epochs = total_epochs
        self._bar: Progress | None = None
        self._steps_seen: int | None = None

    def _new_bar(self, label: str, fallback_steps: int | None = None) -> Progress:
        steps = self.params.get("steps") if self.params else None
        return Progress(
            steps if steps is not None else fallback_steps,
            label=label,
            unit="img" if self.batch_size else "batch",
            items_per_step=self.batch_size or 1,
            stream=self.stream,
            interval=self.interval,
        )

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        total = self.total_epochs or self.params.get("epochs")
        # An unknown step count (a tf.data pipeline of unknown length) is learnt in epoch 1.
        self._bar = self._new_bar(f"epoch {epoch + 1}/{total}", self._steps_seen)

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._bar is not None:
            loss = (logs or {}).get("loss")
            self._bar.update(1, **({} if loss is None else {"loss": loss}))

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        if self._bar is None:
            return
        self._steps_seen = self._bar.done
        if not self.summary:
            self._bar.close(clear=True)
            self._bar = None
            return
        total = self.total_epochs or self.params.get("epochs")
        text = _format_logs(logs or {})
        self._bar.close(f"epoch {epoch + 1}/{total}  {text}  {self._bar.elapsed:.1f}s")
        self._bar = None

    def on_predict_begin(self, logs: Any = None) -> None:
        self._bar = self._new_bar("predict")

    def on_predict_batch_end(self, batch: int, logs: Any = None) -> None:
        if self._bar is not None:
            self._bar.update(1)

    def on_predict_end(self, logs: Any = None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class HistoryPlot(keras.callbacks.Callback):
    """Redraw the training curves to a PNG during training (so a long run can be watched).

    Drawing takes about a second, so the figure is redrawn after an epoch only when
    ``min_interval`` seconds have passed since the last drawing, and always at the end of
    training: with short epochs the cost stays bounded.

    Args:
        path: the PNG file to (over)write.
        initial: history of earlier epochs (a resumed run), ``{metric: [values]}``.
        min_interval: least seconds between two drawings during training.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        initial: Mapping[str, Sequence[float]] | None = None,
        min_interval: float = 30.0,
    ) -> None:
        super().__init__()
        self.path = Path(path)
        self.history: dict[str, list[float]] = {k: list(v) for k, v in (initial or {}).items()}
        self.min_interval = float(min_interval)
        self._drawn = -float("inf")
        self._pending = False

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        for key, value in (logs or {}).items():
            try:
                self.history.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                continue
        self._pending = True
        if time.perf_counter() - self._drawn >= self.min_interval:
            self._draw()

    def on_train_end(self, logs: Any = None) -> None:
        if self._pending:
            self._draw()

    def _draw(self) -> None:
        from dermnet.metrics import figure_to_png, plot_history
        from dermnet.train.run_folder import write_atomic

        figure = plot_history(self.history)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, figure_to_png(figure))
        self._drawn = time.perf_counter()
        self._pending = False


class CSVHistory(keras.callbacks.Callback):
    """Write one CSV row per epoch, rewriting the whole file atomically each time.

    The file reads as Keras' ``CSVLogger`` writes it (``epoch``, then the metrics in
    sorted order), but it is never appended in place: a kill during a write leaves the
    previous complete file, so a resumed run can always read it.

    Args:
        path: the CSV file.
        append: keep the rows already in the file (a resumed run); ``False`` starts anew.
    """

    def __init__(self, path: str | os.PathLike[str], append: bool = False) -> None:
        super().__init__()
        self.path = Path(path)
        self.append = append
        self._rows: list[dict[str, Any]] = []

    def on_train_begin(self, logs: Any = None) -> None:
        self._rows = []
        if self.append and self.path.is_file():
            import pandas as pd

            try:
                table = pd.read_csv(self.path)
            except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError):
                table = None
            if table is not None:
                self._rows = table.to_dict("records")

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        import pandas as pd

        from dermnet.train.run_folder import write_atomic

        row: dict[str, Any] = {"epoch": epoch}
        for key in sorted(logs or {}):
            value = (logs or {})[key]
            try:
                row[key] = float(value)
            except (TypeError, ValueError):
                row[key] = value
        self._rows = [r for r in self._rows if int(r.get("epoch", -1)) < epoch] + [row]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, pd.DataFrame(self._rows).to_csv(index=False))


class EpochSeed(keras.callbacks.Callback):
    """At the start of epoch ``e``: every random state a function of ``(seed, e)`` alone.

    Sets the data pipeline's ``epoch`` variable (shuffle order and augmentation of the
    epoch, see `dermnet.data.make_dataset`), the global seeds, and the state of every
    ``SeedGenerator`` of the model (dropout and other random layers). A run resumed at
    epoch ``e`` therefore draws exactly what an uninterrupted run draws in epoch ``e``.

    Args:
        seed: the run's seed.
        epoch: the ``tf.Variable`` the data pipeline reads its epoch from.
    """

    def __init__(self, seed: int, epoch: Any) -> None:
        super().__init__()
        self.seed = seed
        self.epoch = epoch

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        seed = self.seed
        self.epoch.assign(epoch)
        keras.utils.set_random_seed((seed + 1_000_003 * (epoch + 1)) % 2**32)
        generators: list[Any] = []
        for layer in self.model._flatten_layers():
            for generator in getattr(layer, "_seed_generators", ()):
                if all(generator is not g for g in generators):
                    generators.append(generator)
        for i, generator in enumerate(generators):
            state = np.array([(seed + 7919 * (i + 1)) % 2**31, 104_729 * epoch], dtype=np.int64)
            generator.state.assign(state.astype(generator.state.dtype))


class RunState(keras.callbacks.Callback):
    """After every epoch of a run: the best model (if kept), ``last.keras``, ``state.json``.

    ``last.keras`` holds the model trained (with its optimizer, to resume), which for
    ``augment_on = "model"`` is the `augmenting_model` wrapper; ``model.keras`` holds the
    model inside it.

    Each file is replaced atomically (`dermnet.train.run_folder.save_model_atomic`), so a
    kill at any moment leaves a run that resumes.

    Args:
        run: the run folder.
        monitor: the quantity whose lowest value marks the best epoch.
        best: the best value of the epochs before (resuming), or ``None``.
        keep_best: save the best epoch's model as ``model.keras``.
    """

    def __init__(self, run: Path, monitor: str, best: float | None, keep_best: bool) -> None:
        super().__init__()
        self.run = Path(run)
        self.monitor = monitor
        self.best = best
        self.keep_best = keep_best

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        from dermnet.train import run_folder  # looked up at call time: tests replace it
        from dermnet.transforms.augment_presets import unwrap_augmenting_model

        value = (logs or {}).get(self.monitor)
        if self.keep_best and value is not None and (self.best is None or value < self.best):
            self.best = float(value)
            # the deployed model leaves out an augmentation run inside the model
            deployed = unwrap_augmenting_model(self.model)
            run_folder.save_model_atomic(deployed, self.run / "model.keras")
        run_folder.save_model_atomic(self.model, self.run / "last.keras")
        run_folder.write_json(
            self.run / "state.json", {"epochs_done": epoch + 1, "finished": False}
        )
