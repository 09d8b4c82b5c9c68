"""VGG16 and VGG19 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

for _depth, _last, _params in ((16, "block5_conv3", 14_714_688), (19, "block5_conv4", 20_024_384)):
    _app = f"VGG{_depth}"
    register_model(
        ModelSpec(
            name=f"vgg{_depth}",
            family="vgg",
            builder=keras_builder(_app, f"vgg{_depth}"),
            backbone_name=f"vgg{_depth}",
            input_size=(224, 224),
            min_input_size=(32, 32),
            preprocessing="caffe",
            gradcam_layer=_last,
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="CC BY 4.0 (VGG, University of Oxford)",
            description=f"VGG-{_depth} convolutional base (no BatchNorm).",
            reference="Simonyan and Zisserman, Very Deep Convolutional Networks for "
            "Large-Scale Image Recognition, ICLR 2015",
        )
    )
