"""Tiny models with known behaviour for the explain tests."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dermnet.models import create_model


def quadrant_model(size: int = 16) -> keras.Model:
    """Class 1's logit is 0.01 x the mean brightness of the top-left quadrant; class 0's is 0.

    Two feature channels (layer ``features``): the brightness of the top-left and of the
    bottom-right quadrant; only the first feeds class 1. Weights are constants, no randomness.
    """
    half = size // 2
    inputs = keras.Input((size, size, 3), name="image")
    conv = keras.layers.Conv2D(2, 1, use_bias=False, kernel_initializer="ones", name="conv")
    mask = np.zeros((1, size, size, 2), "float32")
    mask[:, :half, :half, 0] = 1.0
    mask[:, half:, half:, 1] = 1.0
    features = keras.layers.Lambda(lambda t: t * mask, name="features")(conv(inputs))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(features)
    kernel = keras.initializers.Constant([[0.0, 0.04], [0.0, 0.0]])
    logits = keras.layers.Dense(2, kernel_initializer=kernel, name="dense")(pooled)
    return keras.Model(inputs, keras.layers.Softmax(name="softmax")(logits), name="quadrant")


def block_images(n: int, size: int = 16, block: int = 4, seed: int = 0) -> np.ndarray:
    """Images made of flat colour blocks (superpixels are then the blocks)."""
    rng = np.random.default_rng(seed)
    cells = rng.uniform(40, 215, (n, size // block, size // block, 3)).astype("float32")
    return np.repeat(np.repeat(cells, block, axis=1), block, axis=2)


def metadata_model(size: int = 32) -> keras.Model:
    """Image + metadata classifier: nested simple_cnn backbone, metadata concatenated."""
    base = create_model("simple_cnn", 3, input_shape=(size, size, 3))
    backbone = base.get_layer("simple_cnn")
    image = keras.Input((size, size, 3), name="image")
    meta = keras.Input((4,), name="metadata")
    x = base.get_layer("preprocessing")(image)
    x = backbone(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Concatenate(name="fuse")([x, meta])
    out = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model({"image": image, "metadata": meta}, out, name="fusion")


@pytest.fixture(scope="module")
def quadrant() -> keras.Model:
    return quadrant_model()


@pytest.fixture(scope="module")
def cnn() -> keras.Model:
    keras.utils.set_random_seed(0)
    return create_model("simple_cnn", 3, input_shape=(32, 32, 3))


@pytest.fixture(scope="module")
def images32() -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 255, (5, 32, 32, 3)).astype("float32")
