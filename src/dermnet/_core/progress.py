"""A small progress bar on standard error, one style for every long loop in dermnet.

On a terminal the bar is one line redrawn in place::

    epoch 3/10  [########------------] 120/300  loss 0.512  12.3 img/s  ETA 0:07

When the stream is not a terminal (a log file, a CI job) a line is written at most once
every ``interval`` seconds (10 by default) plus the final line, so logs stay short.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO


def write_line(text: str, stream: TextIO | None = None) -> None:
    """Print a line (to ``sys.stdout`` by default) without mangling a progress bar.

    A bar being redrawn on a terminal is erased first; it is drawn again on its next
    update. Use it for log lines written while a bar runs.
    """
    if _active is not None:
        _active.clear()
    out = stream if stream is not None else sys.stdout
    out.write(text + "\n")
    out.flush()


__all__ = ["Progress", "format_duration", "write_line"]

#: The bar drawn last on a terminal and not yet ended (`write_line` clears it first).
_active: Progress | None = None


def format_duration(seconds: float) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration in seconds; ``?:??`` when unknown."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?:??"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _is_tty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Progress:
    """Count the steps of a loop and show a progress line on ``stream``.

    Args:
        total: the number of steps, or ``None`` when unknown (no bar and no ETA).
        label: text before the bar, e.g. ``"epoch 3/10"`` or ``"predict"``.
        unit: the unit of the rate, e.g. ``"img"`` or ``"batch"``.
        items_per_step: items per step for the rate (a batch size, so that a bar
            counting batches shows images per second).
        stream: where to write; by default ``sys.stderr`` at creation time.
        interval: least seconds between two lines; by default 0.1 on a terminal and 10
            elsewhere.
        width: characters of the bar.
        enabled: ``False`` writes nothing (for ``--quiet``).
        clock: the time source (tests pass a fake one).

    Examples:
        >>> import io
        >>> stream = io.StringIO()
        >>> with Progress(3, label="predict", unit="img", stream=stream) as bar:
        ...     for _ in range(3):
        ...         bar.update(1)
        >>> stream.getvalue().splitlines()[-1].startswith("predict  [")
        True
    """

    def __init__(
        self,
        total: int | None,
        *,
        label: str = "",
        unit: str = "it",
        items_per_step: float = 1.0,
        stream: TextIO | None = None,
        interval: float | None = None,
        width: int = 20,
        enabled: bool = True,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.total = None if total is None else max(int(total), 0)
        self.label = label
        self.unit = unit
        self.items_per_step = float(items_per_step)
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self.tty = _is_tty(self.stream)
        self.interval = float(interval) if interval is not None else (0.1 if self.tty else 10.0)
        self.width = int(width)
        self.enabled = bool(enabled)
        self.clock = clock
        self.done = 0
        self.values: dict[str, float] = {}
        self.lines_written = 0
        self.closed = False
        self._started = clock()
        self._drawn_at = self._started
        self._drawn_length = 0

    # -- counting ---------------------------------------------------------------------------
    def update(self, steps: int = 1, **values: Any) -> None:
        """Advance by ``steps`` and set the numbers shown after the count (``loss=0.5``)."""
        self.done += int(steps)
        for key, value in values.items():
            try:
                self.values[key] = float(value)
            except (TypeError, ValueError):
                continue
        now = self.clock()
        if now - self._drawn_at >= self.interval:
            self._draw(self.line(now), final=False)
            self._drawn_at = now

    def close(self, message: str | None = None, *, clear: bool = False) -> None:
        """End the bar: write the final line (``message``, or the bar in its last state),
        or with ``clear`` erase the bar from the terminal and write nothing."""
        global _active
        if self.closed:
            return
        self.closed = True
        if _active is self:
            _active = None
        if clear:
            self.clear()
        else:
            self._draw(message if message is not None else self.line(self.clock()), final=True)

    def clear(self) -> None:
        """Erase the bar's line on a terminal (elsewhere a no-op)."""
        if self.enabled and self.tty and self._drawn_length:
            self.stream.write("\r" + " " * self._drawn_length + "\r")
            self.stream.flush()
            self._drawn_length = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- drawing ----------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the bar was created."""
        return self.clock() - self._started

    def line(self, now: float | None = None) -> str:
        """The progress line as it would be drawn now."""
        elapsed = (self.clock() if now is None else now) - self._started
        parts = [self.label] if self.label else []
        if self.total:
            filled = min(self.width, int(self.width * self.done / self.total))
            parts.append(f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total}")
        else:
            parts.append(str(self.done))
        parts += [f"{key} {value:.3f}" for key, value in self.values.items()]
        if elapsed > 0 and self.done:
            rate = self.done * self.items_per_step / elapsed
            parts.append(f"{rate:.1f} {self.unit}/s")
            if self.total and self.done < self.total:
                remaining = (self.total - self.done) * elapsed / self.done
                parts.append(f"ETA {format_duration(remaining)}")
            elif self.total:
                parts.append(format_duration(elapsed))
        return "  ".join(parts)

    def _draw(self, text: str, *, final: bool) -> None:
        global _active
        if not self.enabled:
            return
        if self.tty:
            _active = None if final else self
            padding = " " * max(self._drawn_length - len(text), 0)
            self.stream.write(f"\r{text}{padding}" + ("\n" if final else ""))
            self._drawn_length = 0 if final else len(text)
        else:
            self.stream.write(text + "\n")
        self.lines_written += 1
        self.stream.flush()
