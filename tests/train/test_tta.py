import keras
import numpy as np
import pytest

from dermnet import ParameterError
from dermnet.train import TTA_TRANSFORMS, predict_tta


def _corner_model(size=4):
    """Output depends only on the top-left pixel: its value and its complement, softmaxed."""
    inputs = keras.Input((size, size, 1), name="image")
    corner = keras.layers.Lambda(lambda x: x[:, 0, 0, :])(inputs)
    both = keras.layers.Concatenate()([corner, -corner])
    return keras.Model(inputs, keras.layers.Softmax()(both))


def _softmax2(v):
    e = np.exp(np.stack([v, -v], axis=1))
    return e / e.sum(1, keepdims=True)


def test_dihedral_views_average_the_four_corners_twice():
    x = np.zeros((2, 4, 4, 1), "float32")
    x[0, 0, 0], x[0, 0, 3], x[0, 3, 0], x[0, 3, 3] = 1.0, 2.0, 3.0, 4.0
    x[1, 0, 0] = 5.0
    got = predict_tta(_corner_model(), x, transforms="dihedral", batch_size=1)
    # each corner reaches the top-left under exactly two of the eight symmetries
    want0 = _softmax2(np.array([1.0, 2.0, 3.0, 4.0])).mean(0)
    want1 = _softmax2(np.array([5.0, 0.0, 0.0, 0.0])).mean(0)
    np.testing.assert_allclose(got, np.stack([want0, want1]), atol=1e-6)
    assert got.dtype == np.float32
    assert got.shape == (2, 2)


def test_flips_and_none():
    x = np.zeros((1, 4, 6, 1), "float32")  # non-square works with flips
    x[0, 0, 0], x[0, 0, 5], x[0, 3, 0], x[0, 3, 5] = 1.0, 2.0, 3.0, 4.0
    inputs = keras.Input((4, 6, 1))
    corner = keras.layers.Lambda(lambda t: t[:, 0, 0, :])(inputs)
    model = keras.Model(
        inputs, keras.layers.Softmax()(keras.layers.Concatenate()([corner, -corner]))
    )
    flips = predict_tta(model, x, transforms="flips")
    np.testing.assert_allclose(
        flips[0], _softmax2(np.array([1.0, 2.0, 3.0, 4.0])).mean(0), atol=1e-6
    )
    plain = predict_tta(model, x, transforms="none")
    np.testing.assert_allclose(plain[0], _softmax2(np.array([1.0]))[0], atol=1e-6)
    assert TTA_TRANSFORMS == {"none": 1, "flips": 4, "dihedral": 8}


def test_dict_inputs_transform_only_the_image():
    image = keras.Input((4, 4, 1), name="image")
    meta = keras.Input((1,), name="metadata")
    corner = keras.layers.Lambda(lambda t: t[:, 0, 0, :])(image)
    score = keras.layers.Add()([corner, meta])
    model = keras.Model(
        {"image": image, "metadata": meta},
        keras.layers.Softmax()(keras.layers.Concatenate()([score, -score])),
    )
    x = np.zeros((1, 4, 4, 1), "float32")
    x[0, 3, 3] = 2.0
    m = np.array([[1.0]], "float32")
    got = predict_tta(model, {"image": x, "metadata": m}, transforms="dihedral")
    want = _softmax2(np.array([1.0, 1.0, 1.0, 3.0])).mean(0)  # metadata added to each view
    np.testing.assert_allclose(got[0], want, atol=1e-6)


def test_bad_input():
    model = _corner_model()
    x = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ParameterError, match="'transforms'"):
        predict_tta(model, x, transforms="rotate")
    with pytest.raises(ParameterError, match="square"):
        predict_tta(model, np.zeros((1, 4, 6, 1), "float32"))
    with pytest.raises(ParameterError, match=r"\(N, H, W, C\)"):
        predict_tta(model, np.zeros((4, 4, 1), "float32"))
    with pytest.raises(ParameterError, match="'image' entry"):
        predict_tta(model, {"pixels": x})
    with pytest.raises(ParameterError, match="'batch_size'"):
        predict_tta(model, x, batch_size=0)


def test_views_go_through_one_graph_traced_once():
    from dermnet.train.tta import compiled_forward

    model = _corner_model()
    forward = compiled_forward(model)
    assert compiled_forward(model) is forward
    assert forward.traces == 0
    rng = np.random.default_rng(0)
    x = rng.random((7, 4, 4, 1)).astype("float32")
    first = predict_tta(model, x, transforms="dihedral", batch_size=3)  # batches of 3, 3, 1
    for n, batch_size in [(1, 64), (5, 2), (7, 7)]:
        predict_tta(model, x[:n], transforms="dihedral", batch_size=batch_size)
    predict_tta(model, x, transforms="none")
    assert forward.traces == 1
    # the stacked views give what Model.predict gives one view at a time
    views = [x, *[np.rot90(x, k, axes=(1, 2)) for k in (1, 2, 3)]]
    views += [v[:, :, ::-1] for v in views]
    want = np.mean([model.predict(v, verbose=0) for v in views], axis=0)
    np.testing.assert_allclose(first, want, atol=1e-6)


def test_empty_batch_traces_without_running_and_the_graph_is_reused():
    from dermnet.train.tta import compiled_forward

    inputs = keras.Input((8, 8, 3))
    conv = keras.layers.Conv2D(4, 3)(inputs)  # oneDNN refuses to run 0 rows through this
    pooled = keras.layers.GlobalAveragePooling2D()(conv)
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(pooled))
    got = predict_tta(model, np.zeros((0, 8, 8, 3), "float32"))
    assert got.shape == (0, 3)
    assert got.dtype == np.float32
    assert compiled_forward(model).traces == 1
    x = np.random.default_rng(1).random((5, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        predict_tta(model, x, transforms="none"), model.predict(x, verbose=0), atol=1e-6
    )
    assert compiled_forward(model).traces == 1
