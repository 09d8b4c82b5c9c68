"""EfficientNet B0-B7 and EfficientNetV2 B0-B3, S from ``keras.applications``.

Both families normalize their input inside the model (Keras' own preprocessing layers),
so their spec's preprocessing is ``"none"``: they take images in [0, 255].
"""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import keras_spec

#: family: (registry prefix, Keras application prefix, backbone prefix, license,
#: reference, {variant: (input size, backbone parameters)}).
_FAMILIES = {
    "efficientnet": (
        "efficientnet_",
        "EfficientNet",
        "efficientnet",
        "Apache-2.0 (Google TPU / AutoML weights)",
        "Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional Neural "
        "Networks, ICML 2019",
        {
            "b0": (224, 4_049_571),
            "b1": (240, 6_575_239),
            "b2": (260, 7_768_569),
            "b3": (300, 10_783_535),
            "b4": (380, 17_673_823),
            "b5": (456, 28_513_527),
            "b6": (528, 40_960_143),
            "b7": (600, 64_097_687),
        },
    ),
    "efficientnet_v2": (
        "efficientnet_v2_",
        "EfficientNetV2",
        "efficientnetv2-",
        "Apache-2.0 (Google AutoML weights)",
        "Tan and Le, EfficientNetV2: Smaller Models and Faster Training, ICML 2021",
        {
            "b0": (224, 5_919_312),
            "b1": (240, 6_931_124),
            "b2": (260, 8_769_374),
            "b3": (300, 12_930_622),
            "s": (384, 20_331_360),
        },
    ),
}

for _family, (_prefix, _app, _backbone, _license, _reference, _variants) in _FAMILIES.items():
    for _v, (_size, _params) in _variants.items():
        register_model(
            keras_spec(
                f"{_app}{_v.upper()}",
                name=f"{_prefix}{_v}",
                family=_family,
                backbone_name=f"{_backbone}{_v}",
                # Keras names the file after the model: "efficientnetb0_notop.h5".
                weights_files=(f"{_backbone}{_v}_notop.h5",),
                input_size=(_size, _size),
                preprocessing="none",
                gradcam_layer="top_activation",
                params=_params,
                license=_license,
                description=f"{_app}-{_v.upper()}; normalizes its input itself.",
                reference=_reference,
            )
        )
