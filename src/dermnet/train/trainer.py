"""`fit`: `keras.Model.fit` with dermnet's defaults for imbalanced medical images."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from dermnet._core.validation import check_float, check_int, fail

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

__all__ = ["fit"]


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    val: tf.data.Dataset | None = None,
    *,
    epochs: int = 10,
    learning_rate: float = 1e-3,
    class_weight: Mapping[int, float] | None = None,
    metrics: Sequence[Any] = ("accuracy",),
    callbacks: Sequence[keras.callbacks.Callback] = (),
    compile: bool = True,
    verbose: int | str = "auto",
) -> keras.callbacks.History:
    """Compile (Adam, sparse categorical cross-entropy) and train a classifier.

    Args:
        model: a classifier from :func:`dermnet.models.create_model` (or any Keras model
            with a softmax output).
        train: batches of ``(images, int_labels)``, e.g. from
            :func:`dermnet.data.make_dataset`.
        val: optional validation batches, evaluated after every epoch.
        epochs: number of epochs, >= 1.
        learning_rate: Adam's learning rate, > 0.
        class_weight: per-class loss weights, e.g. from
            :func:`dermnet.imbalance.class_weights`.
        metrics: Keras metrics to track.
        callbacks: extra Keras callbacks.
        compile: compile the model first; pass ``False`` to keep your own compile().
        verbose: Keras' progress output (``"auto"``, 0, 1 or 2).

    Returns:
        The Keras ``History`` (per-epoch losses and metrics in ``.history``).
    """
    import keras

    where = "fit"
    epochs = check_int(epochs, "epochs", where, low=1)
    learning_rate = check_float(learning_rate, "learning_rate", where, low=0.0, low_open=True)
    if not isinstance(model, keras.Model):
        raise fail("model", where, "a keras.Model", type(model).__name__)
    if compile:
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate),
            loss="sparse_categorical_crossentropy",
            metrics=list(metrics),
        )
    return model.fit(
        train,
        validation_data=val,
        epochs=epochs,
        class_weight=dict(class_weight) if class_weight is not None else None,
        callbacks=list(callbacks),
        shuffle=False,  # tf.data pipelines shuffle themselves (seeded)
        verbose=verbose,
    )
