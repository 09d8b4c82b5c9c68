"""What the zoo's from-scratch CNNs share: the backbone model and its optional weights."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["scratch_backbone"]


def scratch_backbone(
    inputs: Any, outputs: Any, name: str, weights: str | os.PathLike[str] | None
) -> Any:
    """The backbone ``keras.Model(inputs, outputs, name=name)``, with ``weights`` loaded.

    Args:
        inputs: the ``keras.Input`` of the backbone.
        outputs: its 4-D feature map.
        name: the backbone's name (``spec.backbone_name``).
        weights: ``None`` (random initialization) or the path of a ``.weights.h5`` file of
            this backbone.
    """
    import keras

    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        model.load_weights(os.fspath(weights))
    return model
