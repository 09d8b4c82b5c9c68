"""Export a trained model (``.keras``, SavedModel, TFLite, ONNX), checked for equal outputs.

Every export is re-loaded with its own runtime (Keras, ``tf.saved_model``, the TFLite
interpreter, ONNX Runtime) and run on the same inputs as the Keras model; a difference
larger than ``atol`` is an `ExportError`, never a silent
success.

The exported graphs take the model's inputs by name: ``image`` (float32, 0-255,
``(batch, h, w, 3)``) and, for image+metadata models, ``metadata``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import ExportError
from dermnet._core.imports import optional_import
from dermnet._core.validation import check_bool, check_float, check_int, check_option, fail

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_model", "run_exported"]

#: Formats `export_model` writes.
EXPORT_FORMATS = ("keras", "saved_model", "tflite", "onnx")
_SUFFIXES = {".keras": "keras", ".tflite": "tflite", ".onnx": "onnx"}


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote and how closely it matches the Keras model.

    Attributes:
        format: one of `EXPORT_FORMATS`.
        path: the file (or SavedModel folder) written.
        size_bytes: its size on disk.
        max_abs_diff: largest absolute difference between the export's and the Keras
            model's outputs on the check inputs (``None`` when not checked).
    """

    format: str
    path: Path
    size_bytes: int
    max_abs_diff: float | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serializable dict."""
        return {**dataclasses.asdict(self), "path": str(self.path)}


def _input_specs(model: Any) -> list[tuple[str, tuple[int | None, ...]]]:
    specs = []
    for tensor in model.inputs:
        shape = tuple(tensor.shape)
        if any(dim is None for dim in shape[1:]):
            raise fail(
                "model",
                "export_model",
                "a model with a fixed input shape",
                f"input {tensor.name!r} of shape {shape}",
            )
        specs.append((tensor.name, shape))
    return specs


def _is_dict_model(model: Any) -> bool:
    return isinstance(getattr(model, "_inputs_struct", None), dict)


def _sample_inputs(model: Any, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {}
    for name, shape in _input_specs(model):
        if len(shape) == 4:
            out[name] = rng.uniform(0, 255, (n, *shape[1:])).astype(np.float32)
        else:
            out[name] = rng.normal(0, 1, (n, *shape[1:])).astype(np.float32)
    return out


def _as_named(model: Any, sample: Any) -> dict[str, np.ndarray]:
    names = [name for name, _ in _input_specs(model)]
    if isinstance(sample, dict):
        missing = sorted(set(names) - set(sample))
        if missing:
            raise fail("sample", "export_model", f"a dict with the inputs {names}", sorted(sample))
        return {name: np.asarray(sample[name], np.float32) for name in names}
    if len(names) != 1:
        raise fail("sample", "export_model", f"a dict with the inputs {names}", type(sample))
    return {names[0]: np.asarray(sample, np.float32)}


def _serving_fn(model: Any) -> Any:
    """A function of the named inputs, in ``model.inputs`` order."""
    names = [name for name, _ in _input_specs(model)]
    as_dict = _is_dict_model(model)

    def serve(*tensors: Any) -> Any:
        inputs = dict(zip(names, tensors, strict=True)) if as_dict else tensors[0]
        return model(inputs, training=False)

    return serve


def _signature(model: Any) -> list[Any]:
    import tensorflow as tf

    return [
        tf.TensorSpec((None, *shape[1:]), tf.float32, name=name)
        for name, shape in _input_specs(model)
    ]


def _write_saved_model(model: Any, path: Path) -> None:
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", _serving_fn(model), input_signature=_signature(model))
    archive.write_out(str(path), verbose=False)


def _write_tflite(model: Any, path: Path) -> None:
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as tmp:
        _write_saved_model(model, Path(tmp) / "saved_model")
        converter = tf.lite.TFLiteConverter.from_saved_model(str(Path(tmp) / "saved_model"))
        path.write_bytes(converter.convert())


def _write_onnx(model: Any, path: Path, opset: int) -> None:
    import tensorflow as tf

    tf2onnx = optional_import("tf2onnx", purpose="ONNX export", extra="onnx")
    function = tf.function(_serving_fn(model))
    try:
        tf2onnx.convert.from_function(
            function, input_signature=_signature(model), opset=opset, output_path=str(path)
        )
    except Exception as exc:  # tf2onnx raises many types; say which model failed
        raise ExportError(
            f"tf2onnx {getattr(tf2onnx, '__version__', '?')} could not convert model "
            f"{model.name!r} to ONNX (opset {opset}): {type(exc).__name__}: {exc}"
        ) from exc


def _tflite_interpreter(path: Path) -> Any:
    try:  # the LiteRT interpreter, where installed, replaces tf.lite.Interpreter
        from ai_edge_litert.interpreter import Interpreter  # type: ignore[import-not-found]
    except ImportError:
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf.lite.Interpreter's deprecation notice
        return Interpreter(model_path=str(path))


def run_exported(path: str | os.PathLike[str], inputs: Any, *, format: str | None = None) -> Any:
    """Run an exported model on ``inputs`` with the export's own runtime.

    Args:
        path: what `export_model` wrote.
        inputs: an array of images, or a dict ``{"image": ..., "metadata": ...}``.
        format: one of `EXPORT_FORMATS`; by default from the suffix (a folder is a
            SavedModel).

    Returns:
        The outputs, a NumPy array ``(batch, outputs)``.
    """
    path = Path(path)
    fmt = _format_of(path, format)
    if fmt == "keras":
        from dermnet.models.io import load_model

        model = load_model(path, compile=False)
        names = [tensor.name for tensor in model.inputs]
        feed = _feed(names, inputs)
        batch = feed if _is_dict_model(model) else feed[names[0]]
        return np.asarray(model.predict(batch, verbose=0))
    if fmt == "saved_model":
        import tensorflow as tf

        signature = tf.saved_model.load(str(path)).signatures["serving_default"]
        names = list(signature.structured_input_signature[1])
        out = signature(**{k: tf.constant(v) for k, v in _feed(names, inputs).items()})
        return np.asarray(next(iter(out.values())))
    if fmt == "tflite":
        runner = _tflite_interpreter(path).get_signature_runner("serving_default")
        out = runner(**_feed(list(runner.get_input_details()), inputs))
        return np.asarray(next(iter(out.values())))
    ort = optional_import("onnxruntime", purpose="Running an ONNX export", extra="onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [spec.name for spec in session.get_inputs()]
    feed = _feed([name.split(":")[0] for name in names], inputs)
    return np.asarray(session.run(None, dict(zip(names, feed.values(), strict=True)))[0])


def _feed(names: list[str], inputs: Any) -> dict[str, np.ndarray]:
    """Match ``inputs`` (an array, or a dict by input name) to the runtime's input names."""
    if not isinstance(inputs, dict):
        if len(names) != 1:
            raise fail("inputs", "run_exported", f"a dict with the inputs {names}", "an array")
        return {names[0]: np.asarray(inputs, np.float32)}
    missing = [name for name in names if name not in inputs]
    if missing:
        raise fail("inputs", "run_exported", f"a dict with the inputs {names}", sorted(inputs))
    return {name: np.asarray(inputs[name], np.float32) for name in names}


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        return check_option(format, EXPORT_FORMATS, "format", "export_model")
    for suffix, fmt in _SUFFIXES.items():
        if path.name.endswith(suffix):
            return fmt
    return "saved_model"


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def export_model(
    model: Any,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    check: bool = True,
    sample: Any = None,
    atol: float = 1e-4,
    opset: int = 17,
) -> ExportResult:
    """Export ``model`` and check that the export gives the same outputs.

    Args:
        model: a Keras model with fixed input shapes (any dermnet classifier).
        path: where to write: ``model.keras``, ``model.tflite``, ``model.onnx``, or a
            folder for a SavedModel (overwritten if it exists).
        format: one of `EXPORT_FORMATS`; by default from the suffix of ``path``.
        check: run the export on ``sample`` and compare with the Keras model.
        sample: check inputs (an image batch, or a dict for image+metadata models); by
            default 4 random images in [0, 255] (and standard-normal metadata), seeded.
        atol: largest allowed absolute difference of the outputs.
        opset: the ONNX opset.

    Returns:
        An `ExportResult` with the measured difference.

    Raises:
        OptionalDependencyError: ONNX export without ``tf2onnx``/``onnxruntime``
            (``pip install "dermnet[onnx]"``).
        ExportError: the conversion failed, or the export's outputs differ by more than
            ``atol``.

    Examples:
        >>> import tempfile, pathlib
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> result = export_model(model, folder / "model.tflite")
        >>> result.format, result.max_abs_diff < 1e-4
        ('tflite', True)
    """
    import keras

    where = "export_model"
    if not isinstance(model, keras.Model):
        raise fail("model", where, "a keras.Model", type(model).__name__)
    if not isinstance(path, (str, os.PathLike)):
        raise fail("path", where, "a path (str or os.PathLike)", path)
    path = Path(path).expanduser()
    fmt = _format_of(path, format)
    check = check_bool(check, "check", where)
    atol = check_float(atol, "atol", where, low=0.0)
    opset = check_int(opset, "opset", where, low=9)
    inputs = _as_named(model, sample) if sample is not None else _sample_inputs(model, 4, 0)
    if fmt == "onnx":  # fail early, before anything is written
        optional_import("tf2onnx", purpose="ONNX export", extra="onnx")
        if check:
            optional_import("onnxruntime", purpose="Checking an ONNX export", extra="onnx")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "saved_model" and path.exists():
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    if fmt == "keras":
        model.save(path)
    elif fmt == "saved_model":
        _write_saved_model(model, path)
    elif fmt == "tflite":
        _write_tflite(model, path)
    else:
        _write_onnx(model, path, opset)
    diff = None
    if check:
        feed = inputs if _is_dict_model(model) else next(iter(inputs.values()))
        expected = np.asarray(model(feed, training=False))
        got = run_exported(path, inputs, format=fmt)
        if got.shape != expected.shape:
            raise ExportError(
                f"The {fmt} export at {path} outputs shape {got.shape}; the Keras model "
                f"outputs {expected.shape}."
            )
        diff = float(np.max(np.abs(got.astype(np.float64) - expected)))
        if not diff <= atol:
            raise ExportError(
                f"The {fmt} export at {path} differs from the Keras model by up to {diff:.3g} "
                f"(allowed: atol={atol:g}) on the same inputs."
            )
    return ExportResult(format=fmt, path=path, size_bytes=_size(path), max_abs_diff=diff)
