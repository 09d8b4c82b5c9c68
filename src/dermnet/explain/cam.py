"""Grad-CAM for any Keras model with a convolutional feature map, batched."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_int, fail
from dermnet.explain.layers import _output_rank, find_target_layer, resolve_layer

__all__ = ["GradCAM"]


@contextlib.contextmanager
def _capture_output(layer: Any, store: dict[str, Any]) -> Iterator[None]:
    """Record ``layer``'s output during a forward pass (works at any nesting depth).

    Re-wiring a nested backbone's inner layer into a new functional model fails with
    "Graph disconnected"; recording the tensor while the whole model runs does not.
    """
    own = layer.__dict__.get("call")  # an instance-level call, if the layer had one
    original = layer.call

    def call(*args: Any, **kwargs: Any) -> Any:
        out = original(*args, **kwargs)
        store["features"] = out
        return out

    layer.call = call
    try:
        yield
    finally:
        if own is None:
            del layer.call  # back to the class's method
        else:
            layer.call = own


class GradCAM:
    """Grad-CAM (Selvaraju et al., 2017), batched and deterministic.

    Args:
        model: a Keras classifier whose output is class probabilities ``(batch, k)``.
            A backbone nested inside it (at any depth) is fine.
        target_layer: path of the layer whose feature map is used, e.g.
            ``"simple_cnn/block3_conv"``; by default the model spec's layer, else the
            last 4-D feature map.
        batch_size: images per forward/backward pass.

    Example:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=3, input_shape=(32, 32, 3))
        >>> maps = GradCAM(model)(np.zeros((2, 32, 32, 3), np.float32))
        >>> maps.shape, float(maps.min()) >= 0.0, float(maps.max()) <= 1.0
        ((2, 32, 32), True, True)
    """

    def __init__(
        self, model: Any, target_layer: str | None = None, *, batch_size: int = 32
    ) -> None:
        self.model = model
        self.target_layer = target_layer or find_target_layer(model)
        self.batch_size = check_int(batch_size, "batch_size", "GradCAM", low=1)
        self._layer = resolve_layer(model, self.target_layer)
        if _output_rank(self._layer) not in (None, 4):
            raise ParameterError(
                f"The target layer {self.target_layer!r} of GradCAM has no spatial dimensions "
                f"(output rank {_output_rank(self._layer)}); pick a convolutional layer."
            )
        self._fn: Any = None

    def _compiled(self) -> Any:
        import tensorflow as tf

        if self._fn is None:
            store: dict[str, Any] = {}
            model, layer = self.model, self._layer

            def step(images: tf.Tensor, classes: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                with tf.GradientTape() as tape:
                    with _capture_output(layer, store):
                        probs = model(images, training=False)
                    features = store["features"]
                    chosen = tf.where(
                        classes < 0, tf.argmax(probs, axis=-1, output_type=tf.int32), classes
                    )
                    score = tf.gather(probs, chosen, axis=1, batch_dims=1)
                grads = tape.gradient(score, features)
                weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
                cam = tf.nn.relu(tf.reduce_sum(features * weights, axis=-1))
                peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
                cam = tf.math.divide_no_nan(cam, peak)
                size = tf.shape(images)[1:3]
                cam = tf.image.resize(cam[..., None], size, method="bilinear")[..., 0]
                return tf.clip_by_value(cam, 0.0, 1.0), chosen

            self._fn = tf.function(step, reduce_retracing=True)
        return self._fn

    def _check_images(self, images: Any) -> np.ndarray:
        array = np.asarray(images)
        if array.ndim == 3:
            array = array[None]
        expected = tuple(self.model.input_shape[1:]) if hasattr(self.model, "input_shape") else None
        if array.ndim != 4:
            raise fail(
                "images",
                "GradCAM",
                "an array of shape (batch, height, width, channels)",
                f"shape {array.shape}",
            )
        if array.dtype != np.uint8 and not np.issubdtype(array.dtype, np.floating):
            raise fail(
                "images", "GradCAM", "uint8 or float images in [0, 255]", f"dtype {array.dtype}"
            )
        if expected and all(e is not None for e in expected) and tuple(array.shape[1:]) != expected:
            raise fail(
                "images",
                "GradCAM",
                f"images of shape {expected} (the model's input)",
                f"shape {array.shape[1:]}",
            )
        return array.astype(np.float32)

    def explain(
        self, images: Any, class_index: int | Sequence[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps and the explained class of each image.

        Args:
            images: ``(batch, h, w, 3)`` or one ``(h, w, 3)`` image, in [0, 255].
            class_index: the class to explain (one int for all, or one per image);
                ``None`` explains the predicted class.

        Returns:
            ``(heatmaps, classes)``: heatmaps ``(batch, h, w)`` float32 in [0, 1] at the
            input resolution, and the class index explained for each image.
        """
        array = self._check_images(images)
        n = len(array)
        k = int(self.model.output_shape[-1])
        if class_index is None:
            classes = np.full(n, -1, np.int32)
        else:
            classes = np.broadcast_to(np.asarray(class_index, dtype=np.int64), (n,)).astype(
                np.int32
            )
            if classes.min() < 0 or classes.max() >= k:
                raise fail("class_index", "GradCAM", f"class indices in [0, {k - 1}]", class_index)
        fn = self._compiled()
        maps, chosen = [], []
        for start in range(0, n, self.batch_size):
            stop = start + self.batch_size
            cam, cls = fn(array[start:stop], classes[start:stop])
            maps.append(cam.numpy())
            chosen.append(cls.numpy())
        return np.concatenate(maps).astype(np.float32), np.concatenate(chosen)

    def __call__(self, images: Any, class_index: int | Sequence[int] | None = None) -> np.ndarray:
        """Heatmaps ``(batch, h, w)`` in [0, 1]; see :meth:`explain`."""
        return self.explain(images, class_index)[0]
