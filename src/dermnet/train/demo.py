"""`dermnet demo`: the library's first user, end to end on the bundled HAM10000 sample."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.validation import check_int, check_seed

__all__ = ["MIN_IMAGE_SIZE", "run_demo"]

#: The smallest input size the demo trains on (``dermnet demo --image-size`` checks it too).
MIN_IMAGE_SIZE = 32


def run_demo(
    output_dir: str | Path = "dermnet-demo",
    *,
    epochs: int = 30,
    seed: int = 0,
    image_size: int = 64,
    log: Callable[[str], None] = print,
    verbose: int | str = 0,
    callbacks: Sequence[Any] = (),
) -> dict[str, Any]:
    """Train, evaluate and explain a small CNN on the bundled HAM10000 sample.

    The demo is the built-in ``demo`` recipe (``dermnet recipes``) run through the same
    path as ``dermnet train``: `dermnet.train.train_run` loads the sample, splits it
    grouped by ``lesion_id``, applies Shades of Gray colour constancy, trains
    ``simple_cnn`` with balanced class weights and evaluates it on the held-out test
    lesions with 95% bootstrap intervals; then Grad-CAM overlays of test images are
    drawn (`dermnet.explain.GradCAM`) and added to the report.

    ``output_dir`` is a run folder like any other (``dermnet evaluate``, ``predict``,
    ``explain`` and ``export`` take it), plus ``gradcam.png`` and ``roc_curves.png``;
    ``report.html`` holds the metrics with intervals, the model card and the figures.

    Args:
        output_dir: the run folder to write (created; must not hold a run already).
        epochs: training epochs, >= 1.
        seed: the seed; the same seed gives the same metrics.
        image_size: square input size in pixels, >= 32.
        log: receives one line per step.
        verbose: Keras' per-epoch progress output (0 silences it).
        callbacks: more Keras callbacks (e.g. a progress bar).

    Returns:
        The summary of `dermnet.train.train_run` (test metrics with intervals).
    """
    from dermnet import explain, metrics
    from dermnet.train.run import evaluate_run, train_run
    from dermnet.train.run_config import get_recipe
    from dermnet.train.run_folder import RunFolder

    epochs = check_int(epochs, "epochs", "run_demo", low=1)
    image_size = check_int(image_size, "image_size", "run_demo", low=MIN_IMAGE_SIZE)
    seed = check_seed(seed, "seed", "run_demo")
    out = Path(output_dir)
    started = time.perf_counter()
    config = dataclasses.replace(
        get_recipe("demo"), epochs=epochs, seed=seed, image_size=image_size
    ).validate()
    log(f"[1/3] Training {config.model} on the bundled HAM10000 sample ({epochs} epochs)")
    summary = train_run(config, out, log=log, verbose=verbose, callbacks=callbacks)

    log("[2/3] Explaining test predictions with Grad-CAM")
    run = RunFolder(out)
    model = run.load_model()
    test = run.records("test")
    images, _ = run.read_records(test)
    scores = run.score(model, images)
    y_test = test.labels
    pick = _pick_examples(y_test, scores.argmax(1), 8)
    heatmaps, explained = explain.GradCAM(model).explain(images[pick])
    titles = [
        f"true {run.classes[y_test[i]]}\npred {run.classes[c]}"
        for i, c in zip(pick, explained, strict=True)
    ]
    figures = {
        "gradcam.png": explain.plot_explanations(images[pick], heatmaps, titles=titles),
        "roc_curves.png": metrics.plot_roc_curves(y_test, scores, run.classes),
    }
    pngs = {name: metrics.figure_to_png(fig) for name, fig in figures.items()}
    for name, png in pngs.items():
        (out / name).write_bytes(png)

    log("[3/3] Writing report.html")
    caption = (
        "Grad-CAM: held-out test images (top) and where the model looked (bottom), "
        "correct and wrong predictions mixed."
    )
    evaluate_run(out, "test", extra_figures={caption: pngs["gradcam.png"]})
    summary["wall_time_s"] = round(time.perf_counter() - started, 1)
    test_metrics = summary["test"]
    log(
        f"Done in {summary['wall_time_s']:.0f}s: balanced accuracy "
        f"{_fmt(test_metrics['balanced_accuracy'])}, macro AUC "
        f"{_fmt(test_metrics['macro_auc'])}. Open {out / 'report.html'}"
    )
    return summary


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def _pick_examples(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` indices mixing correct and wrong predictions, across classes."""
    correct = np.flatnonzero(y_true == y_pred)
    wrong = np.flatnonzero(y_true != y_pred)
    half = n // 2
    chosen = [*correct[:half], *wrong[: n - min(half, len(correct))]]
    chosen += [i for i in range(len(y_true)) if i not in chosen][: n - len(chosen)]
    return np.array(sorted(chosen[:n]))
