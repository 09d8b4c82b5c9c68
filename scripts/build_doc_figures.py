"""Draw the figures of the docs with dermnet's own code and write them to docs/figures/.

A tiny ``simple_cnn`` is trained for a few epochs on the bundled 700-image HAM10000 sample
(lesion-grouped split, 64 px, seed 0) and then evaluated and explained with the library's
plot functions. The figures show what the functions draw on real dermoscopy images; the
model is far too small and too briefly trained for its numbers to mean anything clinically.

Run from the repository root (about two minutes on two CPU cores)::

    python scripts/build_doc_figures.py            # all figures into docs/figures/
    python scripts/build_doc_figures.py --epochs 3 --out /tmp/figures

The PNGs are committed; rerun this script when a plot function or the sample changes.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MAX_BYTES = 150_000  # each PNG stays small enough to commit
HAIRY_IMAGE = "ISIC_0026057.jpg"  # files of the bundled sample
PIGMENTED_IMAGE = "ISIC_0032182.jpg"


def save(fig: object, path: Path, dpi: int = 90) -> None:
    """Write ``fig`` as a PNG, reduced to a 256-colour palette when it would be too large."""
    from PIL import Image

    from dermnet.metrics import figure_to_png

    png = figure_to_png(fig, dpi=dpi)  # type: ignore[arg-type]
    image = Image.open(io.BytesIO(png))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    if buffer.tell() > MAX_BYTES:
        buffer = io.BytesIO()
        image.convert("RGB").quantize(256).save(buffer, format="PNG", optimize=True)
    path.write_bytes(buffer.getvalue())
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{buffer.tell() / 1000:.0f} kB")  # fmt: skip


def augmentation_grid(image: np.ndarray, n: int, seed: int) -> object:
    """The input and ``n`` draws of the ``"dermoscopy"`` augmentation, in one grid."""
    from matplotlib.figure import Figure

    from dermnet.transforms import augmentation

    layer = augmentation("dermoscopy", seed=seed)
    batch = np.repeat(image[None].astype("float32"), n, axis=0)
    drawn = np.asarray(layer(batch, training=True))
    cols = (n + 1 + 1) // 2
    fig = Figure(figsize=(1.9 * cols, 4.0), layout="constrained")
    axes = fig.subplots(2, cols, squeeze=False).ravel()
    panels = [("input", image), *((f"draw {i + 1}", d) for i, d in enumerate(drawn))]
    for ax, (title, panel) in zip(axes, panels, strict=False):
        ax.imshow(np.clip(panel, 0, 255).astype(np.uint8))
        ax.set_title(title, fontsize=8)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle('augmentation("dermoscopy"): flips, rotation, zoom, shift, colour', fontsize=9)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "figures")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import dermnet
    from dermnet import explain, imbalance, metrics, transforms

    started = time.perf_counter()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    dermnet.seed_everything(args.seed)

    print("Loading the bundled HAM10000 sample and splitting it by lesion")
    records = dermnet.load_sample("ham10000")
    parts = dermnet.split(records, test_size=0.25, val_size=0.15, group_by="lesion_id",
                          seed=args.seed)  # fmt: skip
    assert parts.val is not None
    classes = list(records.classes)
    save(metrics.plot_class_distribution(parts), out / "class_distribution.png")

    print("Preprocessing and augmentation on sample images")
    images_dir = Path(str(records.frame["image_path"].iloc[0])).parent
    hairy = str(images_dir / HAIRY_IMAGE)  # a nevus under dense hair
    steps = list(transforms.preset("dermoscopy_clahe", (150, 200)).transforms)
    names = [type(t).__name__ for t in steps]
    titles = [names[0], *(f"+ {n}" for n in names[1:])]
    save(transforms.show(hairy, steps, titles=titles, cumulative=True, panel_size=2.4),
         out / "preprocessing.png")  # fmt: skip
    lesion = str(images_dir / PIGMENTED_IMAGE)  # a melanoma with blue-white structures
    constancy = [transforms.ShadesOfGray(p=6), transforms.GrayWorld(), transforms.MaxRGB()]
    save(transforms.show(lesion, constancy, panel_size=2.4), out / "color_constancy.png")
    from PIL import Image

    with Image.open(lesion) as img:
        raw = np.asarray(img.convert("RGB").resize((128, 96)))
    save(augmentation_grid(raw, 7, args.seed), out / "augmentation.png")

    print(f"Training simple_cnn for {args.epochs} epochs at 64 px")
    prep = transforms.ShadesOfGray(p=6)
    size = (64, 64)
    train_ds = dermnet.make_dataset(parts.train, size, 32, transforms=prep, shuffle=True,
                                    cache=True, seed=args.seed)  # fmt: skip
    val_ds = dermnet.make_dataset(parts.val, size, 64, transforms=prep, cache=True)
    test_ds = dermnet.make_dataset(parts.test, size, 64, transforms=prep, cache=True)
    model = dermnet.create_model("simple_cnn", len(classes), input_shape=(*size, 3))
    history = dermnet.fit(model, train_ds, val_ds, epochs=args.epochs, seed=args.seed,
                          class_weight=imbalance.class_weights(parts.train), verbose=0)  # fmt: skip
    save(metrics.plot_history(history), out / "training_curves.png")

    print("Evaluating on the held-out test lesions")
    scores = model.predict(test_ds, verbose=0)
    y_test = np.asarray(parts.test.labels)
    report = metrics.evaluate(y_test, scores, classes, n_bootstrap=200, seed=args.seed)
    head = report.headline()
    print(f"  accuracy {head['accuracy']:.3f}, balanced accuracy "
          f"{head['balanced_accuracy']:.3f}, macro AUC {head['macro_auc']:.3f}")  # fmt: skip
    save(metrics.plot_confusion_matrix(report.confusion_matrix, classes),
         out / "confusion_matrix.png")  # fmt: skip
    save(metrics.plot_roc_curves(y_test, scores, classes), out / "roc_curves.png")
    save(metrics.plot_reliability_diagram(y_test, scores, n_bins=10), out / "reliability.png")

    print("Grad-CAM on test images")
    images = np.concatenate([x.numpy() for x, _ in test_ds.take(1)])
    predicted = scores[: len(images)].argmax(1)
    truth = y_test[: len(images)]
    right = np.flatnonzero(predicted == truth)[:3]
    wrong = np.flatnonzero(predicted != truth)[:3]
    pick = np.sort(np.concatenate([right, wrong]))
    heatmaps, explained = explain.GradCAM(model).explain(images[pick])
    titles = [
        f"true {classes[truth[i]]}\npred {classes[c]} ({scores[i, c]:.2f})"
        for i, c in zip(pick, explained, strict=True)
    ]
    save(
        explain.plot_explanations(images[pick], heatmaps, titles=titles, show_heatmap=True),
        out / "gradcam.png",
    )
    print(f"Done in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
