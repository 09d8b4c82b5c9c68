"""VGG16 and VGG19 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import TF_KERNELS_NOTOP, keras_spec

for _depth, _last, _params in ((16, "block5_conv3", 14_714_688), (19, "block5_conv4", 20_024_384)):
    register_model(
        keras_spec(
            f"VGG{_depth}",
            name=f"vgg{_depth}",
            family="vgg",
            weights_files=(TF_KERNELS_NOTOP.format(f"vgg{_depth}"),),
            preprocessing="caffe",
            gradcam_layer=_last,
            params=_params,
            license="CC BY 4.0 (VGG, University of Oxford)",
            description=f"VGG-{_depth} convolutional base (no BatchNorm).",
            reference="Simonyan and Zisserman, Very Deep Convolutional Networks for "
            "Large-Scale Image Recognition, ICLR 2015",
        )
    )
