"""The model registry and `create_model`."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dermnet._core.errors import DermnetError, MissingFileError, ParameterError
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet._core.registry import did_you_mean
from dermnet._core.validation import check_float, check_int, check_option, fail
from dermnet.models.catalog import (
    MODELS,
    get_model_spec,
    list_models,
    register_model,
    resolve_spec,
)
from dermnet.models.spec import ModelSpec

if TYPE_CHECKING:
    import keras

__all__ = [
    "BINARY_OUTPUTS",
    "MODELS",
    "create_model",
    "get_model_spec",
    "list_models",
    "register_model",
    "resolve_spec",
]

#: How a two-class model outputs its prediction (see `create_model`).
BINARY_OUTPUTS = ("softmax", "sigmoid")
#: BatchNorm momentum that ``bn_momentum="auto"`` gives a backbone trained from scratch,
#: and one that starts from pretrained weights (see `create_model`).
AUTO_BN_MOMENTUM = {"scratch": 0.9, "pretrained": 0.99}
_WEIGHT_SUFFIXES = (".weights.h5", ".keras", ".h5")


def _check_input_shape(spec: ModelSpec, input_shape: Any) -> tuple[int, int, int]:
    where = "create_model"
    if input_shape is None:
        return (*spec.input_size, 3)
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or any(not isinstance(v, int) or isinstance(v, bool) for v in input_shape)
        or input_shape[2] != 3
    ):
        raise fail(
            "input_shape", where, "a (height, width, 3) tuple of ints (RGB images)", input_shape
        )
    if input_shape[0] < spec.min_input_size[0] or input_shape[1] < spec.min_input_size[1]:
        raise ParameterError(
            f"The 'input_shape' parameter of create_model is too small for {spec.name!r}: "
            f"it must be at least {spec.min_input_size[0]}x{spec.min_input_size[1]}. "
            f"Got {input_shape[0]}x{input_shape[1]} instead."
        )
    return (int(input_shape[0]), int(input_shape[1]), 3)


def _check_weights(spec: ModelSpec, weights: Any) -> tuple[str | None, Path | None]:
    """Split ``weights`` into a named weight set or a local file (checked)."""
    if weights is None:
        return None, None
    if isinstance(weights, str) and weights.lower() in spec.pretrained:
        return weights.lower(), None
    options = ["None", *map(repr, spec.pretrained), "a path to a .weights.h5, .keras or .h5 file"]
    must = ", ".join(options)
    if not isinstance(weights, (str, os.PathLike)):
        raise fail("weights", "create_model", must, weights)
    path = Path(weights).expanduser()
    if path.is_file():
        if not path.name.endswith(_WEIGHT_SUFFIXES):
            raise ParameterError(
                f"The weights file {path} given to create_model for {spec.name!r} must "
                f"end in {', '.join(_WEIGHT_SUFFIXES)}."
            )
        return None, path
    looks_like_path = os.sep in str(path) or "/" in str(weights) or "." in str(weights)
    if looks_like_path:
        raise MissingFileError(
            f"The weights file given as 'weights' to create_model does not exist: {path}"
        )
    if not spec.pretrained:
        hint = f" {spec.name!r} has no pretrained weights: use None (train from scratch)."
    else:
        close = did_you_mean(str(weights), spec.pretrained)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise ParameterError(
        f"The 'weights' parameter of create_model for {spec.name!r} must be {must}. "
        f"Got {weights!r} instead.{hint}"
    )


def _check_bn_momentum(value: Any, pretrained: bool) -> float | None:
    if isinstance(value, str):
        check_option(value, ("auto",), "bn_momentum", "create_model")
        return AUTO_BN_MOMENTUM["pretrained" if pretrained else "scratch"]
    return check_float(
        value,
        "bn_momentum",
        "create_model",
        low=0.0,
        high=1.0,
        high_open=True,
        allow_none=True,
    )


def create_model(
    name: str,
    num_classes: int,
    *,
    input_shape: tuple[int, int, int] | None = None,
    weights: str | os.PathLike[str] | None = None,
    dropout: float = 0.0,
    metadata_dim: int | None = None,
    binary_output: str = "softmax",
    bn_momentum: float | str | None = "auto",
) -> keras.Model:
    """Build a classifier: in-model preprocessing, a named backbone, and a head.

    The model takes images as loaded, float in [0, 255], shape ``(batch, h, w, 3)``.
    Its layers are ``image`` (input) -> ``preprocessing`` -> the backbone (a nested model
    named ``spec.backbone_name`` at every input size) -> ``avg_pool`` -> optional
    ``dropout`` -> ``predictions``.

    With ``metadata_dim``, the model has a second input ``metadata`` (a float32 vector of
    that length, e.g. from ``dermnet.data.MetadataEncoder``) that passes two dense layers
    (``metadata_dense1``: 64, ``metadata_dense2``: 32, ReLU) and is concatenated with the
    pooled image features (``fusion``) before the head; the model then takes a dict
    ``{"image": images, "metadata": vectors}`` (the keys are
    `dermnet._core.protocols.IMAGE_INPUT` and ``METADATA_INPUT``).

    BatchNorm: Keras gives MobileNetV2/V3 a BatchNorm momentum of 0.999, so after a few
    hundred training steps from scratch the moving statistics still describe the random
    initial weights, and inference-mode predictions collapse onto one class.
    ``bn_momentum="auto"`` (the default) sets every BatchNorm layer of the backbone to
    0.9 when training from scratch (``weights=None``) and to 0.99 otherwise; pass a
    number to choose, or ``None`` to keep the backbone's own values. See
    `dermnet.models.recalibrate_batchnorm` for the other remedy.

    Args:
        name: a registered model name (see `list_models`).
        num_classes: number of classes, >= 2.
        input_shape: ``(height, width, 3)``; defaults to the spec's input size; at least
            the spec's ``min_input_size``.
        weights: ``None`` (random init), ``"imagenet"`` (only for models that have them:
            the local copy `find_weights` finds in ``$DERMNET_WEIGHTS_DIR`` or Keras'
            cache ``~/.keras/models``, else downloaded by Keras) or a local file: a
            ``.weights.h5`` or ``.keras`` file saved from a dermnet model built with the same
            arguments, or backbone weights (a ``.weights.h5`` saved from the backbone, or
            Keras' own ImageNet ``..._notop.h5`` file for offline use).
        dropout: dropout rate before the classifier, in [0, 1).
        metadata_dim: length of the metadata vector, or ``None`` for an image-only model.
        binary_output: for ``num_classes=2``: ``"softmax"`` (two probabilities, the
            default) or ``"sigmoid"`` (one unit, the probability of class 1).
        bn_momentum: ``"auto"``, a momentum in [0, 1), or ``None`` (see above).

    Returns:
        An uncompiled ``keras.Model`` named ``name``.

    Raises:
        UnknownNameError: ``name`` is not registered (with close matches).
        ParameterError: bad arguments, an input smaller than the backbone accepts, or a
            weights file that does not fit this architecture (the message says what was
            expected).

    Examples:
        >>> model = create_model("simple_cnn", num_classes=7, input_shape=(32, 32, 3))
        >>> model.output_shape
        (None, 7)
        >>> fused = create_model("simple_cnn", 2, input_shape=(32, 32, 3), metadata_dim=5,
        ...                      binary_output="sigmoid")
        >>> [tuple(t.shape) for t in fused.inputs], fused.output_shape
        ([(None, 32, 32, 3), (None, 5)], (None, 1))
    """
    import keras

    from dermnet.models.batchnorm import set_bn_momentum
    from dermnet.models.layers import ImagePreprocessing
    from dermnet.models.weights import find_weights

    where = "create_model"
    spec = get_model_spec(name)
    num_classes = check_int(num_classes, "num_classes", where, low=2)
    dropout = check_float(dropout, "dropout", where, low=0.0, high=1.0, high_open=True)
    metadata_dim = check_int(metadata_dim, "metadata_dim", where, low=1, allow_none=True)
    binary_output = check_option(binary_output, BINARY_OUTPUTS, "binary_output", where)
    if binary_output == "sigmoid" and num_classes != 2:
        raise ParameterError(
            "The 'binary_output' parameter of create_model can be 'sigmoid' only for two "
            f"classes. Got binary_output='sigmoid' with num_classes={num_classes} instead."
        )
    input_shape = _check_input_shape(spec, input_shape)
    named, path = _check_weights(spec, weights)
    momentum = _check_bn_momentum(bn_momentum, pretrained=named is not None or path is not None)
    if named is not None:  # a local copy (see find_weights) spares Keras the download
        path = find_weights(spec, named, input_size=input_shape[:2])
        named = None if path is not None else named

    legacy_h5 = path is not None and not path.name.endswith((".weights.h5", ".keras"))
    try:
        backbone = spec.builder(input_shape, path if legacy_h5 else named)
    except Exception as exc:  # Keras raises ValueError, KeyError, OSError for bad files
        if not legacy_h5 or isinstance(exc, DermnetError):
            raise
        raise ParameterError(
            f"The weights file {path} does not match the {spec.name!r} backbone "
            f"({spec.backbone_name}): expected Keras' own weights file for it without the "
            f"top (e.g. ..._notop.h5). Keras reported: {exc}"
        ) from exc
    if momentum is not None:
        set_bn_momentum(backbone, momentum)

    image = keras.Input(shape=input_shape, name=IMAGE_INPUT)
    x = ImagePreprocessing(spec.preprocessing, name="preprocessing")(image)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    inputs: Any = image
    if metadata_dim is not None:
        metadata = keras.Input(shape=(metadata_dim,), name=METADATA_INPUT)
        m = keras.layers.Dense(64, activation="relu", name="metadata_dense1")(metadata)
        m = keras.layers.Dense(32, activation="relu", name="metadata_dense2")(m)
        x = keras.layers.Concatenate(name="fusion")([x, m])
        inputs = {IMAGE_INPUT: image, METADATA_INPUT: metadata}
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    if binary_output == "sigmoid":
        outputs = keras.layers.Dense(1, activation="sigmoid", name="predictions", dtype="float32")(
            x
        )
    else:
        outputs = keras.layers.Dense(
            num_classes, activation="softmax", name="predictions", dtype="float32"
        )(x)
    model = keras.Model(inputs, outputs, name=name)
    if path is not None and not legacy_h5:
        _load_local_weights(model, backbone, path, spec, num_classes, input_shape, metadata_dim)
    return model


def _load_local_weights(
    model: Any,
    backbone: Any,
    path: Path,
    spec: ModelSpec,
    num_classes: int,
    input_shape: tuple[int, int, int],
    metadata_dim: int | None,
) -> None:
    """Load a classifier's weights, else a backbone's; explain what was expected."""
    errors = []
    targets = [("classifier", model)]
    if path.name.endswith(".weights.h5"):
        targets.append(("backbone", backbone))
    for what, target in targets:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Keras warns per skipped container
                target.load_weights(path)
            return
        except Exception as exc:
            errors.append(f"as {what} weights: {str(exc).splitlines()[0]}")
    built = f"create_model({spec.name!r}, num_classes={num_classes}, input_shape={input_shape}"
    if metadata_dim is not None:
        built += f", metadata_dim={metadata_dim}"
    raise ParameterError(
        f"The weights file {path} does not match {built}). Expected the weights of a model "
        f"built with the same name, num_classes, metadata_dim and binary_output (saved with "
        f"model.save_weights or model.save), or of the {spec.backbone_name!r} backbone "
        f"alone. Loading failed {'; '.join(errors)}."
    )
