"""Xception, InceptionV3 and InceptionResNetV2 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import TF_KERNELS_NOTOP, keras_spec

register_model(
    keras_spec(
        "Xception",
        name="xception",
        family="inception",
        weights_files=(TF_KERNELS_NOTOP.format("xception"),),
        input_size=(299, 299),
        min_input_size=(71, 71),
        preprocessing="tf",
        gradcam_layer="block14_sepconv2_act",
        params=20_861_480,
        license="MIT (trained by the Keras team)",
        description="Xception: depthwise-separable Inception.",
        reference="Chollet, Xception: Deep Learning with Depthwise Separable Convolutions, "
        "CVPR 2017",
    )
)
register_model(
    keras_spec(
        "InceptionV3",
        name="inception_v3",
        family="inception",
        weights_files=(TF_KERNELS_NOTOP.format("inception_v3"),),
        input_size=(299, 299),
        min_input_size=(75, 75),
        preprocessing="tf",
        gradcam_layer="mixed10",
        params=21_802_784,
        license="Apache-2.0 (trained by the Keras team)",
        description="Inception-v3.",
        reference="Szegedy et al., Rethinking the Inception Architecture for Computer "
        "Vision, CVPR 2016",
    )
)
register_model(
    keras_spec(
        "InceptionResNetV2",
        name="inception_resnet_v2",
        family="inception",
        weights_files=(TF_KERNELS_NOTOP.format("inception_resnet_v2"),),
        input_size=(299, 299),
        min_input_size=(75, 75),
        preprocessing="tf",
        gradcam_layer="conv_7b_ac",
        params=54_336_736,
        license="Apache-2.0 (trained by the Keras team)",
        description="Inception-ResNet-v2.",
        reference="Szegedy et al., Inception-v4, Inception-ResNet and the Impact of Residual "
        "Connections on Learning, AAAI 2017",
    )
)
