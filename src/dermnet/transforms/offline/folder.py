"""`preprocess_folder`: apply a pipeline to every image of a folder, into a cache."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_int, check_option, check_path, fail
from dermnet.transforms.base import Transform, transform_from_dict
from dermnet.transforms.offline.cache import (
    _JOURNAL_NAME,
    _SOURCES_FORMAT,
    MANIFEST_NAME,
    _check_collisions,
    _check_existing_cache,
    _config_digest,
    _recorded_sources,
    _source_key,
    _write_json,
)
from dermnet.transforms.offline.report import PreprocessReport
from dermnet.transforms.offline.workers import _Item, _run

__all__ = ["preprocess_folder"]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
_FORMATS = ("png", "jpg")
_SHOWN_ERRORS = 20  # errors kept in the report and the manifest (the count is complete)


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
