"""Prediction with a trained run: `predict_run` (a table in memory) and `predict_to_csv`
(streaming: any number of images, constant memory, resumable).

Both read images with the run's data config and score them with `RunFolder.score` (the
run's test-time augmentation and logit adjustment), so they give the probabilities of
``dermnet evaluate`` and ``dermnet explain``.

`predict_to_csv` reads the images batch by batch (the next batch is decoded while the
current one is scored), appends each batch's rows to the CSV and flushes it, so at most
two batches of pixels are in memory whatever the number of images. Run again after a
kill, it skips the images already in the CSV (a line cut short by the kill is removed
first): no row is written twice and none is lost. An image that cannot be read is
written with its path and the reason to ``<output stem>.errors.csv``, never dropped.

The module is a little over dermnet's usual ~500 lines: the streaming loop, its resume
logic and its CSV writer belong together (their invariant is "every image exactly once").
"""

from __future__ import annotations

import concurrent.futures
import csv
import dataclasses
import io
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import numpy as np

from dermnet._core.errors import DataError, DermnetError
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet._core.validation import check_bool, check_float, check_int, fail
from dermnet.train.prediction_inputs import image_inputs, image_paths
from dermnet.train.run_folder import RunFolder, read_json

__all__ = ["PredictionSummary", "errors_path", "predict_run", "predict_to_csv"]

#: The file in a run folder that holds the abstention rule chosen by ``dermnet evaluate``.
ABSTENTION_FILE = "abstention.json"
#: Columns of the errors file: the image and why it could not be scored.
ERROR_COLUMNS = ("image", "reason")


@dataclasses.dataclass(frozen=True)
class PredictionSummary:
    """What `predict_to_csv` did.

    Attributes:
        output: the predictions CSV.
        errors: the errors CSV (``image``, ``reason``), written only when an image failed.
        total: images given.
        written: rows written by this call.
        skipped: images already in the CSV or the errors file (a resumed run).
        failed: images this call could not score (in ``errors``).
        low_confidence: rows written whose top probability is below ``threshold``.
        abstained: rows written with ``abstain`` true (0 without ``abstention.json``).
    """

    output: Path
    errors: Path
    total: int
    written: int
    skipped: int
    failed: int
    low_confidence: int
    abstained: int


def errors_path(output: str | os.PathLike[str]) -> Path:
    """The companion errors file of a predictions CSV: ``preds.csv`` -> ``preds.errors.csv``."""
    path = Path(output)
    return path.with_name(f"{path.stem}.errors.csv")


# -- reading and scoring ------------------------------------------------------------------
def _reason(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _read_paths(
    folder: RunFolder, paths: list[str], metadata: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]:
    """Pixels of the readable ``paths``; ``(path, reason)`` for the others."""
    from dermnet.data import check_image_files

    bad = list(check_image_files(paths).bad)
    known_bad = {p for p, _ in bad}
    good = [p for p in paths if p not in known_bad]
    if not good:
        return [], np.zeros((0, 1, 1, 3), np.float32), None, bad
    try:
        images, encoded = folder.read_files(good, metadata=metadata, batch_size=len(good))
        return good, images, encoded, bad
    except (DermnetError, OSError, ValueError):
        pass
    kept, arrays, codes = [], [], []
    for p in good:  # one at a time, to name the files that fail
        try:
            image, code = folder.read_files([p], metadata=metadata, batch_size=1)
        except (DermnetError, OSError, ValueError) as exc:
            bad.append((p, _reason(exc)))
            continue
        kept.append(p)
        arrays.append(image)
        codes.append(code)
    if not kept:
        return [], np.zeros((0, 1, 1, 3), np.float32), None, bad
    encoded = np.concatenate(codes) if codes[0] is not None else None
    return kept, np.concatenate(arrays), encoded, bad


def _encode_metadata(
    folder: RunFolder, paths: list[str], metadata: Mapping[str, Mapping[str, Any]]
) -> Any:
    """A metadata run's encoded metadata of ``paths`` (as `RunFolder.read_files` does)."""
    encoder = folder.metadata_encoder()
    if encoder is None or not paths:
        return None
    import pandas as pd

    from dermnet.data import Records

    columns = list(folder.info.get("metadata_cols", ()))
    rows = []
    for p in paths:
        given = metadata.get(p) or metadata.get(Path(p).name) or {}
        rows.append({"image_path": p, "label": folder.classes[0], **dict(given)})
    frame = pd.DataFrame(rows)
    for col in columns:
        if col not in frame.columns:
            frame[col] = np.nan
    return encoder.transform(Records(frame, folder.classes, metadata_cols=tuple(columns)))


def _batch_reader(folder: RunFolder) -> Callable[..., Any]:
    """How a batch of files is read: `dermnet.data.image_batches.ImageBatchReader` (its
    graph traced once; bad files named with the reason) when available, else
    `_read_paths` (`RunFolder.read_files` per batch)."""
    try:
        from dermnet.data.image_batches import ImageBatchReader
    except ImportError:
        return _read_paths
    reader = ImageBatchReader(folder.data_config)

    def read(
        folder: RunFolder, paths: list[str], metadata: Mapping[str, Mapping[str, Any]]
    ) -> tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]:
        batch = reader.read(paths)
        good = [paths[i] for i in batch.ok]
        bad = [(name, reason) for _, name, reason in batch.bad]
        return good, batch.images, _encode_metadata(folder, good, metadata), bad

    return read


