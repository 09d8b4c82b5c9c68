"""Running transforms inside tf.data: static shapes, dtypes, pass-through of labels."""

import numpy as np
import pytest

from dermnet import ParameterError
from dermnet import transforms as T


@pytest.fixture(scope="module")
def tf():
    import tensorflow

    return tensorflow


def _images(n=3, h=30, w=40):
    return np.random.default_rng(0).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_preset_in_tf_data_has_a_static_shape_and_matches_numpy(tf):
    pipeline = T.preset("dermoscopy", image_size=(16, 24))
    images = _images()
    ds = tf.data.Dataset.from_tensor_slices((images, [0, 1, 2]))
    ds = ds.map(T.tf_map(pipeline), num_parallel_calls=2, deterministic=True)
    image_spec, label_spec = ds.element_spec
    assert image_spec.shape.as_list() == [16, 24, 3]
    assert image_spec.dtype == tf.uint8
    assert label_spec.dtype == tf.int32
    got = np.stack([x.numpy() for x, _ in ds])
    np.testing.assert_array_equal(got, pipeline(images))
    assert [int(y) for _, y in ds] == [0, 1, 2]


def test_unknown_input_size_still_gives_a_static_output_after_a_resize(tf):
    def gen():
        for h, w in ((20, 30), (35, 25)):
            yield np.zeros((h, w, 3), np.uint8)

    spec = tf.TensorSpec((None, None, 3), tf.uint8)
    ds = tf.data.Dataset.from_generator(gen, output_signature=spec)
    ds = ds.map(T.tf_map(T.Compose([T.ShadesOfGray(), T.Resize(12)]), output_dtype="float32"))
    assert ds.element_spec.shape.as_list() == [12, 12, 3]
    assert ds.element_spec.dtype == tf.float32
    assert [tuple(x.shape) for x in ds] == [(12, 12, 3), (12, 12, 3)]
    # without a resize the size stays unknown but the rank and channels are set
    plain = tf.data.Dataset.from_generator(gen, output_signature=spec).map(
        T.tf_map(T.ShadesOfGray())
    )
    assert plain.element_spec.shape.as_list() == [None, None, 3]


def test_channel_changing_transforms_declare_their_channels(tf):
    images = _images()
    for transform, channels in (
        (T.ConvertColor("gray"), 1),
        (T.ConvertColor("gray", channels=3), 3),
        (T.EnhanceEdges(mode="channel"), 4),
        (T.EnhanceEdges(mode="blend"), 3),
    ):
        ds = tf.data.Dataset.from_tensor_slices(images).map(T.tf_map(transform))
        assert ds.element_spec.shape.as_list() == [30, 40, channels]
        got = next(iter(ds)).numpy()
        np.testing.assert_array_equal(got, transform(images[0]))


def test_float_batches_in_0_255_keep_their_dtype_and_range(tf):
    """The make_dataset contract: float32 images in [0, 255], here batched."""
    batch = _images().astype(np.float32)
    ds = tf.data.Dataset.from_tensors(batch).map(T.tf_map(T.CLAHE()))
    assert ds.element_spec.shape.as_list() == [3, 30, 40, 3]
    out = next(iter(ds)).numpy()
    assert out.dtype == np.float32
    assert out.max() > 1.0
    assert out.max() <= 255.0
    np.testing.assert_array_equal(out, T.CLAHE()(batch))


def test_bad_tensors_and_arguments(tf):
    gray = tf.data.Dataset.from_tensor_slices(np.zeros((2, 8, 8, 1), np.uint8))
    with pytest.raises(ParameterError, match=r"tf_map\(ShadesOfGray\).*3 channels"):
        gray.map(T.tf_map(T.ShadesOfGray()))
    flat = tf.data.Dataset.from_tensor_slices(np.zeros((2, 8), np.uint8))
    with pytest.raises(ParameterError, match="rank 3"):
        flat.map(T.tf_map(T.ShadesOfGray()))
    with pytest.raises(ParameterError, match="'transform' parameter of tf_map"):
        T.tf_map(lambda x: x)
    with pytest.raises(ParameterError, match="'output_dtype' parameter of tf_map"):
        T.tf_map(T.ShadesOfGray(), output_dtype="int64")


def test_errors_inside_the_graph_name_the_transform(tf):
    ds = tf.data.Dataset.from_tensor_slices(np.zeros((1, 8, 8, 3), np.uint8))
    ds = ds.map(T.tf_map(T.CenterCrop(20)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="center_crop"):
        next(iter(ds))
