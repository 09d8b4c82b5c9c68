"""Is the explanation faithful to the model? Deletion/insertion curves and the
model-randomisation sanity check.

- Deletion (Petsiuk et al., RISE, 2018): remove pixels from the most to the least important
  according to the heatmap; a faithful map makes the class probability fall fast (low AUC).
- Insertion: start from a blurred image and put the most important pixels back first; a
  faithful map makes the probability rise fast (high AUC).
- Model randomisation (Adebayo et al., "Sanity checks for saliency maps", 2018): re-initialise
  the weights from the top layer down; a map that still looks the same does not explain the
  model (it is an edge detector).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail
from dermnet.explain._class_scores import check_classes
from dermnet.explain._predictor import predictor, repeat_extras

__all__ = [
    "FaithfulnessCurve",
    "RandomizationCheck",
    "deletion_curve",
    "insertion_curve",
    "randomization_check",
]

BASELINES = ("zero", "blur", "mean")


@dataclasses.dataclass(frozen=True)
class FaithfulnessCurve:
    """Class probability as pixels are deleted (or inserted) in heatmap order.

    Attributes:
        mode: ``"deletion"`` or ``"insertion"``.
        fractions: ``(steps + 1,)`` fraction of pixels deleted (inserted), from 0 to 1.
        scores: ``(n, steps + 1)`` the model's probability of the explained class.
        classes: ``(n,)`` the class followed for each image.
    """

    mode: str
    fractions: np.ndarray
    scores: np.ndarray
    classes: np.ndarray

    @property
    def auc(self) -> np.ndarray:
        """``(n,)`` area under each curve (trapezoid rule over fractions in [0, 1])."""
        widths = np.diff(self.fractions)
        return ((self.scores[:, 1:] + self.scores[:, :-1]) * 0.5 * widths).sum(axis=1)

    @property
    def mean_auc(self) -> float:
        """The mean AUC over the images (deletion: lower is better; insertion: higher)."""
        return float(self.auc.mean())

    def plot(self, *, label: str | None = None, ax: Any = None) -> Any:
        """Draw the mean curve (with its AUC in the legend); returns the figure."""
        from matplotlib.figure import Figure

        if ax is None:
            fig = Figure(figsize=(4.2, 3.2), layout="constrained")
            ax = fig.subplots()
        else:
            fig = ax.figure
        name = label or self.mode
        ax.plot(self.fractions, self.scores.mean(0), label=f"{name} (AUC {self.mean_auc:.3f})")
        ax.set_xlabel(f"fraction of pixels {'deleted' if self.mode == 'deletion' else 'inserted'}")
        ax.set_ylabel("class probability")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=8)
        return fig


def _baseline(images: np.ndarray, baseline: Any, where: str) -> np.ndarray:
    import cv2

    if isinstance(baseline, str):
        baseline = check_option(baseline, BASELINES, "baseline", where)
        if baseline == "zero":
            return np.zeros_like(images)
        if baseline == "mean":
            return np.broadcast_to(images.mean(axis=(1, 2), keepdims=True), images.shape).copy()
        out = np.empty_like(images)
        for i, image in enumerate(images):
            sigma = max(image.shape[0], image.shape[1]) / 20.0
            out[i] = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma).reshape(image.shape)
        return out
    value = check_float(baseline, "baseline", where)
    return np.full_like(images, value)


def _curve(
    mode: str,
    model: Any,
    images: Any,
    heatmaps: Any,
    *,
    baseline: str | float,
    class_index: int | Sequence[int] | None = None,
    steps: int = 20,
    batch_size: int = 64,
) -> FaithfulnessCurve:
    """The deletion or insertion curve; the options of both curves are declared here."""
    where = f"{mode}_curve"
    steps = check_int(steps, "steps", where, low=1)
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    predict = predictor(model, batch_size=batch_size, where=where)
    array, extras = predict.inputs.split(images, where)
    n, h, w = array.shape[:3]
    maps = np.asarray(heatmaps, np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.shape != (n, h, w):
        raise fail("heatmaps", where, f"an array of shape {(n, h, w)}", f"shape {maps.shape}")
    if not np.all(np.isfinite(maps)):
        raise fail("heatmaps", where, "finite values", "NaN or infinite values")
    classes = check_classes(class_index, n, predict.k, where)
    if (classes < 0).any():
        classes = np.where(classes < 0, predict(array, extras).argmax(1), classes)
    base = _baseline(array, baseline, where)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    counts = np.rint(fractions * h * w).astype(np.int64)
    scores = np.empty((n, steps + 1), np.float32)
    for i in range(n):
        # rank of each pixel, most important first (ties keep raster order: deterministic)
        order = np.argsort(-maps[i].ravel(), kind="stable")
        rank = np.empty(h * w, np.int64)
        rank[order] = np.arange(h * w)
        rank = rank.reshape(h, w)
        chosen = rank[None] < counts[:, None, None]  # (steps + 1, h, w): pixels moved so far
        if mode == "deletion":
            batch = np.where(chosen[..., None], base[i][None], array[i][None])
        else:
            batch = np.where(chosen[..., None], array[i][None], base[i][None])
        probs = predict(batch.astype(np.float32), repeat_extras(extras, i, len(batch)))
        scores[i] = probs[:, classes[i]]
    return FaithfulnessCurve(mode, fractions, scores, classes.astype(np.int32))


def deletion_curve(
    model: Any, images: Any, heatmaps: Any, *, baseline: str | float = "zero", **options: Any
) -> FaithfulnessCurve:
    """Deletion curve: the class probability as the most important pixels are removed first.

    Works with heatmaps from any method (Grad-CAM, LIME, SHAP, a random map). A lower AUC
    means a more faithful map.

    Args:
        model: a Keras classifier with output ``(batch, classes)``.
        images: ``(n, h, w, c)`` in [0, 255] (a dict for image+metadata models).
        heatmaps: ``(n, h, w)`` importance maps at the input resolution.
        baseline: what deleted pixels become: ``"zero"`` (black), ``"blur"``, ``"mean"``
            (the image's mean colour) or a constant.
        **options: ``class_index`` (the class to follow; ``None``, the default, follows
            the predicted class), ``steps`` (number of deletion steps, ``steps + 1`` points
            from 0 to 1; default 20), ``batch_size`` (images per forward pass; default 64).

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=2, input_shape=(16, 16, 3))
        >>> images = np.full((1, 16, 16, 3), 128.0, np.float32)
        >>> curve = deletion_curve(model, images, np.ones((1, 16, 16)), steps=4)
        >>> curve.fractions.tolist(), curve.scores.shape
        ([0.0, 0.25, 0.5, 0.75, 1.0], (1, 5))
    """
    return _curve("deletion", model, images, heatmaps, baseline=baseline, **options)


def insertion_curve(
    model: Any, images: Any, heatmaps: Any, *, baseline: str | float = "blur", **options: Any
) -> FaithfulnessCurve:
    """Insertion curve: the class probability as the most important pixels are put back first.

    Starts from ``baseline`` (a blurred copy by default) and reveals pixels in heatmap
    order. A higher AUC means a more faithful map. Arguments as for `deletion_curve`.
    """
    return _curve("insertion", model, images, heatmaps, baseline=baseline, **options)


# -- model randomisation ----------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class RandomizationCheck:
    """Result of the cascading model-randomisation sanity check.

    Attributes:
        layers: for each step, the last layer (path) whose weights were re-initialised;
            step ``i`` has every layer from the output down to ``layers[i]`` randomised.
        spearman: ``(steps, n)`` Spearman rank correlation between each image's original
            map and its map after the step (1: identical ranking, 0: unrelated).
        ssim: ``(steps, n)`` structural similarity of the two maps (in [-1, 1]).
    """

    layers: tuple[str, ...]
    spearman: np.ndarray
    ssim: np.ndarray

    @property
    def final_spearman(self) -> float:
        """Mean rank correlation once every layer is randomised."""
        return float(self.spearman[-1].mean())

    def passed(self, threshold: float = 0.5) -> bool:
        """True when the fully randomised model's maps no longer resemble the original ones
        (mean absolute rank correlation below ``threshold``)."""
        return bool(np.abs(self.spearman[-1]).mean() < threshold)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary: per step the layer and the mean similarities."""
        return {
            "steps": [
                {
                    "randomized_down_to": layer,
                    "spearman": float(self.spearman[i].mean()),
                    "ssim": float(self.ssim[i].mean()),
                }
                for i, layer in enumerate(self.layers)
            ],
            "passed": self.passed(),
        }


