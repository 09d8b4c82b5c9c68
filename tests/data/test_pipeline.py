import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, ParameterError
from dermnet.data import Records, load_sample, make_dataset


def _records(tmp_path, write_image):
    rows = []
    for i, (fmt, color) in enumerate([("png", 10), ("jpg", 120), ("bmp", 250), ("png", 60)]):
        array = np.full((20, 30, 3), color, np.uint8)
        path = write_image(tmp_path / f"img{i}.{fmt}", array, mode="P" if i == 3 else None)
        rows.append({"image_path": str(path), "label": "ab"[i % 2]})
    return Records(pd.DataFrame(rows), ["a", "b"])


def test_decodes_png_jpeg_bmp_and_palette_to_rgb_float(tmp_path, write_image):
    ds = make_dataset(_records(tmp_path, write_image), (8, 12), batch_size=4)
    images, labels = next(iter(ds))
    assert images.shape == (4, 8, 12, 3)
    assert images.dtype.name == "float32"
    assert labels.numpy().tolist() == [0, 1, 0, 1]
    means = images.numpy().mean(axis=(1, 2, 3))
    assert means[0] == pytest.approx(10, abs=1)
    assert means[2] == pytest.approx(250, abs=1)
    assert images.numpy().min() >= 0
    assert images.numpy().max() <= 255


def test_one_hot_transforms_and_resize_modes(tmp_path, write_image):
    rec = _records(tmp_path, write_image)
    ds = make_dataset(rec, 10, batch_size=2, label_mode="one_hot", transforms=lambda x: 255 - x)
    images, labels = next(iter(ds))
    assert labels.numpy().tolist() == [[1, 0], [0, 1]]
    assert images.numpy()[0].mean() == pytest.approx(245, abs=1)
    padded, _ = next(iter(make_dataset(rec, 30, batch_size=1, resize="pad")))
    assert padded.numpy()[0, 0].sum() == 0  # black padding above the 20x30 image


def test_shuffle_is_seeded():
    rec = load_sample("malaria")
    first = [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50, shuffle=True, seed=5)]
    again = [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50, shuffle=True, seed=5)]
    assert first == again
    assert first != [y.numpy().tolist() for _, y in make_dataset(rec, 16, 50)]


def test_bad_parameters_are_named(tmp_path, write_image):
    rec = _records(tmp_path, write_image)
    with pytest.raises(ParameterError, match="'label_mode' parameter of make_dataset"):
        make_dataset(rec, 8, label_mode="onehot")
    with pytest.raises(ParameterError, match="'batch_size'"):
        make_dataset(rec, 8, batch_size=0)


def _stripes(tmp_path, write_image, n=4):
    """20x30 images: 5 red columns, 20 green, 5 blue; labels alternate a/b."""
    array = np.zeros((20, 30, 3), np.uint8)
    array[:, :5, 0] = 255
    array[:, 5:25, 1] = 255
    array[:, 25:, 2] = 255
    rows = []
    for i in range(n):
        path = write_image(tmp_path / f"s{i}.png", array)
        rows.append(
            {
                "image_path": str(path),
                "label": "ab"[i % 2],
                "age": [30.0, None, 50.0, 70.0][i % 4],
                "sex": ["male", "female", "unknown", "male"][i % 4],
            }
        )
    return Records(pd.DataFrame(rows), ["a", "b"], metadata_cols=("age", "sex"))


def test_rgba_and_gray_become_rgb(tmp_path, write_image):
    color = np.zeros((6, 6, 3), np.uint8)
    color[..., 0] = 200
    rows = [
        {"image_path": str(write_image(tmp_path / "rgba.png", color, mode="RGBA")), "label": "a"},
        {"image_path": str(write_image(tmp_path / "gray.png", color, mode="L")), "label": "a"},
    ]
    images, _ = next(iter(make_dataset(Records(pd.DataFrame(rows), ["a"]), 6, 2)))
    rgba, gray = images.numpy()
    np.testing.assert_allclose(rgba[2, 2], [200, 0, 0])
    assert gray[2, 2, 0] == gray[2, 2, 1] == gray[2, 2, 2] > 0  # luminance replicated