def _path_batches(
    folder: RunFolder,
    paths: list[str],
    metadata: Mapping[str, Mapping[str, Any]],
    batch_size: int,
) -> Iterator[tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]]:
    """Read batches of files in a thread: the next batch is read while one is scored.

    The thread starts at once (making the reader and reading the first batch while the
    caller loads the model), not when the batches are first asked for.
    """
    chunks = [paths[start : start + batch_size] for start in range(0, len(paths), batch_size)]
    if not chunks:
        return iter(())
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    reader = pool.submit(_batch_reader, folder)

    def first() -> tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]:
        return reader.result()(folder, chunks[0], metadata)  # the one worker made it first

    pending = pool.submit(first)

    def batches() -> Iterator[tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]]:
        nonlocal pending
        try:
            for chunk in chunks[1:]:
                future = pool.submit(reader.result(), folder, chunk, metadata)
                yield pending.result()
                pending = future
            yield pending.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return batches()


def _warm_up(folder: RunFolder, model: Any) -> None:
    """Trace the run's compiled forward pass on an empty batch (while the first batch is
    read), so the first scored batch waits for no tracing. Metadata runs trace on their
    first batch, whose metadata width is known only then."""
    if folder.config.metadata:
        return
    from dermnet.train.tta import predict_tta

    height, width = folder.data_config.image_size
    empty = np.zeros((0, height, width, 3), np.float32)
    try:
        predict_tta(model, empty, transforms=folder.config.tta)
    except DermnetError:  # e.g. dihedral on non-square images: `score` reports it
        return


def _shard_batches(
    folder: RunFolder, root: str, done: set[str], batch_size: int
) -> tuple[int, int, Iterator[tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]]]:
    """``(total, skipped, batches)`` of a shard folder, read by `dermnet.data.make_dataset`.

    The shards are read in order, so a resumed run skips its leading finished batches
    without decoding them.
    """
    from dermnet.data import make_dataset
    from dermnet.data.shards import example_rows, shard_records

    records = shard_records(root)
    paths = [str(p) for p in np.asarray(records.paths)[example_rows(root)]]
    lead = 0
    while lead < len(paths) and paths[lead] in done:
        lead += 1
    skip_batches = lead // batch_size
    encoder = folder.metadata_encoder()
    options: dict[str, Any] = {"label_mode": None}
    if encoder is not None:
        options.update(with_metadata=True, metadata_encoder=encoder)
    dataset = make_dataset(root, folder.data_config, batch_size, **options).skip(skip_batches)

    def batches() -> Iterator[tuple[list[str], np.ndarray, Any, list[tuple[str, str]]]]:
        start = skip_batches * batch_size
        for element in dataset.as_numpy_iterator():
            chunk = paths[start : start + len(_images_of(element))]
            images, meta = _images_of(element), _metadata_of(element)
            keep = np.array([p not in done for p in chunk], dtype=bool)
            start += len(chunk)
            if keep.any():
                yield (
                    [p for p, k in zip(chunk, keep, strict=True) if k],
                    images[keep],
                    None if meta is None else meta[keep],
                    [],
                )

    return len(paths), sum(p in done for p in paths), batches()


def _images_of(element: Any) -> np.ndarray:
    return element[IMAGE_INPUT] if isinstance(element, dict) else element


def _metadata_of(element: Any) -> Any:
    return element.get(METADATA_INPUT) if isinstance(element, dict) else None


