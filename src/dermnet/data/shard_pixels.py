"""Pixel shards: images stored already decoded and resized to the training size.

On a cached local disk, decoding and resizing are most of the cost of reading an image
(about 84% at 600x450 -> 224), and shards of the same JPEG bytes decode the same. The
fast TFRecord pipelines therefore store what the model reads: `write_shards` with
``encoding="pixels"`` and an ``image_size`` stores each image as uint8 ``HxWx3`` pixels,
made by the one decode+resize of `make_dataset` (`dermnet.data.image_decoding`, with
the resize mode, interpolation and reduced-scale JPEG decoding the reader will ask for),
so reading them is a ``tf.io.decode_raw`` and a reshape: no decode, no resize.

The index records the encoding and the `PixelLayout`. `make_dataset` reads pixel shards
only at that layout: another size (or resize mode, interpolation, ``fast_jpeg``) is a
`ParameterError` naming both, never a silent second resize of resized images. A
``preprocessing`` transform of a `DataConfig` is not stored: it runs when reading, as it
does for image files.

A pixel image costs ``height * width * 3`` bytes (147 KB at 224x224, about 7x a
600x450 HAM10000 JPEG): pixel shards trade disk and network for CPU.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from dermnet._core.errors import ParameterError
from dermnet._core.validation import check_bool, check_image_size, check_option
from dermnet.data.data_config import INTERPOLATIONS, RESIZE_MODES, DataConfig

if TYPE_CHECKING:
    import tensorflow as tf


__all__ = ["ENCODINGS", "PixelLayout", "decode_pixels", "pixel_layout"]

#: How a shard stores its images: ``"jpeg"`` (the encoded file, or a re-encoding at
#: ``max_side``) or ``"pixels"`` (decoded and resized uint8 pixels).
ENCODINGS = ("jpeg", "pixels")


@dataclasses.dataclass(frozen=True)
class PixelLayout:
    """The decode+resize that made the pixels of a pixel shard folder.

    Attributes:
        image_size: ``(height, width)`` of every stored image.
        resize: the resize mode (``"stretch"``, ``"pad"`` or ``"crop"``).
        interpolation: the ``tf.image.resize`` method.
        fast_jpeg: whether large JPEGs were decoded at reduced scale.

    Examples:
        >>> layout = PixelLayout((224, 224), "stretch", "bilinear", True)
        >>> PixelLayout.from_dict(layout.to_dict()) == layout
        True
        >>> layout.nbytes
        150528
    """

    image_size: tuple[int, int]
    resize: str = "stretch"
    interpolation: str = "bilinear"
    fast_jpeg: bool = True

    @property
    def nbytes(self) -> int:
        """The bytes of one stored image."""
        return self.image_size[0] * self.image_size[1] * 3

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "image_size": list(self.image_size)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PixelLayout:
        return cls(
            image_size=(int(data["image_size"][0]), int(data["image_size"][1])),
            resize=str(data["resize"]),
            interpolation=str(data["interpolation"]),
            fast_jpeg=bool(data["fast_jpeg"]),
        )

    def describe(self) -> str:
        height, width = self.image_size
        return (
            f"{height}x{width} (height x width; resize={self.resize!r}, "
            f"interpolation={self.interpolation!r}, fast_jpeg={self.fast_jpeg})"
        )

    def check_read(
        self, size: tuple[int, int], resize: str, interpolation: str, fast_jpeg: bool, root: str
    ) -> None:
        """Raise `ParameterError` unless a reader asks for exactly these pixels.

        Pixel shards are never resized again: a resized image resized once more is not
        what the same model would read from the image files.
        """
        asked = PixelLayout(tuple(size), resize, interpolation, bool(fast_jpeg))  # type: ignore[arg-type]
        if asked == self:
            return
        raise ParameterError(
            f"The shard folder {root} holds pixels decoded and resized to "
            f"{self.describe()}; make_dataset was asked for {asked.describe()}. Pixel shards "
            "are read only as they were written (a second resize of resized images would "
            "not give the model the pixels of the image files). Read them with "
            f"image_size={self.image_size} and the same options, or write shards for "
            f"{size}: write_shards(records, out, encoding='pixels', image_size={size}) "
            "(or JPEG shards, which any size can read)."
        )


def pixel_layout(
    encoding: str,
    image_size: int | tuple[int, int] | DataConfig | None,
    resize: str | None,
    interpolation: str | None,
    fast_jpeg: bool,
    max_side: int | None,
    where: str,
) -> PixelLayout | None:
    """Check `write_shards`' encoding options; the `PixelLayout` of pixel shards, else None.

    Raises:
        ParameterError: an unknown encoding; pixels without ``image_size``; an
            ``image_size``, ``resize`` or ``interpolation`` with JPEG shards (they would
            be ignored); ``max_side`` with pixels; ``resize``/``interpolation`` beside a
            `DataConfig`.
    """
    encoding = check_option(encoding, ENCODINGS, "encoding", where)
    fast_jpeg = check_bool(fast_jpeg, "fast_jpeg", where)
    if encoding == "jpeg":
        given = [
            name
            for name, value in (
                ("image_size", image_size),
                ("resize", resize),
                ("interpolation", interpolation),
            )
            if value is not None
        ]
        if given:
            raise ParameterError(
                f"{where} got {given} with encoding='jpeg': JPEG shards store the images "
                "as files, at any size. Pass encoding='pixels' to store them decoded and "
                "resized, or leave these out."
            )
        return None
    if max_side is not None:
        raise ParameterError(
            f"The 'max_side' parameter of {where} re-encodes JPEG shards; with "
            f"encoding='pixels' the images are stored at 'image_size'. Got max_side={max_side}."
        )
    if image_size is None:
        raise ParameterError(
            f"{where}(encoding='pixels') needs 'image_size': the (height, width) the "
            "images are stored at, the size make_dataset will read them at."
        )
    if isinstance(image_size, DataConfig):
        if resize is not None or interpolation is not None:
            raise ParameterError(
                f"{where} got a DataConfig as 'image_size' and also 'resize' or "
                "'interpolation': the data config owns them."
            )
        config = image_size.validate()
        return PixelLayout(config.image_size, config.resize, config.interpolation, fast_jpeg)
    return PixelLayout(
        check_image_size(image_size, "image_size", where),
        check_option("stretch" if resize is None else resize, RESIZE_MODES, "resize", where),
        check_option(
            "bilinear" if interpolation is None else interpolation,
            INTERPOLATIONS,
            "interpolation",
            where,
        ),
        fast_jpeg,
    )


def decode_pixels(data: tf.Tensor, layout: PixelLayout) -> tf.Tensor:
    """The uint8 ``NxHxWx3`` images of a vector of ``N`` stored pixel examples.

    One ``decode_raw`` and one reshape per chunk of examples (no decode, no resize). A
    record of the wrong length fails them (`verify_shards` names a corrupted shard by its
    checksum).
    """
    import tensorflow as tf

    height, width = layout.image_size
    return tf.reshape(tf.io.decode_raw(data, tf.uint8), [-1, height, width, 3])
