import numpy as np
import pytest

from dermnet import DataError, ParameterError
from dermnet.imbalance import balanced_dataset, sampling_weights

#: The stated tolerance of the balanced stream: over N draws each class frequency is
#: within TOLERANCE of its target probability. For p = 1/3 and N = 6,000 the standard
#: deviation of a frequency is sqrt(p (1 - p) / N) = 0.0061, so 0.025 is 4 standard
#: deviations: a correct sampler fails it with probability about 1e-4 (and the test is
#: seeded, so it is deterministic).
TOLERANCE = 0.025


def _labels(ds, batches):
    return np.concatenate([y.numpy() for _, y in ds.take(batches)])


def test_uniform_stream_draws_every_class_equally_often(tiny_records):
    records = tiny_records()  # 12 / 5 / 3 images
    ds = balanced_dataset(records, 8, 60, samples_per_epoch=None, seed=0)
    freq = np.bincount(_labels(ds, 100), minlength=3) / 6000
    assert np.all(np.abs(freq - 1 / 3) <= TOLERANCE), freq


def test_chosen_weights_give_the_chosen_frequencies(tiny_records):
    records = tiny_records()
    ds = balanced_dataset(
        records, 8, 60, weights={"a": 2, "b": 1, "c": 1}, samples_per_epoch=None, seed=3
    )
    freq = np.bincount(_labels(ds, 100), minlength=3) / 6000
    assert np.all(np.abs(freq - [0.5, 0.25, 0.25]) <= TOLERANCE), freq


def test_images_keep_their_labels_and_rare_images_repeat(tiny_records):
    records = tiny_records()
    ds = balanced_dataset(records, 8, 16, samples_per_epoch="max", seed=0)
    seen = 0
    for x, y in ds:
        x, y = x.numpy(), y.numpy()
        assert x.shape[1:] == (8, 8, 3)
        # every pixel of a class-c image is 40 * (c + 1)
        assert np.allclose(x[:, 0, 0, 0], 40.0 * (y + 1))
        seen += len(y)
    assert seen == 3 * 12  # "max": classes x largest class


def test_epoch_sizes(tiny_records):
    records = tiny_records()
    sizes = {}
    for mode in ("same", "min", "max", 7):
        ds = balanced_dataset(records, 8, 4, samples_per_epoch=mode, seed=0)
        sizes[mode] = int(sum(len(y) for _, y in ds))
    assert sizes == {"same": 20, "min": 9, "max": 36, 7: 7}


def test_the_stream_is_seeded_and_each_epoch_draws_anew(tiny_records):
    records = tiny_records()

    def first_epochs(seed):
        ds = balanced_dataset(records, 8, 20, seed=seed)
        return [_labels(ds, 1).tolist() for _ in range(2)]

    a = first_epochs(5)
    assert a == first_epochs(5)
    assert a[0] != a[1]  # a new order each epoch
    assert a != first_epochs(6)


def test_augment_runs_after_batching_and_options_reach_make_dataset(tiny_records):
    records = tiny_records()
    calls = []

    def augment(images, training=False):
        calls.append(training)
        return images * 0.0 + 1.0

    ds = balanced_dataset(records, 8, 4, augment=augment, label_mode="one_hot", seed=0)
    x, y = next(iter(ds))
    assert np.all(x.numpy() == 1.0)
    assert y.shape == (4, 3)  # one-hot labels from make_dataset
    assert calls
    assert all(calls)


def _seeded_noise(images, seed, training=False):
    """A stateless random augmentation: noise that depends only on ``seed``."""
    import tensorflow as tf

    return images + tf.random.stateless_uniform(tf.shape(images), seed, 0.0, 10.0)


def test_augmentation_is_seeded_like_make_dataset(tiny_records):
    records = tiny_records()

    def batches(seed):
        ds = balanced_dataset(records, 8, 4, augment=_seeded_noise, seed=seed)
        return [x.numpy() for x, _ in ds.take(3)]

    first, again, other = batches(11), batches(11), batches(12)
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, other, strict=True)
    )
    # the augmentation ran: pixels are the class values (40, 80, 120) plus noise
    assert not np.all(np.isin(first[0], [40.0, 80.0, 120.0]))


