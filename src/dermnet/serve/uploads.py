"""Uploaded images: checked from their bytes (type, header, size, a full decode) before
the model sees them, each problem answered with an HTTP status and a message naming it."""

from __future__ import annotations

import dataclasses
import io
import warnings
from typing import Any

from dermnet._core.errors import DataError

__all__ = ["ACCEPTED_TYPES", "RequestError", "UploadedImage", "check_upload"]

#: Content types accepted for an image part, and the PIL formats each may hold.
ACCEPTED_TYPES = {
    "image/jpeg": ("JPEG", "MPO"),
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
    "image/bmp": ("BMP",),
    "image/gif": ("GIF",),
    "image/tiff": ("TIFF",),
}
_SUFFIX = {"JPEG": ".jpg", "MPO": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}
_SUFFIX.update({"GIF": ".gif", "TIFF": ".tif"})


class RequestError(DataError):
    """A request the server refuses: an HTTP status, a short code and a message.

    Attributes:
        status: the HTTP status (4xx, or 503/504 when the server is busy).
        code: a stable machine-readable name of the problem, e.g. ``"truncated_image"``.
        file: the uploaded file's name, where the problem is one file's.
    """

    def __init__(self, status: int, code: str, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.file = file

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        out: dict[str, Any] = {"code": self.code, "message": str(self)}
        if self.file is not None:
            out["file"] = self.file
        return {"error": out}


@dataclasses.dataclass(frozen=True)
class UploadedImage:
    """One checked upload: its bytes, format and size (the bytes stay in memory)."""

    name: str
    data: bytes
    format: str
    width: int
    height: int

    @property
    def suffix(self) -> str:
        """The file suffix of its format (``.jpg``, ``.png``, ...)."""
        return _SUFFIX.get(self.format, ".img")


def _base_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def check_upload(
    name: str | None, content_type: str | None, data: bytes, *, max_pixels: int
) -> UploadedImage:
    """Check one uploaded file and return it as an `UploadedImage`.

    The checks, in order: a non-empty body (400 ``empty_file``), an image content type
    (415 ``unsupported_media_type``), a readable image header (400 ``not_an_image``), a
    size within ``max_pixels`` read from the header, before anything is decoded (413
    ``image_too_large``: decompression bombs stop here), and a full decode (400
    ``truncated_image`` or ``not_an_image``; a JPEG is decoded at 1/8 scale, which still
    reads every byte).

    Args:
        name: the file name the client gave (used in messages only).
        content_type: the part's declared content type.
        data: the file's bytes.
        max_pixels: the largest width x height accepted.

    Returns:
        The checked image.

    Raises:
        RequestError: the upload is refused (its status, code and message say why).

    Examples:
        >>> check_upload("x.png", "image/png", b"", max_pixels=10)
        Traceback (most recent call last):
        ...
        dermnet.serve.uploads.RequestError: The file 'x.png' is empty (0 bytes).
    """
    from PIL import Image, UnidentifiedImageError

    label = name or "upload"
    if not data:
        raise RequestError(400, "empty_file", f"The file {label!r} is empty (0 bytes).", label)
    declared = _base_type(content_type)
    if declared not in ACCEPTED_TYPES:
        raise RequestError(
            415,
            "unsupported_media_type",
            f"The file {label!r} must be sent as an image ({', '.join(ACCEPTED_TYPES)}). "
            f"Got content type {content_type or 'none'!r} instead.",
            label,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's DecompressionBombWarning: checked below
        try:
            image = Image.open(io.BytesIO(data))
            fmt = str(image.format)
            width, height = image.size
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            raise RequestError(
                400,
                "not_an_image",
                f"The file {label!r} is not an image that can be read ({len(data)} bytes, "
                f"declared {declared}): {exc}.",
                label,
            ) from None
        except Image.DecompressionBombError as exc:  # PIL's own limit, above max_pixels
            raise RequestError(
                413,
                "image_too_large",
                f"The image {label!r} is too large ({exc}); the server accepts at most "
                f"{max_pixels:,} pixels. Send a smaller image.",
                label,
            ) from None
        if width * height > max_pixels:
            raise RequestError(
                413,
                "image_too_large",
                f"The image {label!r} is {width}x{height} pixels "
                f"({width * height:,}); the server accepts at most {max_pixels:,} pixels. "
                "Send a smaller image.",
                label,
            )
        if fmt not in sum(ACCEPTED_TYPES.values(), ()):
            raise RequestError(
                415,
                "unsupported_media_type",
                f"The file {label!r} is a {fmt} image; the server reads JPEG, PNG, WebP, "
                "BMP, GIF and TIFF.",
                label,
            )
        try:
            if fmt in ("JPEG", "MPO"):  # decode at 1/8 scale: still reads every byte,
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # so
            image.load()  # a truncated file fails, at a fraction of a full decode's cost
        except Image.DecompressionBombError as exc:  # pragma: no cover - size read first
            raise RequestError(413, "image_too_large", f"{label!r}: {exc}", label) from None
        except (OSError, ValueError, SyntaxError) as exc:
            truncated = "truncated" in str(exc).lower() or isinstance(exc, EOFError)
            raise RequestError(
                400,
                "truncated_image" if truncated else "not_an_image",
                f"The image {label!r} cannot be decoded"
                + (" (the file is truncated: its end is missing)" if truncated else "")
                + f": {exc}.",
                label,
            ) from None
    return UploadedImage(label, bytes(data), fmt, int(width), int(height))
