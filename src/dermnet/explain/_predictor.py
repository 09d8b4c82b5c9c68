"""A compiled, batched forward pass (`Predictor`) shared by LIME, SHAP, Score-CAM and the
faithfulness curves, cached per model (`predictor`).

Nothing here imports TensorFlow at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.validation import check_option
from dermnet.explain._class_scores import SCORES, logits_mode, num_outputs
from dermnet.explain._inputs import ModelInputs

__all__ = ["Predictor", "predictor", "quiet_retracing", "repeat_extras"]


class _RetracingFilter:
    """Drops TensorFlow's "triggered tf.function retracing" warning for dermnet's functions.

    Each explainer compiles its own small functions (one per model and setting), which TF
    counts as retracing of "the same" function; the warning would only alarm users.
    """

    def filter(self, record: Any) -> bool:
        message = record.getMessage()
        ours = ("_compiled", "_features_fn", "_scores_fn")
        return not (
            "triggered tf.function retracing" in message and any(o in message for o in ours)
        )


_FILTER_INSTALLED = False


def quiet_retracing() -> None:
    """Install `_RetracingFilter` on TensorFlow's logger (once)."""
    global _FILTER_INSTALLED
    if not _FILTER_INSTALLED:
        import tensorflow as tf

        tf.get_logger().addFilter(_RetracingFilter())
        _FILTER_INSTALLED = True


class Predictor:
    """A compiled, batched forward pass: ``predict(images, extras) -> scores``.

    Used by LIME, SHAP, Score-CAM and the faithfulness curves: one ``tf.function`` per
    model, called on fixed-size batches (the last batch is padded) so it is traced once.
    """

    def __init__(
        self, model: Any, *, batch_size: int = 64, score: str = "probability", where: str = ""
    ) -> None:
        self.model = model
        self.inputs = ModelInputs(model, where)
        self.batch_size = batch_size
        self.score = check_option(score, SCORES, "score", where)
        self.k = num_outputs(model, where)
        self._fn: Any = None
        self.removed_: str | None = None
        #: Images scored so far (padding excluded): the number of model evaluations.
        self.images_seen_ = 0

    def _compiled(self) -> Any:
        import tensorflow as tf

        if self._fn is None:
            quiet_retracing()
            model, inputs, use_logits = self.model, self.inputs, self.score == "logit"

            def forward(images: Any, extras: dict[str, Any]) -> Any:
                with logits_mode(model, use_logits) as removed:
                    self.removed_ = removed
                    return model(inputs.feed(images, extras), training=False)

            self._fn = tf.function(forward, reduce_retracing=True)
        return self._fn

    def __call__(self, images: np.ndarray, extras: Mapping[str, np.ndarray] | None = None) -> Any:
        """Scores ``(n, k)`` float32 for float32 images ``(n, h, w, c)``; extras row-aligned."""
        fn = self._compiled()
        extras = dict(extras or {})
        n = len(images)
        self.images_seen_ += n
        out = np.empty((n, self.k), np.float32)
        b = self.batch_size
        for start in range(0, n, b):
            stop = min(start + b, n)
            chunk = np.asarray(images[start:stop], np.float32)
            ex = {k: np.asarray(v[start:stop], np.float32) for k, v in extras.items()}
            m = len(chunk)
            size = _bucket(m, b)
            if size > m:  # pad to a few fixed sizes: the function is traced a few times only
                pad = size - m
                chunk = np.concatenate([chunk, np.repeat(chunk[-1:], pad, 0)])
                ex = {k: np.concatenate([v, np.repeat(v[-1:], pad, 0)]) for k, v in ex.items()}
            out[start:stop] = np.asarray(fn(chunk, ex))[:m]
        return out


def _bucket(m: int, b: int) -> int:
    """The padded batch size for ``m`` images: the next power of two, at most ``b``."""
    size = 1
    while size < m:
        size *= 2
    return min(size, b) if m <= b else m


_PREDICTORS: Any = None


def predictor(
    model: Any, *, batch_size: int = 64, score: str = "probability", where: str = ""
) -> Predictor:
    """A cached `Predictor` for ``model`` (one compiled function per model and setting)."""
    import weakref

    global _PREDICTORS
    if _PREDICTORS is None:
        _PREDICTORS = weakref.WeakKeyDictionary()
    try:
        cache = _PREDICTORS.setdefault(model, {})
    except TypeError:  # not weak-referenceable: no caching
        return Predictor(model, batch_size=batch_size, score=score, where=where)
    key = (batch_size, score)
    if key not in cache:
        cache[key] = Predictor(model, batch_size=batch_size, score=score, where=where)
    return cache[key]


def repeat_extras(extras: Mapping[str, np.ndarray], index: int, n: int) -> dict[str, np.ndarray]:
    """Row ``index`` of every extra input, repeated ``n`` times."""
    return {k: np.repeat(v[index : index + 1], n, axis=0) for k, v in extras.items()}
