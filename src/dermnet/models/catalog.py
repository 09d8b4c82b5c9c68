"""The model catalog: the registry of `ModelSpec`s and its lookups.

`create_model` (in `dermnet.models.registry`) builds models from these specs; the zoo's
modules register the built-in ones. This module imports neither, so the zoo, the weights
finder and the data-config resolver can all look specs up without an import cycle.
"""

from __future__ import annotations

from dermnet._core.registry import Registry
from dermnet._core.validation import fail
from dermnet.models.spec import ModelSpec

__all__ = ["MODELS", "get_model_spec", "list_models", "register_model", "resolve_spec"]

#: The model registry: name -> `ModelSpec`. The zoo's modules register the built-in
#: specs; `Registry` imports them by name on the first lookup, so this module never
#: imports the zoo (which imports this module).
MODELS: Registry[ModelSpec] = Registry("model", builtins=("dermnet.models.zoo",))


def register_model(spec: ModelSpec) -> ModelSpec:
    """Register a `ModelSpec`; a duplicate name is an error."""
    if not isinstance(spec, ModelSpec):
        raise fail("spec", "register_model", "a ModelSpec", spec)
    return MODELS.register(spec.name, spec)


def list_models(pattern: str | None = None) -> list[str]:
    """Names of the registered models, e.g. ``list_models("resnet*")``.

    Examples:
        >>> list_models("mobilenet*")
        ['mobilenet_v2', 'mobilenet_v3_large', 'mobilenet_v3_small']
    """
    return MODELS.names(pattern)


def get_model_spec(name: str) -> ModelSpec:
    """The `ModelSpec` of a registered model; an unknown name gets "did you mean".

    Examples:
        >>> spec = get_model_spec("mobilenet_v2")
        >>> spec.gradcam_path, spec.input_size, spec.preprocessing
        ('mobilenetv2_1.00_224/out_relu', (224, 224), 'tf')
    """
    return MODELS.get(name, where="get_model_spec")


def resolve_spec(model: str | ModelSpec, where: str) -> ModelSpec:
    """``model`` as a `ModelSpec`: a spec as given, a name looked up in the registry.

    Args:
        model: a registered model name or a `ModelSpec`.
        where: the function that takes ``model``, for the messages.

    Raises:
        UnknownNameError: ``model`` is not a registered name (with close matches).
        ParameterError: ``model`` is neither a name nor a `ModelSpec`.
    """
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return MODELS.get(model, where=where)
    raise fail("model", where, "a registered model name or a ModelSpec", model)
