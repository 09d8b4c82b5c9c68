"""The NIH malaria cell images, grouped by the thin smear (slide) each cell comes from."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from dermnet._core.errors import MissingFileError
from dermnet._core.validation import check_path
from dermnet.data.datasets import register_dataset
from dermnet.data.datasets.folders import load_image_folder
from dermnet.data.records import Records

__all__ = ["MALARIA_CLASSES", "load_malaria"]

#: NIH malaria cell classes in dermnet's fixed order.
MALARIA_CLASSES = ("Parasitized", "Uninfected")


@register_dataset("malaria")
def load_malaria(
    root: str | os.PathLike[str], *, on_error: str = "raise", verify: bool = False
) -> Records:
    """Load the NIH malaria cell images (``cell_images/{Parasitized,Uninfected}``).

    ``root`` is either the folder holding ``cell_images`` or the folder holding the two
    class folders. Non-image files such as ``Thumbs.db`` (the NIH archive has one per
    class) are ignored. Classes, in this order: ``Parasitized, Uninfected``. Palette and
    RGBA PNGs (some of the originals) are decoded to RGB by `make_dataset`.

    The group column is ``slide_id``, read from the NIH file names:
    ``C100P61ThinF_IMG_20150918_144348_cell_40.png`` is a cell of smear ``C100`` (patient
    ``P61``). Cells of one smear share the patient, the staining and the microscope, so
    `split` keeps them on one side. A file name without a ``C<n>`` prefix becomes its
    own group (``file:<name>``), and a warning counts such names.

    Args:
        root: the dataset folder.
        on_error: ``"raise"`` or ``"skip"`` for unreadable images (with ``verify``).
        verify: decode every image to find unreadable or truncated files.

    Raises:
        MissingFileError: the folder does not exist or lacks a class folder; the message
            says where to download the data.

    Examples:
        >>> from dermnet.data import sample_path
        >>> cells = load_malaria(sample_path("malaria"))
        >>> len(cells), cells.group_cols, len(set(cells.groups("slide_id")))
        (200, ('slide_id',), 108)
    """
    root = check_path(root, "root", "load_malaria", kind="dir", what="malaria folder")
    if (root / "cell_images").is_dir():
        root = root / "cell_images"
        if (root / "cell_images").is_dir():  # the Kaggle zip nests the folder twice
            root = root / "cell_images"
    if not all((root / c).is_dir() for c in MALARIA_CLASSES):
        raise MissingFileError(
            f"{root} lacks the class folders {list(MALARIA_CLASSES)}. Download cell_images.zip "
            "by hand from https://lhncbc.nlm.nih.gov/LHC-research/LHC-projects/image-processing/"
            "malaria-datasheet.html and unpack it there."
        )
    records = load_image_folder(
        root, classes=MALARIA_CLASSES, name="malaria", on_error=on_error, verify=verify
    )
    frame = records.frame.copy()
    names = frame["image_path"].map(lambda p: Path(p).name)
    slide = names.str.extract(r"^(C\d+)", expand=False)
    missing = int(slide.isna().sum())
    if missing:
        warnings.warn(
            f"load_malaria: {missing} of {len(frame)} file names under {root} do not start "
            f"with a slide id (C<n>), e.g. {names[slide.isna()].iloc[0]!r}; each of them is "
            "its own group in 'slide_id'.",
            stacklevel=2,
        )
    frame["slide_id"] = slide.fillna("file:" + names)
    return Records(
        frame,
        records.classes,
        name="malaria",
        group_cols=("slide_id",),
        excluded=records.excluded,  # what verify / on_error="skip" left out, with why
    )
