"""Offline preprocessing of an image folder into a cache (``dermnet preprocess``).

OpenCV work inside ``tf.data`` runs once per image per epoch and holds the GIL; writing
the preprocessed images once, in parallel processes, and training from the cache is the
fast path. The cache mirrors the source tree (class sub-folders stay, so
`dermnet.data.load_image_folder` reads it) and holds a manifest,
``dermnet_preprocess.json``, recording the pipeline dict, the dermnet version, the counts
and the errors.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_bool, check_int, check_option, check_path, fail
from dermnet.transforms.base import Transform, transform_from_dict

__all__ = ["MANIFEST_NAME", "PreprocessReport", "preprocess_folder"]

#: The manifest file written at the root of a cache.
MANIFEST_NAME = "dermnet_preprocess.json"
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_FORMATS = ("png", "jpg")
_SHOWN_ERRORS = 20  # errors kept in the report and the manifest (the count is complete)


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

    @property
    def ok(self) -> bool:
        """True when no image failed."""
        return self.failed == 0

    def summary(self) -> str:
        """A few lines for a terminal: counts, rate, and the first failures."""
        rate = self.written / self.seconds if self.seconds > 0 else 0.0
        lines = [
            f"{self.total} images in {self.source}: {self.written} written, "
            f"{self.skipped} already in the cache (skipped), {self.failed} failed; "
            f"{self.seconds:.1f} s ({rate:.1f} images/s). Cache: {self.destination}"
        ]
        if self.failed:
            lines.append(f"First {len(self.errors)} of {self.failed} failures:")
            lines += [f"  {path}: {message}" for path, message in self.errors]
        return "\n".join(lines)


# -- worker side -----------------------------------------------------------------------------
_WORKER_PIPELINE: Transform | None = None


def _init_worker(pipeline: dict[str, Any]) -> None:
    global _WORKER_PIPELINE
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    _WORKER_PIPELINE = transform_from_dict(pipeline)


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise DataError("not a readable image (OpenCV could not decode it)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _write(path: Path, image: np.ndarray, image_format: str) -> None:
    import cv2

    if image.dtype != np.uint8:
        raise DataError(f"the pipeline returned dtype {image.dtype}; the cache stores uint8")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    if image_format == "png":
        ok, data = cv2.imencode(".png", image, [cv2.IMWRITE_PNG_COMPRESSION, 3])
    else:
        if image.ndim == 3 and image.shape[2] == 4:
            raise DataError("a 4-channel image cannot be written as JPEG; use PNG")
        ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    if not ok:
        raise DataError(f"OpenCV could not encode the result as {image_format}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(data.tobytes())
    os.replace(tmp, path)  # atomic: a file under its final name is always complete


def _process(pairs: Sequence[tuple[str, str]], image_format: str) -> list[str | None]:
    """Process (source, output) pairs in a worker; one error message (or None) each."""
    assert _WORKER_PIPELINE is not None
    results: list[str | None] = []
    for src, out in pairs:
        try:
            image = _WORKER_PIPELINE(_read_rgb(Path(src)))
            _write(Path(out), np.asarray(image), image_format)
            results.append(None)
        except Exception as exc:  # counted and reported by the caller
            results.append(f"{type(exc).__name__}: {exc}")
    return results


# -- driver ----------------------------------------------------------------------------------
def _find_images(root: Path) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [
            Path(dirpath) / f
            for f in sorted(filenames)
            if not f.startswith(".") and f.lower().endswith(_IMAGE_SUFFIXES)
        ]
    return found


def _valid_output(path: Path, source: Path, expected: tuple[int | None, int | None]) -> bool:
    """The output exists, is newer than its source, its header reads, and its size is the
    pipeline's (when the pipeline fixes it)."""
    if not path.is_file():
        return False
    stat = path.stat()
    if stat.st_size == 0 or stat.st_mtime < source.stat().st_mtime:
        return False
    try:
        from PIL import Image

        with Image.open(path) as img:
            width, height = img.size
    except Exception:
        return False
    return all(e is None or e == got for e, got in zip(expected, (height, width), strict=True))


def _same_pipeline(a: dict[str, Any], b: dict[str, Any]) -> bool:
    def strip(d: Any) -> Any:
        if isinstance(d, dict):
            return {k: strip(v) for k, v in d.items() if k != "dermnet_version"}
        if isinstance(d, list):
            return [strip(v) for v in d]
        return d

    return bool(strip(a) == strip(b))


