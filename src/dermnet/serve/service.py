"""`ModelService`: a run's model behind a bounded queue, scoring images in batches
gathered across concurrent clients, and explaining them with Grad-CAM.

Every upload is decoded from its bytes by one `dermnet.data.image_batches.ImageBatchReader`
made for the run's data config (its graph traced once, when the service starts; the
pixels those of `dermnet.data.make_dataset`) and scored with
`dermnet.train.RunFolder.score` (the run's test-time augmentation and logit adjustment),
so the probabilities equal those of ``dermnet predict`` for the same file. An ensemble
folder (`dermnet.train.build_ensemble`) serves like a single run; its Grad-CAM is the
members' maps averaged (`dermnet.train.ensemble.EnsembleExplainer`). Where the run
folder holds ``abstention.json``, each prediction says whether the model abstains.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import os
import queue
import threading
import time
from concurrent.futures import Future
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, DermnetError
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet.serve.config import ServeConfig
from dermnet.serve.uploads import RequestError, UploadedImage

__all__ = ["ModelService", "heatmap_on_original"]

_STOP = object()
_POLL_S = 0.001  # how often a gathering batch looks again for requests on their way


@dataclasses.dataclass
class _Job:
    kind: str  # "predict" or "explain"
    images: list[UploadedImage]
    future: Future[Any]
    class_index: int | None = None


def heatmap_on_original(heatmap: np.ndarray, size: tuple[int, int], data_config: Any) -> np.ndarray:
    """Map a heatmap at the model's input size back onto the original image.

    Undoes the data config's resize: a stretch is resized back; a centre crop fills the
    cropped area and leaves the cut-off borders at 0; a pad drops the padding first.

    Args:
        heatmap: ``(h, w)`` values in [0, 1] at the model input size.
        size: the original image's ``(height, width)``.
        data_config: the run's `dermnet.data.DataConfig`.

    Returns:
        ``(height, width)`` float32 heatmap.

    Examples:
        >>> from dermnet.data import DataConfig
        >>> heat = np.ones((4, 4), np.float32)
        >>> out = heatmap_on_original(heat, (10, 20), DataConfig((4, 4), resize="crop"))
        >>> out.shape, float(out[:, :5].max()), float(out[:, 5:15].min())
        ((10, 20), 0.0, 1.0)
    """
    import cv2

    height, width = int(size[0]), int(size[1])
    th, tw = data_config.image_size
    heat = np.asarray(heatmap, np.float32)
    mode = data_config.resize
    if mode == "crop":
        target = th / tw
        h = min(float(height), width * target)
        w = min(float(width), height / target)
        top, left = int((height - h) / 2), int((width - w) / 2)
        out = np.zeros((height, width), np.float32)
        ch, cw = max(1, int(h)), max(1, int(w))
        out[top : top + ch, left : left + cw] = cv2.resize(
            heat, (cw, ch), interpolation=cv2.INTER_LINEAR
        )
        return out
    if mode == "pad":  # as tf.image.resize_with_pad places the image
        ratio = max(width / tw, height / th)
        rh, rw = max(1, int(height / ratio)), max(1, int(width / ratio))
        top, left = (th - rh) // 2, (tw - rw) // 2
        heat = heat[top : top + rh, left : left + rw]
    return cv2.resize(heat, (width, height), interpolation=cv2.INTER_LINEAR)


class ModelService:
    """A run's model, scoring uploaded images through one worker thread.

    Requests wait in a bounded queue; the worker takes the first waiting prediction and
    gathers more (up to ``max_batch`` images, waiting at most ``batch_wait_ms``), reads
    them in one pass of the run's data pipeline and scores them in one forward pass.
    Where the caller announces requests on their way (`expect`, as `create_app` does when
    a prediction's upload starts), the worker waits only while one is: a batch whose
    every client is already in it runs at once.
    Explanations run one request at a time on the same worker, so the model is used by
    one thread only.

    Args:
        run_dir: the run folder.
        config: the server settings (`ServeConfig`).

    Attributes:
        folder: the `dermnet.train.RunFolder`.
        model: the loaded Keras model.
        model_id: the run's name (its folder's name).
        model_version: the first 12 hex digits of the model file's SHA-256.
        reader: the `dermnet.data.image_batches.ImageBatchReader` of the run's data config.
        abstention: the run's `dermnet.metrics.AbstentionThreshold` (from
            ``abstention.json``, chosen on validation), or ``None`` without one.
        stats: counters: ``requests``, ``batches``, ``images``, ``largest_batch``.
    """

    def __init__(self, run_dir: str | os.PathLike[str], config: ServeConfig) -> None:
        from dermnet.data.image_batches import ImageBatchReader
        from dermnet.train.run_folder import RunFolder
        from dermnet.train.run_trust import read_abstention

        self.config = config.validate()
        self.folder = RunFolder(run_dir)
        self.abstention = read_abstention(self.folder.path)
        self.reader = ImageBatchReader(self.folder.data_config)
        path = self.folder.model_path(self.config.model_file)
        self.model = self.folder.load_model(self.config.model_file)
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        self.model_id = self.folder.path.name
        self.model_version = digest.hexdigest()[:12]
        self.stats = {"requests": 0, "batches": 0, "images": 0, "largest_batch": 0}
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self.config.queue_size)
        self._thread: threading.Thread | None = None
        self._closing = False
        self._explainer: Any = None
        self._missing_row: np.ndarray | None = None
        self._arriving = 0  # predictions on their way (`expect`), not yet queued
        self._announced = False  # whether anyone calls `expect` (else: wait the full time)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, warm_up: bool = True) -> ModelService:
        """Start the worker thread (and run one forward pass, so the first client waits
        no longer than the next)."""
        if warm_up:
            h, w = self.folder.data_config.image_size
            zeros = np.zeros((1, h, w, 3), np.float32)
            meta = None
            if self.folder.config.metadata:
                meta = np.zeros((1, int(self.model.inputs[1].shape[-1])), np.float32)
            self.folder.score(self.model, zeros, meta)
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="dermnet-serve", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float | None = 30.0) -> None:
        """Finish the queued requests, then stop the worker."""
        self._closing = True
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._thread = None

    def expect(self) -> None:
        """Note a prediction request on its way (its upload still being received or
        checked): the worker waits up to ``batch_wait_ms`` for it to join the batch."""
        self._announced = True
        self._arriving += 1

    def arrived(self) -> None:
        """Note that a request `expect` announced was queued or refused."""
        self._arriving = max(0, self._arriving - 1)

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the model."""
        return self._queue.qsize()

    def submit(
        self, kind: str, images: list[UploadedImage], class_index: int | None = None
    ) -> Future[Any]:
        """Queue a ``"predict"`` or ``"explain"`` request; its future gets the result.

        Raises:
            RequestError: 503 when the queue is full or the server is shutting down.
        """
        if self._closing:
            raise RequestError(503, "shutting_down", "The server is shutting down.")
        job = _Job(kind, images, Future(), class_index)
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            raise RequestError(
                503,
                "queue_full",
                f"The server is busy: {self.config.queue_size} requests are already "
                "waiting for the model. Retry in a moment.",
            ) from None
        self.stats["requests"] += 1
        return job.future

    # -- the worker -----------------------------------------------------------------------
    def _work(self) -> None:
        stopping = False
        while not stopping:
            job = self._queue.get()
            if job is _STOP:
                break
            batch: list[_Job] = []
            later: list[_Job] = []
            (batch if job.kind == "predict" else later).append(job)
            if batch:
                count = len(job.images)
                deadline = time.monotonic() + self.config.batch_wait_ms / 1000.0
                while count < self.config.max_batch:
                    nxt = self._next_for_batch(deadline)
                    if nxt is None:
                        break
                    if nxt is _STOP:
                        stopping = True
                        break
                    (batch if nxt.kind == "predict" else later).append(nxt)
                    if nxt.kind == "predict":
                        count += len(nxt.images)
                self._run_predictions(batch)
            for item in later:
                self._run(item, lambda j: self.explain_images(j.images, j.class_index))
        # drain what came in before the stop (a graceful shutdown finishes them)
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP:
                if job.kind == "predict":
                    self._run_predictions([job])
                else:
                    self._run(job, lambda j: self.explain_images(j.images, j.class_index))

    def _next_for_batch(self, deadline: float) -> Any:
        """The next queued request to join a batch: one already waiting, else one that
        arrives before ``deadline`` while another is on its way (`expect`); ``None``
        when none will (then the batch runs at once instead of idling until the
        deadline)."""
        while True:
            try:
                return self._queue.get_nowait()
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self._announced and self._arriving <= 0):
                return None
            try:  # short slices: the request on its way may be refused before it queues
                return self._queue.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                continue

    @staticmethod
    def _run(job: _Job, fn: Any) -> None:
        if not job.future.set_running_or_notify_cancel():
            return  # the client gave up (timeout)
        try:
            job.future.set_result(fn(job))
        except BaseException as exc:  # handed to the waiting request
            job.future.set_exception(_as_request_error(exc))

    def _run_predictions(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        images = [image for job in live for image in job.images]
        try:
            scores = self.predict_images(images)
        except BaseException:
            # one bad file must not fail the others: score each request on its own
            for job in live:
                try:
                    job.future.set_result(self.predict_images(job.images))
                except BaseException as exc:
                    job.future.set_exception(_as_request_error(exc))
            return
        start = 0
        for job in live:
            job.future.set_result(scores[start : start + len(job.images)])
            start += len(job.images)

    # -- the model ------------------------------------------------------------------------
    def read_images(self, images: list[UploadedImage]) -> tuple[np.ndarray, Any]:
        """Model input for uploads, decoded from their bytes by `reader` (no copy on disk).

        Raises:
            RequestError: 400 ``unreadable_image`` naming each upload that cannot be decoded.
        """
        batch = self.reader.read([image.data for image in images])
        if batch.bad:
            problems = "; ".join(f"{images[i].name!r}: {reason}" for i, _, reason in batch.bad)
            first = images[batch.bad[0][0]].name
            raise RequestError(
                400, "unreadable_image", f"The image cannot be read: {problems}.", first
            )
        return batch.images, self._missing_metadata(images)

    def _missing_metadata(self, images: list[UploadedImage]) -> Any:
        """A metadata run's encoded metadata of uploads: every value "missing" (as
        `dermnet.train.RunFolder.read_files` encodes files without an entry).

        Every upload's row is the same (the encoder works row by row), so one row is
        encoded once and repeated: no data frame is built per request.
        """
        if self._missing_row is None:
            encoder = self.folder.metadata_encoder()
            if encoder is None:
                return None
            import pandas as pd

            from dermnet.data import Records

            columns = list(self.folder.info.get("metadata_cols", ()))
            frame = pd.DataFrame({"image_path": ["upload"], "label": [self.folder.classes[0]]})
            for col in columns:
                frame[col] = np.nan
            records = Records(frame, self.folder.classes, metadata_cols=tuple(columns))
            self._missing_row = np.asarray(encoder.transform(records))
        return np.repeat(self._missing_row, len(images), axis=0)

    def abstentions(self, scores: np.ndarray) -> list[dict[str, Any]] | None:
        """Per image ``{"confidence", "abstain"}`` under the run's abstention rule, or
        ``None`` when the run has none (then nothing is flagged)."""
        if self.abstention is None:
            return None
        from dermnet.metrics.uncertainty import apply_abstention, confidence_scores

        confidence = confidence_scores(np.asarray(scores, np.float64))["max_probability"]
        abstain = apply_abstention(confidence, self.abstention)
        return [
            {"confidence": float(c), "abstain": bool(a)}
            for c, a in zip(confidence, abstain, strict=True)
        ]

    def predict_images(self, images: list[UploadedImage]) -> np.ndarray:
        """Probabilities ``(n, classes)`` of checked uploads, in one batch."""
        pixels, metadata = self.read_images(images)
        scores = self.folder.score(self.model, pixels, metadata, batch_size=len(images))
        self.stats["batches"] += 1
        self.stats["images"] += len(images)
        self.stats["largest_batch"] = max(self.stats["largest_batch"], len(images))
        return scores

    def explain_images(
        self, images: list[UploadedImage], class_index: int | None = None
    ) -> list[dict[str, Any]]:
        """Probabilities and a Grad-CAM overlay, at each image's own resolution.

        Returns:
            One dict per image: ``probabilities``, ``explained`` (class index),
            ``overlay`` (a ``data:image/jpeg;base64,...`` URL), ``width``, ``height``.
        """
        from PIL import Image, ImageOps

        from dermnet.explain import get_explainer, overlay

        pixels, metadata = self.read_images(images)
        scores = self.folder.score(self.model, pixels, metadata, batch_size=len(images))
        if self._explainer is None:
            if self.folder.is_ensemble:
                from dermnet.train.ensemble import EnsembleExplainer

                self._explainer = EnsembleExplainer(self.model, "gradcam")
            else:
                self._explainer = get_explainer("gradcam", self.model)
        fed: Any = pixels
        if metadata is not None:
            fed = {IMAGE_INPUT: pixels, METADATA_INPUT: np.asarray(metadata, np.float32)}
        targets = [
            int(class_index) if class_index is not None else int(row.argmax()) for row in scores
        ]
        heatmaps = np.asarray(self._explainer(fed, targets), np.float32)
        out = []
        for image, probs, heat, target in zip(images, scores, heatmaps, targets, strict=True):
            with Image.open(io.BytesIO(image.data)) as opened:
                rgb = np.asarray(ImageOps.exif_transpose(opened).convert("RGB"))
            full = heatmap_on_original(heat, rgb.shape[:2], self.folder.data_config)
            blended = Image.fromarray(overlay(rgb, full, alpha=0.4))
            buffer = io.BytesIO()
            blended.save(buffer, format="JPEG", quality=90)
            encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
            out.append(
                {
                    "probabilities": probs,
                    "explained": target,
                    "overlay": f"data:image/jpeg;base64,{encoded}",
                    "width": int(rgb.shape[1]),
                    "height": int(rgb.shape[0]),
                }
            )
        return out


def _as_request_error(exc: BaseException) -> BaseException:
    if isinstance(exc, RequestError):
        return exc
    if isinstance(exc, DataError):
        return RequestError(400, "unreadable_image", f"The image cannot be read: {exc}")
    if isinstance(exc, DermnetError):
        return RequestError(400, "bad_request", str(exc))
    return exc
