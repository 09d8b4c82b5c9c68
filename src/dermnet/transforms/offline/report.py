"""`PreprocessReport`: what `dermnet.transforms.preprocess_folder` did."""

from __future__ import annotations

import dataclasses

from dermnet._core.config import ConfigMixin

__all__ = ["PreprocessReport"]


@dataclasses.dataclass(frozen=True)
class PreprocessReport(ConfigMixin):
    """What `preprocess_folder` did.

    Attributes:
        source: the source folder.
        destination: the cache folder.
        total: images found in the source.
        written: images processed and written in this run.
        skipped: images whose valid output already existed (a resumed run).
        failed: images that could not be read, processed or written.
        errors: ``(source path, message)`` of the first failures (up to 20).
        seconds: wall time of the run.
        manifest: path of the manifest file.
        stale: existing outputs rebuilt because their source (size or modification time),
            the pipeline or the format differ from what was recorded when they were
            written, or nothing was recorded.
        unreadable: existing outputs rebuilt because they do not decode in full (e.g. a
            truncated file) or do not have the pipeline's size.
    """

    source: str
    destination: str
    total: int
    written: int
    skipped: int
    failed: int
    errors: tuple[tuple[str, str], ...]
    seconds: float
    manifest: str
    stale: int = 0
    unreadable: int = 0

    @property
    def ok(self) -> bool:
        """True when no image failed."""
        return self.failed == 0

    @property
    def rebuilt(self) -> int:
        """Existing outputs that were not reused: ``stale + unreadable``."""
        return self.stale + self.unreadable

    def summary(self) -> str:
        """A few lines for a terminal: counts, rate, and the first failures."""
        rate = self.written / self.seconds if self.seconds > 0 else 0.0
        rebuilt = (
            f" (rebuilt: {self.rebuilt} (stale {self.stale}, unreadable {self.unreadable}))"
            if self.rebuilt
            else ""
        )
        lines = [
            f"{self.total} images in {self.source}: {self.written} written{rebuilt}, "
            f"{self.skipped} already in the cache (skipped), {self.failed} failed; "
            f"{self.seconds:.1f} s ({rate:.1f} images/s). Cache: {self.destination}"
        ]
        if self.failed:
            lines.append(f"First {len(self.errors)} of {self.failed} failures:")
            lines += [f"  {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)
