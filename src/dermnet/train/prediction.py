"""Prediction with a trained run: `predict_run`."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dermnet._core.validation import check_int
from dermnet.train.run_folder import RunFolder

__all__ = ["predict_run"]


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
    from dermnet.train.run_results import _image_paths

    paths = _image_paths(inputs)
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
