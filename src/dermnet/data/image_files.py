"""Image files: the formats dermnet reads, their header check and the one decoder.

Every path that turns an image file into pixels (`make_dataset`, `load_images`,
`validate`, the loaders' ``verify``) uses this module, so a file gives the same RGB pixels
everywhere and a file dermnet cannot read is named by its path before anything runs.

Supported (`SUPPORTED_FORMATS`; extensions in `IMAGE_EXTENSIONS`):

- formats: JPEG (also the multi-picture MPO of phones: the first picture), PNG, BMP,
  GIF (the first frame), WebP and TIFF (the first page);
- colour modes: RGB, gray, gray+alpha, palette, RGBA (the alpha channel is dropped, not
  blended), CMYK, and 16-bit gray or colour (scaled to 8 bits); 32-bit float images are
  refused;
- EXIF orientation (tags 2-8) is applied, as PIL's ``ImageOps.exif_transpose`` and
  OpenCV's ``imread`` do, so a phone photo is upright on every path.

A header read (PIL reads only the header, a few kB) gives the format, mode, size and
orientation of every file. RGB or gray JPEGs and 8-bit PNGs are then decoded by
TensorFlow's own decoders (fast, in parallel, a large JPEG at reduced scale), with the
orientation applied in TensorFlow; every other file is decoded by PIL (`decode_image_file`).

Pixel budget: a file with more than `max_image_pixels` pixels (default
`MAX_IMAGE_PIXELS` = 100 million, or the ``DERMNET_MAX_IMAGE_PIXELS`` environment
variable) is refused from its header, before any decoding.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_int

if TYPE_CHECKING:
    from dermnet.data.records import Records

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_IMAGE_PIXELS",
    "SUPPORTED_FORMATS",
    "ImageFileReport",
    "ImageHeader",
    "check_image_files",
    "decode_image_file",
    "max_image_pixels",
    "read_image_header",
]

#: Image formats dermnet decodes (PIL format names); MPO is the multi-picture JPEG of phones.
SUPPORTED_FORMATS = ("JPEG", "MPO", "PNG", "BMP", "GIF", "WEBP", "TIFF")
#: File extensions read as images (lower case), by the loaders and ``dermnet predict``.
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
#: Default pixel budget (height x width) per image, checked from the header.
MAX_IMAGE_PIXELS = 100_000_000
#: Environment variable that overrides `MAX_IMAGE_PIXELS`.
MAX_PIXELS_ENV = "DERMNET_MAX_IMAGE_PIXELS"

#: Modes TensorFlow's JPEG / PNG decoders turn into the same RGB as PIL's ``convert``.
_TF_JPEG_MODES = ("RGB", "L")
_TF_PNG_MODES = ("RGB", "RGBA", "L", "LA", "P", "1")
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")
_SUPPORTED_TEXT = "JPEG, PNG, BMP, GIF, WebP and TIFF"
#: EXIF orientation tag.
_ORIENTATION = 0x0112


def max_image_pixels(max_pixels: int | None = None, where: str = "max_pixels") -> int:
    """The pixel budget in force: ``max_pixels``, else ``$DERMNET_MAX_IMAGE_PIXELS``,
    else `MAX_IMAGE_PIXELS`.

    Raises:
        ParameterError: ``max_pixels`` or the environment variable is not a positive int.
    """
    if max_pixels is not None:
        return int(check_int(max_pixels, "max_pixels", where, low=1))
    text = os.environ.get(MAX_PIXELS_ENV, "").strip().replace("_", "")
    if not text:
        return MAX_IMAGE_PIXELS
    if not text.isdigit() or int(text) < 1:
        raise ParameterError(
            f"The environment variable {MAX_PIXELS_ENV} must be a positive integer "
            f"(a pixel count). Got {os.environ[MAX_PIXELS_ENV]!r} instead."
        )
    return int(text)


@dataclasses.dataclass(frozen=True)
class ImageHeader:
    """What the header of one image file says.

    Attributes:
        path: the file.
        format: PIL's format name (``"JPEG"``, ``"PNG"``, ...).
        mode: PIL's colour mode (``"RGB"``, ``"L"``, ``"P"``, ``"CMYK"``, ``"I;16"``, ...).
        height: stored height in pixels (before the orientation is applied).
        width: stored width in pixels.
        orientation: the EXIF orientation (1 = upright, 2-8 = flipped or rotated).
    """

    path: str
    format: str
    mode: str
    height: int
    width: int
    orientation: int = 1

    @property
    def tf_decodable(self) -> bool:
        """Whether TensorFlow's decoders give the same RGB as PIL (else PIL decodes it)."""
        if self.format in ("JPEG", "MPO"):
            return self.mode in _TF_JPEG_MODES
        return self.format == "PNG" and self.mode in _TF_PNG_MODES


