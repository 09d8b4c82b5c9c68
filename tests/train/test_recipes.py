import numpy as np
import pytest
import tensorflow as tf

from dermnet import ParameterError
from dermnet.models import create_model, get_backbone
from dermnet.train import FineTuneResult, fine_tune


def _data():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 32)
    x = (rng.uniform(0, 150, (32, 32, 32, 3)) + 80 * y[:, None, None, None]).astype("float32")
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(8)


def test_two_phase_fine_tuning(tmp_path):
    ds = _data()
    model = create_model("compact_cnn", 2, input_shape=(32, 32, 3))
    backbone = get_backbone(model)
    stem = backbone.get_layer("stem_conv").kernel.numpy()
    lines = []
    result = fine_tune(
        model,
        ds,
        ds,
        head_epochs=1,
        epochs=2,
        unfreeze_layers="stage4_conv1",
        warmup_epochs=0.5,
        checkpoint=str(tmp_path / "best.keras"),
        csv_log=tmp_path / "history.csv",
        log=lines.append,
        verbose=0,
    )
    assert isinstance(result, FineTuneResult)
    assert result.head_report.backbone_trainable == 0
    assert result.head_report.trainable == result.head_report.head_trainable == 514
    assert result.finetune_report.backbone_trainable > 0
    assert result.finetune_report.batchnorm_trainable == 0
    assert len(result.history["loss"]) == 3  # epochs numbered on across the phases
    assert [line.split()[1] for line in lines] == ["1/1", "2/3", "3/3"]
    assert len((tmp_path / "history.csv").read_text().strip().splitlines()) == 1 + 3
    np.testing.assert_array_equal(backbone.get_layer("stem_conv").kernel.numpy(), stem)
    assert (tmp_path / "best.keras").is_file()
    # phase 2 ran with a warm-up then a cosine decay: its last rate is below the peak
    assert float(model.optimizer.learning_rate) < 1e-4


def test_plateau_schedule_and_whole_backbone():
    model = create_model("simple_cnn", 2, input_shape=(32, 32, 3))
    result = fine_tune(
        model,
        _data(),
        _data(),
        head_epochs=1,
        epochs=1,
        unfreeze_layers=None,
        schedule="plateau",
        verbose=0,
    )
    assert result.finetune_report.backbone_trainable == result.finetune_report.backbone_total
    assert "learning_rate" in result.finetune.history


def test_bad_arguments():
    model = create_model("simple_cnn", 2, input_shape=(32, 32, 3))
    with pytest.raises(ParameterError, match="'schedule'"):
        fine_tune(model, _data(), schedule="step")
    with pytest.raises(ParameterError, match="'unfreeze_layers'"):
        fine_tune(model, _data(), unfreeze_layers=True)
    with pytest.raises(ParameterError, match="'head_epochs'"):
        fine_tune(model, _data(), head_epochs=0)
