"""`find_weights`: a local copy of a model's ImageNet weights, for machines that are offline.

Keras downloads the ImageNet weights of ``keras.applications`` backbones once and caches
them in ``~/.keras/models`` (``$KERAS_HOME/models``). Each `ModelSpec` names the files
Keras downloads (``spec.weights_files``), so dermnet can find them on disk: in the
folders of ``$DERMNET_WEIGHTS_DIR`` first, then in Keras' cache. `create_model` loads a
file found this way instead of asking Keras to download it. Does not import TensorFlow.
"""

from __future__ import annotations

import os
from pathlib import Path

from dermnet._core.errors import ParameterError
from dermnet._core.registry import did_you_mean
from dermnet.models.catalog import resolve_spec
from dermnet.models.spec import ModelSpec

__all__ = ["WEIGHTS_DIR_ENV", "find_weights", "weights_dirs"]

#: The environment variable that names folders of weights files (``os.pathsep``-separated),
#: searched before Keras' cache.
WEIGHTS_DIR_ENV = "DERMNET_WEIGHTS_DIR"


def weights_dirs() -> list[Path]:
    """The folders `find_weights` searches, in order.

    The folders named by ``$DERMNET_WEIGHTS_DIR`` (several separated by ``os.pathsep``),
    then Keras' cache: ``$KERAS_HOME/models`` when ``KERAS_HOME`` is set, else
    ``~/.keras/models`` (``/tmp/.keras/models`` when the home folder is not writable, as
    Keras does). Folders that do not exist are listed too; they hold nothing.

    Examples:
        >>> weights_dirs()[-1].name  # Keras' cache comes last
        'models'
    """
    dirs = [
        Path(part).expanduser()
        for part in os.environ.get(WEIGHTS_DIR_ENV, "").split(os.pathsep)
        if part.strip()
    ]
    if "KERAS_HOME" in os.environ:
        keras_home = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        home = Path("~").expanduser()
        keras_home = (home if os.access(home, os.W_OK) else Path("/tmp")) / ".keras"
    dirs.append(keras_home / "models")
    return dirs


def find_weights(
    model: str | ModelSpec,
    weights: str = "imagenet",
    *,
    input_size: tuple[int, int] | None = None,
) -> Path | None:
    """The local copy of a model's pretrained weights file, or ``None`` if there is none.

    Looks for the file Keras would download for ``create_model(name,
    weights="imagenet")`` (``spec.weights_file(input_size)``) in each folder of
    `weights_dirs`: ``$DERMNET_WEIGHTS_DIR``, then Keras' cache. `create_model` calls it
    and loads the file it finds; when it finds none, Keras downloads the file.

    Args:
        model: a registered model name (see `list_models`) or a `ModelSpec`.
        weights: the named weight set, one of ``spec.pretrained`` (``"imagenet"``).
        input_size: ``(height, width)`` of the model's input, for the models whose Keras
            weights depend on it (MobileNetV2); defaults to ``spec.input_size``.

    Returns:
        The path of the first file found, or ``None``.

    Raises:
        UnknownNameError: ``model`` is not a registered name.
        ParameterError: ``weights`` is not a weight set the model has.

    Examples:
        >>> import os, pathlib, tempfile
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> os.environ["DERMNET_WEIGHTS_DIR"] = str(folder)
        >>> _ = (folder / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5").write_bytes(b"")
        >>> find_weights("vgg16") == folder / "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
        True
        >>> del os.environ["DERMNET_WEIGHTS_DIR"]
    """
    where = "find_weights"
    spec = resolve_spec(model, where)
    if not isinstance(weights, str) or weights.lower() not in spec.pretrained:
        if not spec.pretrained:
            hint = f" {spec.name!r} has no pretrained weights."
        else:
            close = did_you_mean(str(weights), spec.pretrained)
            hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        must = ", ".join(map(repr, spec.pretrained)) or "a pretrained weight set"
        raise ParameterError(
            f"The 'weights' parameter of {where} for {spec.name!r} must be {must}. "
            f"Got {weights!r} instead.{hint}"
        )
    name = spec.weights_file(input_size)
    if name is None:
        return None
    for folder in weights_dirs():
        path = folder / name
        if path.is_file():
            return path
    return None
