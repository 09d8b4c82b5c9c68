"""LIME for images on top of ``lime``: batched, vectorized, seeded.

``lime_image.LimeImageExplainer.explain_instance`` builds each perturbed image in a Python
loop and calls the classifier 10 images at a time. This wrapper draws the same random
perturbations from the same seeded ``RandomState`` (so the results match ``lime`` called
with the same segmentation and ``random_state``), builds them with array operations, scores
them with one compiled forward pass per batch, and fits ``lime``'s own weighted ridge model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sklearn.metrics
from lime import lime_base
from lime.wrappers.scikit_image import SegmentationAlgorithm

from dermnet._core.validation import check_float, check_int, check_option, check_seed, fail
from dermnet.explain._class_scores import check_classes
from dermnet.explain._heatmaps import normalize_positive
from dermnet.explain._predictor import predictor, repeat_extras

__all__ = ["SEGMENTATIONS", "LimeExplainer", "LimeExplanation"]

#: Segmentation algorithms and their default parameters (``lime``'s for quickshift).
SEGMENTATIONS: dict[str, dict[str, Any]] = {
    "quickshift": {"kernel_size": 4, "max_dist": 200, "ratio": 0.2},
    "slic": {"n_segments": 50, "compactness": 10.0, "sigma": 1.0, "start_label": 0},
    "felzenszwalb": {"scale": 100.0, "sigma": 0.5, "min_size": 50},
}


@dataclasses.dataclass(frozen=True)
class LimeExplanation:
    """The LIME explanation of one image for one class.

    Attributes:
        class_index: the class explained.
        segments: ``(h, w)`` superpixel labels ``0..n-1``.
        weights: ``(n,)`` weight of each superpixel in the local linear model (positive:
            the superpixel supports the class).
        intercept: the local model's intercept.
        score: R^2 of the local model on the perturbed samples.
        local_prediction: the local model's prediction for the unperturbed image.
        prediction: the model's probability of ``class_index`` for the image.
        positive_mask: ``(h, w)`` bool, the ``num_features`` superpixels with the largest
            positive weights.
        negative_mask: ``(h, w)`` bool, the ``num_features`` superpixels with the most
            negative weights.
    """

    class_index: int
    segments: np.ndarray
    weights: np.ndarray
    intercept: float
    score: float
    local_prediction: float
    prediction: float
    positive_mask: np.ndarray
    negative_mask: np.ndarray

    @property
    def attribution(self) -> np.ndarray:
        """``(h, w)`` float32: each pixel carries its superpixel's (signed) weight."""
        return self.weights.astype(np.float32)[self.segments]

    @property
    def heatmap(self) -> np.ndarray:
        """``(h, w)`` float32 in [0, 1]: the positive weights scaled to peak 1."""
        return normalize_positive(self.attribution[None])[0]

    def top_segments(self, n: int = 5, *, positive: bool = True) -> np.ndarray:
        """Labels of the ``n`` superpixels with the largest positive (or negative) weights."""
        sign = 1.0 if positive else -1.0
        order = np.argsort(-sign * self.weights, kind="stable")
        keep = order[sign * self.weights[order] > 0]
        return keep[:n]


