"""EfficientNet B0-B7 and EfficientNetV2 B0-B3, S from ``keras.applications``.

Both families normalize their input inside the model (Keras' own preprocessing layers),
so their spec's preprocessing is ``"none"``: they take images in [0, 255].
"""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

_V1 = {
    "b0": (224, 4_049_571),
    "b1": (240, 6_575_239),
    "b2": (260, 7_768_569),
    "b3": (300, 10_783_535),
    "b4": (380, 17_673_823),
    "b5": (456, 28_513_527),
    "b6": (528, 40_960_143),
    "b7": (600, 64_097_687),
}
for _v, (_size, _params) in _V1.items():
    _app = f"EfficientNet{_v.upper()}"
    register_model(
        ModelSpec(
            name=f"efficientnet_{_v}",
            family="efficientnet",
            builder=keras_builder(_app, f"efficientnet{_v}"),
            backbone_name=f"efficientnet{_v}",
            input_size=(_size, _size),
            min_input_size=(32, 32),
            preprocessing="none",
            gradcam_layer="top_activation",
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="Apache-2.0 (Google TPU / AutoML weights)",
            description=f"EfficientNet-{_v.upper()}; normalizes its input itself.",
            reference="Tan and Le, EfficientNet: Rethinking Model Scaling for Convolutional "
            "Neural Networks, ICML 2019",
        )
    )

_V2 = {
    "b0": (224, 5_919_312),
    "b1": (240, 6_931_124),
    "b2": (260, 8_769_374),
    "b3": (300, 12_930_622),
    "s": (384, 20_331_360),
}
for _v, (_size, _params) in _V2.items():
    _app = f"EfficientNetV2{_v.upper()}"
    register_model(
        ModelSpec(
            name=f"efficientnet_v2_{_v}",
            family="efficientnet_v2",
            builder=keras_builder(_app, f"efficientnetv2-{_v}"),
            backbone_name=f"efficientnetv2-{_v}",
            input_size=(_size, _size),
            min_input_size=(32, 32),
            preprocessing="none",
            gradcam_layer="top_activation",
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="Apache-2.0 (Google AutoML weights)",
            description=f"EfficientNetV2-{_v.upper()}; normalizes its input itself.",
            reference="Tan and Le, EfficientNetV2: Smaller Models and Faster Training, ICML 2021",
        )
    )
