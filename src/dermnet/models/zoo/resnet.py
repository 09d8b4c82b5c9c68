"""ResNet50 and ResNet-V2 (50, 101, 152) from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

register_model(
    ModelSpec(
        name="resnet50",
        family="resnet",
        builder=keras_builder("ResNet50", "resnet50"),
        backbone_name="resnet50",
        input_size=(224, 224),
        min_input_size=(32, 32),
        preprocessing="caffe",
        gradcam_layer="conv5_block3_out",
        pretrained=("imagenet",),
        params=23_587_712,
        weights_source=KERAS_WEIGHTS.format(app="ResNet50"),
        license="MIT (ported from Kaiming He's release)",
        description="ResNet-50 (v1); expects Caffe-style BGR mean-subtracted input.",
        reference="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    )
)

for _depth, _params in ((50, 23_564_800), (101, 42_626_560), (152, 58_331_648)):
    _app = f"ResNet{_depth}V2"
    register_model(
        ModelSpec(
            name=f"resnet{_depth}_v2",
            family="resnet",
            builder=keras_builder(_app, f"resnet{_depth}v2"),
            backbone_name=f"resnet{_depth}v2",
            input_size=(224, 224),
            min_input_size=(32, 32),
            preprocessing="tf",
            gradcam_layer="post_relu",
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="MIT (Keras Applications)",
            description=f"ResNet-{_depth} v2 (pre-activation).",
            reference="He et al., Identity Mappings in Deep Residual Networks, ECCV 2016",
        )
    )
