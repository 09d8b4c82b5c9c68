import pytest

from dermnet._core import ParameterError, Registry, UnknownNameError, did_you_mean, look_up_option


def test_register_get_and_names_with_pattern():
    reg = Registry("model")
    reg.register("resnet50", 1)
    reg.register("resnet101", 2)
    reg.register("vgg16", 3)
    assert reg.get("vgg16") == 3
    assert reg.names("resnet*") == ["resnet101", "resnet50"]
    assert "vgg16" in reg
    assert len(reg) == 3


def test_duplicate_name_is_an_error_unless_overwrite():
    reg = Registry("model")
    reg.register("a", 1)
    with pytest.raises(ParameterError, match="already registered"):
        reg.register("a", 2)
    reg.register("a", 2, overwrite=True)
    assert reg.get("a") == 2


def test_unknown_name_suggests_close_matches_and_lists_all():
    reg = Registry("model")
    for name in ("mobilenet_v2", "resnet50", "vgg16"):
        reg.register(name, name)
    with pytest.raises(UnknownNameError) as info:
        reg.get("mobilenetv2")
    message = str(info.value)
    assert "Did you mean 'mobilenet_v2'?" in message
    assert "'resnet50'" in message
    assert "'vgg16'" in message


def test_did_you_mean_uses_substrings():
    assert "resnet50" in did_you_mean("resnet", ["resnet50", "vgg16"])
    assert did_you_mean("zzz", ["resnet50"]) == []


def test_look_up_option_message_names_parameter_and_owner():
    assert look_up_option("pad", ["pad", "crop"], param="mode", where="resize") == "pad"
    with pytest.raises(UnknownNameError, match=r"'mode' parameter of resize.*Got 'padd'.*'pad'"):
        look_up_option("padd", ["pad", "crop"], param="mode", where="resize")
