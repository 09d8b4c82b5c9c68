import numpy as np
import pytest

import dermnet


def test_seed_everything_repeats_numpy_and_tensorflow_draws():
    import tensorflow as tf

    dermnet.seed_everything(123)
    a = (np.random.rand(3), tf.random.uniform((3,)).numpy())  # noqa: NPY002
    dermnet.seed_everything(123)
    b = (np.random.rand(3), tf.random.uniform((3,)).numpy())  # noqa: NPY002
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_seed_everything_rejects_bad_seed():
    with pytest.raises(dermnet.ParameterError, match="'seed' parameter of seed_everything"):
        dermnet.seed_everything(-5)
