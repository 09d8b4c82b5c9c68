"""`ModelSpec`: what dermnet knows about each backbone."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["PREPROCESSING_MODES", "ModelSpec"]

#: How a backbone expects its input, applied inside the model to images in [0, 255]:
#: ``rescale`` -> [0, 1]; ``tf`` -> [-1, 1]; ``torch`` -> ImageNet mean/std;
#: ``caffe`` -> BGR minus ImageNet mean; ``none`` -> unchanged (the backbone normalizes).
PREPROCESSING_MODES = ("rescale", "tf", "torch", "caffe", "none")


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """Facts about one registered backbone.

    Attributes:
        name: registry name, e.g. ``"mobilenet_v2"``.
        family: model family, e.g. ``"mobilenet"``.
        builder: ``builder(input_shape, weights) -> keras.Model`` returning the backbone,
            a model whose output is a 4-D feature map; ``weights`` is ``None``, a name in
            ``pretrained`` (``"imagenet"``) or the path of a weights file.
        backbone_name: the name of the backbone sub-model inside the classifier.
        input_size: default ``(height, width)``.
        min_input_size: smallest ``(height, width)`` the backbone accepts.
        preprocessing: one of `PREPROCESSING_MODES`, done inside the model.
        gradcam_layer: layer inside the backbone that Grad-CAM uses by default; the full
            path in a classifier is ``f"{backbone_name}/{gradcam_layer}"``.
        pretrained: weight sets available by name, e.g. ``("imagenet",)``.
        weights_files: the names of the ImageNet weights files (without the top) that
            Keras downloads for ``weights="imagenet"`` and caches in ``~/.keras/models``,
            e.g. ``"vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"``; one file, or one
            per input size Keras has weights for (MobileNetV2), the default size's first.
            `dermnet.models.find_weights` looks for them on disk.
        params: parameters of the backbone without a head (``None`` if not recorded).
        weights_source: where pretrained weights come from.
        license: the license of the architecture's reference weights.
        description: one line for listings.
        reference: the paper.
    """

    name: str
    family: str
    builder: Callable[..., Any] = dataclasses.field(repr=False, compare=False)
    backbone_name: str
    input_size: tuple[int, int]
    min_input_size: tuple[int, int]
    preprocessing: str
    gradcam_layer: str
    pretrained: tuple[str, ...] = ()
    weights_files: tuple[str, ...] = ()
    params: int | None = None
    weights_source: str = "none (trained from scratch)"
    license: str = "Apache-2.0"
    description: str = ""
    reference: str = ""

    @property
    def gradcam_path(self) -> str:
        """The Grad-CAM layer as a path from the classifier, ``backbone/layer``."""
        return f"{self.backbone_name}/{self.gradcam_layer}"

    def weights_file(self, input_size: tuple[int, int] | None = None) -> str | None:
        """The name of the ImageNet weights file Keras loads at ``input_size``.

        With one file per input size, Keras picks the one named for a square input's side
        (``..._1.0_160_no_top.h5``) and the default size's file otherwise; so does this.

        Args:
            input_size: ``(height, width)``; defaults to the spec's ``input_size``.

        Returns:
            A file name, or ``None`` if the model has no ImageNet weights files.

        Examples:
            >>> from dermnet.models import get_model_spec
            >>> get_model_spec("mobilenet_v2").weights_file((160, 160))
            'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5'
            >>> get_model_spec("mobilenet_v2").weights_file((150, 150))
            'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5'
        """
        if not self.weights_files:
            return None
        height, width = self.input_size if input_size is None else input_size
        if len(self.weights_files) > 1 and height == width:
            for file in self.weights_files:
                if f"_{height}_" in file:
                    return file
        return self.weights_files[0]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description (the builder is left out)."""
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "builder"
        }
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
