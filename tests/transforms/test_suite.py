"""The shared suite: every registered transform and augmentation layer, same checks.

A transform registered without an entry in ``CASES`` (or an augmentation layer without
one in ``AUGMENTATION_CASES``) fails ``test_every_registered_*_is_in_the_suite``: add it
here the day it is added to the library.
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dermnet import ParameterError, __version__
from dermnet import transforms as T
from dermnet.transforms.augment import RandomDihedral
from dermnet.transforms.base import TRANSFORMS


@dataclass
class Case:
    """How to build a transform for the suite and what it must reject."""

    make: Any  # () -> Transform
    bad: list[tuple[dict[str, Any], str]]  # (constructor kwargs, parameter named)
    needs_mask: bool = False
    #: uint8 and float [0, 1] results agree within this (0-255 levels); None: encodings differ
    range_tolerance: float | None = 2.0
    channels: tuple[int, ...] = (3,)
    extra: dict[str, Any] = field(default_factory=dict)


CASES: dict[str, Case] = {
    "shades_of_gray": Case(lambda: T.ShadesOfGray(p=6), [({"p": 0.5}, "p")]),
    "gray_world": Case(lambda: T.GrayWorld(), []),
    "max_rgb": Case(lambda: T.MaxRGB(percentile=99), [({"percentile": -1}, "percentile")]),
    "remove_hair": Case(
        lambda: T.RemoveHair(kernel_size=7),
        [({"kernel_size": 6}, "kernel_size"), ({"method": "fmm"}, "method")],
        range_tolerance=4.0,
        channels=(1, 3),
    ),
    "clahe": Case(
        lambda: T.CLAHE(clip_limit=2.0, tile_grid_size=4),
        [({"clip_limit": 0}, "clip_limit"), ({"tile_grid_size": 0}, "tile_grid_size")],
        range_tolerance=4.0,
        channels=(1, 3),
    ),
    "equalize_histogram": Case(
        lambda: T.EqualizeHistogram(), [], range_tolerance=4.0, channels=(1, 3)
    ),
    "gaussian_blur": Case(
        lambda: T.GaussianBlur(sigma=1.5),
        [({"sigma": 0}, "sigma"), ({"kernel_size": 4}, "kernel_size")],
        channels=(1, 3),
    ),
    "median_blur": Case(
        lambda: T.MedianBlur(kernel_size=5), [({"kernel_size": 2}, "kernel_size")], channels=(1, 3)
    ),
    "bilateral_filter": Case(
        lambda: T.BilateralFilter(diameter=5),
        [({"diameter": 0}, "diameter"), ({"sigma_color": -1}, "sigma_color")],
        channels=(1, 3),
    ),
    "denoise_nl_means": Case(
        lambda: T.DenoiseNLMeans(strength=8, template_window_size=3, search_window_size=7),
        [({"strength": 0}, "strength"), ({"search_window_size": 8}, "search_window_size")],
        range_tolerance=4.0,
        channels=(1, 3),
    ),
    "unsharp_mask": Case(
        lambda: T.UnsharpMask(sigma=1.0, amount=0.8),
        [({"amount": -1}, "amount"), ({"threshold": 300}, "threshold")],
        channels=(1, 3),
    ),
    "enhance_edges": Case(
        lambda: T.EnhanceEdges("sobel", "channel"),
        [
            ({"method": "roberts"}, "method"),
            ({"mode": "overlay"}, "mode"),
            ({"alpha": 2}, "alpha"),
            ({"low_threshold": 100, "high_threshold": 10}, "high_threshold"),
        ],
        channels=(1, 3),
    ),
    "convert_color": Case(
        lambda: T.ConvertColor("lab"),
        [({"space": "luv"}, "space"), ({"space": "gray", "channels": 2}, "channels")],
        range_tolerance=None,  # 8-bit and float encodings of L*a*b* differ by design
    ),
    "resize": Case(
        lambda: T.Resize((12, 20), mode="pad"),
        [({"size": 0}, "size"), ({"mode": "fit"}, "mode")],
        channels=(1, 3, 4),
    ),
    "center_crop": Case(lambda: T.CenterCrop((10, 12)), [({"size": -3}, "size")], channels=(1, 3)),
    "crop_to_mask": Case(
        lambda: T.CropToMask(margin=0.2),
        [({"margin": -0.1}, "margin"), ({"square": "yes"}, "square")],
        needs_mask=True,
        channels=(1, 3, 4),
    ),
    "reinhard_normalize": Case(
        lambda: T.ReinhardNormalize((60.0, 10.0, 5.0), (10.0, 5.0, 5.0), 10.0),
        [({"target_mean": (1, 2)}, "target_mean"), ({"target_std": "wide"}, "target_std")],
        range_tolerance=3.0,
        extra={"args": ((60.0, 10.0, 5.0), (10.0, 5.0, 5.0))},
    ),
    "compose": Case(
        lambda: T.Compose([T.ShadesOfGray(), T.GaussianBlur(1.0), T.Resize(16)]),
        [({"transforms": "shades_of_gray"}, "transforms")],
    ),
}


def _image(channels: int = 3, dtype: str = "uint8", seed: int = 0) -> np.ndarray:
    """A 24x32 test image with structure: a dark blob, a gradient and noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:24, :32]
    base = 90 + 4 * xx + rng.normal(0, 6, (24, 32))
    base[(yy - 12) ** 2 + (xx - 15) ** 2 < 36] = 50
    tints = [1.1, 0.85, 0.7, 1.0][:channels]
    image = np.clip(np.stack([base * t for t in tints], axis=-1), 0, 255)
    image = np.rint(image).astype(np.uint8)
    if dtype == "float01":
        return image.astype(np.float32) / 255.0
    if dtype == "float255":
        return image.astype(np.float32)
    return image


