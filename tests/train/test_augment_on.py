"""``augment_on = "model"``: a run augments inside the model, deploys the model alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest

from dermnet import ParameterError
from dermnet.models import load_model
from dermnet.train import RunConfig, fit, train_run
from dermnet.transforms import augmentation
from dermnet.transforms._augment_base import _Augmentation
from dermnet.transforms.augment_presets import augmenting_model, unwrap_augmenting_model


def _augmentation_layers(model):
    found = []
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, _Augmentation):
            found.append(layer)
    return found


def _tiny(inputs):
    image = inputs["image"] if isinstance(inputs, dict) else inputs
    x = keras.layers.GlobalAveragePooling2D()(image)
    if isinstance(inputs, dict):
        x = keras.layers.Concatenate()([x, inputs["metadata"]])
    return keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x), name="tiny")


def test_unwrap_finds_the_model_inside_a_wrapper_also_after_a_reload(tmp_path):
    model = _tiny(keras.Input((8, 8, 3)))
    wrapped = augmenting_model(model, augmentation("flips", seed=0))
    assert unwrap_augmenting_model(wrapped) is model
    wrapped.save(tmp_path / "w.keras")
    reloaded = keras.saving.load_model(tmp_path / "w.keras")
    inner = unwrap_augmenting_model(reloaded)
    assert inner is not reloaded
    assert inner.name == "tiny"
    assert _augmentation_layers(inner) == []
    # image + metadata models too
    image, metadata = keras.Input((8, 8, 3), name="image"), keras.Input((2,), name="metadata")
    both = _tiny({"image": image, "metadata": metadata})
    assert unwrap_augmenting_model(augmenting_model(both, augmentation("dihedral"))) is both


def test_unwrap_leaves_other_models_alone():
    plain = _tiny(keras.Input((8, 8, 3)))
    assert unwrap_augmenting_model(plain) is plain
    # a model inside a model, without an augmentation in front: not a wrapper
    inputs = keras.Input((8, 8, 3))
    outer = keras.Model(inputs, plain(keras.layers.Rescaling(1.0)(inputs)))
    assert unwrap_augmenting_model(outer) is outer


def test_fit_refuses_a_dataset_that_left_its_augmentation_to_a_model_without_it():
    import tensorflow as tf

    model = _tiny(keras.Input((8, 8, 3)))
    images = np.zeros((4, 8, 8, 3), "float32")
    ds = tf.data.Dataset.from_tensor_slices((images, np.array([0, 1, 0, 1]))).batch(2)
    ds.model_augmentation = augmentation("flips", seed=0)
    with pytest.raises(ParameterError, match="augment_on='model'"):
        fit(model, ds, epochs=1)
    # any augmentation layer augmenting_model takes, Keras's own too, is accepted
    keras_flip = keras.layers.RandomFlip(seed=0)
    ds.model_augmentation = keras_flip
    wrapped = augmenting_model(model, keras_flip)
    fit(wrapped, ds, epochs=1, recalibrate_bn=False)
    with pytest.raises(ParameterError, match="augment_on='model'"):
        fit(model, ds, epochs=1)


def test_the_run_config_names_a_bad_augment_on():
    with pytest.raises(ParameterError, match="augment_on"):
        RunConfig(sample="malaria", augment="flips", augment_on="gpu").validate()


def test_a_model_route_run_trains_resumes_in_a_fresh_process_and_deploys_the_bare_model(
    tmp_path,
):
    folder = tmp_path / "run"
    argv = [
        sys.executable,
        "-m",
        "dermnet.cli",
        "train",
        "--sample",
        "malaria",
        "--model",
        "simple_cnn",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--augment",
        "microscopy",
        "--augment-on",
        "model",
        "--keep",
        "last",
        "--output",
        str(folder),
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    config = RunConfig.from_dict(json.loads((folder / "config.json").read_text())["run"])
    assert config.augment_on == "model"
    last = load_model(folder / "last.keras")  # the model trained: behind its augmentation
    deployed = load_model(folder / "model.keras")
    assert len(_augmentation_layers(last)) == len(augmentation("microscopy").layers)
    assert _augmentation_layers(deployed) == []
    x = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    np.testing.assert_allclose(last.predict(x, verbose=0), deployed.predict(x, verbose=0))
    # resumed in this (another) process, from the wrapper in last.keras
    summary = train_run(None, folder, resume=True, epochs=2, log=lambda line: None)
    assert summary["epochs_done"] == 2
    assert pd.read_csv(folder / "history.csv")["epoch"].tolist() == [0, 1]
    deployed = load_model(folder / "model.keras")
    assert _augmentation_layers(deployed) == []
    np.testing.assert_allclose(
        load_model(folder / "last.keras").predict(x, verbose=0), deployed.predict(x, verbose=0)
    )
    assert 0.0 <= summary["test"]["balanced_accuracy"] <= 1.0
