"""`dermnet demo`: the library's first user, end to end on the bundled HAM10000 sample."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.seeding import seed_everything
from dermnet._core.validation import check_int

__all__ = ["run_demo"]


def run_demo(
    output_dir: str | Path = "dermnet-demo",
    *,
    epochs: int = 30,
    seed: int = 0,
    image_size: int = 64,
    log: Callable[[str], None] = print,
    verbose: int | str = 2,
) -> dict[str, Any]:
    """Train, evaluate and explain a small CNN on the bundled HAM10000 sample.

    Steps, each through the public API of its layer: load the sample
    (`dermnet.data.load_sample`), split it grouped by ``lesion_id``
    (`dermnet.data.split`), preprocess with Shades of Gray colour constancy
    (`dermnet.transforms`), build ``simple_cnn`` (`dermnet.models.create_model`),
    train with balanced class weights (`dermnet.imbalance.class_weights`,
    `dermnet.train.fit`), evaluate on the held-out test part
    (`dermnet.metrics.evaluate`), and draw Grad-CAM overlays
    (`dermnet.explain.GradCAM`).

    Writes to ``output_dir``: ``metrics.json``, ``confusion_matrix.png``,
    ``training_curves.png``, ``roc_curves.png``, ``gradcam.png``, ``model.keras`` and
    ``report.html`` (self-contained).

    Args:
        output_dir: where to write the artefacts (created if needed).
        epochs: training epochs, >= 1.
        seed: the seed; the same seed gives the same metrics.
        image_size: square input size in pixels, >= 32.
        log: receives one line per step.
        verbose: Keras' per-epoch progress output (0 silences it).

    Returns:
        The content of ``metrics.json``.
    """
    from dermnet import data, explain, imbalance, metrics, models, train, transforms

    epochs = check_int(epochs, "epochs", "run_demo", low=1)
    image_size = check_int(image_size, "image_size", "run_demo", low=32)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    steps = 7

    def step(i: int, text: str) -> None:
        log(f"[{i}/{steps}] {text} ({time.perf_counter() - started:.0f}s)")

    step(1, "Loading the bundled HAM10000 sample")
    seed_everything(seed)
    records = data.load_sample("ham10000")
    parts = data.split(records, test_size=0.25, val_size=0.15, group_by="lesion_id", seed=seed)
    assert parts.val is not None
    leak = data.check_leakage(parts.train, parts.test, "lesion_id")
    log(
        f"      {len(records)} images of {records.frame['lesion_id'].nunique()} lesions -> "
        f"train {len(parts.train)}, val {len(parts.val)}, test {len(parts.test)}; "
        f"lesions shared by train and test: {len(leak.shared_groups)}"
    )

    step(2, "Building tf.data pipelines (Shades of Gray colour constancy, resize)")
    prep = transforms.ShadesOfGray(p=6)
    size = (image_size, image_size)
    train_ds = data.make_dataset(
        parts.train, size, 32, transforms=prep, shuffle=True, cache=True, seed=seed
    )
    val_ds = data.make_dataset(parts.val, size, 64, transforms=prep, cache=True)
    test_ds = data.make_dataset(parts.test, size, 64, transforms=prep, cache=True)

    step(3, f"Training simple_cnn for {epochs} epoch(s) with balanced class weights")
    model = models.create_model(
        "simple_cnn", records.num_classes, input_shape=(*size, 3), dropout=0.2
    )
    weights = imbalance.class_weights(parts.train)
    history = train.fit(
        model, train_ds, val_ds, epochs=epochs, class_weight=weights, verbose=verbose
    )

    step(4, "Evaluating on the held-out test lesions")
    scores = model.predict(test_ds, verbose=0)
    y_test = parts.test.labels
    report = metrics.evaluate(y_test, scores, records.classes)

    step(5, "Drawing figures")
    figures = {
        "confusion_matrix.png": metrics.plot_confusion_matrix(
            report.confusion_matrix, records.classes
        ),
        "training_curves.png": metrics.plot_history(history),
        "roc_curves.png": metrics.plot_roc_curves(y_test, scores, records.classes),
    }

    step(6, "Explaining test predictions with Grad-CAM")
    images = np.concatenate([x.numpy() for x, _ in test_ds.take(1)])
    pick = _pick_examples(y_test[: len(images)], scores[: len(images)].argmax(1), 8)
    cam = explain.GradCAM(model)
    heatmaps, explained = cam.explain(images[pick])
    titles = [
        f"true {records.classes[y_test[i]]}\npred {records.classes[c]}"
        for i, c in zip(pick, explained, strict=True)
    ]
    figures["gradcam.png"] = explain.plot_explanations(images[pick], heatmaps, titles=titles)
    pngs = {name: metrics.figure_to_png(fig) for name, fig in figures.items()}
    for name, png in pngs.items():
        (out / name).write_bytes(png)

    step(7, f"Writing metrics.json, model.keras and report.html to {out}")
    model.save(out / "model.keras")
    result = _metrics_json(report, parts, records, history, seed, epochs, image_size, started)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    _write_report(out / "report.html", report, result, pngs)
    head = report.headline()
    log(
        f"Done in {result['wall_time_s']:.0f}s: accuracy {head['accuracy']:.3f}, balanced "
        f"accuracy {head['balanced_accuracy']:.3f}, macro AUC {_fmt(head['macro_auc'])}. "
        f"Open {out / 'report.html'}"
    )
    return result


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


def _metrics_json(
    report: Any,
    parts: Any,
    records: Any,
    history: Any,
    seed: int,
    epochs: int,
    image_size: int,
    started: float,
) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    from dermnet._version import __version__

    return {
        "dataset": "ham10000_sample (bundled, 700 real HAM10000 images)",
        "split": {
            "group_by": "lesion_id",
            "train": len(parts.train),
            "val": len(parts.val),
            "test": len(parts.test),
            "train_class_counts": parts.train.class_counts(),
            "test_class_counts": parts.test.class_counts(),
        },
        "model": "simple_cnn",
        "image_size": image_size,
        "epochs": epochs,
        "seed": seed,
        "test": report.to_dict(),
        "history": {k: [float(v) for v in vals] for k, vals in history.history.items()},
        "versions": {
            "dermnet": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "python": platform.python_version(),
        },
        "wall_time_s": round(time.perf_counter() - started, 1),
    }


def _write_report(path: Path, report: Any, result: dict[str, Any], pngs: dict[str, bytes]) -> None:
    from dermnet.metrics import HtmlReport

    html = HtmlReport("dermnet demo: HAM10000 sample, simple CNN")
    html.add_paragraph(
        "A small CNN trained from scratch for a few epochs on 700 real HAM10000 images. The "
        "numbers show the pipeline working end to end; they are not a clinical result and "
        "a model this small, trained this briefly, must not be used on patients.",
        note=True,
    )
    html.add_heading("Data and split")
    split = result["split"]
    html.add_paragraph(
        f"Split grouped by lesion_id (no lesion on both sides): train {split['train']}, "
        f"validation {split['val']}, test {split['test']} images. Preprocessing: Shades of "
        f"Gray colour constancy (p=6), resize to {result['image_size']}x{result['image_size']}."
    )
    html.add_table(
        [
            {
                "class": c,
                "train": split["train_class_counts"][c],
                "test": split["test_class_counts"][c],
            }
            for c in report.class_names
        ],
        caption="Images per class",
    )
    html.add_heading("Test metrics")
    html.add_table(report.headline(), caption="Headline metrics")
    html.add_table(
        [{"class": name, **row} for name, row in report.per_class.items()], caption="Per class"
    )
    for note in report.notes:
        html.add_paragraph(note, note=True)
    captions = {
        "confusion_matrix.png": "Confusion matrix on the test lesions (row-normalized).",
        "roc_curves.png": "One-vs-rest ROC curves on the test lesions.",
        "training_curves.png": "Training and validation curves.",
        "gradcam.png": "Grad-CAM: test images (top) and where the model looked (bottom).",
    }
    html.add_heading("Figures")
    for name, png in pngs.items():
        html.add_figure(png, caption=captions.get(name, name))
    html.add_heading("Reproduce")
    html.add_paragraph(
        f"dermnet demo --epochs {result['epochs']} --seed {result['seed']} "
        f"(dermnet {result['versions']['dermnet']}, TensorFlow {result['versions']['tensorflow']})."
    )
    html.save(path)
