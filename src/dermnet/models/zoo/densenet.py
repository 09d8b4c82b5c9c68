"""DenseNet-121, -169 and -201 from ``keras.applications``."""

from __future__ import annotations

from dermnet.models.catalog import register_model
from dermnet.models.zoo._keras import TF_KERNELS_NOTOP, keras_spec

for _depth, _params in ((121, 7_037_504), (169, 12_642_880), (201, 18_321_984)):
    register_model(
        keras_spec(
            f"DenseNet{_depth}",
            name=f"densenet{_depth}",
            family="densenet",
            weights_files=(TF_KERNELS_NOTOP.format(f"densenet{_depth}"),),
            preprocessing="torch",
            gradcam_layer="relu",
            params=_params,
            license="BSD-3-Clause (ported from the authors' Torch release)",
            description=f"DenseNet-{_depth}.",
            reference="Huang et al., Densely Connected Convolutional Networks, CVPR 2017",
        )
    )