def _weighted_layers(model: Any) -> list[tuple[str, Any]]:
    """Leaf layers that own trainable weights, from the output back to the input."""
    from dermnet.explain.layers import iter_layers

    leaves = [
        (path, layer)
        for path, layer in iter_layers(model)
        if not hasattr(layer, "layers") and layer.trainable_weights
    ]
    return leaves[::-1]


def _randomize(layer: Any, rng: np.random.Generator) -> None:
    """Re-initialise ``layer``'s trainable weights with its own initialisers (seeded)."""
    import keras

    for variable in layer.trainable_weights:
        name = variable.path.rsplit("/", 1)[-1]
        init = getattr(layer, f"{name}_initializer", None)
        if init is None and name.endswith("kernel"):
            init = getattr(layer, "kernel_initializer", None)
        shape = tuple(variable.shape)
        if init is not None:
            config = init.get_config()
            if "seed" in config:
                config["seed"] = int(rng.integers(2**31 - 1))
            try:
                init = type(init).from_config(config)
                value = keras.ops.convert_to_numpy(init(shape, dtype=variable.dtype))
            except Exception:
                init = None
        if init is None:
            std = float(np.std(keras.ops.convert_to_numpy(variable))) or 0.05
            value = rng.normal(0.0, std, shape)
        variable.assign(np.asarray(value).astype(variable.dtype))


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    ra, rb = rankdata(a.ravel()), rankdata(b.ravel())
    if ra.std() == 0 or rb.std() == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.corrcoef(ra, rb)[0, 1])


