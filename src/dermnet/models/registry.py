"""The model registry and :func:`create_model`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from dermnet._core.errors import ParameterError
from dermnet._core.registry import Registry
from dermnet._core.validation import check_float, check_int, fail
from dermnet.models.spec import ModelSpec

if TYPE_CHECKING:
    import keras

__all__ = ["MODELS", "create_model", "get_model_spec", "list_models", "register_model"]

#: The model registry: name -> :class:`ModelSpec`.
MODELS: Registry[ModelSpec] = Registry("model")
_zoo_loaded = False


def _load_zoo() -> None:
    global _zoo_loaded
    if not _zoo_loaded:
        _zoo_loaded = True
        import dermnet.models.zoo  # noqa: F401  (registers the specs)


def register_model(spec: ModelSpec) -> ModelSpec:
    """Register a :class:`ModelSpec`; a duplicate name is an error."""
    if not isinstance(spec, ModelSpec):
        raise fail("spec", "register_model", "a ModelSpec", spec)
    return MODELS.register(spec.name, spec)


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, e.g. ``list_models("resnet*")``."""
    _load_zoo()
    return MODELS.names(pattern)


def get_model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` of a registered model; an unknown name gets "did you mean"."""
    _load_zoo()
    return MODELS.get(name, where="get_model_spec")


def create_model(
    name: str,
    num_classes: int,
    *,
    input_shape: tuple[int, int, int] | None = None,
    weights: str | os.PathLike[str] | None = None,
    dropout: float = 0.0,
) -> keras.Model:
    """Build a classifier: in-model preprocessing, a named backbone, and a head.

    The model takes images as loaded, float in [0, 255], shape ``(batch, h, w, 3)``.
    Its layers are ``image`` (input) -> ``preprocessing`` -> the backbone (a nested model
    named ``spec.backbone_name``) -> ``avg_pool`` -> optional ``dropout`` ->
    ``predictions`` (softmax over ``num_classes``).

    Args:
        name: a registered model name (see :func:`list_models`).
        num_classes: number of classes, >= 2.
        input_shape: ``(height, width, 3)``; defaults to the spec's input size.
        weights: ``None`` (random init), ``"imagenet"`` (downloaded by Keras; only for
            models that have them) or a path to a ``.weights.h5`` file saved from a model of
            the same architecture.
        dropout: dropout rate before the classifier, in [0, 1).

    Returns:
        An uncompiled ``keras.Model`` named ``name``.

    Example:
        >>> model = create_model("simple_cnn", num_classes=7, input_shape=(32, 32, 3))
        >>> model.output_shape
        (None, 7)
    """
    import keras

    from dermnet.models.layers import ImagePreprocessing

    where = "create_model"
    spec = get_model_spec(name)
    num_classes = check_int(num_classes, "num_classes", where, low=2)
    dropout = check_float(dropout, "dropout", where, low=0.0, high=1.0, high_open=True)
    if input_shape is None:
        input_shape = (*spec.input_size, 3)
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or input_shape[2] != 3
        or any(not isinstance(v, int) or isinstance(v, bool) for v in input_shape)
    ):
        raise fail("input_shape", where, "a (height, width, 3) tuple of ints", input_shape)
    if input_shape[0] < spec.min_input_size[0] or input_shape[1] < spec.min_input_size[1]:
        raise ParameterError(
            f"The 'input_shape' parameter of create_model is too small for {name!r}: "
            f"it must be at least {spec.min_input_size[0]}x{spec.min_input_size[1]}. "
            f"Got {input_shape[0]}x{input_shape[1]} instead."
        )
    path = None
    if weights is not None and not (isinstance(weights, str) and weights in spec.pretrained):
        if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
            path = os.fspath(weights)
        else:
            options = ["None", *map(repr, spec.pretrained), "a path to a .weights.h5 file"]
            raise ParameterError(
                f"The 'weights' parameter of create_model for {name!r} must be "
                f"{', '.join(options)}. Got {weights!r} instead (no such weight set or file)."
            )
    backbone_weights = weights if path is None else None
    backbone = spec.builder(tuple(input_shape), backbone_weights)
    inputs = keras.Input(shape=tuple(input_shape), name="image")
    x = ImagePreprocessing(spec.preprocessing, name="preprocessing")(inputs)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name=name)
    if path is not None:
        try:
            model.load_weights(path)
        except Exception as exc:
            raise ParameterError(
                f"The weights file {path} does not match {name!r} with num_classes="
                f"{num_classes} and input_shape={tuple(input_shape)}: {exc}"
            ) from exc
    return model