def test_crop_keeps_the_centre_and_stretch_keeps_the_edges(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image, n=1)
    crop, _ = next(iter(make_dataset(rec, 10, 1, resize="crop")))
    np.testing.assert_allclose(crop.numpy()[0].reshape(-1, 3).mean(0), [0, 255, 0])
    stretch, _ = next(iter(make_dataset(rec, 10, 1, resize="stretch")))
    assert stretch.numpy()[0, :, 0, 0].min() > 200  # red survives on the left edge
    pad, _ = next(iter(make_dataset(rec, 30, 1, resize="pad")))
    assert pad.numpy()[0, :5].max() == 0
    assert pad.numpy()[0, -5:].max() == 0
    assert pad.numpy()[0, 15, 15, 1] == 255


def test_unbatched_binary_and_unlabelled_outputs(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image)
    image, label = next(iter(make_dataset(rec, 8, batch_size=None, label_mode="binary")))
    assert image.shape == (8, 8, 3)
    assert label.dtype.name == "float32"
    assert float(label) == 0.0
    batch = next(iter(make_dataset(rec, 8, batch_size=3, label_mode=None)))
    assert batch.shape == (3, 8, 8, 3)
    batches = list(make_dataset(rec, 8, batch_size=3, drop_remainder=True))
    assert len(batches) == 1
    many = Records(pd.DataFrame({"image_path": rec.paths[:3], "label": ["a", "b", "c"]}), "abc")
    with pytest.raises(ParameterError, match="'binary' of make_dataset needs records with 2"):
        make_dataset(many, 8, label_mode="binary")


def test_with_metadata_yields_named_inputs_and_refuses_unfitted_test_records(tmp_path, write_image):
    from dermnet.data import MetadataEncoder

    rec = _stripes(tmp_path, write_image)
    train = rec.with_role("train")
    ((x, y),) = make_dataset(train, 8, batch_size=4, with_metadata=True).take(1)
    assert sorted(x) == ["image", "metadata"]
    assert x["image"].shape == (4, 8, 8, 3)
    encoder = MetadataEncoder().fit(train)
    assert x["metadata"].shape == (4, encoder.dim)
    np.testing.assert_allclose(x["metadata"].numpy(), encoder.transform(train))
    assert y.numpy().tolist() == [0, 1, 0, 1]
    test = rec.with_role("test")
    with pytest.raises(ParameterError, match=r"fitted 'metadata_encoder'.*'test'"):
        make_dataset(test, 8, with_metadata=True)
    ds = make_dataset(test, 8, None, with_metadata=True, metadata_encoder=encoder, label_mode=None)
    first = next(iter(ds))
    assert first["metadata"].shape == (encoder.dim,)


def test_augment_runs_on_batches_with_training_flag_and_seed(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image)
    seen = []

    class Flip:
        def __call__(self, images, training=False):
            seen.append((images.shape.rank, training))
            return images[:, :, ::-1, :] if training else images

    images, _ = next(iter(make_dataset(rec, (10, 30), 2, augment=Flip())))
    assert seen
    assert seen[0] == (4, True)
    assert images.numpy()[0, 5, 0, 2] == 255  # blue stripe now on the left

    def noisy(images, seed):
        return images + tf.random.stateless_uniform(tf.shape(images), seed, maxval=1.0)

    import tensorflow as tf

    def epoch(seed):
        ds = make_dataset(rec, 8, 2, augment=noisy, seed=seed)
        return np.concatenate([x.numpy() for x, _ in ds])

    first, again = epoch(3), epoch(3)
    np.testing.assert_array_equal(first, again)  # same seed, same augmentation
    assert not np.array_equal(first, epoch(4))
    ds = make_dataset(rec, 8, 2, augment=noisy, seed=3)
    one, two = (np.concatenate([x.numpy() for x, _ in ds]) for _ in range(2))
    assert not np.array_equal(one, two)  # a new draw every epoch


