"""make_dataset(epoch=...): the order of an epoch depends only on (seed, epoch), cached or not."""

import numpy as np
import pytest
import tensorflow as tf

from dermnet.data import load_sample, make_dataset


def _labels_in_order(cache, epochs, seed=3, passes=None):
    records = load_sample("malaria").subset(np.arange(0, 200, 5))  # 40 images
    epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
    ds = make_dataset(records, 16, batch_size=8, shuffle=True, seed=seed, cache=cache, epoch=epoch)
    out = {}
    for e in epochs:
        epoch.assign(e)
        images = np.concatenate([x.numpy() for x, _ in ds])
        out[e] = images.reshape(len(images), -1).sum(axis=1)  # one number per image
    return out


@pytest.mark.parametrize("cache", [False, True], ids=["no cache", "memory cache"])
def test_an_epoch_order_does_not_depend_on_the_epochs_before_it(cache):
    straight = _labels_in_order(cache, [0, 1, 2])
    resumed = _labels_in_order(cache, [2])  # a fresh pipeline, as after a resume
    assert np.array_equal(straight[2], resumed[2])
    assert not np.array_equal(straight[1], straight[2])  # epochs differ
    assert sorted(straight[1]) == sorted(straight[2])  # every image once per epoch
    assert len(straight[2]) == 40
    other_seed = _labels_in_order(cache, [2], seed=4)
    assert not np.array_equal(other_seed[2], straight[2])
