"""ResNet50 and ResNet-V2 (50, 101, 152) from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import TF_KERNELS_NOTOP, keras_spec

register_model(
    keras_spec(
        "ResNet50",
        name="resnet50",
        family="resnet",
        weights_files=(TF_KERNELS_NOTOP.format("resnet50"),),
        preprocessing="caffe",
        gradcam_layer="conv5_block3_out",
        params=23_587_712,
        license="MIT (ported from Kaiming He's release)",
        description="ResNet-50 (v1); expects Caffe-style BGR mean-subtracted input.",
        reference="He et al., Deep Residual Learning for Image Recognition, CVPR 2016",
    )
)

for _depth, _params in ((50, 23_564_800), (101, 42_626_560), (152, 58_331_648)):
    register_model(
        keras_spec(
            f"ResNet{_depth}V2",
            name=f"resnet{_depth}_v2",
            family="resnet",
            backbone_name=f"resnet{_depth}v2",
            weights_files=(TF_KERNELS_NOTOP.format(f"resnet{_depth}v2"),),
            preprocessing="tf",
            gradcam_layer="post_relu",
            params=_params,
            license="MIT (Keras Applications)",
            description=f"ResNet-{_depth} v2 (pre-activation).",
            reference="He et al., Identity Mappings in Deep Residual Networks, ECCV 2016",
        )
    )
