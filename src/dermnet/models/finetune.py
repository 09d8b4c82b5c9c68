"""Fine-tuning helpers: find the backbone, freeze it, unfreeze its top, count parameters.

Keras 3 runs a BatchNorm layer whose ``trainable`` is ``False`` in inference mode (it
uses and keeps its moving statistics). `freeze_backbone` and `unfreeze` keep
every BatchNorm layer of the backbone frozen by default, as the Keras transfer-learning
guide recommends: updating ImageNet statistics with small, differently distributed
medical batches destroys what the pretrained layers learned.

Changing ``trainable`` takes effect at the next ``compile`` (`dermnet.train.fit`
compiles by default).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.registry import did_you_mean
from dermnet._core.validation import check_bool, check_float, check_int, fail

__all__ = ["ParameterReport", "freeze_backbone", "get_backbone", "parameter_report", "unfreeze"]


def _is_model(layer: Any) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "get_layer")


def _is_batchnorm(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def get_backbone(model: Any) -> Any:
    """The backbone sub-model of a dermnet classifier.

    The layer named after the model's spec (``spec.backbone_name``), else the only nested
    model.

    Raises:
        ParameterError: ``model`` is not a Keras model, or has no (or several) nested models
            and no registered backbone.

    Examples:
        >>> from dermnet.models import create_model
        >>> get_backbone(create_model("simple_cnn", 2, input_shape=(16, 16, 3))).name
        'simple_cnn'
    """
    from dermnet.models.registry import MODELS

    if not _is_model(model):
        raise fail("model", "get_backbone", "a keras.Model", type(model).__name__)
    nested = [layer for layer in model.layers if _is_model(layer)]
    if model.name in MODELS:
        name = MODELS.get(model.name).backbone_name
        for layer in nested:
            if layer.name == name:
                return layer
    if len(nested) == 1:
        return nested[0]
    raise ParameterError(
        f"Model {model.name!r} has {len(nested)} nested models "
        f"({', '.join(repr(layer.name) for layer in nested) or 'none'}); expected one "
        "backbone, as in the classifiers of dermnet.models.create_model."
    )


def _backbone_layers(backbone: Any) -> list[Any]:
    import keras

    return [layer for layer in backbone.layers if not isinstance(layer, keras.layers.InputLayer)]


def _set_trainable(layer: Any, trainable: bool, train_batchnorm: bool) -> None:
    if _is_model(layer):
        layer.trainable = True
        for sub in layer.layers:
            _set_trainable(sub, trainable, train_batchnorm)
        return
    layer.trainable = trainable and (train_batchnorm or not _is_batchnorm(layer))


def freeze_backbone(model: Any) -> Any:
    """Freeze the whole backbone (BatchNorm included, so it runs in inference mode).

    The head (pooling, optional metadata branch, classifier) stays trainable.

    Returns:
        ``model``, for chaining.

    Examples:
        >>> from dermnet.models import create_model
        >>> model = freeze_backbone(create_model("simple_cnn", 2, input_shape=(16, 16, 3)))
        >>> parameter_report(model).backbone_trainable
        0
    """
    get_backbone(model).trainable = False
    return model


def unfreeze(
    model: Any,
    *,
    last_n: int | None = None,
    from_layer: str | None = None,
    fraction: float | None = None,
    train_batchnorm: bool = False,
) -> Any:
    """Make the top of the backbone trainable, keeping its BatchNorm layers frozen.

    Layers count in the backbone's order (``backbone.layers``, input layer left out), the
    convention of the Keras fine-tuning guide. Give at most one of ``last_n``,
    ``from_layer``, ``fraction``; with none, the whole backbone becomes trainable. Layers
    below the cut are frozen.

    Args:
        model: a dermnet classifier.
        last_n: unfreeze the last ``n`` layers.
        from_layer: unfreeze from this layer (by name) to the end.
        fraction: unfreeze the top fraction of the layers, in (0, 1].
        train_batchnorm: also train the BatchNorm layers (their statistics then follow
            the new data); off by default.

    Returns:
        ``model``, for chaining.

    Examples:
        >>> from dermnet.models import create_model
        >>> model = create_model("compact_cnn", 2, input_shape=(16, 16, 3))
        >>> report = parameter_report(unfreeze(freeze_backbone(model), from_layer="stage4_conv1"))
        >>> report.backbone_trainable < report.backbone_total, report.batchnorm_trainable
        (True, 0)
    """
    where = "unfreeze"
    backbone = get_backbone(model)
    layers = _backbone_layers(backbone)
    options = {"last_n": last_n, "from_layer": from_layer, "fraction": fraction}
    given = [name for name, value in options.items() if value is not None]
    if len(given) > 1:
        raise ParameterError(
            f"unfreeze takes at most one of 'last_n', 'from_layer', 'fraction'. Got {given}."
        )
    train_batchnorm = check_bool(train_batchnorm, "train_batchnorm", where)
    cut = 0
    if last_n is not None:
        last_n = check_int(last_n, "last_n", where, low=1, high=len(layers))
        cut = len(layers) - last_n
    elif fraction is not None:
        fraction = check_float(fraction, "fraction", where, low=0.0, high=1.0, low_open=True)
        cut = len(layers) - max(1, round(fraction * len(layers)))
    elif from_layer is not None:
        names = [layer.name for layer in layers]
        if from_layer not in names:
            close = did_you_mean(str(from_layer), names, n=5)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
            raise ParameterError(
                f"The 'from_layer' parameter of unfreeze must name a layer of the backbone "
                f"{backbone.name!r} ({len(names)} layers, {names[0]!r} to {names[-1]!r}). "
                f"Got {from_layer!r} instead.{hint}"
            )
        cut = names.index(from_layer)
    backbone.trainable = True
    for i, layer in enumerate(layers):
        _set_trainable(layer, i >= cut, train_batchnorm)
    return model


def _count(weights: list[Any]) -> int:
    return int(sum(int(np.prod(w.shape)) for w in weights))


@dataclasses.dataclass(frozen=True)
class ParameterReport:
    """Trainable and frozen parameters of a classifier, as `parameter_report` counts.

    Attributes:
        total: every parameter (BatchNorm moving statistics included).
        trainable: parameters the optimizer updates.
        non_trainable: ``total - trainable``.
        backbone_total: parameters of the backbone.
        backbone_trainable: trainable parameters of the backbone.
        head_trainable: trainable parameters outside the backbone.
        backbone_layers: layers of the backbone that have weights.
        backbone_trainable_layers: those of them that are trainable.
        batchnorm_layers: BatchNorm layers in the backbone.
        batchnorm_trainable: those that train (the others run in inference mode).
    """

    total: int
    trainable: int
    non_trainable: int
    backbone_total: int
    backbone_trainable: int
    head_trainable: int
    backbone_layers: int
    backbone_trainable_layers: int
    batchnorm_layers: int
    batchnorm_trainable: int

    def to_dict(self) -> dict[str, int]:
        """The fields as a dict."""
        return dataclasses.asdict(self)

    def __str__(self) -> str:
        pct = 100.0 * self.trainable / self.total if self.total else 0.0
        return "\n".join(
            [
                f"parameters: {self.total:,} ({self.trainable:,} trainable, {pct:.1f}%)",
                f"backbone:   {self.backbone_trainable:,} of {self.backbone_total:,} trainable "
                f"({self.backbone_trainable_layers} of {self.backbone_layers} layers with "
                "weights)",
                f"batchnorm:  {self.batchnorm_trainable} of {self.batchnorm_layers} layers "
                "train; the others run in inference mode",
                f"head:       {self.head_trainable:,} trainable",
            ]
        )


def parameter_report(model: Any) -> ParameterReport:
    """Count a classifier's trainable and frozen parameters, backbone and head apart.

    Examples:
        >>> from dermnet.models import create_model
        >>> report = parameter_report(create_model("simple_cnn", 3, input_shape=(16, 16, 3)))
        >>> report.total, report.backbone_total, report.head_trainable
        (93635, 93248, 387)
    """
    backbone = get_backbone(model)
    trainable = _count(model.trainable_weights)
    total = model.count_params()
    backbone_trainable = _count(backbone.trainable_weights)
    with_weights = [
        layer for layer in _all_layers(backbone) if layer.weights and not _is_model(layer)
    ]
    batchnorms = [layer for layer in with_weights if _is_batchnorm(layer)]
    return ParameterReport(
        total=total,
        trainable=trainable,
        non_trainable=total - trainable,
        backbone_total=backbone.count_params(),
        backbone_trainable=backbone_trainable,
        head_trainable=trainable - backbone_trainable,
        backbone_layers=len(with_weights),
        backbone_trainable_layers=sum(bool(layer.trainable_weights) for layer in with_weights),
        batchnorm_layers=len(batchnorms),
        batchnorm_trainable=sum(bool(layer.trainable_weights) for layer in batchnorms),
    )


def _all_layers(model: Any) -> list[Any]:
    out = []
    for layer in model.layers:
        out.append(layer)
        if _is_model(layer):
            out.extend(_all_layers(layer))
    return out
