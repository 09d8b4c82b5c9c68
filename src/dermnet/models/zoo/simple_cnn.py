"""The seed-style simple CNN that skin-lesion notebooks train from scratch."""

from __future__ import annotations

import os
from typing import Any

from dermnet.models.catalog import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._scratch import scratch_backbone


def build_simple_cnn(
    input_shape: tuple[int, int, int], weights: str | os.PathLike[str] | None = None
) -> Any:
    """Three conv blocks (32, 64, 128 filters; conv-ReLU-max-pool), no BatchNorm.

    The output is the last block's 4-D feature map (``block3_conv`` feeds its pooling).
    ``weights`` is ``None`` (this model has no pretrained weights) or a path to a
    ``.weights.h5`` file of this backbone.
    """
    import keras

    inputs = keras.Input(shape=input_shape, name="input")
    x = inputs
    for i, filters in enumerate((32, 64, 128), start=1):
        x = keras.layers.Conv2D(
            filters, 3, padding="same", activation="relu", name=f"block{i}_conv"
        )(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{i}_pool")(x)
    return scratch_backbone(inputs, x, "simple_cnn", weights)


register_model(
    ModelSpec(
        name="simple_cnn",
        family="simple_cnn",
        builder=build_simple_cnn,
        backbone_name="simple_cnn",
        input_size=(64, 64),
        min_input_size=(8, 8),
        preprocessing="rescale",
        gradcam_layer="block3_conv",
        params=3 * 3 * 3 * 32 + 32 + 3 * 3 * 32 * 64 + 64 + 3 * 3 * 64 * 128 + 128,
        description="Seed-style 3-block CNN (32-64-128), the from-scratch baseline of Kaggle "
        "skin-lesion notebooks.",
        reference="The conv-pool CNN of Keras tutorials and Kaggle HAM10000 notebooks (no paper)",
    )
)
