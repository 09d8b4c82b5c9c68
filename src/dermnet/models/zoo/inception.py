"""Xception, InceptionV3 and InceptionResNetV2 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

register_model(
    ModelSpec(
        name="xception",
        family="inception",
        builder=keras_builder("Xception", "xception"),
        backbone_name="xception",
        input_size=(299, 299),
        min_input_size=(71, 71),
        preprocessing="tf",
        gradcam_layer="block14_sepconv2_act",
        pretrained=("imagenet",),
        params=20_861_480,
        weights_source=KERAS_WEIGHTS.format(app="Xception"),
        license="MIT (trained by the Keras team)",
        description="Xception: depthwise-separable Inception.",
        reference="Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, "
        "CVPR 2017",
    )
)
register_model(
    ModelSpec(
        name="inception_v3",
        family="inception",
        builder=keras_builder("InceptionV3", "inception_v3"),
        backbone_name="inception_v3",
        input_size=(299, 299),
        min_input_size=(75, 75),
        preprocessing="tf",
        gradcam_layer="mixed10",
        pretrained=("imagenet",),
        params=21_802_784,
        weights_source=KERAS_WEIGHTS.format(app="InceptionV3"),
        license="Apache-2.0 (trained by the Keras team)",
        description="Inception-v3.",
        reference="Szegedy et al., Rethinking the Inception Architecture for Computer "
        "Vision, CVPR 2016",
    )
)
register_model(
    ModelSpec(
        name="inception_resnet_v2",
        family="inception",
        builder=keras_builder("InceptionResNetV2", "inception_resnet_v2"),
        backbone_name="inception_resnet_v2",
        input_size=(299, 299),
        min_input_size=(75, 75),
        preprocessing="tf",
        gradcam_layer="conv_7b_ac",
        pretrained=("imagenet",),
        params=54_336_736,
        weights_source=KERAS_WEIGHTS.format(app="InceptionResNetV2"),
        license="Apache-2.0 (trained by the Keras team)",
        description="Inception-ResNet-v2.",
        reference="Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual "
        "Connections on Learning, AAAI 2017",
    )
)