def test_keras_augmentation_layer_and_metadata_pass_through(tmp_path, write_image):
    import keras

    rec = _stripes(tmp_path, write_image).with_role("train")
    layer = keras.layers.RandomFlip("horizontal", seed=0)
    ds = make_dataset(rec, 8, 4, augment=layer, with_metadata=True, seed=0)
    ((x, _),) = ds.take(1)
    assert x["image"].shape == (4, 8, 8, 3)
    assert x["metadata"].shape[0] == 4


def test_cache_in_memory_and_on_disk_with_shuffle(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image, n=6)
    (tmp_path / "cache").mkdir()
    for cache in ("memory", tmp_path / "cache"):
        ds = make_dataset(rec, 8, 6, cache=cache, shuffle=True, seed=1)
        epochs = [next(iter(ds))[1].numpy().tolist() for _ in range(3)]
        assert all(sorted(e) == [0, 0, 0, 1, 1, 1] for e in epochs)
    assert any(p.name.startswith("dermnet_cache") for p in (tmp_path / "cache").iterdir())
    with pytest.raises(ParameterError, match="'cache' parameter"):
        make_dataset(rec, 8, cache=3)


def test_missing_and_truncated_files_raise_or_are_skipped(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image)
    frame = rec.frame
    frame.loc[1, "image_path"] = str(tmp_path / "gone.png")
    big = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    broken = write_image(tmp_path / "broken.jpg", big)
    broken.write_bytes(broken.read_bytes()[:250])
    frame.loc[2, "image_path"] = str(broken)
    bad = Records(frame, ["a", "b"])
    from dermnet import MissingFileError

    with pytest.raises(MissingFileError, match=r"1 image file.*gone\.png"):
        make_dataset(bad, 8)
    with pytest.warns(UserWarning, match=r"excluded 2 of 4 images.*'missing file': 1"):
        ds = make_dataset(bad, 8, 4, on_error="skip")
    _, labels = next(iter(ds))
    assert labels.numpy().tolist() == [0, 1]
    hopeless = Records(frame.iloc[[1, 2]], ["a", "b"])
    with (
        pytest.warns(UserWarning, match="excluded 2 of 2"),
        pytest.raises(DataError, match=r"no image of .* is usable"),
    ):
        make_dataset(hopeless, 8, on_error="skip")


def test_transforms_that_change_the_shape_are_reported(tmp_path, write_image):
    rec = _stripes(tmp_path, write_image, n=1)
    ds = make_dataset(rec, 8, 1, transforms=lambda x: x[:4])
    import tensorflow as tf

    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"must return an image of shape \(8, 8, 3\)"
    ):
        next(iter(ds))
    with pytest.raises(ParameterError, match="'transforms' parameter of make_dataset"):
        make_dataset(rec, 8, transforms="shades_of_gray")


def test_fast_jpeg_decode_matches_a_full_decode(tmp_path, write_image):
    yy, xx = np.mgrid[0:480, 0:640]
    smooth = np.stack([xx * 255 // 640, yy * 255 // 480, (xx + yy) * 255 // 1120], -1)
    path = write_image(tmp_path / "big.jpg", smooth.astype(np.uint8))
    rec = Records(pd.DataFrame({"image_path": [str(path)], "label": ["a"]}), ["a"])
    fast, _ = next(iter(make_dataset(rec, 32, 1)))
    full, _ = next(iter(make_dataset(rec, 32, 1, fast_jpeg=False)))
    assert np.abs(fast.numpy() - full.numpy()).mean() < 2.0


def test_records_and_empty_records_are_checked(tmp_path, write_image):
    with pytest.raises(ParameterError, match="'records' parameter of make_dataset must be"):
        make_dataset(["a.png"], 8)
    rec = _stripes(tmp_path, write_image)
    with pytest.raises(ParameterError, match="must not be empty"):
        make_dataset(rec.subset([]), 8)


@pytest.mark.slow
def test_real_malaria_palette_pngs_decode_to_rgb():
    from dermnet.data import load_malaria
    from tests.conftest import shared_dataset

    rec = load_malaria(shared_dataset("malaria_rgb"))
    images = np.concatenate([x.numpy() for x, _ in make_dataset(rec, 32, 100)])
    assert images.shape == (200, 32, 32, 3)
    assert images.max() > 100