def _problem(path: str, reason: str) -> DataError:
    return DataError(f"{path}: {reason}")


def read_image_header(path: str | os.PathLike[str], max_pixels: int | None = None) -> ImageHeader:
    """Read the header of an image file (format, mode, size, EXIF orientation); no pixels.

    Args:
        path: the image file.
        max_pixels: the pixel budget (default: `max_image_pixels`).

    Returns:
        The `ImageHeader`.

    Raises:
        DataError: the file is missing, empty, not an image, of an unsupported format or
            mode, or larger than the pixel budget; the message starts with its path.
    """
    from PIL import Image

    path = os.fspath(path)
    budget = max_image_pixels(max_pixels, "read_image_header")
    if not os.path.isfile(path):
        raise _problem(path, "no such file")
    if os.path.getsize(path) == 0:
        raise _problem(path, "empty file (0 bytes)")
    try:
        with Image.open(path) as image:
            fmt, mode = image.format or "?", image.mode
            width, height = image.size
            try:
                orientation = int(image.getexif().get(_ORIENTATION, 1) or 1)
            except Exception:  # a broken EXIF block: the pixels may still be fine
                orientation = 1
    except Image.DecompressionBombError as exc:
        raise _problem(path, f"too many pixels to decode safely ({exc})") from None
    except Exception as exc:  # PIL raises UnidentifiedImageError, OSError, SyntaxError, ...
        raise _problem(path, f"not a readable image: {type(exc).__name__}: {exc}") from None
    if fmt not in SUPPORTED_FORMATS:
        raise _problem(path, f"unsupported format {fmt}; dermnet reads {_SUPPORTED_TEXT}")
    if mode == "F" or mode.startswith("I;32"):
        raise _problem(path, f"unsupported colour mode {mode} (floating-point or 32-bit pixels)")
    if width < 1 or height < 1:
        raise _problem(path, f"empty image ({height}x{width})")
    if height * width > budget:
        raise _problem(
            path,
            f"{height}x{width} = {height * width:,} pixels is over the pixel budget of "
            f"{budget:,}; raise it with max_pixels=... or the {MAX_PIXELS_ENV} environment "
            "variable if the image is genuine",
        )
    return ImageHeader(path, fmt, mode, height, width, orientation if 1 <= orientation <= 8 else 1)


def _to_rgb(image: Any) -> np.ndarray:
    """A PIL image (any supported mode) as uint8 RGB, 16-bit values scaled to 8 bits."""
    if image.mode in _SIXTEEN_BIT:
        pixels = np.asarray(image, dtype=np.float64)
        pixels = np.clip(np.round(pixels / 257.0), 0, 255).astype(np.uint8)
        return np.repeat(pixels[..., None], 3, axis=-1) if pixels.ndim == 2 else pixels
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        image = image.convert("RGBA")  # alpha dropped, not blended (as TensorFlow does)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8)[..., :3])


def decode_image_file(path: str | os.PathLike[str], max_pixels: int | None = None) -> np.ndarray:
    """Decode one image file with PIL to uint8 RGB ``(height, width, 3)``, upright.

    The EXIF orientation is applied; the colour modes of `SUPPORTED_FORMATS` become RGB
    (see the module docstring).

    Raises:
        DataError: the file cannot be read or decoded (missing, truncated, unsupported, over
            the pixel budget); the message starts with its path.
    """
    from PIL import Image, ImageOps

    header = read_image_header(path, max_pixels)
    try:
        with Image.open(header.path) as image:
            image.load()  # decodes every pixel: finds truncated files
            upright = ImageOps.exif_transpose(image) if header.orientation != 1 else image
            return _to_rgb(upright)
    except Exception as exc:
        raise _problem(header.path, f"cannot be decoded: {type(exc).__name__}: {exc}") from None


