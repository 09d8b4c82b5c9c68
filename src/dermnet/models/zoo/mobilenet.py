"""MobileNetV2 and MobileNetV3 (Small, Large) from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import keras_spec

register_model(
    keras_spec(
        "MobileNetV2",
        name="mobilenet_v2",
        family="mobilenet",
        backbone_name="mobilenetv2_1.00_224",
        # Keras has MobileNetV2 weights for square inputs of these sides (224 otherwise).
        weights_files=tuple(
            f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
            for rows in (224, 96, 128, 160, 192)
        ),
        preprocessing="tf",
        gradcam_layer="out_relu",
        params=2_257_984,
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
        keras_spec(
            _app,
            name=f"mobilenet_v3_{_size}",
            family="mobilenet",
            backbone_name=_app,
            weights_files=(f"weights_mobilenet_v3_{_size}_224_1.0_float_no_top_v2.h5",),
            # Keras' MobileNetV3 rescales to [-1, 1] itself (include_preprocessing=True), and
            # its last activation has an automatic name: it is renamed "top_activation".
            preprocessing="none",
            gradcam_layer="top_activation",
            rename_last="top_activation",
            params=_params,
            license="Apache-2.0 (TensorFlow Models weights)",
            description=f"MobileNetV3-{_size.title()} (alpha 1.0, hard-swish); normalizes "
            "its input itself.",
            reference="Howard et al., Searching for MobileNetV3, ICCV 2019",
        )
    )
