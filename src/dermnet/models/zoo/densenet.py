"""DenseNet-121, -169 and -201 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.registry import register_model
from dermnet.models.spec import ModelSpec
from dermnet.models.zoo._keras import KERAS_WEIGHTS, keras_builder

for _depth, _params in ((121, 7_037_504), (169, 12_642_880), (201, 18_321_984)):
    _app = f"DenseNet{_depth}"
    register_model(
        ModelSpec(
            name=f"densenet{_depth}",
            family="densenet",
            builder=keras_builder(_app, f"densenet{_depth}"),
            backbone_name=f"densenet{_depth}",
            input_size=(224, 224),
            min_input_size=(32, 32),
            preprocessing="torch",
            gradcam_layer="relu",
            pretrained=("imagenet",),
            params=_params,
            weights_source=KERAS_WEIGHTS.format(app=_app),
            license="BSD-3-Clause (ported from the authors' Torch release)",
            description=f"DenseNet-{_depth}.",
            reference="Huang et al., Densely Connected Convolutional Networks, CVPR 2017",
        )
    )
