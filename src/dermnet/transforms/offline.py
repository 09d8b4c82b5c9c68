"""Offline preprocessing of an image folder into a cache (``dermnet preprocess``).

OpenCV work inside ``tf.data`` runs once per image per epoch and holds the GIL; writing
the preprocessed images once, in parallel processes, and training from the cache is the
fast path. The cache mirrors the source tree (class sub-folders stay, so
`dermnet.data.load_image_folder` reads it) and holds a manifest,
``dermnet_preprocess.json``, recording the pipeline dict, the dermnet version, the counts,
the errors and, per output, the fingerprint of its source.

A resumed run reuses an output only when its source is unchanged (same size and
modification time in nanoseconds as recorded, and the same pipeline and format) and the
output decodes in full at the pipeline's size; every other output is rebuilt and counted
(stale or unreadable). Sources are known by ``stat``, not by a hash of their bytes: it
costs nothing on a resume of 10,000 images (a hash would read every source again, gigabytes
for HAM10000), and an exact-match test (not "newer than") also sees a source replaced by an
older file. Only an edit that keeps both the size and the nanosecond mtime is missed.

Worker processes end with the process that started them, however it ends (a kill
included): each watches its parent through `multiprocessing.parent_process` (a pipe on
POSIX, a process handle on Windows) in a daemon thread and exits when it ends.
"""

from __future__ import annotations

import dataclasses
import hashlib
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
# Appended as chunks finish (output -> source key), folded into the manifest at the end.
_JOURNAL_NAME = ".dermnet_preprocess.journal"
_SOURCES_FORMAT = "output path -> 'source size in bytes, source mtime in ns, config digest'"


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


# -- worker side -----------------------------------------------------------------------------
_WORKER_PIPELINE: Transform | None = None


def _init_worker(pipeline: dict[str, Any]) -> None:
    global _WORKER_PIPELINE
    import cv2

    cv2.setNumThreads(1)  # one process per core already
    _WORKER_PIPELINE = transform_from_dict(pipeline)


def _exit_with_parent() -> None:
    """End this worker process as soon as its parent ends, however the parent ends.

    ``multiprocessing.parent_process().join()`` waits on a pipe whose other end only the
    parent holds (POSIX; a process handle on Windows), so it returns when the parent dies,
    even by SIGKILL, which no handler in the parent can catch. A daemon thread waits on it
    and exits the process at once (a worker holds nothing worth cleaning up: outputs are
    written under a temporary name and renamed).
    """
    import multiprocessing
    import threading

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="dermnet-exit-with-parent", daemon=True).start()


def _init_pool_worker(pipeline: dict[str, Any]) -> None:
    _exit_with_parent()
    _init_worker(pipeline)


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


_Item = tuple[str, str, bool]  # (source, output, whether an existing output may be reused)
_Result = tuple[str, str | None]  # (verdict, error message or None)


def _process(
    items: Sequence[_Item], image_format: str, expected: tuple[int | None, int | None]
) -> list[_Result]:
    """Process items in a worker; a verdict and an error message (or None) each.

    An item whose output may be reused is first decoded in full: ``"skipped"`` when it
    decodes at the expected size, else it is rebuilt (``"unreadable"``). Other items are
    written (``"written"``). When processing fails, an existing output is deleted, so the
    cache never keeps an output that does not match its source.
    """
    assert _WORKER_PIPELINE is not None
    results: list[_Result] = []
    for src, out, reuse in items:
        verdict = "written"
        if reuse:
            if _fully_decodes(Path(out), expected):
                results.append(("skipped", None))
                continue
            verdict = "unreadable"
        try:
            image = _WORKER_PIPELINE(_read_rgb(Path(src)))
            _write(Path(out), np.asarray(image), image_format)
            results.append((verdict, None))
        except Exception as exc:  # counted and reported by the caller
            Path(out).unlink(missing_ok=True)
            results.append((verdict, f"{type(exc).__name__}: {exc}"))
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


def _fully_decodes(path: Path, expected: tuple[int | None, int | None]) -> bool:
    """The output decodes in full (every byte, not only the header), at the pipeline's
    size when the pipeline fixes it."""
    from PIL import Image, ImageFile

    lenient = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail here
    try:
        with Image.open(path) as img:
            img.load()
            width, height = img.size
    except Exception:  # PIL raises OSError, SyntaxError, ValueError, zlib errors, ...
        return False
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = lenient
    return all(e is None or e == got for e, got in zip(expected, (height, width), strict=True))


