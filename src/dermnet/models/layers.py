"""Keras layers dermnet puts inside its models (registered for ``.keras`` round trips)."""

from __future__ import annotations

from typing import Any

import keras

from dermnet._core.registry import look_up_option
from dermnet.models.spec import PREPROCESSING_MODES

__all__ = ["ImagePreprocessing"]

_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="dermnet")
class ImagePreprocessing(keras.layers.Layer):
    """Map images in [0, 255] to what a backbone expects, inside the model.

    Args:
        mode: one of ``"rescale"``, ``"tf"``, ``"torch"``, ``"caffe"``, ``"none"``.
    """

    def __init__(self, mode: str = "rescale", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mode = look_up_option(
            mode, PREPROCESSING_MODES, param="mode", where="ImagePreprocessing"
        )

    def call(self, inputs: Any) -> Any:
        x = keras.ops.cast(inputs, self.compute_dtype)
        if self.mode == "rescale":
            return x / 255.0
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "torch":
            return (x / 255.0 - keras.ops.array(_MEAN, x.dtype)) / keras.ops.array(_STD, x.dtype)
        if self.mode == "caffe":
            return x[..., ::-1] - keras.ops.array(_CAFFE_MEAN_BGR, x.dtype)
        return x

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}
