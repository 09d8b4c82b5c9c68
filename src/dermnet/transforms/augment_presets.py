"""The named augmentation pipelines: ``augmentation("dermoscopy")`` and the others.

A pipeline is data: a list of ``(layer name, arguments)`` pairs looked up in the
`AUGMENTATIONS` registry, so this module does not import the module that defines the
layers (`dermnet.transforms.augment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from dermnet._core.errors import ParameterError
from dermnet._core.protocols import IMAGE_INPUT
from dermnet._core.registry import look_up_option
from dermnet._core.validation import check_seed
from dermnet.transforms._augment_base import AUGMENTATIONS, _Augmentation, _check_value_range

__all__ = ["augmentation", "augmenting_model", "unwrap_augmenting_model"]

_DERMOSCOPY_AFFINE = {"max_angle": 180.0, "zoom_range": (0.9, 1.1), "translate": 0.05}
_MICROSCOPY_AFFINE = {"max_angle": 180.0, "zoom_range": (0.95, 1.05), "translate": 0.05}

#: Pipeline name -> its layers, as (registered layer name, constructor arguments).
_PIPELINES: dict[str, tuple[tuple[str, dict[str, Any]], ...]] = {
    "dermoscopy": (
        ("random_flip", {}),
        ("random_affine", _DERMOSCOPY_AFFINE),
        ("random_brightness", {"max_delta": 0.1}),
        ("random_contrast", {"factor": 0.15}),
        ("random_saturation", {"factor": 0.15}),
        ("random_hue", {"max_delta": 0.02}),
    ),
    "microscopy": (
        ("random_flip", {}),
        ("random_affine", {**_MICROSCOPY_AFFINE, "fill_mode": "constant"}),
        ("random_brightness", {"max_delta": 0.1}),
        ("random_contrast", {"factor": 0.1}),
        ("random_saturation", {"factor": 0.1}),
        ("random_hue", {"max_delta": 0.03}),
    ),
    "geometric": (("random_flip", {}), ("random_rotation", {"max_angle": 180.0})),
    "flips": (("random_flip", {"mode": "horizontal_and_vertical"}),),
    # Each of the 8 symmetries with probability 1/8, in one step (the distribution of a
    # horizontal flip followed by a random number of quarter turns, at half the cost).
    "dihedral": (("random_dihedral", {}),),
}


def augmentation(
    name: str = "dermoscopy",
    *,
    seed: int | None = None,
    value_range: Sequence[float] = (0.0, 255.0),
) -> keras.Sequential:
    """A named augmentation pipeline as a ``keras.Sequential`` of dermnet layers.

    - ``"dermoscopy"``: flips, any rotation with zoom 0.9-1.1 and 5% shift (reflected
      borders), brightness ±10%, contrast ±15%, saturation ±15%, hue ±0.02.
    - ``"microscopy"``: the same with black (constant) borders, as cell crops have a
      black background, and milder zoom and colour changes.
    - ``"geometric"``: flips and any rotation only.
    - ``"flips"``: random horizontal and vertical flips only.
    - ``"dihedral"``: exactly the 8 symmetries of the square (flips and quarter turns),
      each with probability 1/8 per image: no interpolation, no borders to fill; for
      square images only.

    Pass it to ``dermnet.data.make_dataset(augment=...)`` or put it first in a model.

    Args:
        name: ``"dermoscopy"``, ``"microscopy"``, ``"geometric"``, ``"flips"`` or
            ``"dihedral"``.
        seed: base seed; layer ``i`` gets ``seed + i`` (None: unseeded).
        value_range: the images' (low, high) range.

    Examples:
        >>> import numpy as np
        >>> aug = augmentation("dermoscopy", seed=0)
        >>> aug(np.full((2, 32, 32, 3), 128.0), training=True).shape
        TensorShape([2, 32, 32, 3])
    """
    name = look_up_option(name, _PIPELINES, param="name", where="augmentation")
    seed = check_seed(seed, "seed", "augmentation")
    value_range = _check_value_range(value_range, "augmentation")
    layers = [
        AUGMENTATIONS.get(layer)(
            **kwargs, value_range=value_range, seed=None if seed is None else (seed + i) % 2**32
        )
        for i, (layer, kwargs) in enumerate(_PIPELINES[name])
    ]
    return keras.Sequential(layers, name=f"dermnet_augmentation_{name}")


def augmenting_model(
    model: keras.Model, augment: keras.layers.Layer, *, name: str | None = None
) -> keras.Model:
    """``model`` with ``augment`` applied to its image input, active only in training.

    Augmentation then runs where the model runs (on the GPU or TPU when training there),
    not in the CPU input pipeline: build the dataset with
    ``make_dataset(..., augment=aug, augment_on="model")`` (which leaves the images as
    they are) and train ``augmenting_model(model, aug)``. Keras passes ``training=True``
    to the augmentation layers in ``fit`` and ``False`` in ``predict`` and ``evaluate``,
    where the wrapped model gives exactly ``model``'s outputs. The weights are
    ``model``'s own (shared, not copied).

    Args:
        model: a built Keras model whose input is an image batch, or a dict with an
            `IMAGE_INPUT` (``"image"``) entry (image+metadata models).
        augment: a Keras layer or ``keras.Sequential`` (e.g. `augmentation`).
        name: the wrapper's name (default: ``"<model name>_augmented"``).

    Returns:
        A functional ``keras.Model`` with ``model``'s inputs and outputs.

    Raises:
        ParameterError: ``model`` has no single image input or ``"image"`` entry, or
            ``augment`` is not a Keras layer.

    Examples:
        >>> inputs = keras.Input((8, 8, 3))
        >>> model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
        >>> wrapped = augmenting_model(model, augmentation("dihedral", seed=0))
        >>> import numpy as np
        >>> x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
        >>> bool(np.allclose(wrapped.predict(x, verbose=0), model.predict(x, verbose=0)))
        True
    """
    from keras import tree

    where = "augmenting_model"
    if not isinstance(model, keras.Model):
        raise ParameterError(
            f"The 'model' parameter of {where} must be a Keras model. "
            f"Got {type(model).__name__} instead."
        )
    if not isinstance(augment, keras.layers.Layer):
        raise ParameterError(
            f"The 'augment' parameter of {where} must be a Keras layer (e.g. "
            f"augmentation('dermoscopy')). Got {type(augment).__name__} instead."
        )
    try:
        structure = model.input
    except (AttributeError, ValueError):
        raise ParameterError(
            f"The 'model' parameter of {where} must be built (have known inputs). "
            f"Got the unbuilt model {model.name!r} instead."
        ) from None

    def clone(tensor: Any) -> Any:
        return keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=tensor.name)

    inputs = tree.map_structure(clone, structure)
    if isinstance(inputs, dict):
        if IMAGE_INPUT not in inputs:
            raise ParameterError(
                f"The 'model' parameter of {where} must take an image batch or a dict with "
                f"an {IMAGE_INPUT!r} entry. Got inputs {sorted(inputs)} instead."
            )
        x: Any = {**inputs, IMAGE_INPUT: augment(inputs[IMAGE_INPUT])}
    elif isinstance(inputs, (list, tuple)):
        raise ParameterError(
            f"The 'model' parameter of {where} must take an image batch or a dict with an "
            f"{IMAGE_INPUT!r} entry. Got {len(inputs)} positional inputs instead."
        )
    else:
        x = augment(inputs)
    return keras.Model(inputs, model(x), name=name or f"{model.name}_augmented")


def unwrap_augmenting_model(model: keras.Model) -> keras.Model:
    """The model inside an `augmenting_model` wrapper; any other model as it is.

    A wrapper is recognised by its structure, so this also works on one reloaded from a
    ``.keras`` file: input layers, one augmentation (a dermnet augmentation layer or a
    ``keras.Sequential`` of them) and one inner ``keras.Model``. Runs trained with
    ``augment_on = "model"`` save this inner model as ``model.keras``: the augmentation
    does nothing at prediction time, so the deployed model leaves it out.

    Args:
        model: a Keras model.

    Returns:
        The wrapped model, or ``model``.

    Examples:
        >>> inputs = keras.Input((8, 8, 3))
        >>> model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(inputs))
        >>> wrapped = augmenting_model(model, augmentation("flips", seed=0))
        >>> unwrap_augmenting_model(wrapped) is model
        True
        >>> unwrap_augmenting_model(model) is model
        True
    """

    def augmentation_layer(layer: Any) -> bool:
        if isinstance(layer, keras.Sequential):
            return bool(layer.layers) and all(isinstance(x, _Augmentation) for x in layer.layers)
        return isinstance(layer, _Augmentation)

    layers = [x for x in getattr(model, "layers", []) if not isinstance(x, keras.layers.InputLayer)]
    if len(layers) != 2:
        return model
    inner = [x for x in layers if isinstance(x, keras.Model) and not augmentation_layer(x)]
    augmenting = [x for x in layers if augmentation_layer(x)]
    if len(inner) == 1 and len(augmenting) == 1:
        return inner[0]
    return model