def _abstention(folder: RunFolder) -> tuple[str, Any] | None:
    """``(score name, AbstentionThreshold)`` from the run's ``abstention.json``, if any."""
    path = folder.path / ABSTENTION_FILE
    if not path.is_file():
        return None
    from dermnet.metrics.uncertainty import AbstentionThreshold

    stored = read_json(path, "abstention rule", "Run dermnet evaluate again to rewrite it.")
    try:
        score = str(stored.get("score", "max_probability"))
        return score, AbstentionThreshold.from_dict(stored)
    except (AttributeError, KeyError, TypeError) as exc:
        raise DataError(
            f"The abstention rule {path} is damaged ({type(exc).__name__}: {exc}). Run "
            "dermnet evaluate again to rewrite it, or delete it."
        ) from None


def _confidence(scores: np.ndarray, score: str, path: Path) -> np.ndarray:
    from dermnet.metrics.uncertainty import confidence_scores

    available = confidence_scores(scores)
    if score not in available:
        raise DataError(
            f"The abstention rule {path / ABSTENTION_FILE} uses the confidence score "
            f"{score!r}, which predict cannot compute from probabilities; it computes "
            f"{sorted(available)}."
        )
    return np.asarray(available[score])


# -- the CSV ------------------------------------------------------------------------------
def _header(classes: Sequence[str], abstention: bool) -> list[str]:
    head = ["image", "prediction", "probability", "low_confidence"]
    head += [f"p_{c}" for c in classes]
    return head + (["confidence", "abstain"] if abstention else [])


def _repair_and_read(path: Path, header: list[str]) -> set[str]:
    """The images already in a CSV written by an earlier call; a cut-short last line (a
    kill mid-write) is removed first."""
    if not path.is_file() or path.stat().st_size == 0:
        return set()
    with open(path, "rb+") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            handle.truncate(end)
            data = data[:end]
    lines = data.decode("utf-8").splitlines()
    if not lines:
        return set()
    found = next(csv.reader([lines[0]]))
    if found != header:
        raise DataError(
            f"The file {path} exists with other columns ({found}); it was not written by "
            f"this run's predict (columns {header}). Choose another output file, or "
            "overwrite it (overwrite=True, the CLI's --overwrite)."
        )
    return {row[0] for row in csv.reader(lines[1:]) if row}


def _open_appending(path: Path, header: list[str]) -> IO[str]:
    new = not path.is_file() or path.stat().st_size == 0
    handle = open(path, "a", encoding="utf-8", newline="")  # noqa: SIM115  (the caller closes it)
    if new:
        csv.writer(handle).writerow(header)
        handle.flush()
    return handle


def _rows(
    paths: list[str],
    scores: np.ndarray,
    classes: Sequence[str],
    threshold: float,
    abstain: tuple[np.ndarray, np.ndarray] | None,
) -> tuple[str, int, int]:
    """The CSV text of a batch, its low-confidence count and its abstention count."""
    top = scores.argmax(axis=1)
    probability = scores.max(axis=1)
    low = probability < threshold
    text = io.StringIO()
    writer = csv.writer(text)
    for i, path in enumerate(paths):
        row: list[Any] = [path, classes[top[i]], repr(float(probability[i])), bool(low[i])]
        row += [repr(float(v)) for v in scores[i]]
        if abstain is not None:
            row += [repr(float(abstain[0][i])), bool(abstain[1][i])]
        writer.writerow(row)
    return text.getvalue(), int(low.sum()), int(abstain[1].sum()) if abstain is not None else 0


