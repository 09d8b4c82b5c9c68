"""Test-time augmentation: average a classifier's probabilities over flipped and rotated copies.

Skin lesions and cells have no "up": a dermoscopic image rotated by 90 degrees or mirrored
is as valid as the original, so averaging the predictions over the eight symmetries of the
square (the dihedral group) removes some of the model's orientation noise for free at
training time and at 8x the prediction cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.protocols import IMAGE_INPUT
from dermnet._core.validation import check_int, check_option

__all__ = ["TTA_TRANSFORMS", "predict_tta"]

#: The transform sets `predict_tta` knows, with the number of views each gives.
TTA_TRANSFORMS: dict[str, int] = {"none": 1, "flips": 4, "dihedral": 8}

_WHERE = "predict_tta"


def _views(images: np.ndarray, transforms: str) -> list[np.ndarray]:
    """The transformed copies of a batch (N, H, W, C), identity first."""
    if transforms == "none":
        return [images]
    if transforms == "flips":
        return [images, images[:, :, ::-1], images[:, ::-1], images[:, ::-1, ::-1]]
    out = []
    for k in range(4):
        rotated = np.rot90(images, k, axes=(1, 2))
        out += [rotated, rotated[:, :, ::-1]]
    return out


def predict_tta(
    model: Any,
    inputs: np.ndarray | Mapping[str, np.ndarray],
    *,
    transforms: str = "dihedral",
    batch_size: int = 64,
) -> np.ndarray:
    """Predict with test-time augmentation: the mean of the model's outputs over the views.

    Args:
        model: a Keras classifier (e.g. from `dermnet.models.create_model`) whose
            output is probabilities (softmax or sigmoid).
        inputs: images ``(N, H, W, C)`` as the model takes them (dermnet models: float
            0-255), or a dict ``{"image": images, "metadata": vectors}`` for image+metadata
            models; only the images are transformed.
        transforms: ``"dihedral"`` (the 8 rotations by 90 degrees and their mirror images;
            square images only), ``"flips"`` (identity, horizontal, vertical, both) or
            ``"none"`` (plain prediction).
        batch_size: images per forward pass.

    Returns:
        float32 array with the model's output shape, e.g. ``(N, num_classes)``, averaged
        over the views.

    Raises:
        ParameterError: unknown ``transforms``, non-square images with ``"dihedral"``,
            inputs that are not a 4-D batch, or a dict without an ``"image"`` entry.

    Examples:
        >>> import keras, numpy as np
        >>> inputs = keras.Input((4, 4, 1))
        >>> pooled = keras.layers.GlobalAveragePooling2D()(inputs)
        >>> model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(pooled))
        >>> x = np.random.default_rng(0).random((3, 4, 4, 1)).astype("float32")
        >>> # global pooling is orientation-invariant, so the views all agree
        >>> bool(np.allclose(predict_tta(model, x), model.predict(x, verbose=0), atol=1e-6))
        True
    """
    check_option(transforms, TTA_TRANSFORMS, "transforms", _WHERE)
    check_int(batch_size, "batch_size", _WHERE, low=1)
    if isinstance(inputs, Mapping):
        if IMAGE_INPUT not in inputs:
            raise ParameterError(
                f"The 'inputs' parameter of {_WHERE} must be an image batch or a dict with an "
                f"{IMAGE_INPUT!r} entry. Got a dict with keys {sorted(inputs)} instead."
            )
        images = np.asarray(inputs[IMAGE_INPUT])
        others = {k: np.asarray(v) for k, v in inputs.items() if k != IMAGE_INPUT}
    else:
        images, others = np.asarray(inputs), None
    if images.ndim != 4:
        raise ParameterError(
            f"The 'inputs' parameter of {_WHERE} must be a batch of images (N, H, W, C). "
            f"Got an array of shape {images.shape} instead."
        )
    if transforms == "dihedral" and images.shape[1] != images.shape[2]:
        raise ParameterError(
            f"The 'transforms' parameter of {_WHERE} can be 'dihedral' only for square "
            f"images (a 90-degree rotation changes the shape). Got images of "
            f"{images.shape[1]}x{images.shape[2]}; use transforms='flips'."
        )

    def predict(view: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(view, dtype="float32")
        x = batch if others is None else {IMAGE_INPUT: batch, **others}
        return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype="float64")

    identity, *views = _views(images, transforms)
    total = predict(identity)
    for view in views:
        total = total + predict(view)
    return (total / (1 + len(views))).astype("float32")