def _check_decodes(path: str) -> None:
    """Decode ``path`` cheaply enough to find truncation (a JPEG at 1/8 scale); raise if not."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            if image.format in ("JPEG", "MPO"):
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()  # draft still reads every byte: a truncated file fails
    except Exception as exc:
        raise _problem(path, f"cannot be decoded: {type(exc).__name__}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class ImageFileReport:
    """What `check_image_files` found.

    Attributes:
        paths: the files checked, in order.
        headers: one `ImageHeader` per file, ``None`` where the file is bad.
        bad: ``(path, reason)`` for every file that cannot be read, in order.
    """

    paths: tuple[str, ...]
    headers: tuple[ImageHeader | None, ...]
    bad: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        """True when every file is readable."""
        return not self.bad

    @property
    def bad_positions(self) -> np.ndarray:
        """Positions (in `paths`) of the bad files."""
        return np.flatnonzero([h is None for h in self.headers]).astype(np.int64)

    def counts(self) -> dict[str, int]:
        """Number of files per format (``"bad"`` for the unreadable ones)."""
        return dict(Counter(h.format if h else "bad" for h in self.headers).most_common())

    def summary(self, limit: int = 5) -> str:
        """One line: how many files are bad, and the first ``limit`` with their reason."""
        if self.ok:
            return f"all {len(self.paths)} image files are readable"
        shown = "; ".join(f"{p} ({why})" for p, why in self.bad[:limit])
        more = f"; ... ({len(self.bad)} in all)" if len(self.bad) > limit else ""
        return f"{len(self.bad)} of {len(self.paths)} image file(s) cannot be read: {shown}{more}"

    def raise_if_bad(self, where: str = "check_image_files") -> None:
        """Raise `DataError` naming the bad files and how to skip them."""
        if not self.ok:
            raise DataError(
                f"{where}: {self.summary()}. Fix or remove them, or pass on_error='skip' to "
                "leave them out (they are then recorded: records.excluded for the loaders, "
                "the dataset's 'excluded' attribute for make_dataset), or exclude them "
                "first with dermnet.data.check_image_files(records).drop_bad(records)."
            )

    def drop_bad(self, records: Records) -> Records:
        """``records`` without the bad files, which go to ``records.excluded`` with a reason."""
        if tuple(records.paths) != self.paths:
            raise ParameterError(
                "ImageFileReport.drop_bad must be given the records that were checked."
            )
        if self.ok:
            return records
        reasons = dict(self.bad)
        rows = self.bad_positions
        return records.exclude(rows, [f"unreadable image: {reasons[self.paths[i]]}" for i in rows])


def check_image_files(
    records_or_paths: Records | str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    max_pixels: int | None = None,
    decode: bool = False,
    workers: int | None = None,
) -> ImageFileReport:
    """Check that image files can be read, from their headers (fast), before using them.

    Finds missing and empty files, files that are not images (a text file named ``.jpg``),
    unsupported formats and modes, and images over the pixel budget. A header check does
    not find a truncated file whose header is intact: ``decode=True`` also decodes every
    file (a JPEG at 1/8 scale, which still reads every byte), several times slower.
    `make_dataset` runs the header check itself; a truncated file is then named when
    the pipeline reaches it.

    Args:
        records_or_paths: `Records` (in-memory images need no check) or image paths.
        max_pixels: the pixel budget (default: `max_image_pixels`).
        decode: also decode every file (finds truncated files).
        workers: threads (default: up to 8, by CPU count).

    Returns:
        An `ImageFileReport`; ``report.bad`` lists ``(path, reason)``.

    Examples:
        >>> from dermnet.data import load_sample
        >>> report = check_image_files(load_sample("malaria"))
        >>> report.ok, report.counts()
        (True, {'PNG': 200})
    """
    from dermnet.data.records import Records

    where = "check_image_files"
    budget = max_image_pixels(max_pixels, where)
    workers = check_int(workers, "workers", where, low=1, allow_none=True)
    if isinstance(records_or_paths, Records):
        if records_or_paths.images is not None:
            return ImageFileReport(tuple(records_or_paths.paths), (), ())
        paths = records_or_paths.paths
    elif isinstance(records_or_paths, (str, os.PathLike)):
        paths = [os.fspath(records_or_paths)]
    elif isinstance(records_or_paths, Sequence) and all(
        isinstance(p, (str, os.PathLike)) for p in records_or_paths
    ):
        paths = [os.fspath(p) for p in records_or_paths]
    else:
        raise ParameterError(
            f"The 'records_or_paths' parameter of {where} must be Records or image paths. "
            f"Got {type(records_or_paths).__name__} instead."
        )

    def one(path: str) -> ImageHeader | str:
        try:
            header = read_image_header(path, budget)
            if decode:
                _check_decodes(path)
            return header
        except DataError as exc:
            return str(exc)[len(path) + 2 :]

    if len(paths) < 64:
        results = [one(p) for p in paths]
    else:
        with ThreadPoolExecutor(max_workers=workers or min(8, (os.cpu_count() or 1) + 2)) as pool:
            results = list(pool.map(one, paths, chunksize=64))
    headers = tuple(r if isinstance(r, ImageHeader) else None for r in results)
    bad = tuple((p, r) for p, r in zip(paths, results, strict=True) if isinstance(r, str))
    return ImageFileReport(tuple(paths), headers, bad)


def _undecodable(paths: Sequence[str]) -> list[tuple[str, str]]:
    """``(path, reason)`` for the files among ``paths`` that do not decode (a re-check)."""
    found: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 2)) as pool:
        for path, problem in zip(paths, pool.map(_why_not, paths, chunksize=32), strict=True):
            if problem:
                found.append((path, problem))
    return found


def _why_not(path: str) -> str | None:
    try:
        _check_decodes(path)
    except DataError as exc:
        return str(exc)[len(path) + 2 :]
    return None
