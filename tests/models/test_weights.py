"""Local ImageNet weights files: each spec names Keras' file, `find_weights` finds it."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet.models import create_model, find_weights, get_backbone, get_model_spec, list_models
from dermnet.models.weights import weights_dirs

PRETRAINED = [n for n in list_models() if get_model_spec(n).pretrained]


@pytest.fixture
def dirs(tmp_path, monkeypatch):
    """An empty $DERMNET_WEIGHTS_DIR and an empty Keras cache (nothing on this machine)."""
    ours, keras_home = tmp_path / "weights", tmp_path / "keras_home"
    ours.mkdir()
    monkeypatch.setenv("DERMNET_WEIGHTS_DIR", str(ours))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return ours, keras_home / "models"


def _save_legacy_h5(model, path):
    """Write ``model``'s weights as Keras' ImageNet files are written (legacy HDF5)."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def _keras_file_names(spec, input_shape):
    """The files a Keras application asks to download (the download is stopped)."""
    import importlib
    import pkgutil

    import keras.src.applications as apps

    asked = []

    class Stop(Exception):
        pass

    def get_file(fname, *args, **kwargs):
        asked.append(fname)
        raise Stop

    with pytest.MonkeyPatch.context() as mp:
        for info in pkgutil.iter_modules(apps.__path__):
            module = importlib.import_module(f"{apps.__name__}.{info.name}")
            if hasattr(module, "file_utils"):
                mp.setattr(module.file_utils, "get_file", get_file)
        with pytest.raises(Stop):
            spec.builder(input_shape, "imagenet")
    return asked


def test_every_pretrained_spec_names_its_weights_file():
    assert len(PRETRAINED) >= 29
    for name in PRETRAINED:
        spec = get_model_spec(name)
        assert spec.weights_files, name
        assert all(f.endswith(".h5") and "top" in f for f in spec.weights_files), name
        assert spec.to_dict()["weights_files"] == list(spec.weights_files)
    for name in sorted(set(list_models()) - set(PRETRAINED)):
        assert get_model_spec(name).weights_file() is None


@pytest.mark.parametrize(
    ("name", "side"),
    [
        ("mobilenet_v2", 160),
        ("mobilenet_v2", 150),
        ("mobilenet_v3_small", 32),
        ("efficientnet_v2_b0", 32),
        ("densenet121", 32),
        ("resnet50_v2", 32),
    ],
)
def test_the_named_file_is_the_one_keras_downloads(name, side):
    spec = get_model_spec(name)
    assert _keras_file_names(spec, (side, side, 3)) == [spec.weights_file((side, side))]


@pytest.mark.slow
@pytest.mark.heavy  # every model's file (29 builds); the six above cover each mechanism
@pytest.mark.parametrize("name", PRETRAINED)
def test_every_named_file_is_the_one_keras_downloads(name):
    spec = get_model_spec(name)
    side = max(spec.min_input_size)
    assert _keras_file_names(spec, (side, side, 3)) == [spec.weights_file((side, side))]


def test_mobilenet_v2_has_one_file_per_input_side():
    spec = get_model_spec("mobilenet_v2")
    assert spec.weights_file() == (
        "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"
    )
    assert spec.weights_file((96, 96)).endswith("_1.0_96_no_top.h5")
    assert spec.weights_file((96, 128)).endswith("_1.0_224_no_top.h5")  # not square
    assert spec.weights_file((100, 100)).endswith("_1.0_224_no_top.h5")  # no weights at 100


def test_find_weights_searches_our_folder_then_the_keras_cache(dirs):
    ours, cache = dirs
    file = get_model_spec("vgg16").weights_file()
    assert weights_dirs() == [ours, cache]
    assert find_weights("vgg16") is None  # absent: create_model lets Keras download it
    cache.mkdir(parents=True)
    (cache / file).write_bytes(b"cached")
    assert find_weights("vgg16") == cache / file
    (ours / file).write_bytes(b"ours")
    assert find_weights("vgg16") == ours / file
    assert find_weights(get_model_spec("vgg16"), "ImageNet") == ours / file
    assert find_weights("vgg19") is None


def test_find_weights_picks_the_file_for_the_input_size(dirs):
    ours, _ = dirs
    spec = get_model_spec("mobilenet_v2")
    (ours / spec.weights_file((128, 128))).write_bytes(b"")
    assert find_weights("mobilenet_v2", input_size=(128, 128)) == ours / spec.weights_file(
        (128, 128)
    )
    assert find_weights("mobilenet_v2") is None  # the 224 file is not there


def test_several_folders_in_the_environment_variable(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    b.mkdir()
    monkeypatch.setenv("DERMNET_WEIGHTS_DIR", f"{a}{__import__('os').pathsep}{b}")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "k"))
    file = get_model_spec("xception").weights_file()
    (b / file).write_bytes(b"")
    assert weights_dirs()[:2] == [a, b]
    assert find_weights("xception") == b / file


def test_find_weights_explains_bad_arguments(dirs):
    with pytest.raises(ParameterError, match="'simple_cnn' has no pretrained weights"):
        find_weights("simple_cnn")
    with pytest.raises(ParameterError, match="Did you mean 'imagenet'"):
        find_weights("vgg16", "imagenett")
    with pytest.raises(UnknownNameError, match="Unknown model 'vgg61'"):
        find_weights("vgg61")
    with pytest.raises(ParameterError, match="'model' parameter of find_weights"):
        find_weights(16)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_create_model_loads_the_local_imagenet_file(dirs):
    """A weights file saved from a weights=None backbone stands in for Keras' download."""
    ours, _ = dirs
    shape = (32, 32, 3)
    spec = get_model_spec("mobilenet_v2")
    source = get_backbone(create_model("mobilenet_v2", 3, input_shape=shape))
    _save_legacy_h5(source, ours / spec.weights_file(shape[:2]))
    assert find_weights("mobilenet_v2", input_size=shape[:2]) is not None
    model = create_model("mobilenet_v2", 3, input_shape=shape, weights="imagenet")
    loaded = get_backbone(model).weights
    assert len(loaded) == len(source.weights) > 100
    for w_source, w_loaded in zip(source.weights, loaded, strict=True):
        np.testing.assert_array_equal(np.asarray(w_source), np.asarray(w_loaded))
    # pretrained BatchNorm momentum, as for Keras' own download
    assert {
        layer.momentum
        for layer in get_backbone(model).layers
        if "BatchNorm" in type(layer).__name__
    } == {0.99}


def test_a_local_file_that_does_not_fit_is_named(dirs):
    ours, _ = dirs
    spec = get_model_spec("mobilenet_v3_small")
    bad = ours / spec.weights_file()
    with h5py.File(bad, "w") as f:
        f.attrs["layer_names"] = [b"nothing"]
    with pytest.raises(ParameterError, match="does not match the 'mobilenet_v3_small'") as info:
        create_model("mobilenet_v3_small", 2, input_shape=(32, 32, 3), weights="imagenet")
    assert str(bad) in str(info.value)
