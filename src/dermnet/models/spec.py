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
            a model whose output is a 4-D feature map; ``weights`` is ``None`` or
            ``"imagenet"``.
        backbone_name: the name of the backbone sub-model inside the classifier.
        input_size: default ``(height, width)``.
        min_input_size: smallest ``(height, width)`` the backbone accepts.
        preprocessing: one of `PREPROCESSING_MODES`, done inside the model.
        gradcam_layer: layer inside the backbone that Grad-CAM uses by default; the full
            path in a classifier is ``f"{backbone_name}/{gradcam_layer}"``.
        pretrained: weight sets available by name, e.g. ``("imagenet",)``.
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
    params: int | None = None
    weights_source: str = "none (trained from scratch)"
    license: str = "Apache-2.0"
    description: str = ""
    reference: str = ""

    @property
    def gradcam_path(self) -> str:
        """The Grad-CAM layer as a path from the classifier, ``backbone/layer``."""
        return f"{self.backbone_name}/{self.gradcam_layer}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable description (the builder is left out)."""
        out = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "builder"
        }
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}
