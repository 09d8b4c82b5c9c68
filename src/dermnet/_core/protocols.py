"""The small protocols every layer shares: model input names and binary scores.

A model that takes metadata has two named inputs, `IMAGE_INPUT` and `METADATA_INPUT`; a
`tf.data` element for it is ``({IMAGE_INPUT: images, METADATA_INPUT: rows}, labels)``.
A two-class model may output one sigmoid column; `two_class_scores` turns it into the
two probability columns every metric, report and command reads. No TensorFlow import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["IMAGE_INPUT", "METADATA_INPUT", "two_class_scores"]

#: The name of a model's image input (and of the image entry of a dataset element).
IMAGE_INPUT = "image"
#: The name of a model's metadata input (and of the metadata entry of a dataset element).
METADATA_INPUT = "metadata"


def two_class_scores(scores: Any) -> np.ndarray:
    """Scores as ``(n, classes)``: one sigmoid column ``p`` becomes ``[1 - p, p]``.

    A 1-D array, or a 2-D array with one column, is read as the probability of class 1;
    anything else is returned unchanged (as a float array, keeping a float dtype).

    Examples:
        >>> two_class_scores([0.25, 1.0]).tolist()
        [[0.75, 0.25], [0.0, 1.0]]
        >>> two_class_scores([[0.1, 0.9]]).tolist()
        [[0.1, 0.9]]
    """
    array = np.asarray(scores)
    if not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim == 2 and array.shape[1] == 1:
        return np.concatenate([1.0 - array, array], axis=1)
    return array