class LimeExplainer:
    """LIME image explanations (Ribeiro et al., 2016), batched and seeded.

    The image is cut into superpixels; ``num_samples`` copies with random superpixels
    hidden (replaced by their mean colour, or ``hide_color``) are scored by the model, and a
    weighted ridge model (``lime``'s) fitted on which superpixels were kept gives each
    superpixel a weight. The model gets images in [0, 255] and does its own preprocessing.

    Args:
        model: a Keras classifier with output ``(batch, classes)`` (probabilities).
        segmentation: ``"quickshift"`` (``lime``'s default), ``"slic"`` or
            ``"felzenszwalb"``.
        segmentation_params: parameters for the segmentation (override
            `SEGMENTATIONS`).
        num_samples: perturbed images per explanation.
        batch_size: images per forward pass.
        hide_color: value of hidden pixels; ``None`` uses each superpixel's mean colour.
        kernel_width: width of ``lime``'s exponential kernel on cosine distances.
        num_features: superpixels in the positive and negative masks.
        seed: seeds the perturbations and the segmentation; the same seed gives the same
            explanation, and each image is explained with its own ``RandomState(seed)``.

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=2, input_shape=(32, 32, 3))
        >>> image = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
        >>> lime = LimeExplainer(model, segmentation="slic", num_samples=50, seed=0)
        >>> [exp] = lime.explain(image)
        >>> exp.segments.shape, exp.weights.shape == (exp.segments.max() + 1,)
        ((32, 32), True)
    """

    def __init__(
        self,
        model: Any,
        *,
        segmentation: str = "quickshift",
        segmentation_params: Mapping[str, Any] | None = None,
        num_samples: int = 1000,
        batch_size: int = 64,
        hide_color: float | None = None,
        kernel_width: float = 0.25,
        num_features: int = 5,
        seed: int | None = 0,
    ) -> None:
        where = "LimeExplainer"
        self.model = model
        self.segmentation = check_option(segmentation, SEGMENTATIONS, "segmentation", where)
        if segmentation_params is not None and not isinstance(segmentation_params, Mapping):
            raise fail("segmentation_params", where, "a dict or None", segmentation_params)
        self.segmentation_params = dict(segmentation_params or {})
        self.num_samples = check_int(num_samples, "num_samples", where, low=2)
        self.batch_size = check_int(batch_size, "batch_size", where, low=1)
        self.hide_color = check_float(hide_color, "hide_color", where, allow_none=True)
        self.kernel_width = check_float(kernel_width, "kernel_width", where, low=0.0, low_open=True)
        self.num_features = check_int(num_features, "num_features", where, low=1)
        self.seed = check_seed(seed, "seed", where)
        self._predict = predictor(model, batch_size=self.batch_size, where=where)

    def segment(self, image: np.ndarray, seed: int) -> np.ndarray:
        """Superpixel labels ``0..n-1`` of one image (``lime``'s segmentation wrapper)."""
        params = {**SEGMENTATIONS[self.segmentation], **self.segmentation_params}
        if self.segmentation == "quickshift":
            params.setdefault("random_seed", seed)
        pixels = np.clip(np.rint(image), 0, 255).astype(np.uint8)
        if pixels.shape[-1] == 1:
            pixels = np.repeat(pixels, 3, axis=-1)
        segments = SegmentationAlgorithm(self.segmentation, **params)(pixels)
        # relabel to 0..n-1 (lime assumes it; SLIC may start at 1)
        return np.unique(segments, return_inverse=True)[1].reshape(segments.shape).astype(np.int32)

    def _fudged(self, image: np.ndarray, segments: np.ndarray) -> np.ndarray:
        if self.hide_color is not None:
            return np.full_like(image, self.hide_color)
        n = int(segments.max()) + 1
        flat = segments.ravel()
        counts = np.bincount(flat, minlength=n).astype(np.float64)
        means = (
            np.stack(
                [
                    np.bincount(flat, weights=image[..., c].ravel(), minlength=n)
                    for c in range(image.shape[-1])
                ],
                axis=-1,
            )
            / counts[:, None]
        )
        return means[segments].astype(np.float32)

    def _explain_one(
        self, image: np.ndarray, extras: dict[str, np.ndarray], cls: int
    ) -> LimeExplanation:
        rs = np.random.RandomState(self.seed)
        seg_seed = int(rs.randint(0, high=1000))  # the draw lime makes for its segmentation
        segments = self.segment(image, seg_seed)
        fudged = self._fudged(image, segments)
        n_features = int(segments.max()) + 1
        data = rs.randint(0, 2, self.num_samples * n_features).reshape(
            (self.num_samples, n_features)
        )
        data[0, :] = 1
        labels = np.empty((self.num_samples, self._predict.k), np.float32)
        b = self.batch_size
        for start in range(0, self.num_samples, b):
            rows = data[start : start + b].astype(bool)
            keep = rows[:, segments][..., None]  # (b, h, w, 1)
            batch = np.where(keep, image[None], fudged[None])
            ex = repeat_extras(extras, 0, len(batch))
            labels[start : start + len(batch)] = self._predict(batch, ex)
        if cls < 0:
            cls = int(np.argmax(labels[0]))
        distances = sklearn.metrics.pairwise_distances(
            data, data[0].reshape(1, -1), metric="cosine"
        ).ravel()
        width = self.kernel_width

        def kernel(d: np.ndarray) -> np.ndarray:
            return np.sqrt(np.exp(-(d**2) / width**2))

        base = lime_base.LimeBase(kernel, random_state=self.seed)
        intercept, local_exp, score, local_pred = base.explain_instance_with_data(
            data, labels, distances, cls, n_features, feature_selection="auto"
        )
        weights = np.zeros(n_features, np.float64)
        for feature, weight in local_exp:
            weights[feature] = weight
        positive = _top(weights, self.num_features, 1.0)
        negative = _top(weights, self.num_features, -1.0)
        return LimeExplanation(
            class_index=int(cls),
            segments=segments,
            weights=weights,
            intercept=float(intercept),
            score=float(score),
            local_prediction=float(np.ravel(local_pred)[0]),
            prediction=float(labels[0, cls]),
            positive_mask=np.isin(segments, positive),
            negative_mask=np.isin(segments, negative),
        )

    def explain(
        self, images: Any, class_index: int | Sequence[int] | None = None
    ) -> list[LimeExplanation]:
        """Explain each image; returns one `LimeExplanation` per image.

        Args:
            images: ``(n, h, w, c)`` or one ``(h, w, c)`` image in [0, 255]; for an
                image+metadata model a dict (the metadata is held fixed).
            class_index: the class to explain (one int, or one per image); ``None``
                explains the predicted class.
        """
        array, extras = self._predict.inputs.split(images, "LimeExplainer")
        classes = check_classes(class_index, len(array), self._predict.k, "LimeExplainer")
        return [
            self._explain_one(array[i], repeat_extras(extras, i, 1), int(classes[i]))
            for i in range(len(array))
        ]

    def __call__(self, images: Any, class_index: int | Sequence[int] | None = None) -> np.ndarray:
        """Heatmaps ``(n, h, w)`` in [0, 1]: the positive superpixel weights."""
        return np.stack([e.heatmap for e in self.explain(images, class_index)])


def _top(weights: np.ndarray, n: int, sign: float) -> np.ndarray:
    order = np.argsort(-sign * weights, kind="stable")
    return order[sign * weights[order] > 0][:n]