def predict_to_csv(
    run_dir: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    model_file: str = "model.keras",
    batch_size: int = 64,
    threshold: float = 0.5,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> PredictionSummary:
    """Predict any number of images with a run's model, streaming rows to a CSV.

    Memory stays flat: the images are read one batch at a time (the next batch while the
    current one is scored), and each batch's rows are appended to ``output`` and flushed.
    Called again after a kill, it skips the images already in ``output`` or in the errors
    file, so a finished CSV holds every image exactly once.

    Args:
        run_dir: a run folder written by `train_run`.
        inputs: image files, folders (searched recursively), CSVs with an ``image_path``
            (or ``image``, ``path``, ``file``) column, relative paths from the CSV's folder,
            and metadata columns for a metadata run; or one shard folder
            (`dermnet.data.write_shards`).
        output: the CSV: ``image``, ``prediction``, ``probability`` (of the top class),
            ``low_confidence`` (``probability < threshold``), ``p_<class>``; and
            ``confidence``, ``abstain`` when the run folder holds ``abstention.json``
            (written by ``dermnet evaluate``).
        model_file: the model in the folder.
        batch_size: images per batch (memory depends on it, results do not).
        threshold: the ``low_confidence`` threshold, in [0, 1].
        metadata: for a metadata run, ``{file name or path: {column: value}}`` (added to
            the CSVs' own columns).
        overwrite: start afresh, deleting ``output`` and its errors file; ``False``
            resumes them.
        progress: called with ``(done, total)`` after every batch (the images still to
            do in this call).

    Returns:
        A `PredictionSummary`.

    Raises:
        MissingFileError: an input does not exist.
        DataError: ``output`` exists with other columns; a damaged ``abstention.json``.

    Examples:
        >>> summary = predict_to_csv("runs/demo", ["lesions/"], "preds.csv")  # doctest: +SKIP
        >>> summary.written, summary.failed  # doctest: +SKIP
        (100000, 3)
    """
    where = "predict_to_csv"
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    threshold = check_float(threshold, "threshold", where, low=0.0, high=1.0)
    overwrite = check_bool(overwrite, "overwrite", where)
    if not isinstance(output, (str, os.PathLike)):
        raise fail("output", where, "a file path", output)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    from dermnet.data.shards import is_shard_folder

    folder = RunFolder(run_dir)
    out, errors = Path(output), errors_path(output)
    rule = _abstention(folder)
    header = _header(folder.classes, rule is not None)
    if overwrite:
        out.unlink(missing_ok=True)
        errors.unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _repair_and_read(out, header) | _repair_and_read(errors, list(ERROR_COLUMNS))
    shard = [str(i) for i in inputs if is_shard_folder(i)]
    if shard and len(inputs) > 1:
        raise fail("inputs", where, "image files, folders and CSVs, or one shard folder", inputs)
    if shard:
        total, skipped, batches = _shard_batches(folder, shard[0], done, batch_size)
    else:
        paths, table_metadata = image_inputs(inputs)
        table_metadata.update(metadata or {})
        total = len(paths)
        todo = [p for p in paths if p not in done]
        skipped = total - len(todo)
        batches = _path_batches(folder, todo, table_metadata, batch_size)
    model = folder.load_model(model_file)
    _warm_up(folder, model)
    remaining = total - skipped
    written = failed = low = abstained = 0
    rows_file = _open_appending(out, header)
    errors_file: IO[str] | None = None
    try:
        for good, images, encoded, bad in batches:
            if bad:
                if errors_file is None:
                    errors_file = _open_appending(errors, list(ERROR_COLUMNS))
                csv.writer(errors_file).writerows(bad)
                errors_file.flush()
                failed += len(bad)
            if good:
                scores = folder.score(model, images, encoded, batch_size=batch_size)
                abstain = None
                if rule is not None:
                    confidence = _confidence(scores, rule[0], folder.path)
                    from dermnet.metrics.uncertainty import apply_abstention

                    abstain = (confidence, apply_abstention(confidence, rule[1]))
                text, n_low, n_abstained = _rows(good, scores, folder.classes, threshold, abstain)
                rows_file.write(text)
                rows_file.flush()
                written += len(good)
                low += n_low
                abstained += n_abstained
            if progress is not None:
                progress(written + failed, remaining)
    finally:
        rows_file.close()
        if errors_file is not None:
            errors_file.close()
    return PredictionSummary(out, errors, total, written, skipped, failed, low, abstained)


def predict_run(
    run_dir: str | os.PathLike[str],
    inputs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    model_file: str = "model.keras",
    batch_size: int = 64,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Predict images (files or folders) with a run's model, read as in training.

    The whole table is built in memory; for many images use `predict_to_csv`.

    Args:
        run_dir: a run folder written by `train_run`.
        inputs: image files and/or folders (searched recursively).
        model_file: the model in the folder.
        batch_size: images per batch.
        metadata: for a metadata run, ``{file name or path: {column: value}}``; files
            without an entry are scored with their metadata marked missing.
        progress: called with ``(done, total)`` while scoring.

    Returns:
        A ``pandas.DataFrame``: ``image_path``, ``prediction`` (class name),
        ``confidence``, and one ``p_<class>`` probability column per class.
    """
    import pandas as pd

    batch_size = check_int(batch_size, "batch_size", "predict_run", low=1)
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    folder = RunFolder(run_dir)
    paths = image_paths(inputs)
    model = folder.load_model(model_file)
    scores = folder.predict_files(
        paths, model=model, metadata=metadata, batch_size=batch_size, progress=progress
    )
    out = pd.DataFrame({"image_path": paths})
    out["prediction"] = [folder.classes[i] for i in scores.argmax(axis=1)]
    out["confidence"] = scores.max(axis=1)
    for i, name in enumerate(folder.classes):
        out[f"p_{name}"] = scores[:, i]
    return out
