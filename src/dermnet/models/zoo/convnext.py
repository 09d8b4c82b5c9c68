"""ConvNeXt-Tiny from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import keras_spec

register_model(
    keras_spec(
        "ConvNeXtTiny",
        name="convnext_tiny",
        family="convnext",
        weights_files=("convnext_tiny_notop.h5",),
        preprocessing="none",
        # Keras ends the backbone with an automatically named LayerNormalization (the
        # last 4-D feature map): it is renamed "top_layernorm".
        gradcam_layer="top_layernorm",
        rename_last="top_layernorm",
        params=27_820_128,
        license="MIT (facebookresearch/ConvNeXt)",
        description="ConvNeXt-Tiny (LayerNorm, no BatchNorm); normalizes its input itself.",
        reference="Liu et al., A ConvNet for the 2020s, CVPR 2022",
    )
)
