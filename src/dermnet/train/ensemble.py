"""Ensembles of runs saved as one run folder whose model averages the members' outputs.

`build_ensemble` checks that the runs agree on what a prediction means (class list, data
config, metadata encoding, output form, logit adjustment), then writes a folder that
`RunFolder` reads like any run: ``model.keras`` is a single Keras model that feeds its
inputs to every member and averages their outputs (`EnsembleMean`), so
`RunFolder.load_model`/`RunFolder.score`, ``predict``, ``evaluate`` and the exports take
it like one model. ``config.json`` records the members (``ensemble``).

Grad-CAM of an ensemble is the mean of the members' heatmaps (`ensemble_gradcam`,
`EnsembleExplainer`): one member's map alone would explain only part of the prediction.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_option
from dermnet.train.run_folder import (
    SCHEMA_VERSION,
    RunFolder,
    save_model_atomic,
    write_atomic,
    write_json,
)

__all__ = [
    "ENSEMBLE_KIND",
    "EnsembleExplainer",
    "build_ensemble",
    "ensemble_gradcam",
    "ensemble_members",
]

#: The ``kind`` of an ensemble folder's ``config.json``.
ENSEMBLE_KIND = "dermnet-ensemble"

_WHERE = "build_ensemble"
_MEMBER_PREFIX = "member_"


def _differs(what: str, first: RunFolder, other: RunFolder, a: Any, b: Any) -> ParameterError:
    return ParameterError(
        f"The runs of {_WHERE} must share {what}: run {other.path} has {b!r}, but run "
        f"{first.path} has {a!r}. Ensemble runs trained on the same classes with the same "
        "data config (image size, resize, preprocessing) and metadata encoding."
    )


def _encoder_dict(folder: RunFolder) -> Any:
    encoder = folder.metadata_encoder()
    return None if encoder is None else encoder.to_dict()


def check_compatible(folders: Sequence[RunFolder]) -> None:
    """Raise `ParameterError` naming the first run that differs from the first one."""
    first = folders[0]
    facts = {
        "the class list": lambda f: list(f.classes),
        "the data config": lambda f: f.data_config.to_dict(),
        "the 'metadata' setting": lambda f: f.config.metadata,
        "the metadata encoder": _encoder_dict,
        "the 'binary_output' setting": lambda f: f.config.binary_output,
        "the 'logit_adjustment' setting": lambda f: f.config.logit_adjustment,
    }
    reference = {what: get(first) for what, get in facts.items()}
    for other in folders[1:]:
        for what, get in facts.items():
            value = get(other)
            if value != reference[what]:
                raise _differs(what, first, other, reference[what], value)


def _member_model(models: Sequence[Any], combine: str) -> Any:
    """One Keras model: the members side by side on the same inputs, then `EnsembleMean`."""
    import keras

    from dermnet.train.ensemble_layer import EnsembleMean

    first = models[0]
    inputs = {t.name: keras.Input(shape=tuple(t.shape[1:]), name=t.name) for t in first.inputs}
    outputs = []
    for i, member in enumerate(models):
        member.name = f"{_MEMBER_PREFIX}{i}"
        names = [t.name for t in member.inputs]
        if sorted(names) != sorted(inputs):
            raise ParameterError(
                f"The members of {_WHERE} must take the same inputs: member {i} takes "
                f"{names}, member 0 takes {sorted(inputs)}."
            )
        fed = inputs[names[0]] if len(names) == 1 else {n: inputs[n] for n in names}
        outputs.append(member(fed))
    single = len(inputs) == 1
    model_inputs = next(iter(inputs.values())) if single else inputs
    combined = EnsembleMean(combine, name="ensemble_mean")(outputs)
    return keras.Model(model_inputs, combined, name="dermnet_ensemble")


def _split_table(folders: Sequence[RunFolder]) -> Any:
    """``split.csv`` of the ensemble: a role only where every member gave a row that role.

    Test (or validation) rows are kept only when all members share the same test (or
    validation) set, so an evaluation of the ensemble never scores an image some member
    trained on; training rows are the union of the members' training rows.
    """
    import pandas as pd

    tables = [pd.read_csv(f.path / "split.csv") for f in folders]
    parts = []
    train = pd.concat([t[t["role"] == "train"] for t in tables], ignore_index=True)
    parts.append(train.drop_duplicates("image_path"))
    for role in ("val", "test"):
        sets = [set(t.loc[t["role"] == role, "image_path"]) for t in tables]
        if sets[0] and all(s == sets[0] for s in sets):
            parts.append(tables[0][tables[0]["role"] == role])
    trained = set(train["image_path"])
    table = pd.concat(parts, ignore_index=True)
    held = table["role"] != "train"
    return table[~held | ~table["image_path"].isin(trained)]


def build_ensemble(
    runs: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    combine: str = "probability",
    tta: str | None = None,
    model_file: str = "model.keras",
    overwrite: bool = False,
) -> RunFolder:
    """Combine runs into one ensemble run folder that loads and scores like a single run.

    Args:
        runs: run folders (or ensemble folders) with the same classes, data config,
            metadata encoding, output form and logit adjustment.
        out: the ensemble folder to write.
        combine: ``"probability"`` (mean of the probabilities) or ``"logit"`` (mean of
            the logits, see `EnsembleMean`).
        tta: the ensemble's test-time augmentation (``"none"``, ``"flips"``,
            ``"dihedral"``); ``None``: the first run's.
        model_file: the model file of each run.
        overwrite: replace an ensemble already in ``out``.

    Returns:
        The ensemble's `RunFolder`.

    Raises:
        ParameterError: no runs, runs that differ (the message names the run and what
            differs), a bad ``combine`` or ``tta``, or ``out`` already holds a run.
        MissingFileError: a run folder or its model file does not exist.

    Examples:
        >>> ensemble = build_ensemble(["cv/fold_0", "cv/fold_1"], "cv/ensemble")  # doctest: +SKIP
        >>> probabilities = ensemble.predict_files(["lesion.jpg"])  # doctest: +SKIP
    """
    import dataclasses

    from dermnet.train.tta import TTA_TRANSFORMS

    combine = check_option(combine, ("probability", "logit"), "combine", _WHERE)
    if isinstance(runs, (str, os.PathLike)) or not runs:
        raise ParameterError(
            f"The 'runs' parameter of {_WHERE} must be a non-empty list of run folders. "
            f"Got {runs!r} instead."
        )
    folders = [RunFolder(r) for r in runs]
    check_compatible(folders)
    first = folders[0]
    tta = first.config.tta if tta is None else check_option(tta, TTA_TRANSFORMS, "tta", _WHERE)
    target = Path(out)
    if (target / "config.json").exists():
        if not overwrite:
            raise ParameterError(
                f"The folder {target} already holds a run; choose another 'out' folder or "
                "pass overwrite=True."
            )
        if any(target.resolve() == f.path.resolve() for f in folders):
            raise ParameterError(f"The 'out' folder of {_WHERE} is one of its runs: {target}.")
        shutil.rmtree(target)
    models = [f.load_model(model_file) for f in folders]
    shapes = [tuple(m.output_shape) for m in models]
    for folder, shape in zip(folders[1:], shapes[1:], strict=True):
        if shape != shapes[0]:
            raise _differs("the model output shape", first, folder, shapes[0], shape)
    model = _member_model(models, combine)
    target.mkdir(parents=True, exist_ok=True)
    split = _split_table(folders)
    write_atomic(target / "split.csv", split.to_csv(index=False))
    if first.config.metadata:
        shutil.copyfile(first.path / "metadata_encoder.json", target / "metadata_encoder.json")
    save_model_atomic(model, target / "model.keras")
    counts = np.sum([f.class_counts for f in folders], axis=0)
    config = dataclasses.replace(first.config, tta=tta)
    info = {
        **{k: v for k, v in first.info.items() if k not in ("ensemble", "cv")},
        "schema_version": SCHEMA_VERSION,
        "kind": ENSEMBLE_KIND,
        "run": config.to_dict(),
        "class_counts": {c: int(n) for c, n in zip(first.classes, counts, strict=True)},
        "split": {str(k): int(v) for k, v in split["role"].value_counts().items()},
        "ensemble": {
            "combine": combine,
            "tta": tta,
            "members": [
                {"run": str(f.path.resolve()), "model_file": model_file, "model": f.config.model}
                for f in folders
            ],
        },
    }
    epochs = [int(f.state().get("epochs_done", f.config.epochs)) for f in folders]
    write_json(target / "state.json", {"epochs_done": max(epochs), "finished": True})
    write_json(target / "config.json", info)
    return RunFolder(target)


def ensemble_members(model: Any) -> list[Any]:
    """The member models inside an ensemble model (``[model]`` for a plain model)."""
    members = [
        layer
        for layer in getattr(model, "layers", [])
        if layer.name.startswith(_MEMBER_PREFIX) and hasattr(layer, "layers")
    ]
    return members or [model]


class EnsembleExplainer:
    """An explainer of an ensemble: the mean of one explainer per member.

    Called like the explainers of `dermnet.explain.get_explainer`:
    ``explainer(inputs, class_index) -> heatmaps (n, h, w)`` in [0, 1]. Each member's
    heatmaps are in [0, 1]; their mean is rescaled so each image's maximum is 1 again.

    Args:
        model: an ensemble model (from an ensemble folder's `RunFolder.load_model`) or a
            plain model (then it is the one member).
        method: a CAM method of `dermnet.explain.list_methods` (``"gradcam"``, ...).
        **options: passed to each member's explainer (``target_layer`` names a layer of
            the members, which share their architecture).
    """

    def __init__(self, model: Any, method: str = "gradcam", **options: Any) -> None:
        from dermnet.explain import get_explainer

        self.model = model
        self.method = method
        self.members = ensemble_members(model)
        self.explainers = [get_explainer(method, m, **options) for m in self.members]

    def __call__(self, inputs: Any, class_index: Any = None) -> np.ndarray:
        maps = [np.asarray(e(inputs, class_index), np.float64) for e in self.explainers]
        mean = np.mean(maps, axis=0)
        top = mean.reshape(len(mean), -1).max(axis=1).reshape((-1,) + (1,) * (mean.ndim - 1))
        return np.asarray(mean / np.where(top > 0, top, 1.0), np.float32)


def ensemble_gradcam(
    model: Any,
    inputs: Any,
    class_index: int | Sequence[int] | None = None,
    *,
    method: str = "gradcam",
    **options: Any,
) -> np.ndarray:
    """Grad-CAM (or another CAM method) of an ensemble: the members' heatmaps averaged.

    Args:
        model: an ensemble model or a plain model.
        inputs: images ``(n, h, w, 3)`` in [0, 255], or ``{"image": ..., "metadata": ...}``.
        class_index: the class to explain (one for all, one per image), or ``None`` for
            each image's class predicted by the whole ensemble.
        method: a CAM method.
        **options: passed to each member's explainer.

    Returns:
        float32 heatmaps ``(n, h, w)`` in [0, 1].
    """
    if class_index is None:
        predicted = np.asarray(model.predict(inputs, verbose=0))
        if predicted.shape[-1] == 1:
            predicted = np.concatenate([1 - predicted, predicted], axis=-1)
        class_index = [int(i) for i in predicted.argmax(axis=-1)]
    return EnsembleExplainer(model, method, **options)(inputs, class_index)


def member_scores(
    folder: RunFolder,
    images: np.ndarray,
    metadata: np.ndarray | None = None,
    *,
    tta: str | None = None,
    logit_adjustment: bool = True,
    batch_size: int = 64,
) -> list[np.ndarray]:
    """Each member's probabilities for images read with the ensemble's data config.

    With ``tta`` (default: the ensemble's) and, if ``logit_adjustment``, the ensemble's
    logit adjustment.
    """
    from dermnet.imbalance import logit_adjust
    from dermnet.train.tta import predict_tta

    tta = folder.config.tta if tta is None else tta
    out = []
    for member in ensemble_members(folder.load_model()):
        inputs: Any = np.asarray(images, np.float32)
        if folder.config.metadata:
            inputs = {"image": inputs, "metadata": np.asarray(metadata, np.float32)}
        scores = np.asarray(predict_tta(member, inputs, transforms=tta, batch_size=batch_size))
        if scores.shape[1] == 1:
            scores = np.concatenate([1 - scores, scores], axis=1)
        if logit_adjustment and folder.config.logit_adjustment:
            scores = logit_adjust(scores, folder.class_counts, tau=folder.config.logit_adjustment)
        out.append(scores.astype(np.float32))
    return out


def members_of(folder: RunFolder) -> list[dict[str, Any]]:
    """The members recorded in an ensemble folder's ``config.json`` (``[]`` for a run)."""
    return list((folder.info.get("ensemble") or {}).get("members", []))
