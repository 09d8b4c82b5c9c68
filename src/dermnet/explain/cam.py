"""The Grad-CAM family for any Keras model with a convolutional feature map, batched.

Every method records the target layer's output while the *whole* model runs (so a backbone
nested at any depth works without "Graph disconnected"), explains 32 images with one
forward/backward pass, and returns heatmaps in [0, 1] at the input resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from dermnet._core.errors import ParameterError
from dermnet._core.registry import did_you_mean
from dermnet._core.validation import check_bool, check_int, check_option
from dermnet.explain._class_scores import SCORES, check_classes, logits_mode, num_outputs
from dermnet.explain._inputs import ModelInputs
from dermnet.explain._predictor import quiet_retracing, repeat_extras
from dermnet.explain.layers import (
    _output_rank,
    capture_output,
    find_target_layer,
    iter_layers,
    resolve_layer,
)

__all__ = ["BaseCAM", "EigenCAM", "GradCAM", "GradCAMPlusPlus", "LayerCAM", "ScoreCAM"]


class BaseCAM:
    """Shared machinery of the class-activation-map methods.

    Subclasses define how the feature map ``A`` (and, for gradient methods, the gradient
    ``dS/dA`` of the class score ``S``) combine into one map per image.

    Args:
        model: a Keras classifier with output ``(batch, classes)``; a backbone nested at any
            depth and image+metadata models (dict inputs ``{"image", "metadata"}``) work.
        target_layer: path of the layer whose feature map is used, e.g.
            ``"mobilenetv2_1.00_224/out_relu"``; by default the model spec's layer, else
            the last 4-D feature map.
        batch_size: images per forward/backward pass.
        score: ``"logit"`` (default, as in the Grad-CAM paper and the Keras example: the
            softmax or sigmoid of the output layer is left out) or ``"probability"``.
    """

    #: Short name of the method (``dermnet explain --method``).
    method: ClassVar[str] = ""
    _needs_gradients: ClassVar[bool] = True

    def __init__(
        self,
        model: Any,
        target_layer: str | None = None,
        *,
        batch_size: int = 32,
        score: str = "logit",
    ) -> None:
        where = type(self).__name__
        self.model = model
        self.target_layer = target_layer if target_layer is not None else find_target_layer(model)
        self.batch_size = check_int(batch_size, "batch_size", where, low=1)
        self.score = check_option(score, SCORES, "score", where)
        self._inputs = ModelInputs(model, where)
        self._layer = resolve_layer(model, self.target_layer)
        if _is_input_layer(self._layer):
            raise target_layer_error(
                model,
                self.target_layer,
                where,
                "an input layer, which is not called when "
                "the model runs (it has no feature map of its own)",
            )
        rank = _output_rank(self._layer)
        if rank not in (None, 4):
            raise target_layer_error(
                model,
                self.target_layer,
                where,
                f"its output has no spatial dimensions (output rank {rank})",
            )
        self._k = num_outputs(model, where)
        self._fns: dict[str, Any] = {}
        # set while tracing when the target layer was not called (see `_call`)
        self._trace_error: ParameterError | None = None
        #: What the class score was computed from: "logit" when an output softmax/sigmoid
        #: was left out, "output" when the model's output was used as it is.
        self.score_source_: str | None = None

    # -- the part subclasses change --------------------------------------------------------
    def _combine(self, features: Any, grads: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- compiled pieces -------------------------------------------------------------------
    def _forward(self, images: Any, extras: Any, classes: Any, tape: Any = None) -> Any:
        """Run the model, recording the feature map; return (features, class scores, classes)."""
        import tensorflow as tf

        store: dict[str, Any] = {}
        with (
            capture_output(self._layer, store),
            logits_mode(self.model, self.score == "logit") as removed,
        ):
            out = self.model(self._inputs.feed(images, extras), training=False)
        self.score_source_ = "logit" if removed else "output"
        if "features" not in store:
            self._trace_error = target_layer_error(
                self.model,
                self.target_layer,
                type(self).__name__,
                "it was not called when the model ran (it is not on the path from the "
                "input to the output)",
            )
            raise self._trace_error
        if not isinstance(out, tf.Tensor) or out.shape.rank != 2:
            out = tf.convert_to_tensor(tf.nest.flatten(out)[0])
        chosen = tf.where(classes < 0, tf.argmax(out, axis=-1, output_type=tf.int32), classes)
        score = tf.gather(out, chosen, axis=1, batch_dims=1)
        return store["features"], score, chosen

    def _compiled(self, upsample: bool) -> Any:
        import tensorflow as tf

        key = f"cam-{upsample}"
        if key not in self._fns:
            quiet_retracing()

            def step(images: Any, extras: Any, classes: Any) -> tuple[Any, Any]:
                if self._needs_gradients:
                    with tf.GradientTape() as tape:
                        tape.watch(images)  # so frozen backbones still get gradients
                        features, score, chosen = self._forward(images, extras, classes)
                    grads = tape.gradient(score, features)
                else:
                    features, score, chosen = self._forward(images, extras, classes)
                    grads = None
                cam = self._combine(tf.cast(features, tf.float32), grads)
                return _finish(cam, tf.shape(images)[1:3], upsample), chosen

            self._fns[key] = tf.function(step, reduce_retracing=True)
        return self._fns[key]

    # -- public API ------------------------------------------------------------------------
    def _prepare(
        self, images: Any, class_index: Any
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        where = type(self).__name__
        array, extras = self._inputs.split(images)
        classes = check_classes(class_index, len(array), self._k, where)
        return array, extras, classes

    def explain(
        self,
        images: Any,
        class_index: int | Sequence[int] | None = None,
        *,
        upsample: bool = True,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Heatmaps and the explained class of each image.

        Args:
            images: ``(batch, h, w, c)`` or one ``(h, w, c)`` image, uint8 or float in
                [0, 255]; for an image+metadata model a dict ``{"image": ..., "metadata":
                ...}`` (metadata is held fixed).
            class_index: the class to explain (one int for all, or one per image);
                ``None`` explains the predicted class.
            upsample: resize the maps to the input resolution (``False`` returns them at
                the feature map's resolution).

        Returns:
            ``(heatmaps, classes)``: heatmaps ``(batch, h, w)`` float32 in [0, 1] and the
            class index explained for each image.

        Raises:
            ParameterError: wrong image shape or dtype, or a class index out of range.
        """
        upsample = check_bool(upsample, "upsample", type(self).__name__)
        array, extras, classes = self._prepare(images, class_index)
        return self._run(array, extras, classes, upsample)

    def _call(self, fn: Any, *args: Any) -> Any:
        """Call a compiled function; a `ParameterError` raised while tracing comes out as is.

        TensorFlow wraps exceptions raised while tracing a ``tf.function`` in a
        ``StagingError``; the dermnet error recorded in ``_trace_error`` is raised instead.
        """
        self._trace_error = None
        try:
            return fn(*args)
        except Exception:
            if self._trace_error is not None:
                error, self._trace_error = self._trace_error, None
                raise error from None
            raise

    def _run(
        self, array: np.ndarray, extras: dict[str, np.ndarray], classes: np.ndarray, up: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        fn = self._compiled(up)
        maps, chosen = [], []
        for start in range(0, len(array), self.batch_size):
            stop = start + self.batch_size
            ex = {k: v[start:stop] for k, v in extras.items()}
            cam, cls = self._call(fn, array[start:stop], ex, classes[start:stop])
            maps.append(cam.numpy())
            chosen.append(cls.numpy())
        return np.concatenate(maps).astype(np.float32), np.concatenate(chosen)

    def __call__(self, images: Any, class_index: int | Sequence[int] | None = None) -> np.ndarray:
        """Heatmaps ``(batch, h, w)`` in [0, 1]; see `explain`."""
        return self.explain(images, class_index)[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(target_layer={self.target_layer!r}, score={self.score!r})"


def _is_input_layer(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.layers.InputLayer)


def usable_target_layers(model: Any) -> list[str]:
    """Paths of the layers a CAM method can use: 4-D output, not an input layer."""
    return [
        path
        for path, layer in iter_layers(model)
        if not _is_input_layer(layer) and _output_rank(layer) == 4
    ]


def target_layer_error(model: Any, path: str, where: str, why: str) -> ParameterError:
    """The error for a target layer that cannot give a feature map, with usable layers."""
    usable = usable_target_layers(model)
    close = [c for c in did_you_mean(path.rsplit("/", 1)[-1], usable, n=3) if c != path]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    shown = usable[-8:]
    listed = ", ".join(repr(p) for p in shown)
    if len(usable) > len(shown):
        listed = f"(the last {len(shown)} of {len(usable)}) " + listed
    layers = f" Usable layers: {listed}." if usable else " The model has no usable layer."
    return ParameterError(
        f"The 'target_layer' parameter of {where} must be a layer with a 4-D (batch, height, "
        "width, channels) output on the path from the model's input to its output. Got "
        f"{path!r} instead: {why}.{hint}{layers}"
    )


def _finish(cam: Any, size: Any, upsample: bool) -> Any:
    """ReLU, scale each map to peak 1, resize to the input (bilinear), clip to [0, 1].

    A map with no positive evidence stays all zero.
    """
    import tensorflow as tf

    cam = tf.nn.relu(cam)
    peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
    cam = tf.math.divide_no_nan(cam, peak)
    if upsample:  # bilinear resizing lowers the peak a little: scale to 1 again
        cam = tf.image.resize(cam[..., None], size, method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        cam = tf.math.divide_no_nan(cam, peak)
    return tf.clip_by_value(cam, 0.0, 1.0)


class GradCAM(BaseCAM):
    """Grad-CAM (Selvaraju et al., 2017), batched and deterministic.

    Each channel of the feature map is weighted by the spatial mean of the class score's
    gradient; the map is the ReLU of the weighted sum.

    Args:
        model: a Keras classifier whose output is ``(batch, classes)``. A backbone nested
            inside it (at any depth) and image+metadata models are fine.
        target_layer: path of the layer whose feature map is used, e.g.
            ``"simple_cnn/block3_conv"``; by default the model spec's layer, else the
            last 4-D feature map.
        batch_size: images per forward/backward pass.
        score: ``"logit"`` (default) or ``"probability"``; see `BaseCAM`.

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=3, input_shape=(32, 32, 3))
        >>> maps = GradCAM(model)(np.zeros((2, 32, 32, 3), np.float32))
        >>> maps.shape, float(maps.min()) >= 0.0, float(maps.max()) <= 1.0
        ((2, 32, 32), True, True)
    """

    method = "gradcam"

    def _combine(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class GradCAMPlusPlus(BaseCAM):
    """Grad-CAM++ (Chattopadhyay et al., 2018): pixel-wise weighted positive gradients.

    Better than Grad-CAM when a class appears several times or covers a large area. Same
    arguments as `GradCAM`.

    Examples:
        >>> import numpy as np
        >>> from dermnet.models import create_model
        >>> model = create_model("simple_cnn", num_classes=3, input_shape=(32, 32, 3))
        >>> GradCAMPlusPlus(model)(np.zeros((1, 32, 32, 3), np.float32)).shape
        (1, 32, 32)
    """

    method = "gradcam++"

    def _combine(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        g2 = tf.square(grads)
        g3 = g2 * grads
        total = tf.reduce_sum(features, axis=(1, 2), keepdims=True)
        alpha = tf.math.divide_no_nan(g2, 2.0 * g2 + total * g3)
        alpha = tf.where(tf.not_equal(grads, 0.0), alpha, tf.zeros_like(alpha))
        weights = tf.reduce_sum(alpha * tf.nn.relu(grads), axis=(1, 2), keepdims=True)
        return tf.reduce_sum(features * weights, axis=-1)


class LayerCAM(BaseCAM):
    """Layer-CAM (Jiang et al., 2021): each location weighted by its own positive gradient.

    Works on earlier, higher-resolution layers too (pass ``target_layer``). Same arguments
    as `GradCAM`.
    """

    method = "layercam"

    def _combine(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        return tf.reduce_sum(tf.nn.relu(grads) * features, axis=-1)


class EigenCAM(BaseCAM):
    """Eigen-CAM (Muhammad and Yeasin, 2020): the first principal component of the features.

    Class-agnostic and gradient-free: the map is the projection of the (centred) feature map
    on its first right singular vector, signed to agree with the mean activation so the
    result is deterministic. ``classes`` still reports the predicted (or given) class.
    """

    method = "eigencam"
    _needs_gradients = False

    def _combine(self, features: Any, grads: Any) -> Any:
        import tensorflow as tf

        shape = tf.shape(features)
        n, h, w, c = shape[0], shape[1], shape[2], shape[3]
        flat = tf.reshape(features, (n, h * w, c))
        centred = flat - tf.reduce_mean(flat, axis=1, keepdims=True)
        _, _, v = tf.linalg.svd(centred, full_matrices=False)
        projection = tf.einsum("npc,nc->np", centred, v[:, :, 0])
        mean_map = tf.reduce_sum(centred, axis=-1)
        sign = tf.sign(tf.reduce_sum(projection * mean_map, axis=1, keepdims=True))
        sign = tf.where(tf.equal(sign, 0.0), tf.ones_like(sign), sign)
        return tf.reshape(projection * sign, (n, h, w))


class ScoreCAM(BaseCAM):
    """Score-CAM (Wang et al., 2020): channels weighted by the score of the masked input.

    Each feature channel, upsampled and scaled to [0, 1], masks the image; the class score
    of every masked image (logits by default), softmaxed over channels, weights the
    channels (as in pytorch-grad-cam). The masked images are scored ``batch_size`` at a
    time: one forward pass per batch of masks, never one per mask.

    Args:
        model: as for `GradCAM`.
        target_layer: as for `GradCAM`.
        channels: use only the ``channels`` most activated channels of each image (a speed
            knob for wide layers such as MobileNetV2's 1,280); ``None`` uses all.
        **options: ``batch_size`` (masked images per forward pass) and ``score``, as for
            `GradCAM`.
    """

    method = "scorecam"
    _needs_gradients = False

    def __init__(
        self,
        model: Any,
        target_layer: str | None = None,
        *,
        channels: int | None = None,
        **options: Any,
    ) -> None:
        # ``options`` are those of `BaseCAM` (``batch_size``, ``score``), declared there once
        super().__init__(model, target_layer, **options)
        self.channels = check_int(channels, "channels", "ScoreCAM", low=1, allow_none=True)

    def _features_fn(self) -> Any:
        import tensorflow as tf

        if "features" not in self._fns:

            def features(images: Any, extras: Any, classes: Any) -> tuple[Any, Any]:
                feats, _, chosen = self._forward(images, extras, classes)
                return tf.cast(feats, tf.float32), chosen

            self._fns["features"] = tf.function(features, reduce_retracing=True)
        return self._fns["features"]

    def _scores_fn(self) -> Any:
        import tensorflow as tf

        if "scores" not in self._fns:
            model, inputs = self.model, self._inputs

            def scores(image: Any, extras: Any, feats: Any, cls: Any) -> Any:
                size = tf.shape(image)[1:3]
                masks = tf.image.resize(feats[None], size, method="bilinear")[0]  # (H, W, b)
                masks = tf.transpose(masks, (2, 0, 1))[..., None]  # (b, H, W, 1)
                low = tf.reduce_min(masks, axis=(1, 2, 3), keepdims=True)
                high = tf.reduce_max(masks, axis=(1, 2, 3), keepdims=True)
                masks = tf.math.divide_no_nan(masks - low, high - low)
                b = tf.shape(masks)[0]
                batch = image * masks
                ex = {k: tf.repeat(v, b, axis=0) for k, v in extras.items()}
                with logits_mode(model, self.score == "logit"):
                    out = model(inputs.feed(batch, ex), training=False)
                return tf.gather(out, cls, axis=1)

            self._fns["scores"] = tf.function(scores, reduce_retracing=True)
        return self._fns["scores"]

    def _run(
        self, array: np.ndarray, extras: dict[str, np.ndarray], classes: np.ndarray, up: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        import tensorflow as tf

        feats_fn, scores_fn = self._features_fn(), self._scores_fn()
        maps, chosen = [], []
        b = self.batch_size
        for start in range(0, len(array), b):
            stop = start + b
            ex = {k: v[start:stop] for k, v in extras.items()}
            feats, cls = self._call(feats_fn, array[start:stop], ex, classes[start:stop])
            feats, cls = feats.numpy(), cls.numpy()
            for j in range(len(feats)):
                fmap = feats[j]  # (h, w, C)
                order = np.arange(fmap.shape[-1])
                if self.channels is not None and self.channels < len(order):
                    mean = fmap.mean(axis=(0, 1))
                    order = np.sort(np.argsort(-mean, kind="stable")[: self.channels])
                picked = fmap[..., order]
                values = np.empty(len(order), np.float32)
                row = repeat_extras(ex, j, 1)
                for c0 in range(0, len(order), b):
                    chunk = picked[..., c0 : c0 + b]
                    m = chunk.shape[-1]
                    if m < b and len(order) > b:  # pad: one traced shape
                        chunk = np.concatenate(
                            [chunk, np.zeros((*chunk.shape[:2], b - m), np.float32)], axis=-1
                        )
                    out = scores_fn(array[start + j : start + j + 1], row, chunk, np.int32(cls[j]))
                    values[c0 : c0 + m] = out.numpy()[:m]
                weights = np.exp(values - values.max())
                weights /= weights.sum()
                cam = np.tensordot(picked, weights, axes=([-1], [0]))[None]
                size = array.shape[1:3]
                maps.append(_finish(tf.constant(cam, tf.float32), size, up).numpy())
            chosen.append(cls)
        return np.concatenate(maps).astype(np.float32), np.concatenate(chosen)
