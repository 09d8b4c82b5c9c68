import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.train import WarmupCosine


def test_warmup_then_cosine_values():
    schedule = WarmupCosine(1e-3, total_steps=110, warmup_steps=10, min_learning_rate=1e-5)
    values = np.array([float(schedule(s)) for s in range(0, 130)])
    np.testing.assert_allclose(values[:10], 1e-3 * np.arange(1, 11) / 10, rtol=1e-5)
    assert values[10] == pytest.approx(1e-3)
    assert values[60] == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5), rel=1e-5)
    assert values[110] == pytest.approx(1e-5)
    assert values[129] == pytest.approx(1e-5)
    assert np.all(np.diff(values[10:111]) <= 1e-12)
    no_warmup = WarmupCosine(0.1, total_steps=4)
    assert float(no_warmup(0)) == pytest.approx(0.1)


def test_schedule_round_trips_with_the_optimizer_in_a_keras_file(tmp_path):
    import keras

    from dermnet.models import create_model, load_model

    schedule = WarmupCosine(2e-3, total_steps=50, warmup_steps=5, min_learning_rate=1e-6)
    assert WarmupCosine.from_config(schedule.get_config()).get_config() == schedule.get_config()
    model = create_model("simple_cnn", 2, input_shape=(16, 16, 3))
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy")
    x = np.zeros((4, 16, 16, 3), "float32")
    model.fit(x, np.zeros(4), epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = load_model(tmp_path / "m.keras")
    restored = (
        loaded.optimizer.learning_rate_schedule
        if hasattr(loaded.optimizer, "learning_rate_schedule")
        else loaded.optimizer._learning_rate
    )
    assert isinstance(restored, WarmupCosine)
    assert restored.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations.numpy()) == 1


def test_bad_arguments():
    with pytest.raises(ParameterError, match="'warmup_steps'"):
        WarmupCosine(1e-3, total_steps=10, warmup_steps=11)
    with pytest.raises(ParameterError, match="'learning_rate'"):
        WarmupCosine(0.0, total_steps=10)
    with pytest.raises(ParameterError, match="'min_learning_rate'"):
        WarmupCosine(1e-3, total_steps=10, min_learning_rate=1e-2)
