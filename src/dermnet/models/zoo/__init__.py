"""Backbone families; importing this package registers every model spec.

Builders import Keras only when called, so listing models stays cheap.
"""

from dermnet.models.zoo import simple_cnn

__all__: list[str] = []