def _mask() -> np.ndarray:
    mask = np.zeros((24, 32), bool)
    mask[6:15, 9:20] = True
    return mask


def _run(transform: T.Transform, image: np.ndarray, case: Case) -> np.ndarray:
    if case.needs_mask:
        batched = getattr(image, "ndim", 3) == 4
        mask = np.stack([_mask()] * len(image)) if batched else _mask()
        out, _ = transform(image, mask=mask)
        return out
    return transform(image)


NAMES = sorted(CASES)


def test_every_registered_transform_is_in_the_suite():
    registered = set(T.list_transforms())
    missing = sorted(registered - set(CASES))
    assert not missing, f"registered transforms without a suite entry in CASES: {missing}"
    assert not sorted(set(CASES) - registered), "suite entries for unregistered transforms"


@pytest.mark.parametrize("name", NAMES)
def test_the_case_builds_the_registered_class(name):
    assert type(CASES[name].make()) is TRANSFORMS.get(name)
    assert TRANSFORMS.get(name).name == name


#: ``to_dict()`` of every transform with non-default parameters (see test_frozen_dicts.py).
FROZEN = json.loads((Path(__file__).parents[1] / "files" / "transforms_v0.json").read_text())


@pytest.mark.parametrize("name", NAMES)
def test_the_config_is_the_constructor_arguments_stored_under_their_names(name):
    """The guard of "declare a parameter once": the config is read from ``__init__``."""
    cls = TRANSFORMS.get(name)
    assert cls.get_config is T.Transform.get_config, f"{cls.__name__} writes its own get_config"
    params = list(inspect.signature(cls).parameters)
    transform = CASES[name].make()
    for param in params:
        assert param in vars(transform), (
            f"{cls.__name__}.__init__ takes {param!r} but does not store it as self.{param}"
        )
    assert list(transform.get_config()) == params
    if name != "compose":  # (its children's dicts carry the version that wrote them)
        config = FROZEN["transforms"][name]["config"]
        assert bool(config) == bool(params), "the frozen entry holds non-default values"
        assert cls(**config).get_config() == config  # each value lands under its own name


