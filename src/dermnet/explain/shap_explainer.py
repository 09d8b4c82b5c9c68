"""SHAP for images on top of ``shap``: the partition explainer with an image masker, and the
gradient (expected gradients) explainer with a background set.

Direct calls of ``shap`` on an image explain every class (k times the work) and score 10
images per call of ``model.predict``; this wrapper explains only the requested class and
scores the masked images with one compiled forward pass per batch.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.validation import check_int, check_option, check_seed, fail
from dermnet.explain._class_scores import check_classes
from dermnet.explain._heatmaps import normalize_positive
from dermnet.explain._predictor import predictor, repeat_extras

with warnings.catch_warnings():  # shap's colour maps use deprecated matplotlib calls
    warnings.simplefilter("ignore", PendingDeprecationWarning)
    import shap

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ShapExplainer", "ShapExplanation"]

ALGORITHMS = ("partition", "gradient")
_MASKER = re.compile(r"^(blur\(\d+,\s*\d+\)|inpaint_telea|inpaint_ns)$")


@dataclasses.dataclass(frozen=True)
class ShapExplanation:
    """SHAP attributions of a batch of images, each for one class.

    Attributes:
        values: ``(n, h, w, c)`` float32 per-pixel, per-channel SHAP values of the explained
            class (positive: pushes the class score up).
        classes: ``(n,)`` the class explained for each image.
        base_values: ``(n,)`` the expected model output the values start from (the fully
            masked image for the partition explainer; ``nan`` for the gradient explainer,
            where shap does not report it).
        algorithm: ``"partition"`` or ``"gradient"``.
    """

    values: np.ndarray
    classes: np.ndarray
    base_values: np.ndarray
    algorithm: str

    @property
    def attribution(self) -> np.ndarray:
        """``(n, h, w)`` float32: the values summed over channels (signed)."""
        return self.values.sum(axis=-1).astype(np.float32)

    @property
    def heatmaps(self) -> np.ndarray:
        """``(n, h, w)`` float32 in [0, 1]: the positive attribution scaled to peak 1."""
        return normalize_positive(self.attribution)

    def plot(
        self, images: Any, *, titles: Sequence[str] | None = None, class_names: Any = None
    ) -> Figure:
        """Draw the images and their signed attributions (red: for the class, blue: against)."""
        from dermnet.explain.visualize import plot_attributions

        if titles is None and class_names is not None:
            titles = [f"SHAP for {class_names[c]}" for c in self.classes]
        return plot_attributions(images, self.attribution, titles=titles)


class ShapExplainer:
    """SHAP image explanations (Lundberg and Lee, 2017) on top of ``shap``.

    Args:
        model: a Keras classifier with output ``(batch, classes)``.
        algorithm: ``"partition"`` (Owen values over a hierarchy of image regions, with an
            image masker; model-agnostic) or ``"gradient"`` (expected gradients against a
            background set; needs ``background``).
        masker: for ``"partition"``: ``"blur(kx,ky)"``, ``"inpaint_telea"`` or
            ``"inpaint_ns"`` (how hidden regions are filled).
        max_evals: model evaluations per image for ``"partition"``.
        background: for ``"gradient"``: reference images ``(m, h, w, c)`` in [0, 255] (a
            dict for image+metadata models).
        nsamples: for ``"gradient"``: samples per image.
        batch_size: images per forward pass.
        seed: seeds the gradient explainer's sampling (the partition explainer is
            deterministic).

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=2, input_shape=(16, 16, 3))
        >>> images = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3))
        >>> shap_exp = ShapExplainer(model, max_evals=40).explain(images)
        >>> shap_exp.values.shape, shap_exp.heatmaps.shape
        ((1, 16, 16, 3), (1, 16, 16))
    """

    def __init__(
        self,
        model: Any,
        *,
        algorithm: str = "partition",
        masker: str = "blur(16,16)",
        max_evals: int = 500,
        background: Any = None,
        nsamples: int = 200,
        batch_size: int = 64,
        seed: int | None = 0,
    ) -> None:
        where = "ShapExplainer"
        self.model = model
        self.algorithm = check_option(algorithm, ALGORITHMS, "algorithm", where)
        if not isinstance(masker, str) or not _MASKER.match(masker):
            raise fail("masker", where, "'blur(kx,ky)', 'inpaint_telea' or 'inpaint_ns'", masker)
        self.masker = masker
        self.max_evals = check_int(max_evals, "max_evals", where, low=3)
        self.nsamples = check_int(nsamples, "nsamples", where, low=1)
        self.batch_size = check_int(batch_size, "batch_size", where, low=1)
        self.seed = check_seed(seed, "seed", where)
        self._predict = predictor(model, batch_size=self.batch_size, where=where)
        self.background = background
        self._background: tuple[np.ndarray, dict[str, np.ndarray]] | None = None
        if self.algorithm == "gradient":
            if background is None:
                raise fail(
                    "background",
                    where,
                    "reference images (m, h, w, c) for algorithm='gradient'",
                    background,
                )
            self._background = self._predict.inputs.split(background, "ShapExplainer")
        self._explainers: dict[Any, Any] = {}
        self._current: dict[str, np.ndarray] = {}  # the metadata row of the image explained

    # -- partition --------------------------------------------------------------------------
    def _partition(
        self, array: np.ndarray, extras: dict[str, np.ndarray], classes: np.ndarray
    ) -> ShapExplanation:
        shape = array.shape[1:]
        current = self._current

        def f(x: np.ndarray) -> np.ndarray:
            x = np.asarray(x, np.float32)
            return self._predict(x, repeat_extras(current, 0, len(x)))

        key = ("partition", shape)
        if key not in self._explainers:
            masker = shap.maskers.Image(self.masker, shape)
            self._explainers[key] = shap.explainers.Partition(f, masker)
        explainer = self._explainers[key]
        values = np.empty(array.shape, np.float32)
        base = np.empty(len(array), np.float32)
        for i in range(len(array)):
            current.clear()
            current.update(repeat_extras(extras, i, 1))
            cls = int(classes[i])
            result = explainer(
                array[i : i + 1],
                max_evals=self.max_evals,
                batch_size=self.batch_size,
                outputs=[cls],
                silent=True,
            )
            values[i] = np.asarray(result.values)[0, ..., 0]
            base[i] = float(np.ravel(result.base_values)[0])
        return ShapExplanation(values, classes.copy(), base, "partition")

    # -- gradient ---------------------------------------------------------------------------
    def _gradient_model(self) -> Any:
        import keras

        if "gradient" not in self._explainers:
            inputs = self._predict.inputs
            if inputs.kind == "single":
                wrapped = self.model
            else:
                tensors = [
                    keras.Input(shape=inputs.shapes[k][1:], name=k)
                    for k in [inputs.image_key, *inputs.extra_keys]
                ]
                named = dict(zip([inputs.image_key, *inputs.extra_keys], tensors, strict=True))
                out = self.model(inputs.feed(named[inputs.image_key], named))
                wrapped = keras.Model(tensors, out, name="shap_input_list")
            bg_images, bg_extras = self._background or (np.empty(0), {})
            data = (
                bg_images
                if inputs.kind == "single"
                else [bg_images, *[bg_extras[k] for k in inputs.extra_keys]]
            )
            self._explainers["gradient"] = shap.GradientExplainer(
                wrapped, data, batch_size=self.batch_size
            )
        return self._explainers["gradient"]

    def _gradient(
        self, array: np.ndarray, extras: dict[str, np.ndarray], classes: np.ndarray
    ) -> ShapExplanation:
        explainer = self._gradient_model()
        inputs = self._predict.inputs
        x = array if inputs.kind == "single" else [array, *[extras[k] for k in inputs.extra_keys]]
        state = np.random.get_state()  # noqa: NPY002 (shap reseeds the global RNG)
        try:
            values, _ = explainer.shap_values(
                x,
                nsamples=self.nsamples,
                ranked_outputs=classes[:, None],
                output_rank_order="custom",
                rseed=self.seed if self.seed is not None else None,
            )
        finally:
            np.random.set_state(state)  # noqa: NPY002
        if isinstance(values, list):  # several inputs: the image comes first
            values = values[0]
        values = np.asarray(values, np.float32)[..., 0]
        base = np.full(len(array), np.nan, np.float32)
        return ShapExplanation(values, classes.copy(), base, "gradient")

    # -- public API -------------------------------------------------------------------------
    def explain(
        self, images: Any, class_index: int | Sequence[int] | None = None
    ) -> ShapExplanation:
        """SHAP values of each image for its class (the predicted one unless given).

        Args:
            images: ``(n, h, w, c)`` or one ``(h, w, c)`` image in [0, 255]; for an
                image+metadata model a dict (the metadata is held fixed).
            class_index: one int for all images, one per image, or ``None`` (predicted).
        """
        array, extras = self._predict.inputs.split(images, "ShapExplainer")
        classes = check_classes(class_index, len(array), self._predict.k, "ShapExplainer")
        if (classes < 0).any():
            predicted = self._predict(array, extras).argmax(axis=1).astype(np.int32)
            classes = np.where(classes < 0, predicted, classes).astype(np.int32)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*structure of `inputs`.*")
            if self.algorithm == "partition":
                return self._partition(array, extras, classes)
            return self._gradient(array, extras, classes)

    def __call__(self, images: Any, class_index: int | Sequence[int] | None = None) -> np.ndarray:
        """Heatmaps ``(n, h, w)`` in [0, 1]: the positive SHAP attribution."""
        return self.explain(images, class_index).heatmaps
