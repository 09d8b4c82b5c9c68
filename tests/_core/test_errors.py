import pytest

from dermnet import (
    DataError,
    DermnetError,
    LeakageError,
    MissingFileError,
    OptionalDependencyError,
    ParameterError,
    UnknownNameError,
)
from dermnet._core import optional_import


@pytest.mark.parametrize(
    ("cls", "builtins"),
    [
        (ParameterError, (ValueError, TypeError)),
        (UnknownNameError, (ValueError, KeyError)),
        (DataError, (ValueError,)),
        (LeakageError, (ValueError, DataError)),
        (MissingFileError, (FileNotFoundError,)),
        (OptionalDependencyError, (ImportError,)),
    ],
)
def test_errors_derive_from_base_and_builtin(cls, builtins):
    assert issubclass(cls, DermnetError)
    for builtin in builtins:
        assert issubclass(cls, builtin)


def test_unknown_name_error_message_is_not_quoted_like_keyerror():
    err = UnknownNameError("Unknown model 'x'.")
    assert str(err) == "Unknown model 'x'."


def test_optional_import_names_package_and_extra():
    with pytest.raises(OptionalDependencyError, match=r"ONNX export.*dermnet\[onnx\]"):
        optional_import("surely_not_a_module_xyz", purpose="ONNX export", extra="onnx")
    assert optional_import("json", purpose="x").dumps({}) == "{}"
