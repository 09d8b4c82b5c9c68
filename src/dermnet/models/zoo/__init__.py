"""Backbone families; importing this package registers every model spec.

Builders import Keras only when called, so listing models stays cheap.
"""

from dermnet.models.zoo import (
    compact_cnn,
    convnext,
    densenet,
    efficientnet,
    fast_cnn,
    inception,
    mobilenet,
    resnet,
    simple_cnn,
    vgg,
)

__all__: list[str] = []