def _terminal_progress(started: float) -> Callable[[int, int], None]:
    """Progress on stderr: one updating line on a terminal, a line per 10% in a log."""
    interactive = sys.stderr.isatty()
    last = [-1]

    def report(done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if not interactive and tenth == last[0] and done != total:
            return
        last[0] = tenth
        elapsed = time.perf_counter() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
        line = (
            f"  {done}/{total} images ({100.0 * done / max(total, 1):.0f}%), "
            f"{rate:.1f} images/s, ETA {eta}"
        )
        if interactive:
            print(f"\r{line}   ", end="\n" if done == total else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    return report


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def preprocess_folder(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    transform: Transform | dict[str, Any],
    *,
    workers: int | None = None,
    image_format: str = "png",
    overwrite: bool = False,
    progress: bool | Callable[[int, int], None] = True,
) -> PreprocessReport:
    """Apply a pipeline to every image under ``source`` and write the results to a cache.

    - **Parallel**: ``workers`` processes (default: the CPU count), each with OpenCV
      limited to one thread. They are started with ``spawn`` (safe beside TensorFlow),
      so a script that calls this with ``workers > 1`` must do so under
      ``if __name__ == "__main__":``.
    - **Resumable**: an output that already exists and is a readable image of the
      pipeline's size is skipped; outputs are written under a temporary name and renamed,
      so an interrupted run leaves no half-written file. Re-run the same command to
      finish.
    - **Recorded**: ``dermnet_preprocess.json`` in ``destination`` holds the pipeline dict,
      the dermnet version, the counts and the first errors; a cache written by a
      different pipeline is refused unless ``overwrite``.
    - **Nothing dropped silently**: images that fail are counted, and the report and the
      manifest list the first 20 with their messages.

    The output tree mirrors the source (class sub-folders are kept); each file keeps its
    name with the format's suffix. Sources are read as RGB (palette, gray and RGBA images
    are converted).

    Args:
        source: the folder of images (searched recursively for JPEG, PNG, BMP and TIFF).
        destination: the cache folder (created if needed).
        transform: a `Transform` (e.g. ``preset("dermoscopy")``)
            or its dict. It must return uint8 images for uint8 input, as every dermnet
            transform does.
        workers: processes to use, >= 1 (1 runs in this process).
        image_format: ``"png"`` (lossless, default) or ``"jpg"`` (quality 95).
        overwrite: rewrite every output, and accept a cache made by another pipeline.
        progress: print progress to stderr (True), stay quiet (False), or a callable
            receiving ``(done, total)``.

    Returns:
        A `PreprocessReport`.

    Raises:
        MissingFileError: ``source`` does not exist.
        ParameterError: a bad argument, no image in ``source``, two sources mapping to one
            output, or a cache written by another pipeline.
    """
    where = "preprocess_folder"
    started = time.perf_counter()
    src_root = check_path(source, "source", where, kind="dir", what="source folder").resolve()
    if not isinstance(destination, (str, os.PathLike)):
        raise fail("destination", where, "a path (str or os.PathLike)", destination)
    dst_root = Path(destination).expanduser().resolve()
    if dst_root == src_root or src_root in dst_root.parents:
        raise fail("destination", where, "a folder outside the source folder", str(dst_root))
    if isinstance(transform, dict):
        transform = transform_from_dict(transform)
    if not isinstance(transform, Transform):
        raise fail("transform", where, "a dermnet Transform or its dict", transform)
    workers = check_int(workers, "workers", where, low=1, allow_none=True)
    workers = workers or os.cpu_count() or 1
    image_format = check_option(image_format, _FORMATS, "image_format", where)
    overwrite = check_bool(overwrite, "overwrite", where)
    if not callable(progress):
        progress = check_bool(progress, "progress", where)

    pipeline = transform.to_dict()
    expected = transform.output_shape((None, None, 3))[:2]
    sources = _find_images(src_root)
    if not sources:
        raise ParameterError(
            f"The source folder {src_root} given to {where} holds no image "
            f"({', '.join(_IMAGE_SUFFIXES)})."
        )
    suffix = f".{image_format}"
    outputs = [dst_root / p.relative_to(src_root).with_suffix(suffix) for p in sources]
    _check_collisions(sources, outputs, src_root)

    manifest_path = dst_root / MANIFEST_NAME
    _check_existing_cache(manifest_path, dst_root, pipeline, overwrite)
    dst_root.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "dermnet_version": pipeline["dermnet_version"],
        "pipeline": pipeline,
        "source": str(src_root),
        "image_format": image_format,
        "status": "incomplete",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    todo: list[tuple[str, str]] = []
    skipped = 0
    for src, out in zip(sources, outputs, strict=True):
        if not overwrite and _valid_output(out, src, expected):
            skipped += 1
        else:
            todo.append((str(src), str(out)))

    total = len(sources)
    report_progress: Callable[[int, int], None] | None
    if callable(progress):
        report_progress = progress
    elif progress:
        report_progress = _terminal_progress(started)
    else:
        report_progress = None

    errors: list[tuple[str, str]] = []
    failed = 0
    done = skipped
    if report_progress:
        report_progress(done, total)
    for pairs, results in _run(todo, pipeline, image_format, workers):
        for (src, _), message in zip(pairs, results, strict=True):
            if message is not None:
                failed += 1
                if len(errors) < _SHOWN_ERRORS:
                    errors.append((src, message))
        done += len(pairs)
        if report_progress:
            report_progress(done, total)

    seconds = time.perf_counter() - started
    report = PreprocessReport(
        source=str(src_root),
        destination=str(dst_root),
        total=total,
        written=len(todo) - failed,
        skipped=skipped,
        failed=failed,
        errors=tuple(errors),
        seconds=round(seconds, 3),
        manifest=str(manifest_path),
    )
    manifest.update(
        {
            "status": "complete" if failed == 0 else "complete_with_errors",
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": {
                "total": total,
                "written": report.written,
                "skipped": skipped,
                "failed": failed,
            },
            "errors": [{"path": p, "message": m} for p, m in errors],
        }
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return report


def _check_collisions(sources: list[Path], outputs: list[Path], root: Path) -> None:
    seen: dict[Path, Path] = {}
    clashes: list[str] = []
    for src, out in zip(sources, outputs, strict=True):
        if out in seen:
            clashes.append(f"{seen[out].relative_to(root)} and {src.relative_to(root)}")
        seen[out] = src
    if clashes:
        raise ParameterError(
            f"{len(clashes)} pair(s) of source images would be written to the same cache "
            f"file (same name, different suffix), e.g. {'; '.join(clashes[:3])}. Rename them."
        )


def _check_existing_cache(
    manifest_path: Path, dst_root: Path, pipeline: dict[str, Any], overwrite: bool
) -> None:
    if manifest_path.is_file():
        try:
            previous = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            previous = None
        if (
            not overwrite
            and isinstance(previous, dict)
            and not _same_pipeline(previous.get("pipeline", {}), pipeline)
        ):
            raise ParameterError(
                f"The cache {dst_root} was written by another pipeline "
                f"({json.dumps(previous.get('pipeline'))[:300]}). Use another destination, "
                "or pass overwrite=True (--overwrite) to rewrite it."
            )
    elif dst_root.is_dir() and any(dst_root.iterdir()) and not overwrite:
        raise ParameterError(
            f"The destination {dst_root} is a folder that is not empty and is not a dermnet "
            f"cache (no {MANIFEST_NAME}). Use an empty or new folder, or pass overwrite=True "
            "(--overwrite)."
        )


def _run(
    todo: list[tuple[str, str]], pipeline: dict[str, Any], image_format: str, workers: int
) -> Iterator[tuple[Sequence[tuple[str, str]], list[str | None]]]:
    """Yield (pairs, error messages) per chunk as chunks finish."""
    if not todo:
        return
    chunk = max(1, min(32, len(todo) // (workers * 4) or 1))
    if workers == 1:
        _init_worker(pipeline)
        for pairs in _chunks(todo, chunk):
            yield pairs, _process(pairs, image_format)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # safe next to TensorFlow and OpenCV
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(pipeline,)
    ) as pool:
        pending: dict[Future[list[str | None]], Sequence[tuple[str, str]]] = {}
        chunks = _chunks(todo, chunk)
        try:
            for pairs in chunks:  # keep at most 2 chunks per worker in flight
                pending[pool.submit(_process, pairs, image_format)] = pairs
                if len(pending) >= 2 * workers:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    pairs = pending.pop(future)
                    yield pairs, future.result()
                    following = next(chunks, None)
                    if following is not None:
                        pending[pool.submit(_process, following, image_format)] = following
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
