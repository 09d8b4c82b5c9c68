import importlib.util

import numpy as np
import pytest

from dermnet import OptionalDependencyError, ParameterError
from dermnet._core.errors import ExportError
from dermnet.models import EXPORT_FORMATS, ExportResult, create_model, export_model, run_exported

HAS_ONNX = all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnxruntime"))


@pytest.fixture(scope="module")
def model():
    import keras

    keras.utils.set_random_seed(0)
    return create_model("compact_cnn", 3, input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).uniform(0, 255, (3, 32, 32, 3)).astype("float32")


@pytest.mark.parametrize(
    ("filename", "fmt"),
    [("m.keras", "keras"), ("saved", "saved_model"), ("m.tflite", "tflite")],
)
def test_each_export_gives_the_same_outputs(model, images, tmp_path, filename, fmt):
    result = export_model(model, tmp_path / filename, sample=images)
    assert isinstance(result, ExportResult)
    assert result.format == fmt
    assert result.path.exists()
    assert result.size_bytes > 10_000
    assert result.max_abs_diff is not None
    assert result.max_abs_diff <= 1e-4
    expected = np.asarray(model(images, training=False))
    assert expected.std() > 0  # outputs differ between images: the check is meaningful
    np.testing.assert_allclose(run_exported(result.path, images), expected, atol=1e-4)
    assert result.to_dict()["path"] == str(result.path)


@pytest.mark.skipif(not HAS_ONNX, reason="tf2onnx/onnxruntime not installed (extra 'onnx')")
def test_onnx_export_gives_the_same_outputs(model, images, tmp_path):
    result = export_model(model, tmp_path / "m.onnx", sample=images)
    assert result.format == "onnx"
    assert result.max_abs_diff <= 1e-4
    np.testing.assert_allclose(
        run_exported(result.path, images), np.asarray(model(images, training=False)), atol=1e-4
    )


def test_onnx_without_the_extra_fails_clearly(model, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tf2onnx", None)  # import fails as if not installed
    with pytest.raises(OptionalDependencyError, match=r"dermnet\[onnx\]"):
        export_model(model, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_image_metadata_model_exports_with_named_inputs(tmp_path):
    fused = create_model("simple_cnn", 2, input_shape=(16, 16, 3), metadata_dim=3)
    rng = np.random.default_rng(0)
    sample = {
        "image": rng.uniform(0, 255, (2, 16, 16, 3)).astype("float32"),
        "metadata": rng.normal(size=(2, 3)).astype("float32"),
    }
    formats = ["saved_model", "tflite"] + (["onnx"] if HAS_ONNX else [])
    for fmt in formats:
        name = {"saved_model": "sm", "tflite": "m.tflite", "onnx": "m.onnx"}[fmt]
        result = export_model(fused, tmp_path / name, sample=sample)
        assert result.format == fmt
        assert result.max_abs_diff <= 1e-4
    with pytest.raises(ParameterError, match="'sample'"):
        export_model(fused, tmp_path / "x.tflite", sample=sample["image"])


def test_a_wrong_export_is_caught(model, images, tmp_path, monkeypatch):
    import dermnet.models.export as export

    real = export.run_exported
    monkeypatch.setattr(export, "run_exported", lambda *a, **k: real(*a, **k) + 0.01)
    with pytest.raises(ExportError, match=r"differs from the Keras model by up to 0\.01"):
        export_model(model, tmp_path / "m.tflite", sample=images)


def test_bad_arguments(model, tmp_path):
    assert EXPORT_FORMATS == ("keras", "saved_model", "tflite", "onnx")
    with pytest.raises(ParameterError, match="'format'"):
        export_model(model, tmp_path / "m.bin", format="coreml")
    with pytest.raises(ParameterError, match="'model'"):
        export_model("model", tmp_path / "m.keras")
    with pytest.raises(ParameterError, match="'atol'"):
        export_model(model, tmp_path / "m.keras", atol=-1)
    result = export_model(model, tmp_path / "m.keras", check=False)
    assert result.max_abs_diff is None
