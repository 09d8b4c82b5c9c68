"""Image files (or their bytes) as model input batches: `ImageBatchReader` and `load_images`.

`load_images` reads files through `make_dataset` itself (one ``tf.data`` pipeline per
call). `ImageBatchReader` gives the same pixels for the same `DataConfig` from graph
functions traced once, when it is made, and reused for every call: what a server or a
streaming prediction over 100,000 images needs (no pipeline built and traced per
request), and it reports each bad item (its name and why) instead of failing the batch.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet._core.validation import check_bool, check_int
from dermnet.data.data_config import DataConfig
from dermnet.data.records import Records
from dermnet.data.unreadable_images import shorten_list

if TYPE_CHECKING:
    from dermnet.data.image_files import ImageHeader

__all__ = ["ImageBatch", "ImageBatchReader", "load_images"]


@dataclasses.dataclass(frozen=True)
class ImageBatch:
    """What `ImageBatchReader.read` made of a list of items.

    Attributes:
        images: float32 ``(len(ok), height, width, 3)`` in [0, 255], for the readable
            items, in their order.
        ok: the positions (in the list given) of the items in ``images``.
        bad: ``(position, name, reason)`` of each item that could not be read; the name
            is the path (or ``"<bytes #i>"`` for bytes).
    """

    images: np.ndarray
    ok: tuple[int, ...]
    bad: tuple[tuple[int, str, str], ...]


class ImageBatchReader:
    """Decode and resize image files or bytes into one batch, as `make_dataset` does.

    The pixels are those of `make_dataset` and `load_images` for ``data_config`` (the
    same decode, EXIF orientation, colour modes, DCT-scaled JPEG decoding, resize and
    preprocessing). The graph functions are traced once, when the reader is made, and
    reused by every `read`; `traces` counts the tracings (it stays at its first value).

    Args:
        data_config: the `DataConfig` (size, resize, interpolation, preprocessing).
        max_pixels: the pixel budget per image (default: `max_image_pixels`).
        fast_jpeg: as in `make_dataset` (keep the default to match it).

    Examples:
        >>> from dermnet.data import DataConfig, sample_path
        >>> files = sorted(sample_path("malaria").rglob("*.png"))[:2]
        >>> reader = ImageBatchReader(DataConfig((32, 24)))
        >>> batch = reader.read([*files, "missing.png"])
        >>> batch.images.shape, batch.ok, batch.bad[0][1:]
        ((2, 32, 24, 3), (0, 1), ('missing.png', 'no such file'))
    """

    def __init__(
        self, data_config: DataConfig, *, max_pixels: int | None = None, fast_jpeg: bool = True
    ) -> None:
        import tensorflow as tf

        from dermnet.data.image_decoding import decode_bytes, resize_pixels
        from dermnet.data.image_files import max_image_pixels

        where = "ImageBatchReader"
        if not isinstance(data_config, DataConfig):
            raise ParameterError(
                f"The 'data_config' parameter of {where} must be a DataConfig. "
                f"Got {type(data_config).__name__} instead."
            )
        self.data_config = data_config.validate()
        self.max_pixels = max_image_pixels(max_pixels, where)
        self.fast_jpeg = check_bool(fast_jpeg, "fast_jpeg", where)
        self._transform = self.data_config.transform()
        self._traces = 0
        config = self.data_config
        size, resize, method = config.image_size, config.resize, config.interpolation

        def one(data: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
            image = decode_bytes(data, orientation, size, resize, self.fast_jpeg)
            return resize_pixels(image, size, resize, method)

        @tf.function(
            input_signature=[
                tf.TensorSpec([None], tf.string),
                tf.TensorSpec([None], tf.int32),
            ]
        )
        def decode_batch(data: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
            self._traces += 1
            return tf.map_fn(
                lambda item: one(item[0], item[1]),
                (data, orientation),
                fn_output_signature=tf.TensorSpec([size[0], size[1], 3], tf.float32),
                parallel_iterations=8,
            )

        @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
        def resize_one(pixels: tf.Tensor) -> tf.Tensor:
            self._traces += 1
            return resize_pixels(pixels, size, resize, method)

        self._decode_batch = decode_batch
        self._resize_one = resize_one
        empty = tf.zeros([0], tf.string), tf.zeros([0], tf.int32)
        decode_batch.get_concrete_function(*empty)
        resize_one.get_concrete_function()

    @property
    def traces(self) -> int:
        """How many times the graph functions were traced (2 after construction)."""
        return self._traces

    def read(self, items: Sequence[str | os.PathLike[str] | bytes]) -> ImageBatch:
        """Decode and resize ``items`` (paths or encoded bytes) into one batch.

        Returns:
            An `ImageBatch`: the images of the readable items and, per bad item, its
            position, name and reason (missing, not an image, truncated, ...).

        Raises:
            ParameterError: ``items`` is not a list of paths or bytes.
        """
        import tensorflow as tf

        if (
            isinstance(items, (str, os.PathLike, bytes))
            or not isinstance(items, Sequence)
            or not all(isinstance(item, (str, os.PathLike, bytes)) for item in items)
        ):
            raise ParameterError(
                "The 'items' parameter of ImageBatchReader.read must be a list of paths or "
                f"bytes. Got {type(items).__name__} instead."
            )
        bad: list[tuple[int, str, str]] = []
        by_tf: list[tuple[int, bytes, int]] = []
        by_pil: list[tuple[int, np.ndarray]] = []
        for i, item in enumerate(items):
            name = _item_name(item, i)
            try:
                data, header = self._load(item, name)
                if header.tf_decodable:
                    by_tf.append((i, data, header.orientation))
                else:
                    by_pil.append((i, self._pil_pixels(data, header, name)))
            except (DataError, OSError, TypeError) as exc:
                bad.append((i, name, _reason(exc, name)))
        out: dict[int, np.ndarray] = {}
        if by_tf:
            data = tf.constant([d for _, d, _ in by_tf])
            turns = tf.constant([o for _, _, o in by_tf], tf.int32)
            try:
                images = self._decode_batch(data, turns).numpy()
                out.update({i: images[k] for k, (i, _, _) in enumerate(by_tf)})
            except tf.errors.OpError:  # find the item(s) that fail, one at a time
                for i, d, o in by_tf:
                    try:
                        out[i] = self._decode_batch(tf.constant([d]), tf.constant([o]))[0].numpy()
                    except tf.errors.OpError as exc:
                        bad.append((i, *self._why_not(items[i], i, d, exc)))
        for i, pixels in by_pil:
            out[i] = self._resize_one(tf.constant(pixels)).numpy()
        ok = tuple(sorted(out))
        size = self.data_config.image_size
        images = [self._finish(out[i]) for i in ok]
        stacked = np.stack(images) if images else np.zeros((0, *size, 3), np.float32)
        return ImageBatch(stacked.astype(np.float32, copy=False), ok, tuple(sorted(bad)))

    def _load(self, item: Any, name: str) -> tuple[bytes, ImageHeader]:
        from dermnet.data.image_files import read_image_header

        if isinstance(item, bytes):
            return item, _bytes_header(item, name, self.max_pixels)
        header = read_image_header(name, self.max_pixels)
        with open(name, "rb") as handle:
            return handle.read(), header

    def _pil_pixels(self, data: bytes, header: ImageHeader, name: str) -> np.ndarray:
        from PIL import Image, ImageOps

        from dermnet.data.image_files import _to_rgb

        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image) if header.orientation != 1 else image
                return _to_rgb(upright)
        except Exception as exc:
            raise DataError(f"{name}: cannot be decoded: {type(exc).__name__}: {exc}") from None

    def _why_not(self, item: Any, i: int, data: bytes, exc: Any) -> tuple[str, str]:
        """``(name, reason)`` for bytes TensorFlow could not decode: PIL's reason (the one
        every other path of dermnet gives, e.g. "image file is truncated") where PIL
        fails too, else TensorFlow's first line."""
        from PIL import Image

        name = _item_name(item, i)
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except Exception as pil_exc:
            return name, f"cannot be decoded: {type(pil_exc).__name__}: {pil_exc}"
        lines = [line for line in (exc.message or "").splitlines() if line.strip()]
        detail = next((line for line in lines if "Graph execution" not in line), "")
        return name, f"cannot be decoded by TensorFlow: {detail or type(exc).__name__}"

    def _finish(self, image: np.ndarray) -> np.ndarray:
        if self._transform is None:
            return image
        return np.asarray(self._transform(image.astype(np.uint8)), dtype=np.float32)


