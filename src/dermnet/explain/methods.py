"""Every explanation method by name: ``get_explainer("gradcam++", model)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dermnet._core.registry import Registry

__all__ = ["METHODS", "explain_images", "get_explainer", "list_methods"]


def _lime(model: Any, **options: Any) -> Any:
    from dermnet.explain.lime_explainer import LimeExplainer

    return LimeExplainer(model, **options)


def _shap(model: Any, **options: Any) -> Any:
    from dermnet.explain.shap_explainer import ShapExplainer

    return ShapExplainer(model, **options)


def _cam(name: str) -> Callable[..., Any]:
    def build(model: Any, **options: Any) -> Any:
        from dermnet.explain import cam

        return getattr(cam, name)(model, **options)

    build.__name__ = name
    return build


#: Explanation methods: name -> ``builder(model, **options)`` returning an explainer whose
#: ``__call__(images, class_index)`` gives heatmaps ``(n, h, w)`` in [0, 1].
METHODS: Registry[Callable[..., Any]] = Registry("explanation method")
METHODS.register("gradcam", _cam("GradCAM"))
METHODS.register("gradcam++", _cam("GradCAMPlusPlus"))
METHODS.register("scorecam", _cam("ScoreCAM"))
METHODS.register("layercam", _cam("LayerCAM"))
METHODS.register("eigencam", _cam("EigenCAM"))
METHODS.register("lime", _lime)
METHODS.register("shap", _shap)


def list_methods() -> list[str]:
    """Names of the explanation methods.

    Examples:
        >>> list_methods()
        ['eigencam', 'gradcam', 'gradcam++', 'layercam', 'lime', 'scorecam', 'shap']
    """
    return METHODS.names()


def get_explainer(method: str, model: Any, **options: Any) -> Any:
    """Build the explainer ``method`` for ``model``; ``options`` go to its constructor.

    The CAM methods take ``target_layer``, ``batch_size`` and ``score``; ``"lime"`` takes
    the `LimeExplainer` options, ``"shap"`` the
    `ShapExplainer` ones.

    Raises:
        UnknownNameError: no such method (the message lists close names).
    """
    return METHODS.get(method, where="get_explainer")(model, **options)


def explain_images(
    model: Any,
    images: Any,
    *,
    method: str = "gradcam",
    class_index: int | Sequence[int] | None = None,
    **options: Any,
) -> np.ndarray:
    """Heatmaps ``(n, h, w)`` in [0, 1] at the input resolution, with any method.

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=2, input_shape=(16, 16, 3))
        >>> explain_images(model, np.zeros((3, 16, 16, 3)), method="gradcam++").shape
        (3, 16, 16)
    """
    return np.asarray(get_explainer(method, model, **options)(images, class_index), np.float32)
