"""ConvNeXt-Tiny from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

register_model(
    ModelSpec(
        name="convnext_tiny",
        family="convnext",
        # Keras ends the backbone with an automatically named LayerNormalization (the
        # last 4-D feature map): it is renamed "top_layernorm".
        builder=keras_builder("ConvNeXtTiny", "convnext_tiny", rename_last="top_layernorm"),
        backbone_name="convnext_tiny",
        input_size=(224, 224),
        min_input_size=(32, 32),
        preprocessing="none",
        gradcam_layer="top_layernorm",
        pretrained=("imagenet",),
        params=27_820_128,
        weights_source=KERAS_WEIGHTS.format(app="ConvNeXtTiny"),
        license="MIT (facebookresearch/ConvNeXt)",
        description="ConvNeXt-Tiny (LayerNorm, no BatchNorm); normalizes its input itself.",
        reference="Liu et al., A ConvNet for the 2020s, CVPR 2022",
    )
)