def test_a_seeded_keras_layer_gives_the_same_batches_on_every_run(tiny_records):
    import keras

    records = tiny_records()

    def batches():
        layer = keras.layers.RandomContrast(0.9, seed=4)
        ds = balanced_dataset(records, 8, 4, augment=layer, seed=2)
        return [x.numpy() for x, _ in ds.take(3)]

    for a, b in zip(batches(), batches(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_bad_options_and_empty_classes(tiny_records):
    records = tiny_records()
    with pytest.raises(ParameterError, match=r"sets.*'shuffle'"):
        balanced_dataset(records, 8, 4, shuffle=False)
    with pytest.raises(ParameterError, match="'samples_per_epoch'"):
        balanced_dataset(records, 8, 4, samples_per_epoch="all")
    no_c = records.subset(records.labels != 2)
    with pytest.warns(UserWarning, match=r"\['c'\] have no training images"):
        ds = balanced_dataset(no_c, 8, 10, samples_per_epoch=None, seed=0)
    assert set(_labels(ds, 5)) == {0, 1}
    with pytest.raises(DataError, match="positive sampling weight"):
        balanced_dataset(no_c, 8, 4, weights=[1, 1, 1])


def test_sampling_weights():
    assert np.allclose(sampling_weights([60, 30, 10]), 1 / 3)
    assert np.allclose(sampling_weights([64, 16, 4], "sqrt"), [8 / 14, 4 / 14, 2 / 14])
    assert np.allclose(sampling_weights([6, 3, 1], "original"), [0.6, 0.3, 0.1])
    assert np.allclose(sampling_weights([5, 5], [3, 1]), [0.75, 0.25])
    with pytest.raises(ParameterError, match="'weights'"):
        sampling_weights([5, 5], [1, -1])
    with pytest.raises(ParameterError, match="'weights'"):
        sampling_weights([5, 5], [1, 1, 1])
    with pytest.raises(ParameterError, match="'weights'"):
        sampling_weights([5, 5], [0, 0])


@pytest.mark.slow
def test_balanced_stream_on_real_ham10000_training_lesions():
    from dermnet.data import load_ham10000, split
    from tests.conftest import shared_dataset

    records = load_ham10000(shared_dataset("ham10000"))
    parts = split(records, test_size=0.2, seed=0)
    train = parts.train
    ds = balanced_dataset(train, 32, 70, samples_per_epoch=None, seed=0, holdout=parts.test)
    labels = _labels(ds, 40)  # 2,800 real images
    freq = np.bincount(labels, minlength=7) / len(labels)
    # p = 1/7 and N = 2,800: sd 0.0066; 0.03 is 4.5 sd
    assert np.all(np.abs(freq - 1 / 7) <= 0.03), freq
    natural = np.bincount(train.labels, minlength=7) / len(train)
    assert natural[5] > 0.6  # nv dominates the split itself


def test_with_metadata_fits_one_encoder_on_all_training_records(tiny_records, monkeypatch):
    """Per-class make_dataset calls must share one encoder fitted on the whole split."""
    import dermnet.data
    from dermnet.data import Records

    base = tiny_records()
    frame = base.frame
    # each class has a body site of its own: an encoder fitted per class would see one site
    frame["site"] = frame["label"].map({"a": "back", "b": "face", "c": "palm"})
    records = Records(frame, base.classes, name="tiny", group_cols=("lesion_id",),
                      metadata_cols=("site",), role="train")  # fmt: skip
    seen = []
    real = dermnet.data.make_dataset

    def spy(recs, size, batch, **options):
        seen.append(options["metadata_encoder"])
        return real(recs, size, batch, **options)

    monkeypatch.setattr(dermnet.data, "make_dataset", spy)
    ds = balanced_dataset(records, 8, 4, with_metadata=True, seed=0)
    assert len(seen) == 3  # one call per class
    assert all(encoder is seen[0] for encoder in seen)
    # fitted on every class's rows: all three sites (plus the missing-value flag)
    assert {"site=back", "site=face", "site=palm"} <= set(seen[0].feature_names)
    (inputs, _labels) = next(iter(ds))
    assert inputs["metadata"].shape == (4, seen[0].dim)
    np.testing.assert_allclose(inputs["metadata"].numpy().sum(axis=1), 1.0)  # one-hot site


@pytest.mark.parametrize("buffer", [2, 256])
def test_every_pass_over_a_class_shows_each_image_once_in_a_new_order(
    tmp_path, write_image, buffer
):
    import pandas as pd

    from dermnet.data import Records

    rows = []
    for label, values in (("a", range(1, 6)), ("b", range(101, 104))):
        for v in values:
            path = write_image(tmp_path / f"{v}.png", np.full((4, 4, 3), v, np.uint8))
            rows.append({"image_path": str(path), "label": label})
    records = Records(pd.DataFrame(rows), ("a", "b"), role="train")
    ds = balanced_dataset(records, 4, 10, samples_per_epoch=None, shuffle_buffer=buffer, seed=0)
    values = np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in ds.take(30)]).astype(int)
    a = values[values < 100][:50]
    passes = [tuple(a[i : i + 5]) for i in range(0, len(a) - 4, 5)]
    assert all(sorted(p) == [1, 2, 3, 4, 5] for p in passes)
    assert len(set(passes)) > 1
    with pytest.raises(ParameterError, match="'shuffle_buffer'"):
        balanced_dataset(records, 4, 10, shuffle_buffer=0)