def _ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    size = min(7, *a.shape) | 1  # odd window no larger than the map
    if size < 3:
        return float(np.array_equal(a, b))
    return float(structural_similarity(a, b, data_range=1.0, win_size=size))


def randomization_check(
    model: Any,
    images: Any,
    *,
    method: str | Callable[..., Any] = "gradcam",
    class_index: int | Sequence[int] | None = None,
    steps: int = 5,
    seed: int | None = 0,
    **options: Any,
) -> RandomizationCheck:
    """Model-randomisation sanity check (Adebayo et al., 2018), cascading from the top.

    The weights of the model's layers are re-initialised from the output layer down, in
    ``steps`` stages, and each stage's maps are compared with the original maps. Faithful
    methods give maps that quickly stop resembling the original (low rank correlation);
    a method whose maps survive randomisation shows image structure, not the model.

    The model's weights are changed in place during the check and restored afterwards.

    Args:
        model: a Keras classifier.
        images: ``(n, h, w, c)`` in [0, 255] (a dict for image+metadata models).
        method: a method name (``"gradcam"``, ``"gradcam++"``, ...; see
            `list_methods`) or a callable
            ``explain(images, class_index) -> heatmaps``.
        class_index: the class to explain (fixed across stages); ``None`` uses each image's
            prediction by the original model.
        steps: number of stages (at most the number of layers with weights).
        seed: seeds the re-initialisation.
        **options: passed to the explainer (e.g. ``target_layer``).

    Returns:
        A `RandomizationCheck`.
    """
    from dermnet.explain.methods import get_explainer

    where = "randomization_check"
    steps = check_int(steps, "steps", where, low=1)
    seed = check_seed(seed, "seed", where)
    explain = method if callable(method) else get_explainer(method, model, **options)
    predict = predictor(model, where=where)
    array, extras = predict.inputs.split(images, where)
    feed = array if not extras else {predict.inputs.image_key: array, **extras}
    n = len(array)
    classes = check_classes(class_index, n, predict.k, where)
    if (classes < 0).any():
        classes = np.where(classes < 0, predict(array, extras).argmax(1), classes)
    original = np.asarray(explain(feed, classes), np.float32)
    layers = _weighted_layers(model)
    if not layers:
        raise fail("model", where, "a model with trainable weights", model.name)
    steps = min(steps, len(layers))
    cuts = np.unique(np.linspace(1, len(layers), steps).round().astype(int))
    saved = {id(v): np.array(v.numpy()) for _, layer in layers for v in layer.trainable_weights}
    rng = np.random.default_rng(seed)
    names, spearman, ssim = [], [], []
    done = 0
    try:
        for cut in cuts:
            for _, layer in layers[done:cut]:
                _randomize(layer, rng)
            done = cut
            maps = np.asarray(explain(feed, classes), np.float32)
            names.append(layers[cut - 1][0])
            spearman.append([_spearman(original[i], maps[i]) for i in range(n)])
            ssim.append([_ssim(original[i], maps[i]) for i in range(n)])
    finally:
        for _, layer in layers:
            for v in layer.trainable_weights:
                v.assign(saved[id(v)])
    return RandomizationCheck(
        tuple(names), np.asarray(spearman, np.float32), np.asarray(ssim, np.float32)
    )
