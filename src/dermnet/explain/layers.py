"""Finding layers inside (nested) Keras models by path, and recording a layer's output
while the whole model runs (`capture_output`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dermnet._core.errors import ParameterError
from dermnet._core.registry import did_you_mean

__all__ = ["capture_output", "find_target_layer", "iter_layers", "resolve_layer"]


def _is_model(layer: Any) -> bool:
    return hasattr(layer, "layers") and hasattr(layer, "get_layer")


def iter_layers(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Yield ``(path, layer)`` for every layer, descending into nested models."""
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        yield path, layer
        if _is_model(layer):
            yield from iter_layers(layer, prefix=f"{path}/")


def _output_rank(layer: Any) -> int | None:
    try:
        return len(layer.output.shape)
    except (AttributeError, ValueError, RuntimeError):
        return None


def resolve_layer(model: Any, path: str) -> Any:
    """Return the layer at ``path`` (``"backbone/layer"``, any depth) or raise with close names."""
    if not isinstance(path, str) or not path:
        raise ParameterError(
            f"The 'target_layer' must be a layer path such as 'mobilenetv2_1.00_224/out_relu'. "
            f"Got {path!r} instead."
        )
    current = model
    for part in path.split("/"):
        names = [layer.name for layer in getattr(current, "layers", [])]
        if part not in names:
            every = [p for p, _ in iter_layers(model)]
            close = did_you_mean(part, every, n=5) or did_you_mean(path, every, n=5)
            hint = f" Close names: {', '.join(repr(c) for c in close)}." if close else ""
            raise ParameterError(
                f"No layer {part!r} (from path {path!r}) in model {model.name!r}.{hint}"
            )
        current = current.get_layer(part)
    return current


def find_target_layer(model: Any) -> str:
    """The default Grad-CAM layer path of ``model``.

    For a dermnet classifier, the spec's layer (``spec.gradcam_path``); otherwise the last
    layer, at any nesting depth, whose output is a 4-D feature map.

    Raises:
        ParameterError: the model has no layer with a 4-D output.
    """
    from dermnet.models import get_model_spec, list_models

    backbones = {}
    for name in list_models():
        spec = get_model_spec(name)
        backbones.setdefault(spec.backbone_name, spec)
    for path, layer in iter_layers(model):
        spec = backbones.get(layer.name)
        if spec is not None and _is_model(layer):
            candidate = f"{path}/{spec.gradcam_layer}"
            try:
                resolve_layer(model, candidate)
                return candidate
            except ParameterError:
                pass
    last = None
    for path, layer in iter_layers(model):
        if not _is_model(layer) and _output_rank(layer) == 4:
            last = path
    if last is None:
        raise ParameterError(
            f"Model {model.name!r} has no layer with a 4-D (spatial) output; Grad-CAM needs "
            "a convolutional feature map."
        )
    return last


@contextlib.contextmanager
def capture_output(layer: Any, store: dict[str, Any]) -> Iterator[None]:
    """Record ``layer``'s output during a forward pass (works at any nesting depth).

    Re-wiring a nested backbone's inner layer into a new functional model fails with
    "Graph disconnected"; recording the tensor while the whole model runs does not.
    """
    own = layer.__dict__.get("call")  # an instance-level call, if the layer had one
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        store["features"] = out
        return out

    layer.call = call
    try:
        yield
    finally:
        if own is None:
            del layer.call  # back to the class's method
        else:
            layer.call = own
