"""The dermnet error hierarchy.

Every error dermnet raises derives from `DermnetError` *and* from the builtin
exception a user would naturally catch, so ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "DataError",
    "DermnetError",
    "ExportError",
    "LeakageError",
    "LeakageWarning",
    "MissingFileError",
    "ModelFileError",
    "OptionalDependencyError",
    "ParameterError",
    "UnknownNameError",
]


class DermnetError(Exception):
    """Base class of every error raised by dermnet."""


class ParameterError(DermnetError, ValueError, TypeError):
    """A parameter has a wrong value or type.

    Messages read: "The 'x' parameter of Y must be ... Got ... instead."
    """


class UnknownNameError(ParameterError, KeyError):
    """A name (model, dataset, transform, option) is not registered.

    The message lists close matches ("did you mean ...?") and the available names.
    """

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ""


class DataError(DermnetError, ValueError):
    """A dataset, table or image is malformed: unknown label, missing column, bad file."""


class LeakageError(DataError):
    """An operation would leak information between training and evaluation data."""


class LeakageWarning(UserWarning):
    """An operation cannot tell whether it leaks (e.g. records not marked as a split) and
    goes ahead only because the user explicitly allowed it."""


class MissingFileError(DermnetError, FileNotFoundError):
    """A file or folder the user pointed to does not exist; the message names the path."""


class ModelFileError(DermnetError, ValueError):
    """A model file exists but is not a Keras model dermnet can load (not a ``.keras``
    archive, truncated, or holding objects nobody registered); the message names the file.
    """


class OptionalDependencyError(DermnetError, ImportError):
    """An optional dependency is missing; the message says how to install it."""


class ExportError(DermnetError, RuntimeError):
    """A model export failed, or the exported model's outputs differ from the model's."""
