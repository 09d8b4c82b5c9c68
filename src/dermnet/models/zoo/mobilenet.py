"""MobileNetV2 and MobileNetV3 (Small, Large) from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

register_model(
    ModelSpec(
        name="mobilenet_v2",
        family="mobilenet",
        builder=keras_builder("MobileNetV2", "mobilenetv2_1.00_224"),
        backbone_name="mobilenetv2_1.00_224",
        input_size=(224, 224),
        min_input_size=(32, 32),
        preprocessing="tf",
        gradcam_layer="out_relu",
        pretrained=("imagenet",),
        params=2_257_984,
        weights_source=KERAS_WEIGHTS.format(app="MobileNetV2"),
        license="Apache-2.0 (TensorFlow Models weights)",
        description="MobileNetV2 (alpha 1.0): the most used backbone of skin-lesion "
        "transfer-learning notebooks; BatchNorm momentum 0.999 in Keras.",
        reference="Sandler et al., MobileNetV2: Inverted Residuals and Linear Bottlenecks, "
        "CVPR 2018",
    )
)

for _size, _params in (("small", 939_120), ("large", 2_996_352)):
    _app = f"MobileNetV3{_size.title()}"
    register_model(
        ModelSpec(
            name=f"mobilenet_v3_{_size}",
            family="mobilenet",
            # Keras' MobileNetV3 rescales to [-1, 1] itself (include_preprocessing=True), and
            # its last activation has an automatic name: it is renamed "top_activation".
            builder=keras_builder(_app, _app, rename_last="top_activation"),
            backbone_name=_app,
            input_size=(224, 224),
            min_input_size=(32, 32),
            preprocessing="none",
            gradcam_layer="top_activation",
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="Apache-2.0 (TensorFlow Models weights)",
            description=f"MobileNetV3-{_size.title()} (alpha 1.0, hard-swish); normalizes "
            "its input itself.",
            reference="Howard et al., Searching for MobileNetV3, ICCV 2019",
        )
    )
