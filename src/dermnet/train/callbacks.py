"""Keras callbacks used by `dermnet.train.fit`: one-line progress and a history plot.

Defines Keras subclasses, so it imports Keras at module level.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras

__all__ = ["EpochLogger", "HistoryPlot"]


def _format_logs(logs: Mapping[str, Any]) -> str:
    parts = []
    for key, value in logs.items():
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

        figure = plot_history(self.history)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(figure_to_png(figure))
        self._drawn = time.perf_counter()
        self._pending = False