def _item_name(item: Any, i: int) -> str:
    """The name of an item in reports: its path, or ``<bytes #i>``."""
    return f"<bytes #{i}>" if isinstance(item, bytes) else os.fspath(item)


def _reason(exc: BaseException, name: str) -> str:
    text = str(exc)
    return text[len(name) + 2 :] if text.startswith(f"{name}: ") else text


def _bytes_header(data: bytes, name: str, max_pixels: int) -> ImageHeader:
    """The header of encoded bytes, with the checks of `read_image_header`.

    Read by PIL from memory (no copy on disk: a server reads every upload this way).
    """
    from PIL import Image, UnidentifiedImageError

    from dermnet.data.image_files import (
        _ORIENTATION,
        _SUPPORTED_TEXT,
        MAX_PIXELS_ENV,
        SUPPORTED_FORMATS,
        ImageHeader,
    )

    if not data:
        raise DataError(f"{name}: empty file (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt, mode = image.format or "?", image.mode
            width, height = image.size
            try:
                orientation = int(image.getexif().get(_ORIENTATION, 1) or 1)
            except Exception:  # a broken EXIF block: the pixels may still be fine
                orientation = 1
    except Image.DecompressionBombError as exc:
        raise DataError(f"{name}: too many pixels to decode safely ({exc})") from None
    except UnidentifiedImageError:  # PIL names the stream object: say what it is instead
        raise DataError(
            f"{name}: not a readable image: UnidentifiedImageError: cannot identify image "
            f"file ({len(data)} bytes)"
        ) from None
    except Exception as exc:  # PIL raises OSError, SyntaxError, ... on a broken header
        raise DataError(f"{name}: not a readable image: {type(exc).__name__}: {exc}") from None
    if fmt not in SUPPORTED_FORMATS:
        raise DataError(f"{name}: unsupported format {fmt}; dermnet reads {_SUPPORTED_TEXT}")
    if mode == "F" or mode.startswith("I;32"):
        raise DataError(f"{name}: unsupported colour mode {mode} (floating-point or 32-bit pixels)")
    if width < 1 or height < 1:
        raise DataError(f"{name}: empty image ({height}x{width})")
    if height * width > max_pixels:
        raise DataError(
            f"{name}: {height}x{width} = {height * width:,} pixels is over the pixel budget "
            f"of {max_pixels:,}; raise it with max_pixels=... or the {MAX_PIXELS_ENV} "
            "environment variable if the image is genuine"
        )
    return ImageHeader(name, fmt, mode, height, width, orientation if 1 <= orientation <= 8 else 1)


def load_images(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    data_config: DataConfig,
    *,
    batch_size: int = 32,
) -> np.ndarray:
    """Read image files as model input, exactly as `make_dataset` does with the same config.

    The files go through `make_dataset`'s own decode, resize and preprocessing code
    (``make_dataset(records, data_config, label_mode=None)``), so a model sees the same
    pixels in prediction and explanation as in training and evaluation (the EXIF
    orientation applied, every colour mode made RGB). Every file is first checked
    (`check_image_files` with ``decode=True``: its header read, then decoded at reduced
    scale with PIL, which finds empty, truncated, oversized and non-image files), so a bad
    file is named by its path.

    Args:
        paths: image files (JPEG, PNG, BMP, GIF, WebP, TIFF), or one file.
        data_config: the `DataConfig` (size, resize, interpolation, preprocessing).
        batch_size: images decoded per step (memory, not results, depends on it).

    Returns:
        float32 ``(n, height, width, 3)`` in [0, 255], in the order of ``paths``.

    Raises:
        MissingFileError: files do not exist (the message names them).
        DataError: files cannot be decoded as images (the message names them).
        ParameterError: a parameter is invalid.

    Examples:
        >>> from dermnet.data import DataConfig, sample_path
        >>> files = sorted(sample_path("malaria").rglob("*.png"))[:2]
        >>> load_images(files, DataConfig((32, 24), resize="pad")).shape
        (2, 32, 24, 3)
    """
    import pandas as pd
    import tensorflow as tf

    from dermnet.data.pipeline import make_dataset

    where = "load_images"
    if not isinstance(data_config, DataConfig):
        raise ParameterError(
            f"The 'data_config' parameter of {where} must be a DataConfig. "
            f"Got {type(data_config).__name__} instead."
        )
    config = data_config.validate()
    batch_size = check_int(batch_size, "batch_size", where, low=1)
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if not isinstance(paths, Sequence) or not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise ParameterError(
            f"The 'paths' parameter of {where} must be a file path or a list of file paths. "
            f"Got {paths!r} instead."
        )
    files = [os.fspath(p) for p in paths]
    if not files:
        raise ParameterError(f"The 'paths' parameter of {where} must name at least one file.")
    missing = [p for p in files if not os.path.isfile(p)]
    if missing:
        raise MissingFileError(
            f"{len(missing)} image file(s) do not exist: {shorten_list(missing)}"
        )
    from dermnet.data.image_files import check_image_files

    report = check_image_files(files, decode=True)
    if not report.ok:
        bad = [f"{path} ({problem})" for path, problem in report.bad]
        raise DataError(f"{len(bad)} file(s) are not readable images: {shorten_list(bad)}")

    frame = pd.DataFrame({"image_path": files, "label": "image"})
    records = Records(frame, ["image"], name="images")
    ds = make_dataset(records, config, batch_size, label_mode=None)
    try:
        batches = [np.asarray(batch) for batch in ds.as_numpy_iterator()]
    except tf.errors.OpError as exc:  # a file PIL reads but TensorFlow does not
        first = (exc.message or "").split("DataError: ", 1)[-1].splitlines()
        raise DataError(first[0] if first else f"{where}: {exc}") from None
    return np.concatenate(batches).astype(np.float32, copy=False)