def _source_key(path: Path, config: str) -> str | None:
    """What an output records of its source: size, mtime in ns and the config digest."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{stat.st_size} {stat.st_mtime_ns} {config}"


def _config_digest(pipeline: dict[str, Any], image_format: str) -> str:
    """A short digest of what makes an output from a source: the pipeline and the format."""
    text = json.dumps([_strip_version(pipeline), image_format], sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name and rename: a kill never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _strip_version(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip_version(v) for k, v in d.items() if k != "dermnet_version"}
    if isinstance(d, list):
        return [_strip_version(v) for v in d]
    return d


def _same_pipeline(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(_strip_version(a) == _strip_version(b))


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
    - **Resumable**: an existing output is reused only when its source's size and
      modification time (in ns) and the pipeline and format are those recorded when it
      was written, and it decodes in full at the pipeline's size; other outputs are
      rebuilt and counted (``stale``, ``unreadable``). Outputs are written under a
      temporary name and renamed, and what each finished chunk wrote is journalled, so
      an interrupted run leaves no half-written file and its work is kept. Re-run the
      same command to finish. Worker processes end with their parent, even when it is
      killed.
    - **Recorded**: ``dermnet_preprocess.json`` in ``destination`` holds the pipeline dict,
      the dermnet version, the counts, the first errors and each output's source
      fingerprint; a cache written by a different pipeline is refused unless
      ``overwrite``.
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
    journal_path = dst_root / _JOURNAL_NAME
    _check_existing_cache(manifest_path, dst_root, pipeline, overwrite)
    dst_root.mkdir(parents=True, exist_ok=True)
    config = _config_digest(pipeline, image_format)
    recorded = {} if overwrite else _recorded_sources(manifest_path, journal_path)
    if overwrite:
        journal_path.unlink(missing_ok=True)
    manifest: dict[str, Any] = {
        "dermnet_version": pipeline["dermnet_version"],
        "pipeline": pipeline,
        "source": str(src_root),
        "image_format": image_format,
        "status": "incomplete",
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "sources_format": _SOURCES_FORMAT,
        "sources": recorded,
    }
    _write_json(manifest_path, manifest)

    todo: list[_Item] = []
    keys: dict[str, str | None] = {}
    stale = 0
    for src, out in zip(sources, outputs, strict=True):
        rel = out.relative_to(dst_root).as_posix()
        keys[rel] = key = _source_key(src, config)
        if not overwrite and out.is_file():
            reuse = key is not None and recorded.get(rel) == key
            stale += not reuse
            todo.append((str(src), str(out), reuse))
        else:
            todo.append((str(src), str(out), False))

    total = len(sources)
    report_progress: Callable[[int, int], None] | None
    if callable(progress):
        report_progress = progress
    elif progress:
        report_progress = _terminal_progress(started)
    else:
        report_progress = None

    errors: list[tuple[str, str]] = []
    failed = skipped = written = unreadable = 0
    done = 0
    if report_progress:
        report_progress(done, total)
    with open(journal_path, "a", encoding="utf-8") as journal:
        for items, results in _run(todo, pipeline, image_format, workers, expected):
            lines = []
            for (src, out, _), (verdict, message) in zip(items, results, strict=True):
                rel = Path(out).relative_to(dst_root).as_posix()
                unreadable += verdict == "unreadable"
                if message is not None:
                    failed += 1
                    if len(errors) < _SHOWN_ERRORS:
                        errors.append((src, message))
                    recorded.pop(rel, None)
                    lines.append(json.dumps({"output": rel, "source": None}))
                elif verdict == "skipped":
                    skipped += 1
                else:
                    written += 1
                    recorded[rel] = keys[rel]
                    lines.append(json.dumps({"output": rel, "source": keys[rel]}))
            if lines:  # written as each chunk ends: a killed run keeps what it finished
                journal.write("\n".join(lines) + "\n")
                journal.flush()
            done += len(items)
            if report_progress:
                report_progress(done, total)

    seconds = time.perf_counter() - started
    report = PreprocessReport(
        source=str(src_root),
        destination=str(dst_root),
        total=total,
        written=written,
        skipped=skipped,
        failed=failed,
        errors=tuple(errors),
        seconds=round(seconds, 3),
        manifest=str(manifest_path),
        stale=stale,
        unreadable=unreadable,
    )
    manifest.update(
        {
            "status": "complete" if failed == 0 else "complete_with_errors",
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "counts": {
                "total": total,
                "written": written,
                "skipped": skipped,
                "failed": failed,
                "stale": stale,
                "unreadable": unreadable,
            },
            "errors": [{"path": p, "message": m} for p, m in errors],
            "sources": {rel: recorded[rel] for rel in sorted(recorded)},
        }
    )
    _write_json(manifest_path, manifest)
    journal_path.unlink(missing_ok=True)  # folded into the manifest
    return report


def _recorded_sources(manifest_path: Path, journal_path: Path) -> dict[str, str]:
    """Output -> recorded source key, from the manifest and an interrupted run's journal."""
    recorded: dict[str, str] = {}
    try:
        previous = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        previous = None
    if isinstance(previous, dict) and isinstance(previous.get("sources"), dict):
        recorded.update((k, v) for k, v in previous["sources"].items() if isinstance(v, str))
    try:
        lines = journal_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # the last line of a killed run may be cut short
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("output"), str):
            continue
        if isinstance(entry.get("source"), str):
            recorded[entry["output"]] = entry["source"]
        else:
            recorded.pop(entry["output"], None)
    return recorded


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
    todo: list[_Item],
    pipeline: dict[str, Any],
    image_format: str,
    workers: int,
    expected: tuple[int | None, int | None],
) -> Iterator[tuple[Sequence[_Item], list[_Result]]]:
    """Yield (items, results) per chunk as chunks finish."""
    if not todo:
        return
    chunk = max(1, min(32, len(todo) // (workers * 4) or 1))
    if workers == 1:
        _init_worker(pipeline)
        for items in _chunks(todo, chunk):
            yield items, _process(items, image_format, expected)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # safe next to TensorFlow and OpenCV
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_pool_worker,
        initargs=(pipeline,),
    ) as pool:
        pending: dict[Future[list[_Result]], Sequence[_Item]] = {}
        chunks = _chunks(todo, chunk)
        try:
            for items in chunks:  # keep at most 2 chunks per worker in flight
                pending[pool.submit(_process, items, image_format, expected)] = items
                if len(pending) >= 2 * workers:
                    break
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    items = pending.pop(future)
                    yield items, future.result()
                    following = next(chunks, None)
                    if following is not None:
                        future = pool.submit(_process, following, image_format, expected)
                        pending[future] = following
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
