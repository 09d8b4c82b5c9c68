"""Seeding for reproducible runs."""

from __future__ import annotations

import os
import random

import numpy as np

from dermnet._core.validation import check_bool, check_int

__all__ = ["seed_everything"]


def seed_everything(seed: int, *, deterministic: bool = True) -> int:
    """Seed Python, NumPy, TensorFlow and Keras; optionally make TF ops deterministic.

    Args:
        seed: the seed, an int in [0, 2**32 - 1].
        deterministic: also call ``tf.config.experimental.enable_op_determinism()`` so
            that the same seed gives the same numbers (slower on some GPU ops).

    Returns:
        The seed, for logging.

    Examples:
        >>> import numpy as np
        >>> _ = seed_everything(7)
        >>> a = np.random.rand()
        >>> _ = seed_everything(7)
        >>> a == np.random.rand()
        True
    """
    seed = check_int(seed, "seed", "seed_everything", low=0, high=2**32 - 1)
    deterministic = check_bool(deterministic, "deterministic", "seed_everything")
    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 (the legacy global RNG that users still call)
    import keras  # heavy: imported only when seeding is asked for
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()
    return seed
