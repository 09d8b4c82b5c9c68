"""Builders for `keras.applications` backbones (``include_top=False``).

Each builder returns the application's backbone under a fixed name (Keras' own name at
the default input size), so a classifier always contains a sub-model named
``spec.backbone_name`` whatever its input size. Keras is imported only when a builder runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

__all__ = ["KERAS_WEIGHTS", "keras_builder"]

#: Where the ImageNet weights of every ``keras.applications`` backbone come from.
KERAS_WEIGHTS = (
    "ImageNet-1k, downloaded by keras.applications.{app}(weights='imagenet') from "
    "storage.googleapis.com/tensorflow/keras-applications (cached in ~/.keras/models)"
)


def keras_builder(
    app: str,
    backbone_name: str,
    *,
    rename_last: str | None = None,
    **options: Any,
) -> Callable[..., Any]:
    """Return ``builder(input_shape, weights)`` for ``keras.applications.<app>``.

    Args:
        app: the application's name in ``keras.applications``, e.g. ``"MobileNetV2"``.
        backbone_name: the name given to the backbone model.
        rename_last: a stable name for the backbone's last layer when Keras gives it an
            automatic one (``activation_17``), so that Grad-CAM can find it by name.
        options: extra keyword arguments for the application (``include_preprocessing``).
    """

    def build(
        input_shape: tuple[int, int, int], weights: str | os.PathLike[str] | None = None
    ) -> Any:
        import keras

        factory = getattr(keras.applications, app)
        model = factory(
            include_top=False,
            weights=os.fspath(weights) if isinstance(weights, os.PathLike) else weights,
            input_shape=tuple(input_shape),
            name=backbone_name,
            **options,
        )
        if rename_last is not None:
            model.layers[-1].name = rename_last
        return model

    build.__name__ = f"build_{backbone_name}"
    build.__doc__ = f"The ``keras.applications.{app}`` backbone (``include_top=False``)."
    return build
