"""The shared suite: every registered model, built with weights=None at a small valid input.

Parametrized over ``list_models()``, so a new model is tested the day it is registered;
``BACKBONES`` below must list it too (the guard fails otherwise), because the backbone
name is a contract: ``dermnet.explain`` finds the Grad-CAM layer through it.

Each model is built once per run and checked for: the backbone name at a non-default input
size, the Grad-CAM layer, parameter count against the spec, forward pass shape and
probabilities, freeze/unfreeze trainable counts, and save/load equality. The ``.keras``
round trip (config + weights) runs for every model except the deep variants listed in
``SIBLINGS``: Keras builds them with the same function as a smaller registered sibling that
does the full round trip, and rebuilding 500-800 layers from a config takes tens of
seconds, so they round-trip their weights file instead (every variable saved, the model
zeroed, reloaded, same outputs). Models above 15M backbone parameters are marked slow;
they still run in the default test command. The deep variants are marked slow and heavy:
their sibling runs the same Keras builder through every check, so the default command
leaves them out and ``scripts/test -m heavy`` (or ``-m ""``) builds them.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

from dermnet.models import (
    ModelSpec,
    create_model,
    freeze_backbone,
    get_backbone,
    get_model_spec,
    list_models,
    load_model,
    parameter_report,
    unfreeze,
)
from dermnet.models.spec import PREPROCESSING_MODES

#: name -> the backbone's name inside the classifier (Keras' own name at the default size).
BACKBONES = {
    "simple_cnn": "simple_cnn",
    "compact_cnn": "compact_cnn",
    "fast_cnn": "fast_cnn",
    "mobilenet_v2": "mobilenetv2_1.00_224",
    "mobilenet_v3_small": "MobileNetV3Small",
    "mobilenet_v3_large": "MobileNetV3Large",
    "resnet50": "resnet50",
    "resnet50_v2": "resnet50v2",
    "resnet101_v2": "resnet101v2",
    "resnet152_v2": "resnet152v2",
    "vgg16": "vgg16",
    "vgg19": "vgg19",
    "xception": "xception",
    "inception_v3": "inception_v3",
    "inception_resnet_v2": "inception_resnet_v2",
    "densenet121": "densenet121",
    "densenet169": "densenet169",
    "densenet201": "densenet201",
    **{f"efficientnet_b{i}": f"efficientnetb{i}" for i in range(8)},
    **{f"efficientnet_v2_{v}": f"efficientnetv2-{v}" for v in ("b0", "b1", "b2", "b3", "s")},
    "convnext_tiny": "convnext_tiny",
}
HEAVY = 15_000_000
#: deep variant -> the smaller sibling built by the same Keras function (full round trip).
SIBLINGS = {
    **{f"efficientnet_b{i}": "efficientnet_b0" for i in range(1, 8)},
    **{f"efficientnet_v2_{v}": "efficientnet_v2_b0" for v in ("b1", "b2", "b3", "s")},
    "densenet169": "densenet121",
    "densenet201": "densenet121",
    "resnet101_v2": "resnet50_v2",
    "resnet152_v2": "resnet50_v2",
}


def _params(name: str) -> pytest.param:
    spec = get_model_spec(name)
    if name in SIBLINGS:  # the sibling's full run covers the Keras builder
        marks = [pytest.mark.slow, pytest.mark.heavy]
    else:
        marks = [pytest.mark.slow] if (spec.params or 0) > HEAVY else []
    return pytest.param(name, marks=marks, id=name)


MODELS = [_params(name) for name in list_models()]


def _shape(spec: ModelSpec) -> tuple[int, int, int]:
    # The smallest valid input, but not square and not the default: the backbone must keep
    # its name at any size.
    return (spec.min_input_size[0], spec.min_input_size[1] + 8, 3)


_cache: dict[str, object] = {}


def _model(name: str):
    """Each model is built once per test run (the big ones take seconds)."""
    if name not in _cache:
        _cache.clear()
        gc.collect()
        _cache[name] = create_model(name, 3, input_shape=_shape(get_model_spec(name)))
    return _cache[name]


def test_guard_every_registered_model_is_listed_here():
    assert sorted(BACKBONES) == list_models(), (
        "Add new models to BACKBONES in tests/models/test_zoo.py (with their backbone name)."
    )
    assert len(list_models()) >= 32
    for deep, sibling in SIBLINGS.items():
        assert sibling in BACKBONES
        assert sibling not in SIBLINGS
        assert get_model_spec(deep).family == get_model_spec(sibling).family


@pytest.mark.parametrize("name", list_models())
def test_spec_is_consistent(name):
    spec = get_model_spec(name)
    assert spec.name == name
    assert spec.backbone_name == BACKBONES[name]
    assert spec.preprocessing in PREPROCESSING_MODES
    assert spec.min_input_size[0] <= spec.input_size[0]
    assert spec.min_input_size[1] <= spec.input_size[1]
    assert spec.params is not None
    assert spec.params > 0
    assert spec.gradcam_path == f"{spec.backbone_name}/{spec.gradcam_layer}"
    assert spec.license
    assert spec.weights_source
    assert spec.description
    assert spec.reference
    assert set(spec.pretrained) <= {"imagenet"}
    if spec.pretrained:
        assert "keras.applications" in spec.weights_source
    as_dict = spec.to_dict()
    assert "builder" not in as_dict
    assert as_dict["input_size"] == list(spec.input_size)


@pytest.mark.parametrize("name", MODELS)
def test_build_forward_freeze_and_round_trip(name, tmp_path):
    spec = get_model_spec(name)
    shape = _shape(spec)
    model = _model(name)

    # backbone: named nested model at a non-default size, Grad-CAM layer inside, params
    backbone = get_backbone(model)
    assert backbone.name == spec.backbone_name
    assert model.get_layer(spec.backbone_name) is backbone
    assert len(backbone.get_layer(spec.gradcam_layer).output.shape) == 4
    assert backbone.count_params() == spec.params
    assert [layer.name for layer in model.layers] == [
        "image",
        "preprocessing",
        spec.backbone_name,
        "avg_pool",
        "predictions",
    ]

    # forward pass (a randomly initialized deep model gives nearly uniform probabilities, so
    # the round trips below compare the pooled features, which vary)
    x = np.random.default_rng(0).uniform(0, 255, (2, *shape)).astype("float32")
    features, probs = _forward(model, x)
    assert probs.shape == (2, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert features.shape == (2, model.get_layer("avg_pool").output.shape[-1])
    assert np.all(np.isfinite(features))
    assert features.std() > 0

    # freeze / unfreeze: counts follow, BatchNorm stays frozen
    head = parameter_report(model).head_trainable
    assert head == model.get_layer("predictions").count_params()
    freeze_backbone(model)
    frozen = parameter_report(model)
    assert frozen.backbone_trainable == 0
    assert frozen.trainable == head
    unfreeze(model, last_n=max(1, (len(backbone.layers) - 1) // 2))
    top = parameter_report(model)
    assert 0 < top.backbone_trainable < top.backbone_total
    assert top.batchnorm_trainable == 0
    unfreeze(model)
    full = parameter_report(model)
    bn_params = sum(
        int(np.prod(w.shape))
        for layer in backbone.layers
        if type(layer).__name__ == "BatchNormalization"
        for w in layer.weights
    )
    assert full.backbone_total - full.backbone_trainable >= bn_params
    assert full.batchnorm_trainable == 0

    # save/load: a .keras round trip (same outputs, backbone name and Grad-CAM layer kept),
    # or for deep variants a weights round trip
    if name in SIBLINGS:
        model.save_weights(tmp_path / "m.weights.h5")
        for weight in model.weights:
            weight.assign(np.zeros(weight.shape, weight.dtype))
        assert not np.allclose(_forward(model, x)[0], features)
        model.load_weights(tmp_path / "m.weights.h5")
        loaded = model
    else:
        model.save(tmp_path / "m.keras")
        loaded = load_model(tmp_path / "m.keras", compile=False)
        assert get_backbone(loaded).name == spec.backbone_name
        get_backbone(loaded).get_layer(spec.gradcam_layer)
    features_again, probs_again = _forward(loaded, x)
    _assert_same(features_again, features)
    _assert_same(probs_again, probs)


def _forward(model, x):
    """Pooled features and probabilities in one (eager) pass."""
    import keras

    both = keras.Model(model.input, [model.get_layer("avg_pool").output, model.output])
    features, probs = both(x, training=False)
    return np.asarray(features), np.asarray(probs)


def _assert_same(actual, expected):
    scale = float(np.abs(expected).max()) or 1.0
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6 * scale)
