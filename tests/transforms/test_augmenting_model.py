"""`augmenting_model` and ``make_dataset(augment_on="model")``: augmentation on the accelerator."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")

import keras

from dermnet._core.errors import ParameterError
from dermnet.transforms import augmentation
from dermnet.transforms.augment_presets import augmenting_model


def _image_model() -> keras.Model:
    inputs = keras.Input((6, 6, 3), name="image")
    return keras.Model(inputs, keras.layers.Flatten()(inputs), name="flat")


def test_augmenting_model_augments_in_training_only_and_shares_weights():
    model = _image_model()
    wrapped = augmenting_model(model, augmentation("dihedral", seed=0))
    x = np.random.default_rng(0).uniform(0, 255, (64, 6, 6, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(wrapped(x, training=False)), x.reshape(64, -1))
    trained = np.asarray(wrapped(x, training=True)).reshape(64, 6, 6, 3)
    views = [np.rot90(v, k, axes=(1, 2)) for v in (x, x[:, :, ::-1]) for k in range(4)]
    per_view = np.stack([(trained == v).all(axis=(1, 2, 3)) for v in views])
    assert per_view.any(axis=0).all()  # every image is one of its 8 views
    assert per_view[0].mean() < 0.5  # and most are moved
    assert wrapped.name == "flat_augmented"


def test_augmenting_model_augments_the_image_entry_of_a_dict_input():
    image = keras.Input((6, 6, 3), name="image")
    meta = keras.Input((2,), name="metadata")
    joined = keras.layers.Concatenate()([keras.layers.Flatten()(image), meta])
    model = keras.Model({"image": image, "metadata": meta}, joined)
    wrapped = augmenting_model(model, augmentation("flips", seed=1))
    x = np.random.default_rng(1).uniform(0, 255, (32, 6, 6, 3)).astype("float32")
    m = np.random.default_rng(2).normal(size=(32, 2)).astype("float32")
    out = np.asarray(wrapped({"image": x, "metadata": m}, training=True))
    np.testing.assert_array_equal(out[:, -2:], m)  # the metadata passes unchanged
    assert not np.array_equal(out[:, :-2], x.reshape(32, -1))
    same = np.asarray(wrapped({"image": x, "metadata": m}, training=False))
    np.testing.assert_array_equal(same[:, :-2], x.reshape(32, -1))


def test_augmenting_model_refuses_what_it_cannot_wrap():
    with pytest.raises(ParameterError, match="'augment' parameter of augmenting_model"):
        augmenting_model(_image_model(), lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'model' parameter of augmenting_model"):
        augmenting_model("model", augmentation("flips"))  # type: ignore[arg-type]
    a, b = keras.Input((4,), name="a"), keras.Input((4,), name="b")
    two = keras.Model({"a": a, "b": b}, keras.layers.Add()([a, b]))
    with pytest.raises(ParameterError, match="dict with an 'image' entry"):
        augmenting_model(two, augmentation("flips"))


def test_make_dataset_augment_on_model_leaves_the_images_as_they_are():
    from dermnet.data import load_sample, make_dataset

    records = load_sample("malaria")
    records = records.subset(np.arange(8))
    aug = augmentation("dihedral", seed=0)
    plain = make_dataset(records, 16, 8)
    on_model = make_dataset(records, 16, 8, augment=aug, augment_on="model", seed=0)
    on_data = make_dataset(records, 16, 8, augment=aug, seed=0)
    (x0, _), (x1, _), (x2, _) = (next(iter(d)) for d in (plain, on_model, on_data))
    np.testing.assert_array_equal(x1, x0)
    assert not np.array_equal(x2, x0)
    assert on_model.model_augmentation is aug
    assert on_data.model_augmentation is None
    with pytest.raises(ParameterError, match="'augment_on' parameter of make_dataset"):
        make_dataset(records, 16, augment=aug, augment_on="gpu")
