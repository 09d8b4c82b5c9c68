"""The parameter declarations the functional ops and the transform classes share."""

from __future__ import annotations

import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.transforms import functional as F
from dermnet.transforms._constraints import check_params, constrained, number, odd, triple


@constrained(size=odd(3), weight=number(0.0, 1.0))
def _op(image, size=3, weight=0.5):
    return image, size, weight


def test_a_constrained_function_checks_and_converts_its_arguments():
    assert _op("x", 5, 1) == ("x", 5, 1.0)
    assert _op("x", weight=0) == ("x", 3, 0.0)
    with pytest.raises(ParameterError, match=r"'size' parameter of _op must be an odd int >= 3"):
        _op("x", 4)
    with pytest.raises(ParameterError, match=r"'weight' parameter of _op .* Got 2.0 instead"):
        _op("x", weight=2)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        (("x", 3, 0.5, 1), {}, "too many positional arguments"),
        (("x", 3), {"size": 5}, "multiple values for argument 'size'"),
        (("x",), {"sizes": 5}, "unexpected keyword argument 'sizes'"),
        ((), {"size": 5}, "missing a required argument: 'image'"),
    ],
)
def test_a_wrong_call_raises_the_type_error_a_plain_call_would(args, kwargs, match):
    with pytest.raises(TypeError, match=match):
        _op(*args, **kwargs)


def test_a_declaration_must_name_parameters_of_the_function():
    with pytest.raises(TypeError, match=r"has no parameters \['sigma'\]"):

        @constrained(sigma=number(low=0.0))
        def blur(image, size=3):
            return image


def test_check_params_uses_the_declaration_and_names_the_caller():
    assert check_params(F.gaussian_blur, {"sigma": 2, "kernel_size": 0}, "Blur") == {
        "sigma": 2.0,
        "kernel_size": 0,
    }
    with pytest.raises(ParameterError, match="'kernel_size' parameter of Blur"):
        check_params(F.gaussian_blur, {"kernel_size": 4}, "Blur")
    assert check_params(len, {"anything": -1}, "Blur") == {"anything": -1}  # no declaration


@pytest.mark.parametrize("bad", [False, 2, 0.0, -1, "3"])
def test_odd_with_zero_admits_zero_and_odd_ints_only(bad):
    check = odd(1, or_zero=True)
    assert check(0, "k", "f") == 0
    assert check(np.int64(5), "k", "f") == 5
    with pytest.raises(ParameterError, match="an odd int >= 1 or 0"):
        check(bad, "k", "f")


def test_triple_converts_to_floats_and_checks_the_sign():
    assert triple(nonnegative=True)([1, 2, 3], "t", "f") == (1.0, 2.0, 3.0)
    assert triple(nonnegative=False)(np.array([-1, 0, 1]), "t", "f") == (-1.0, 0.0, 1.0)
    with pytest.raises(ParameterError, match="each >= 0"):
        triple(nonnegative=True)((1, -2, 3), "t", "f")
    with pytest.raises(ParameterError, match="three finite numbers"):
        triple(nonnegative=False)((1, float("nan"), 3), "t", "f")
