"""The worker side of `dermnet.transforms.preprocess_folder`: decode, transform, encode.

Items are processed in chunks, in this process (``workers=1``) or in a pool of ``spawn``
processes (`_run`), each with its own copy of the pipeline, rebuilt from its dict.
Worker processes end with the process that started them, however it ends (a kill
included): each watches its parent through `multiprocessing.parent_process` (a pipe on
POSIX, a process handle on Windows) in a daemon thread and exits when it ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError
from dermnet.transforms.base import Transform, transform_from_dict

__all__: list[str] = []

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
    pipeline = _WORKER_PIPELINE
    if pipeline is None:  # an internal order error, not a user's: _run calls _init_worker
        raise RuntimeError("_process runs only after _init_worker has built the pipeline")
    results: list[_Result] = []
    for src, out, reuse in items:
        verdict = "written"
        if reuse:
            if _fully_decodes(Path(out), expected):
                results.append(("skipped", None))
                continue
            verdict = "unreadable"
        try:
            image = pipeline(_read_rgb(Path(src)))
            _write(Path(out), np.asarray(image), image_format)
            results.append((verdict, None))
        except Exception as exc:  # counted and reported by the caller
            Path(out).unlink(missing_ok=True)
            results.append((verdict, f"{type(exc).__name__}: {exc}"))
    return results


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


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


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
