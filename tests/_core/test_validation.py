import pytest

from dermnet._core import (
    MissingFileError,
    ParameterError,
    check_bool,
    check_float,
    check_image_size,
    check_int,
    check_path,
    check_seed,
)


def test_check_int_bounds_and_types():
    assert check_int(3, "n", "f", low=1) == 3
    assert check_int(None, "n", "f", allow_none=True) is None
    with pytest.raises(ParameterError, match=r"The 'n' parameter of f must be an int >= 1\. Got 0"):
        check_int(0, "n", "f", low=1)
    with pytest.raises(ParameterError, match="Got True"):
        check_int(True, "n", "f")
    with pytest.raises(ParameterError):
        check_int(2.5, "n", "f")


def test_check_float_open_bounds_and_nan():
    assert check_float(0.5, "p", "f", low=0, high=1, low_open=True, high_open=True) == 0.5
    with pytest.raises(ParameterError, match="> 0"):
        check_float(0.0, "p", "f", low=0, low_open=True)
    with pytest.raises(ParameterError):
        check_float(float("nan"), "p", "f")
    with pytest.raises(ParameterError):
        check_float("1", "p", "f")


def test_check_bool_seed_and_image_size():
    assert check_bool(False, "b", "f") is False
    with pytest.raises(ParameterError):
        check_bool(1, "b", "f")
    assert check_seed(None) is None
    with pytest.raises(ParameterError):
        check_seed(-1)
    assert check_image_size(64, "s", "f") == (64, 64)
    assert check_image_size((32, 48), "s", "f") == (32, 48)
    with pytest.raises(ParameterError, match=r"\(height, width\)"):
        check_image_size((32, 0), "s", "f")


def test_check_path_names_missing_path(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(MissingFileError, match=str(missing)):
        check_path(missing, "root", "load_x")
    (tmp_path / "f.txt").write_text("x")
    assert check_path(tmp_path / "f.txt", "p", "f", kind="file").name == "f.txt"
    with pytest.raises(ParameterError, match="a folder"):
        check_path(tmp_path / "f.txt", "p", "f", kind="dir")