@pytest.mark.parametrize("name", [n for n in NAMES if TRANSFORMS.get(n).function is not None])
def test_the_class_takes_its_functions_parameters_with_the_same_defaults(name):
    cls = TRANSFORMS.get(name)
    accepted = inspect.signature(cls.function).parameters
    for param in inspect.signature(cls).parameters.values():
        assert param.name in accepted, (cls.__name__, param.name)
        assert param.default == accepted[param.name].default, (cls.__name__, param.name)


@pytest.mark.parametrize("name", [n for n in NAMES if TRANSFORMS.get(n).function is not None])
def test_the_class_and_its_function_check_parameters_with_one_declaration(name):
    """A bad value gets the same message from the class and from the function, but
    for the name: one declaration of the constraint serves both."""
    case = CASES[name]
    cls = TRANSFORMS.get(name)
    function = cls.function
    base = case.make().get_config()
    inputs = (_image(), _mask()) if case.needs_mask else (_image(),)
    for kwargs, param in case.bad:
        with pytest.raises(ParameterError, match=f"'{param}' parameter of {cls.__name__}") as c:
            cls(**{**base, **kwargs})
        with pytest.raises(
            ParameterError, match=f"'{param}' parameter of {function.__name__}"
        ) as f:
            function(*inputs, **{**base, **kwargs})
        assert str(f.value) == str(c.value).replace(cls.__name__, function.__name__)


@pytest.mark.parametrize("name", NAMES)
def test_round_trip_through_json_gives_the_same_transform_and_pixels(name):
    case = CASES[name]
    transform = case.make()
    data = json.loads(json.dumps(transform.to_dict()))
    assert data["name"] == name
    assert data["dermnet_version"] == __version__
    rebuilt = T.transform_from_dict(data)
    assert rebuilt == transform
    assert rebuilt.get_config() == transform.get_config()
    assert type(rebuilt).from_config(transform.get_config()) == transform
    image = _image()
    np.testing.assert_array_equal(_run(rebuilt, image, case), _run(transform, image, case))
    assert repr(transform).startswith(type(transform).__name__)


@pytest.mark.parametrize("dtype", ["uint8", "float01", "float255"])
@pytest.mark.parametrize("name", NAMES)
def test_shape_and_dtype_contract(name, dtype):
    case = CASES[name]
    transform = case.make()
    for channels in case.channels:
        image = _image(channels, dtype)
        out = _run(transform, image, case)
        assert isinstance(out, np.ndarray)
        assert out.dtype == image.dtype, (channels, out.dtype)
        assert out.ndim == 3
        expected = transform.output_shape(image.shape)
        assert len(expected) == 3
        for got, want in zip(out.shape, expected, strict=True):
            assert want is None or got == want, (channels, out.shape, expected)
        top = 1.0 if dtype == "float01" else 255.0
        assert out.min() >= 0
        assert out.max() <= top


@pytest.mark.parametrize("name", NAMES)
def test_fixed_input_gives_a_fixed_output(name):
    case = CASES[name]
    image = _image(seed=3)
    first = _run(case.make(), image.copy(), case)
    second = _run(case.make(), image.copy(), case)
    np.testing.assert_array_equal(first, second)
    # the input is not modified in place
    np.testing.assert_array_equal(image, _image(seed=3))


@pytest.mark.parametrize("name", [n for n in NAMES if CASES[n].range_tolerance is not None])
def test_uint8_and_unit_float_results_agree(name):
    """(ConvertColor is left out: its 8-bit and float encodings differ by design and
    test_functional checks each against OpenCV.)"""
    case = CASES[name]
    assert case.range_tolerance is not None
    transform = case.make()
    image = _image(seed=5)
    u8 = _run(transform, image, case).astype(np.float64)
    flt = _run(transform, image.astype(np.float32) / 255.0, case).astype(np.float64) * 255.0
    assert u8.shape == flt.shape
    assert np.abs(u8 - flt).mean() <= case.range_tolerance


