"""`dermnet.train.callbacks.ProgressBar` on tiny fits and predictions."""

import io
import re

import keras
import numpy as np

from dermnet.train.callbacks import ProgressBar


def _tiny_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_progress_bar_writes_one_summary_line_per_epoch_with_losses():
    x = np.random.default_rng(0).normal(size=(40, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    stream = io.StringIO()
    bar = ProgressBar(stream, batch_size=8)
    _tiny_model().fit(
        x, y, validation_data=(x, y), epochs=2, batch_size=8, verbose=0, callbacks=[bar]
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # short epochs off a terminal: just the summary lines
    for epoch, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"epoch {epoch}/2  loss \d\.\d{{4}}  accuracy \d\.\d{{4}}  "
            r"val_loss \d\.\d{4}  val_accuracy \d\.\d{4}  \d+\.\ds",
            line,
        ), line


def test_progress_bar_counts_batches_while_training():
    x = np.zeros((40, 4), "float32")
    y = np.zeros(40, "int32")
    stream = io.StringIO()
    bar = ProgressBar(stream, batch_size=8, interval=0.0)  # a line after every batch
    _tiny_model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[bar])
    lines = stream.getvalue().splitlines()
    assert [line.split("  ")[1] for line in lines[:5]] == [
        f"[{'#' * (4 * k)}{'-' * (20 - 4 * k)}] {k}/5" for k in range(1, 6)
    ]
    assert all(" img/s" in line and "loss " in line for line in lines[:5])
    assert lines[-1].startswith("epoch 1/1  loss ")


def test_progress_bar_shows_prediction():
    stream = io.StringIO()
    scores = _tiny_model().predict(
        np.zeros((30, 4), "float32"), batch_size=10, verbose=0, callbacks=[ProgressBar(stream)]
    )
    assert scores.shape == (30, 2)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("predict  [####################] 3/3  ")
    assert "batch/s" in lines[0]


def test_without_summary_the_bar_leaves_the_epoch_lines_to_the_log():
    x = np.zeros((16, 4), "float32")
    y = np.zeros(16, "int32")
    stream = io.StringIO()
    bar = ProgressBar(stream, summary=False)
    _tiny_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[bar])
    assert stream.getvalue() == ""  # short epochs, not a terminal: nothing to show
