"""What reads a trained run folder: `evaluate_run` (metrics and reports on the run's own
test or validation split), `predict_run` (a table of image files' probabilities) and
`explain_run` (overlays and a page), each reading images with the run's data config and
scoring them with `RunFolder.score` (the run's test-time augmentation and logit
adjustment), so the three agree on every probability.

`dermnet.train.run` re-exports them; `train_run` calls `evaluate_run` at its end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_int, check_option

# `predict_run` (streaming prediction) lives in `dermnet.train.prediction`.
from dermnet.train.prediction import predict_run as predict_run
from dermnet.train.prediction_inputs import image_paths
from dermnet.train.run_folder import (
    RunFolder,
    replace_atomic,
    temporary_sibling,
    write_atomic,
    write_json,
)

__all__ = ["evaluate_run", "explain_run", "predict_run"]


def _history_rows(path: Path, keep: int) -> dict[str, list[float]]:
    """The first ``keep`` rows of a CSV history (rewritten to exactly those rows)."""
    import pandas as pd

    if not path.is_file() or keep == 0:
        if path.is_file():
            path.unlink()
        return {}
    try:
        full = pd.read_csv(path)
        table = full.iloc[:keep]
        history = {c: table[c].astype(float).tolist() for c in table.columns if c != "epoch"}
    except (ValueError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"The training history {path} is damaged ({type(exc).__name__}: {exc}). It holds "
            "only the per-epoch losses for the curves: delete it and run again (the curves "
            "then start at the next epoch)."
        ) from None
    if len(table) < len(full):
        write_atomic(path, table.to_csv(index=False))
    return history


def _role_name(role: str) -> str:
    return {"test": "Test", "val": "Validation"}[role]


def _intervals(report: Any) -> dict[str, list[float]]:
    out = {}
    for name in ("accuracy", "balanced_accuracy", "macro_auc"):
        try:
            interval = report.interval(name)
        except (KeyError, ValueError, ParameterError):
            continue
        if interval is not None:
            out[name] = [float(interval[0]), float(interval[1])]
    return out


def _headline_text(report: Any) -> str:
    head = report.headline()
    intervals = _intervals(report)
    parts = []
    for name, label in (("balanced_accuracy", "balanced accuracy"), ("macro_auc", "macro AUC")):
        value = head.get(name)
        if value is None:
            parts.append(f"{label} undefined")
            continue
        ci = intervals.get(name)
        parts.append(f"{label} {value:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""))
    return ", ".join(parts) + " (95% bootstrap intervals)"


def evaluate_run(
    run_dir: str | os.PathLike[str],
    split: str = "test",
    *,
    model_file: str = "model.keras",
    write: bool = True,
    n_bootstrap: int = 1000,
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
    extra_figures: Mapping[str, Any] | None = None,
    positive_class: str | None = None,
    by: Sequence[str] | str | None = None,
    min_group_size: int = 30,
    target_risk: float | None = None,
    target_coverage: float | None = None,
) -> Any:
    """Evaluate a run's model on its own test (or validation) split.

    The images are read with the run's data config and scored with
    `RunFolder.score` (test-time augmentation and logit adjustment as configured).

    The report always has a selective-prediction section (risk-coverage curve and AURC
    of the max-probability confidence). On ``split="val"`` an abstention threshold is
    chosen for ``target_risk`` (default 0.1) or ``target_coverage`` and, with
    ``write``, saved as ``abstention.json`` (``{"score": "max_probability",
    **AbstentionThreshold.to_dict()}``); on ``split="test"`` the saved threshold is
    applied and its coverage and risk reported. With ``by``, a subgroup section
    (`dermnet.metrics.subgroups.subgroup_report`) with a forest plot.

    Args:
        run_dir: a run folder written by `train_run`.
        split: ``"test"`` or ``"val"``.
        model_file: the model in the folder (``"model.keras"``, the kept one; or
            ``"last.keras"``).
        write: write ``metrics.json``, ``metrics.md``, ``report.html``,
            ``model_card.md`` and ``confusion_matrix.png`` (with a ``_val`` suffix for
            ``split="val"``).
        n_bootstrap: bootstrap resamples for the 95% intervals.
        batch_size: images per forward pass.
        progress: called with ``(done, total)`` while scoring.
        extra_figures: more figures for ``report.html``, ``{caption: figure or PNG}``.
        positive_class: the class of interest (sensitivity at fixed specificity); by
            default the one `dermnet.metrics.evaluate` picks by name (mel, malignant, ...).
        by: metadata columns of the run's split to report subgroups by (``"sex,age_band"``
            or a list); ``age_band`` is derived from ``age`` (or ``age_approx``) with
            `dermnet.metrics.subgroups.age_bands`.
        min_group_size: subgroups with fewer images are reported as too small.
        target_risk: the risk the abstention threshold is chosen for (``split="val"``).
        target_coverage: or the coverage it is chosen for (``split="val"``).

    Returns:
        A `dermnet.metrics.EvaluationReport` (sections ``"abstention"`` and, with ``by``,
        ``"subgroups"``).

    Raises:
        UnknownNameError: ``by`` names a column the run's split does not have (the
            message lists the available ones).
        ParameterError: a target with ``split="test"``, or both targets.
    """
    from dermnet.metrics import evaluate
    from dermnet.train import run_trust

    split = check_option(split, ("test", "val"), "split", "evaluate_run")
    groups_by = run_trust.parse_by(by)
    min_group_size = check_int(min_group_size, "min_group_size", "evaluate_run", low=1)
    if target_risk is not None and target_coverage is not None:
        raise ParameterError(
            "evaluate_run takes one of 'target_risk' and 'target_coverage'. Got "
            f"target_risk={target_risk!r}, target_coverage={target_coverage!r} instead."
        )
    if split == "test" and (target_risk is not None or target_coverage is not None):
        raise ParameterError(
            "The 'target_risk' and 'target_coverage' parameters of evaluate_run choose the "
            "abstention threshold on split='val'. Got split='test': evaluate on 'val' first; "
            "the test evaluation applies the saved abstention.json."
        )
    folder = RunFolder(run_dir)
    records = folder.records(split)
    groups = run_trust.group_table(records.frame, groups_by, f"the run's {split} split")
    model = folder.load_model(model_file)
    images, metadata = folder.read_records(records, batch_size=batch_size)
    scores = folder.score(model, images, metadata, batch_size=batch_size, progress=progress)
    options = {} if positive_class is None else {"positive_class": positive_class}
    report = evaluate(
        records.labels,
        scores,
        folder.classes,
        n_bootstrap=n_bootstrap,
        seed=folder.config.seed,
        **options,
    )
    probabilities = np.asarray(scores, dtype=np.float64)
    section, chosen = run_trust.abstention_for_split(
        folder.path,
        split,
        records.labels,
        probabilities,
        target_risk=target_risk,
        target_coverage=target_coverage,
    )
    sections = [section]
    if groups:
        from dermnet.metrics.report_sections import subgroup_section
        from dermnet.metrics.subgroups import subgroup_report

        subgroups = subgroup_report(
            records.labels,
            probabilities,
            groups,
            folder.classes,
            positive_class=report.positive_class,
            min_size=min_group_size,
            n_bootstrap=n_bootstrap,
            seed=folder.config.seed,
        )
        sections.append(subgroup_section(subgroups))
    report = report.with_sections(*sections)
    if write:
        if split == "val":
            _write_abstention(folder.path, chosen)
        _write_evaluation(folder, report, split, model_file, len(records), extra_figures)
    return report


def _write_abstention(run: Path, chosen: Any) -> None:
    """Save the validation-chosen threshold, or remove a stale one when none was chosen."""
    from dermnet.train.run_trust import ABSTENTION_FILE, ABSTENTION_SCORE

    path = run / ABSTENTION_FILE
    if chosen is None:
        path.unlink(missing_ok=True)
        return
    write_json(path, {"score": ABSTENTION_SCORE, **chosen.to_dict()})


def _model_card(folder: RunFolder, split: str) -> Any:
    from dermnet import metrics

    return metrics.ModelCard.from_run_info(folder.model_card_facts(evaluated_on=split))


def _write_evaluation(
    folder: RunFolder,
    report: Any,
    split: str,
    model_file: str,
    images: int,
    extra_figures: Mapping[str, Any] | None = None,
) -> None:
    from dermnet.metrics import figure_to_png, plot_confusion_matrix

    run = folder.path
    suffix = "" if split == "test" else f"_{split}"
    card = _model_card(folder, split)
    report = report.with_model_card(card)
    result = {"split": split, "model_file": model_file, "images": images, **report.to_dict()}
    write_json(run / f"metrics{suffix}.json", result)
    write_atomic(run / f"metrics{suffix}.md", report.to_markdown())
    write_atomic(run / f"summary{suffix}.txt", report.summary() + "\n")
    history = _history_rows(run / "history.csv", 10**9) or None
    name = {"test": "test", "val": "validation"}[split]
    html = run / f"report{suffix}.html"
    report.to_html(
        temporary_sibling(html),
        title=f"dermnet run {run.name}: {folder.config.model} on the {name} split",
        history=history,
        extra_figures=extra_figures,
    )
    replace_atomic(temporary_sibling(html), html)
    write_atomic(run / f"model_card{suffix}.md", report.model_card_markdown())
    figure = plot_confusion_matrix(report.confusion_matrix, folder.classes)
    write_atomic(run / f"confusion_matrix{suffix}.png", figure_to_png(figure))


def explain_run(
    run_dir: str | os.PathLike[str],
    images: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    method: str = "gradcam",
    model_file: str = "model.keras",
    class_index: int | None = None,
    metadata: Mapping[str, Mapping[str, Any]] | None = None,
    masks: str | os.PathLike[str] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Explain image files with a run's model: overlays, ``explanations.json``, ``index.html``.

    The files are read with the run's data config and the reported probabilities come
    from `RunFolder.score` (the run's test-time augmentation and logit adjustment), so
    they equal what `predict_run` gives for the same files.

    Args:
        run_dir: a run folder.
        images: image files and/or folders (searched recursively).
        output: the output folder.
        method: an explanation method (`dermnet.explain.list_methods`).
        model_file: the model in the folder.
        class_index: the class to explain; ``None``: each image's predicted class.
        metadata: for a metadata run, as in `predict_run`.
        masks: a folder of lesion masks named by the images' file stems: each map is
            scored against its mask (energy, pointing game, IoU) beside a random and a
            centre-Gaussian map, written to ``localization.csv`` and
            ``localization_summary.csv`` (see `dermnet.explain.write_explanations`).
        **options: passed to `dermnet.explain.write_explanations`.

    Returns:
        One dict per image (see `dermnet.explain.write_explanations`).
    """
    from dermnet.explain import write_explanations

    folder = RunFolder(run_dir)
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    paths = image_paths(images)
    model = folder.load_model(model_file)
    _, encoded = folder.read_files(paths, metadata=metadata)

    def scorer(array: np.ndarray, meta: Any) -> np.ndarray:
        return folder.score(model, array, meta)

    explainer = None
    if folder.is_ensemble and method not in ("lime", "shap"):
        # a CAM of the whole ensemble model would follow one member: average all of them
        from dermnet.train.ensemble import EnsembleExplainer

        explainer = EnsembleExplainer(model, method, **options)
    return write_explanations(
        model,
        paths,
        output,
        method=method,
        class_names=folder.classes,
        class_index=class_index,
        data_config=folder.data_config,
        metadata=encoded,
        scorer=scorer,
        masks=masks,
        explainer=explainer,
        **options,
    )