@pytest.mark.parametrize("name", NAMES)
def test_a_batch_is_transformed_image_by_image(name):
    case = CASES[name]
    transform = case.make()
    batch = np.stack([_image(seed=s) for s in range(3)])
    out = _run(transform, batch, case)
    assert out.shape[0] == 3
    np.testing.assert_array_equal(out[2], _run(transform, batch[2], case))


@pytest.mark.parametrize(
    ("image", "match"),
    [
        (np.zeros((8, 8, 3), np.int16), "dtype uint8 or float"),
        (np.zeros((8, 8, 5), np.uint8), "shape"),
        (np.zeros((0, 8, 3), np.uint8), "empty"),
        (np.full((8, 8, 3), np.inf, np.float32), "NaN or infinite"),
        (np.full((8, 8, 3), 1000.0, np.float32), r"\[0, 1\] or \[0, 255\]"),
        ("image.png", "NumPy array"),
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_bad_images_raise_errors_naming_the_transform(name, image, match):
    case = CASES[name]
    transform = case.make()
    with pytest.raises(ParameterError, match=match) as info:
        _run(transform, image, case)
    assert type(transform).__name__ in str(info.value)


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_raise_errors_naming_the_transform_and_parameter(name):
    case = CASES[name]
    cls = TRANSFORMS.get(name)
    if name == "compose":
        with pytest.raises(ParameterError, match="'transforms' parameter of Compose"):
            cls("shades_of_gray")
        return
    base = case.make().get_config()
    if not case.bad:
        assert base == {}  # nothing to get wrong
        with pytest.raises(ParameterError, match=cls.__name__):
            cls.from_config({"unknown": 1})
        return
    for kwargs, param in case.bad:
        with pytest.raises(ParameterError, match=f"'{param}' parameter of {cls.__name__}"):
            cls(**{**base, **kwargs})


@pytest.mark.parametrize("name", [n for n in NAMES if not CASES[n].needs_mask])
def test_runs_inside_tf_data_with_a_static_shape(name):
    """(CropToMask needs a mask per image, so it is not a tf.data image transform.)"""
    import tensorflow as tf

    case = CASES[name]
    transform = case.make()
    images = np.stack([_image(seed=s) for s in range(2)])
    ds = tf.data.Dataset.from_tensor_slices((images, np.array([0, 1])))
    ds = ds.map(T.tf_map(transform)).batch(2)
    spec = ds.element_spec[0]
    expected = transform.output_shape((24, 32, 3))
    assert spec.shape.as_list() == [None, *expected]
    assert spec.dtype == tf.uint8
    got = next(iter(ds))[0].numpy()
    np.testing.assert_array_equal(got, transform(images))


# -- augmentation layers ---------------------------------------------------------------------
@dataclass
class AugCase:
    make: Any  # (seed) -> layer
    bad: list[tuple[dict[str, Any], str]]
    mixing: bool = False
    colour: bool = False  # needs 3 channels
    square: bool = False  # needs square images (the suite crops its 24x32 batch to 24x24)


AUGMENTATION_CASES: dict[str, AugCase] = {
    "random_flip": AugCase(lambda s: T.RandomFlip(seed=s), [({"mode": "diagonal"}, "mode")]),
    "random_rot90": AugCase(
        lambda s: T.RandomRot90(seed=s),
        [({"value_range": (0, 0)}, "value_range"), ({"seed": -1}, "seed")],
        square=True,
    ),
    "random_dihedral": AugCase(
        lambda s: RandomDihedral(seed=s),
        [({"value_range": (0, 0)}, "value_range"), ({"seed": -1}, "seed")],
        square=True,
    ),
    "random_rotation": AugCase(
        lambda s: T.RandomRotation(90.0, seed=s),
        [({"max_angle": 270}, "max_angle"), ({"fill_mode": "black"}, "fill_mode")],
    ),
    "random_zoom": AugCase(
        lambda s: T.RandomZoom((0.8, 1.2), seed=s), [({"zoom_range": (1.2, 0.8)}, "zoom_range")]
    ),
    "random_translation": AugCase(
        lambda s: T.RandomTranslation(0.2, seed=s), [({"fraction": 1.5}, "fraction")]
    ),
    "random_affine": AugCase(
        lambda s: T.RandomAffine(180.0, (0.9, 1.1), 0.1, seed=s),
        [({"translate": -0.1}, "translate"), ({"interpolation": "cubic"}, "interpolation")],
    ),
    "random_brightness": AugCase(
        lambda s: T.RandomBrightness(0.2, seed=s),
        [({"max_delta": 2}, "max_delta"), ({"value_range": (1, 0)}, "value_range")],
    ),
    "random_contrast": AugCase(
        lambda s: T.RandomContrast(0.3, seed=s), [({"factor": -0.1}, "factor")]
    ),
    "random_saturation": AugCase(
        lambda s: T.RandomSaturation(0.3, seed=s), [({"factor": 1.5}, "factor")], colour=True
    ),
    "random_hue": AugCase(
        lambda s: T.RandomHue(0.1, seed=s), [({"max_delta": 0.7}, "max_delta")], colour=True
    ),
    "mixup": AugCase(
        lambda s: T.MixUp(0.4, num_classes=3, seed=s),
        [({"alpha": 0}, "alpha"), ({"num_classes": 1}, "num_classes")],
        mixing=True,
    ),
    "cutmix": AugCase(
        lambda s: T.CutMix(1.0, num_classes=3, seed=s),
        [({"alpha": -1}, "alpha"), ({"seed": -5}, "seed")],
        mixing=True,
    ),
}
AUG_NAMES = sorted(AUGMENTATION_CASES)


def _batch(n: int = 4, case: AugCase | None = None) -> np.ndarray:
    images = np.stack([_image(seed=s).astype(np.float32) for s in range(n)])
    return images[:, :, :24] if case is not None and case.square else images


def _apply(layer: Any, case: AugCase, images: np.ndarray, **kw: Any) -> np.ndarray:
    if case.mixing:
        x, y = layer(images, np.arange(len(images)) % 3, **kw)
        return np.concatenate([np.asarray(x).ravel(), np.asarray(y).ravel()])
    return np.asarray(layer(images, **kw))


def test_every_registered_augmentation_is_in_the_suite():
    registered = set(T.list_augmentations())
    missing = sorted(registered - set(AUGMENTATION_CASES))
    assert not missing, f"augmentation layers without a suite entry: {missing}"
    assert not sorted(set(AUGMENTATION_CASES) - registered)


@pytest.mark.parametrize("name", AUG_NAMES)
def test_augmentation_config_round_trip(name):
    import keras

    from dermnet.transforms.augment import AUGMENTATIONS

    layer = AUGMENTATION_CASES[name].make(7)
    assert type(layer) is AUGMENTATIONS.get(name)
    config = layer.get_config()
    rebuilt = type(layer).from_config(json.loads(json.dumps(config)))
    assert rebuilt.get_config() == config
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is type(layer)
    assert revived.get_config() == config
    case = AUGMENTATION_CASES[name]
    images = _batch(case=case)
    np.testing.assert_allclose(_apply(rebuilt, case, images), _apply(layer, case, images))


@pytest.mark.parametrize("name", AUG_NAMES)
def test_augmentation_shape_dtype_range_and_seed(name):
    case = AUGMENTATION_CASES[name]
    images = _batch(case=case)
    first = _apply(case.make(3), case, images)
    again = _apply(case.make(3), case, images)
    np.testing.assert_array_equal(first, again)  # same seed, same draws
    layer = case.make(3)
    _apply(layer, case, images)
    assert not np.array_equal(_apply(layer, case, images), first)  # the state moves on
    if case.mixing:
        x, y = case.make(1)(images, np.arange(4) % 3)
        assert tuple(x.shape) == images.shape
        assert tuple(y.shape) == (4, 3)
        np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0, atol=1e-6)
        return
    out = case.make(1)(images)
    assert tuple(out.shape) == images.shape
    assert np.asarray(out).dtype == np.float32
    assert float(np.min(out)) >= 0.0
    assert float(np.max(out)) <= 255.0
    single = case.make(1)(images[0])
    assert tuple(single.shape) == images[0].shape
    scaled = type(case.make(1)).from_config(
        {**case.make(1).get_config(), "value_range": [0.0, 1.0]}
    )(images / 255.0)
    assert float(np.max(scaled)) <= 1.0


@pytest.mark.parametrize("name", AUG_NAMES)
def test_augmentation_is_off_when_not_training(name):
    case = AUGMENTATION_CASES[name]
    images = _batch(case=case)
    layer = case.make(0)
    if case.mixing:
        x, y = layer(images, np.arange(4) % 3, training=False)
        np.testing.assert_array_equal(np.asarray(x), images)
        np.testing.assert_array_equal(np.asarray(y), np.eye(3)[np.arange(4) % 3])
        return
    np.testing.assert_array_equal(np.asarray(layer(images, training=False)), images)


@pytest.mark.parametrize("name", AUG_NAMES)
def test_augmentation_rejects_bad_parameters_and_inputs(name):
    case = AUGMENTATION_CASES[name]
    layer = case.make(0)
    cls = type(layer)
    config = {
        k: v for k, v in layer.get_config().items() if k not in ("name", "trainable", "dtype")
    }
    for kwargs, param in case.bad:
        with pytest.raises(ParameterError, match=f"'{param}' parameter of {cls.__name__}"):
            cls(**{**config, **kwargs})
    if case.mixing:
        with pytest.raises(ParameterError, match="batch"):
            layer(_batch()[0], np.arange(1))
        with pytest.raises(ParameterError, match="num_classes"):
            cls(seed=0)(_batch(), np.arange(4) % 3)
        return
    with pytest.raises(ParameterError, match=f"'inputs' parameter of {cls.__name__}"):
        layer(np.zeros((8, 8), np.float32))
    if case.square:
        with pytest.raises(ParameterError, match="must be square images"):
            layer(_batch())
    if case.colour:
        with pytest.raises(ParameterError, match="3 channels"):
            layer(np.zeros((2, 8, 8, 1), np.float32))


@pytest.mark.parametrize("name", AUG_NAMES)
def test_augmentation_runs_in_tf_data(name):
    import tensorflow as tf

    case = AUGMENTATION_CASES[name]
    layer = case.make(0)
    images = _batch(case=case)
    ds = tf.data.Dataset.from_tensor_slices((images, np.arange(4) % 3)).batch(2)
    if case.mixing:
        ds = ds.map(lambda x, y: layer(x, y))
        x, y = next(iter(ds))
        assert x.shape == (2, 24, 32, 3)
        assert y.shape == (2, 3)
        return
    ds = ds.map(lambda x, y: (layer(x, training=True), y))
    assert ds.element_spec[0].shape.as_list() == [None, *images.shape[1:]]
    x, _ = next(iter(ds))
    assert x.dtype == tf.float32


@pytest.mark.parametrize("name", [n for n in AUG_NAMES if not AUGMENTATION_CASES[n].mixing])
def test_augmentation_saves_in_a_keras_model(name, tmp_path):
    import keras

    case = AUGMENTATION_CASES[name]
    model = keras.Sequential(
        [
            keras.Input(_batch(case=case).shape[1:]),
            case.make(5),
            keras.layers.GlobalAveragePooling2D(),
        ]
    )
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    x = _batch(case=case)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), x.mean(axis=(1, 2)), rtol=1e-5)
