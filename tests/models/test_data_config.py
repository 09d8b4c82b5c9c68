import dataclasses
import subprocess
import sys
import textwrap

import pytest

from dermnet import ParameterError, UnknownNameError
from dermnet.data import DataConfig
from dermnet.models import get_model_spec, list_models, resolve_data_config
from dermnet.transforms import ShadesOfGray


def test_the_spec_supplies_the_default_size():
    assert resolve_data_config("simple_cnn") == DataConfig((64, 64))
    assert resolve_data_config("efficientnet_b3").image_size == (300, 300)
    spec = get_model_spec("inception_v3")
    assert resolve_data_config(spec) == DataConfig(spec.input_size)


@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_resolves_to_its_input_size(name):
    cfg = resolve_data_config(name)
    assert cfg.image_size == get_model_spec(name).input_size
    assert cfg.validate() == cfg


def test_keywords_override():
    cfg = resolve_data_config(
        "simple_cnn",
        image_size=(96, 128),
        resize="pad",
        interpolation="area",
        preprocessing=ShadesOfGray().to_dict(),
    )
    assert cfg == DataConfig((96, 128), "pad", "area", ShadesOfGray().to_dict())
    assert resolve_data_config("simple_cnn", image_size=32).image_size == (32, 32)
    assert resolve_data_config("simple_cnn", resize="crop") == DataConfig(64, resize="crop")


def test_a_custom_spec_is_accepted():
    spec = dataclasses.replace(
        get_model_spec("simple_cnn"), name="mine", input_size=(40, 30), min_input_size=(20, 20)
    )
    assert resolve_data_config(spec).image_size == (40, 30)
    with pytest.raises(ParameterError, match="too small for 'mine'"):
        resolve_data_config(spec, image_size=(40, 10))


def test_bad_input_is_named():
    with pytest.raises(ParameterError, match="at least 32x32") as info:
        resolve_data_config("mobilenet_v2", image_size=16)
    assert "Got 16x16 instead" in str(info.value)
    with pytest.raises(ParameterError, match="at least 75x75"):
        resolve_data_config("inception_v3", image_size=(299, 64))
    with pytest.raises(UnknownNameError, match="simple_cnn"):
        resolve_data_config("simple_cn")
    with pytest.raises(ParameterError, match="'model' parameter of resolve_data_config"):
        resolve_data_config(3)
    with pytest.raises(ParameterError, match="'image_size' parameter of resolve_data_config"):
        resolve_data_config("simple_cnn", image_size=(64, 64, 3))
    with pytest.raises(ParameterError, match="'resize' parameter of DataConfig"):
        resolve_data_config("simple_cnn", resize="squash")


def test_resolving_does_not_import_tensorflow():
    code = textwrap.dedent(
        """
        import sys
        from dermnet.models import resolve_data_config
        resolve_data_config("mobilenet_v2", image_size=96, resize="crop")
        print("tensorflow" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
