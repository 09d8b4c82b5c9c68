"""`EnsembleMean`: the Keras layer that averages the outputs of an ensemble's members.

It sits at the end of the single model that `dermnet.train.build_ensemble` saves, so the
ensemble loads, predicts and exports like one model. Registered under
``"dermnet>EnsembleMean"`` for ``.keras`` round trips.
"""

from __future__ import annotations

from typing import Any

import keras

from dermnet._core.validation import check_option

__all__ = ["COMBINE_MODES", "EnsembleMean"]

#: How `EnsembleMean` combines probabilities: their mean, or the mean of their logits.
COMBINE_MODES = ("probability", "logit")

_EPS = 1e-7


@keras.saving.register_keras_serializable(package="dermnet")
class EnsembleMean(keras.layers.Layer):
    """Combine the probability outputs of several classifiers into one.

    ``"probability"`` takes the mean of the probabilities. ``"logit"`` takes the mean of
    the logits and squashes it again: for softmax outputs ``softmax(mean(log p))`` (the
    logits of a softmax are ``log p`` up to a per-row constant, so this equals the softmax
    of the mean logits), for a one-unit sigmoid output ``sigmoid(mean(logit p))``.

    Args:
        combine: ``"probability"`` or ``"logit"``.

    Examples:
        >>> import numpy as np
        >>> layer = EnsembleMean("probability")
        >>> a, b = np.array([[0.2, 0.8]]), np.array([[0.6, 0.4]])
        >>> [round(float(v), 3) for v in np.asarray(layer([a, b]))[0]]
        [0.4, 0.6]
    """

    def __init__(self, combine: str = "probability", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.combine = check_option(combine, COMBINE_MODES, "combine", "EnsembleMean")

    def call(self, inputs: Any) -> Any:
        ops = keras.ops
        stacked = ops.stack([ops.cast(x, self.compute_dtype) for x in inputs], axis=0)
        if self.combine == "probability":
            return ops.mean(stacked, axis=0)
        p = ops.clip(stacked, _EPS, 1.0 - _EPS)
        if stacked.shape[-1] == 1:
            return ops.sigmoid(ops.mean(ops.log(p) - ops.log(1.0 - p), axis=0))
        return ops.softmax(ops.mean(ops.log(p), axis=0), axis=-1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return tuple(input_shape[0])

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "combine": self.combine}
