"""Builders and specs for `keras.applications` backbones (``include_top=False``).

Each builder returns the application's backbone under a fixed name (Keras' own name at
the default input size), so a classifier always contains a sub-model named
``spec.backbone_name`` whatever its input size. Keras is imported only when a builder runs.
`keras_spec` fills in what every such spec shares (the builder, ImageNet weights from
Keras, their source); the zoo's modules declare the rest.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from dermnet.models.spec import ModelSpec

__all__ = ["KERAS_WEIGHTS", "TF_KERNELS_NOTOP", "keras_builder", "keras_spec"]

#: Where the ImageNet weights of every ``keras.applications`` backbone come from.
KERAS_WEIGHTS = (
    "ImageNet-1k, downloaded by keras.applications.{app}(weights='imagenet') from "
    "storage.googleapis.com/tensorflow/keras-applications (cached in ~/.keras/models)"
)
#: The name most ``keras.applications`` give their ImageNet weights file without the top,
#: formatted with the weights' stem (``"vgg16"``, ``"resnet50v2"``).
TF_KERNELS_NOTOP = "{}_weights_tf_dim_ordering_tf_kernels_notop.h5"


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


def keras_spec(
    app: str,
    *,
    name: str,
    family: str,
    weights_files: tuple[str, ...],
    preprocessing: str,
    gradcam_layer: str,
    params: int,
    license: str,
    description: str,
    reference: str,
    backbone_name: str | None = None,
    input_size: tuple[int, int] = (224, 224),
    min_input_size: tuple[int, int] = (32, 32),
    rename_last: str | None = None,
    **options: Any,
) -> ModelSpec:
    """The `ModelSpec` of the ``keras.applications.<app>`` backbone, with ImageNet weights.

    Args:
        app: the application's name in ``keras.applications``, e.g. ``"MobileNetV2"``.
        name: the registry name.
        family: the model family.
        weights_files: the ImageNet weights file(s) Keras downloads without the top (see
            `ModelSpec`).
        preprocessing: what the model does to its [0, 255] input (see `ModelSpec`).
        gradcam_layer: the Grad-CAM layer inside the backbone.
        params: parameters of the backbone.
        license: the license of the ImageNet weights.
        description: one line for listings.
        reference: the paper.
        backbone_name: the backbone's name (Keras' own at the default size); ``name`` if
            not given.
        input_size: default ``(height, width)``.
        min_input_size: smallest ``(height, width)`` the backbone accepts.
        rename_last: see `keras_builder`.
        options: extra keyword arguments for the application (see `keras_builder`).
    """
    backbone_name = name if backbone_name is None else backbone_name
    return ModelSpec(
        name=name,
        family=family,
        builder=keras_builder(app, backbone_name, rename_last=rename_last, **options),
        backbone_name=backbone_name,
        input_size=input_size,
        min_input_size=min_input_size,
        preprocessing=preprocessing,
        gradcam_layer=gradcam_layer,
        pretrained=("imagenet",),
        weights_files=weights_files,
        params=params,
        weights_source=KERAS_WEIGHTS.format(app=app),
        license=license,
        description=description,
        reference=reference,
    )
