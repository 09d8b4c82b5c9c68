"""The files of ``dermnet explain``: load a saved model (`load_explained_model`), read image
files (`read_images`), and write overlays, ``explanations.json`` and a small HTML page
(`write_explanations`)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import check_float, fail

if TYPE_CHECKING:
    from dermnet.data.data_config import DataConfig

__all__ = ["load_explained_model", "read_images", "write_explanations"]


def _find_class_names(data: Any) -> list[str] | None:
    """The first ``class_names`` list in a (nested) JSON document."""
    if isinstance(data, dict):
        names = data.get("class_names")
        if isinstance(names, list) and names and all(isinstance(x, str) for x in names):
            return names
        for value in data.values():
            found = _find_class_names(value)
            if found is not None:
                return found
    return None


def load_explained_model(path: str | os.PathLike[str]) -> tuple[Any, list[str] | None]:
    """Load a model from a ``.keras`` file or a run folder holding ``model.keras``.

    Class names come from ``config.json`` (any ``class_names`` list in it), else from
    ``metrics.json`` (as ``dermnet demo`` writes it), looked up beside the model; ``None``
    when neither has them.

    Raises:
        MissingFileError: the path, or ``model.keras`` in the folder, does not exist.
    """
    from dermnet.models import load_model

    where = "load_explained_model"
    if not isinstance(path, (str, os.PathLike)):
        raise fail("path", where, "a path to a .keras file or a run folder", path)
    root = Path(path).expanduser()
    if not root.exists():
        raise MissingFileError(f"The model given to {where} does not exist: {root}")
    file = root / "model.keras" if root.is_dir() else root
    if not file.is_file():
        raise MissingFileError(
            f"The folder {root} given to {where} holds no model.keras (a run folder written "
            "by dermnet has one)."
        )
    model = load_model(file, compile=False)
    names = None
    for candidate in ("config.json", "metrics.json"):
        config = file.parent / candidate
        if config.is_file():
            try:
                names = _find_class_names(json.loads(config.read_text(encoding="utf-8")))
            except (OSError, ValueError) as exc:
                raise DataError(f"Cannot read class names from {config}: {exc}") from exc
            if names is not None:
                break
    k = int(model.output_shape[-1])
    if names is not None and len(names) != k:
        raise DataError(
            f"The class names beside {file} list {len(names)} classes but the model has {k} "
            "outputs."
        )
    return model, names


def read_images(
    paths: Sequence[str | os.PathLike[str]], size: tuple[int, int], *, channels: int = 3
) -> np.ndarray:
    """Read image files as float32 ``(n, h, w, channels)`` in [0, 255], resized to ``size``.

    The files are read by `dermnet.data.load_images` with ``DataConfig(size)`` (stretch,
    bilinear, no preprocessing), the same code that `dermnet.data.make_dataset` uses, so
    the pixels are those a model trained with that size saw. ``channels=1`` converts the
    RGB result to gray (ITU-R 601 luma: 0.299 R + 0.587 G + 0.114 B).

    Raises:
        MissingFileError: files do not exist (the message names them).
        DataError: files cannot be decoded as images (the message names them).
        ParameterError: ``channels`` is not 1 or 3, or there are no paths.
    """
    from dermnet.data import DataConfig, load_images

    if channels not in (1, 3):
        raise fail("channels", "read_images", "1 or 3", channels)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not paths:
        raise fail("paths", "read_images", "at least one image file", [])
    images = load_images(list(paths), DataConfig(tuple(size)))
    if channels == 1:
        luma = np.asarray([0.299, 0.587, 0.114], np.float32)
        images = np.round(images @ luma)[..., None].astype(np.float32)
    return images


def _read_with_config(
    files: list[Path], data_config: Any, shape: tuple[int, int, int], where: str
) -> np.ndarray:
    from dermnet.data import DataConfig, load_images

    if not isinstance(data_config, DataConfig):
        raise fail("data_config", where, "a dermnet.data.DataConfig or None", data_config)
    config = data_config.validate()
    if config.image_size != shape[:2] or shape[2] != 3:
        raise ParameterError(
            f"The 'data_config' parameter of {where} must describe the model's input "
            f"{shape[0]}x{shape[1]} RGB. Got image_size {config.image_size} for a model "
            f"whose input is {shape} instead."
        )
    if not files:
        raise fail("images", where, "at least one image file", [])
    return load_images(files, config)


def write_explanations(
    model: Any,
    images: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    method: str = "gradcam",
    class_names: Sequence[str] | None = None,
    class_index: int | None = None,
    alpha: float = 0.4,
    data_config: DataConfig | None = None,
    metadata: np.ndarray | None = None,
    scorer: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None,
    masks: str | os.PathLike[str] | None = None,
    explainer: Callable[..., Any] | None = None,
    **options: Any,
) -> list[dict[str, Any]]:
    """Explain image files and write ``<name>_<method>.png`` overlays, ``explanations.json``
    and a self-contained ``index.html`` to ``output``.

    Each overlay shows the map over the original image at the image's own resolution
    (the map at the model's input size is brought back through the data config's resize:
    stretch, pad or crop), a caption with the explained class and its probability
    (``"gradcam: mel p=0.87"``, plus the predicted class when another class is
    explained) and a colour bar of the map's 0-1 scale.

    Args:
        model: a Keras model, a ``.keras`` file or a run folder with ``model.keras`` (its
            class names are then read from ``config.json``).
        images: image files; each is resized to the model's input size (as ``data_config``
            says, else stretched with bilinear interpolation, like `read_images`).
        output: the output folder (created).
        method: an explanation method (see `list_methods`).
        class_names: names of the classes (default: read beside the model, else indices).
        class_index: the class to explain; ``None`` explains each image's prediction.
        alpha: weight of the heatmap in the overlays.
        data_config: how the files become model input (`dermnet.data.DataConfig`, e.g.
            the run's or `dermnet.models.resolve_data_config`'s); the images are then read
            with `dermnet.data.load_images`, so the model sees the pixels that
            `dermnet.data.make_dataset` gives it with the same config. Its size must be
            the model's input size. ``None``: ``DataConfig(model input size)``.
        metadata: for an image+metadata model, the encoded metadata ``(n, d)`` of the
            files, held fixed while the image is explained (CAM methods only).
        scorer: ``scorer(images, metadata) -> probabilities`` giving the probabilities
            to report and the predicted class (e.g. a run's scorer with test-time
            augmentation and logit adjustment); ``None``: the model's own output.
        masks: a folder of binary lesion masks, one per image with the image's file
            stem (see `dermnet.explain.mask_scores.match_masks`); each map is then scored
            against its mask (energy inside, pointing game, top-20% IoU) beside a random
            and a centre-Gaussian map: ``localization.csv`` per image,
            ``localization_summary.csv`` (means with 95% bootstrap intervals) and a
            section of ``index.html``.
        explainer: a ready explainer ``explainer(images, class_index) -> heatmaps`` to use
            instead of building one for ``method`` (an ensemble run passes
            `dermnet.train.ensemble.EnsembleExplainer`, which averages its members' maps).
        **options: passed to the explainer (``target_layer``, ``num_samples``, ...).

    Returns:
        One dict per image: file, predicted class and probability, class explained, overlay
        (and with ``masks``: ``mask``, ``energy``, ``pointing``, ``iou``).

    Raises:
        MissingFileError: an image file does not exist.
        DataError: an image file cannot be decoded (the message names it).
        ParameterError: a parameter is invalid, or ``data_config`` does not match the
            model's input.
        DataError: with ``masks``: an image without a mask, a mask of another size than
            its image, an empty or non-binary mask (the files are named).
    """
    from PIL import Image

    from dermnet.explain._inputs import ModelInputs
    from dermnet.explain._predictor import predictor
    from dermnet.explain.methods import get_explainer
    from dermnet.explain.visualize import plot_explanations
    from dermnet.metrics import HtmlReport, figure_to_png

    where = "write_explanations"
    alpha = check_float(alpha, "alpha", where, low=0.0, high=1.0)
    if isinstance(model, (str, os.PathLike)):
        model, found = load_explained_model(model)
        class_names = class_names if class_names is not None else found
    inputs = ModelInputs(model, where)
    if inputs.extra_keys and (metadata is None or method in ("lime", "shap")):
        raise ParameterError(
            f"{where} explains image files, but this model also needs {inputs.extra_keys}; "
            + (
                f"method {method!r} explains image-only models: use a CAM method."
                if metadata is not None
                else "give metadata=... (a run folder does this), or use the explainers "
                "from Python with a dict of inputs."
            )
        )
    h, w, c = inputs.image_shape
    if h is None or w is None:
        raise fail("model", where, "a model with a fixed input size", inputs.image_shape)
    files = [Path(p) for p in ([images] if isinstance(images, (str, os.PathLike)) else images)]
    if data_config is None:
        array = read_images(files, (int(h), int(w)), channels=int(c or 3))
    else:
        array = _read_with_config(files, data_config, (int(h), int(w), int(c or 3)), where)
    mask_files, mask_arrays = None, None
    if masks is not None:
        from dermnet.explain.mask_scores import match_masks, read_masks_like

        mask_files = match_masks(files, masks)
        mask_arrays = read_masks_like(mask_files, files, (int(h), int(w)), data_config)
    k = int(model.output_shape[-1])
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise fail("class_names", where, f"{k} names (one per model output)", len(names))
    fed: Any = array
    if inputs.extra_keys:
        fed = {inputs.image_key: array, inputs.extra_keys[0]: np.asarray(metadata, np.float32)}
    if scorer is not None:
        probs = np.asarray(scorer(array, metadata), np.float32)
    else:
        probs = predictor(model, where=where)(fed)
    if explainer is None:
        explainer = get_explainer(method, model, **options)
    if class_index is None and scorer is not None and method not in ("lime", "shap"):
        # explain the class the reported probabilities predict
        heatmaps = np.asarray(explainer(fed, [int(i) for i in probs.argmax(1)]), np.float32)
    else:
        heatmaps = np.asarray(explainer(fed, class_index), np.float32)
    explained = probs.argmax(1) if class_index is None else np.full(len(array), class_index)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    safe = method.replace("+", "p")
    records, used = [], set()
    for i, path in enumerate(files):
        stem = path.stem
        name = f"{stem}_{safe}.png"
        if name in used:
            name = f"{stem}_{i}_{safe}.png"
        used.add(name)
        top = int(probs[i].argmax())
        shown = int(explained[i])
        caption = f"{method}: {names[shown]} p={probs[i, shown]:.2f}"
        if shown != top:
            caption += f" (predicted {names[top]} p={probs[i, top]:.2f})"
        figure = _overlay_figure(path, heatmaps[i], data_config, alpha, caption)
        Image.fromarray(figure).save(out / name)
        records.append(
            {
                "file": str(path),
                "overlay": name,
                "predicted": names[top],
                "probability": float(probs[i, top]),
                "explained": names[int(explained[i])],
                "explained_probability": float(probs[i, int(explained[i])]),
            }
        )
    summary = None
    if mask_files is not None and mask_arrays is not None:
        summary = _mask_agreement(heatmaps, mask_arrays, files, mask_files, method, records, out)
    document: dict[str, Any] = {"method": method, "class_names": names, "images": records}
    if summary is not None:
        document["localization"] = summary.to_dict(orient="records")
    (out / "explanations.json").write_text(json.dumps(document, indent=2) + "\n")
    rgb_all = array if array.shape[-1] == 3 else np.repeat(array, 3, axis=-1)
    report = HtmlReport(f"dermnet explain: {method}")
    report.add_paragraph(
        f"Method {method}; model {getattr(model, 'name', 'model')} with input {h}x{w}. "
        "Warm colours mark the pixels that raised the explained class's score. An explanation "
        "shows what the model used, not whether the model is right.",
        note=True,
    )
    report.add_table(
        [
            {
                "image": Path(r["file"]).name,
                "predicted": r["predicted"],
                "probability": r["probability"],
                "explained": r["explained"],
            }
            for r in records
        ],
        caption="Predictions",
    )
    for start in range(0, len(array), 8):
        stop = start + 8
        fig = plot_explanations(
            rgb_all[start:stop],
            heatmaps[start:stop],
            predictions=probs[start:stop],
            class_names=names,
            alpha=alpha,
        )
        report.add_figure(
            figure_to_png(fig),
            caption=f"Images {start + 1}-{min(stop, len(array))}: input (top), {method} "
            "overlay (bottom).",
        )
    if summary is not None:
        report.add_heading("Agreement with the lesion masks")
        report.add_paragraph(
            "Energy: share of the map inside the mask; pointing: the map's maximum falls in "
            "the lesion; IoU: top 20% of the map against the mask. Means with 95% bootstrap "
            "intervals; a map must beat the centre-Gaussian baseline (most lesions are "
            "centred). Per image: localization.csv."
        )
        report.add_table(summary.round(4).to_dict(orient="records"))
    report.save(out / "index.html")
    return records


def _map_on_original(
    heatmap: np.ndarray, shape: tuple[int, int], data_config: Any
) -> tuple[np.ndarray, np.ndarray]:
    """A map at the model's input size brought onto the original ``(height, width)``.

    Undoes the data config's resize (stretch: the whole image; pad: the centred fitted
    image inside the padding, whose part of the map is dropped; crop: the centred crop).
    Returns the map and a boolean array of the pixels the model saw.
    """
    from dermnet.explain.localization import resize_map

    height, width = shape
    th, tw = heatmap.shape
    mode = "stretch" if data_config is None else data_config.resize
    seen = np.ones(shape, dtype=bool)
    if mode == "pad":  # the integer arithmetic of dermnet.data's letterbox
        height_bound = height * tw >= width * th
        new_h = th if height_bound else max(height * tw // width, 1)
        new_w = max(width * th // height, 1) if height_bound else tw
        top, left = (th - new_h) // 2, (tw - new_w) // 2
        heatmap = heatmap[top : top + new_h, left : left + new_w]
    elif mode == "crop":  # the centred crop of dermnet.data, as float32 like TensorFlow
        target = np.float32(th / tw)
        h = min(np.float32(height), np.float32(width) * target)
        w = min(np.float32(width), np.float32(height) / target)
        top, left = int((height - h) / 2), int((width - w) / 2)
        inner = resize_map(heatmap, (int(h), int(w)))
        full = np.zeros(shape, dtype=np.float64)
        full[top : top + int(h), left : left + int(w)] = inner
        seen[:] = False
        seen[top : top + int(h), left : left + int(w)] = True
        return full, seen
    return resize_map(heatmap, shape), seen


def _overlay_figure(
    file: Path, heatmap: np.ndarray, data_config: Any, alpha: float, caption: str
) -> np.ndarray:
    """The map over the original image at its own resolution, a caption above (the class
    and its probability) and a colour bar (0 to 1, jet) on the right, as uint8 RGB.

    The image occupies rows ``[caption height, caption height + image height)`` and
    columns ``[0, image width)`` of the result; pixels the model never saw (outside a
    centre crop) are shown without the map.
    """
    from matplotlib import colormaps
    from PIL import Image, ImageDraw, ImageFont, ImageOps

    from dermnet.explain.visualize import overlay

    with Image.open(file) as im:
        original = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    height, width = original.shape[:2]
    heat, seen = _map_on_original(np.asarray(heatmap, np.float32), (height, width), data_config)
    blended = overlay(original, heat, alpha=alpha)
    blended[~seen] = original[~seen]
    text = max(10, min(32, height // 14))
    font = ImageFont.load_default(size=text)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    text_width = int(probe.textlength(caption, font=font)) + 8
    pad, bar = text // 2, max(8, width // 30)
    label_width = int(probe.textlength("1.0", font=font)) + 4
    caption_height = text + 2 * pad
    canvas = Image.new(
        "RGB",
        (max(width + 3 * pad + bar + label_width, text_width), caption_height + height),
        "white",
    )
    canvas.paste(Image.fromarray(blended), (0, caption_height))
    draw = ImageDraw.Draw(canvas)
    draw.text((4, pad), caption, fill="black", font=font)
    ramp = np.linspace(1.0, 0.0, height)[:, None].repeat(bar, axis=1)
    colours = (colormaps["jet"](ramp)[..., :3] * 255).astype(np.uint8)
    x = width + pad
    canvas.paste(Image.fromarray(colours), (x, caption_height))
    draw.text((x + bar + 2, caption_height), "1.0", fill="black", font=font)
    draw.text((x + bar + 2, caption_height + height - text - 2), "0.0", fill="black", font=font)
    return np.asarray(canvas)


def _mask_agreement(
    heatmaps: np.ndarray,
    masks: np.ndarray,
    files: list[Path],
    mask_files: list[Path],
    method: str,
    records: list[dict[str, Any]],
    out: Path,
) -> Any:
    """Score the maps against the masks, write the CSVs, add the scores to ``records``."""
    from dermnet.explain.mask_scores import score_masks

    per_image, summary = score_masks(heatmaps, masks, files, mask_files, method)
    per_image.to_csv(out / "localization.csv", index=False)
    summary.to_csv(out / "localization_summary.csv", index=False)
    for record, row in zip(records, per_image.to_dict(orient="records"), strict=True):
        record["mask"] = row["mask"]
        for metric in ("energy", "pointing", "iou"):
            value = row[f"{method}_{metric}"]
            record[metric] = None if np.isnan(value) else float(value)
    return summary
