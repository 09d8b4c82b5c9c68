"""``compact_cnn``: a small residual CNN with BatchNorm that trains well from scratch."""

from __future__ import annotations

import os
from typing import Any

from dermnet.models.catalog import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._scratch import scratch_backbone

_WIDTHS = (32, 64, 128, 256)


def build_compact_cnn(
    input_shape: tuple[int, int, int], weights: str | os.PathLike[str] | None = None
) -> Any:
    """A stem and four residual stages (32, 64, 128, 256 filters), BatchNorm + ReLU.

    Each stage: two 3x3 conv-BN layers with a (projected) shortcut, then ReLU; stages 1-3
    end in 2x2 max pooling. The output is ``stage4_out``, a 4-D feature map at 1/8 of the
    input size. BatchNorm uses momentum 0.9 (see `dermnet.models.create_model`).
    ``weights`` is ``None`` or a path to a ``.weights.h5`` file of this backbone.
    """
    import keras

    layers = keras.layers
    inputs = keras.Input(shape=input_shape, name="input")
    x = layers.Conv2D(_WIDTHS[0], 3, padding="same", use_bias=False, name="stem_conv")(inputs)
    x = layers.BatchNormalization(momentum=0.9, name="stem_bn")(x)
    x = layers.ReLU(name="stem_relu")(x)
    for i, width in enumerate(_WIDTHS, start=1):
        p = f"stage{i}"
        shortcut = x
        if shortcut.shape[-1] != width:
            shortcut = layers.Conv2D(width, 1, use_bias=False, name=f"{p}_proj")(x)
            shortcut = layers.BatchNormalization(momentum=0.9, name=f"{p}_proj_bn")(shortcut)
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{p}_conv1")(x)
        y = layers.BatchNormalization(momentum=0.9, name=f"{p}_bn1")(y)
        y = layers.ReLU(name=f"{p}_relu1")(y)
        y = layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"{p}_conv2")(y)
        y = layers.BatchNormalization(momentum=0.9, name=f"{p}_bn2")(y)
        x = layers.Add(name=f"{p}_add")([shortcut, y])
        x = layers.ReLU(name=f"{p}_out")(x)
        if i < len(_WIDTHS):
            x = layers.MaxPooling2D(2, name=f"{p}_pool")(x)
    return scratch_backbone(inputs, x, "compact_cnn", weights)


register_model(
    ModelSpec(
        name="compact_cnn",
        family="compact_cnn",
        builder=build_compact_cnn,
        backbone_name="compact_cnn",
        input_size=(128, 128),
        min_input_size=(16, 16),
        preprocessing="rescale",
        gradcam_layer="stage4_out",
        params=1_229_280,
        description="Small residual CNN with BatchNorm (32-64-128-256, ~1.2M parameters): a "
        "stronger from-scratch baseline than simple_cnn, fast on CPU.",
        reference="In the spirit of He et al., Deep Residual Learning for Image "
        "Recognition, CVPR 2016",
    )
)
