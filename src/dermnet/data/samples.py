"""Small real datasets that ship inside the package, for demos, docs and tests."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from dermnet._core.registry import look_up_option
from dermnet.data.datasets.ham10000 import load_ham10000
from dermnet.data.datasets.malaria import load_malaria
from dermnet.data.records import Records

__all__ = ["SAMPLES", "load_sample", "sample_path"]

#: The bundled samples and what they hold.
SAMPLES = {
    "ham10000": "700 HAM10000 dermoscopy images (200x150), all 7 classes, with metadata "
    "(CC BY-NC 4.0, Tschandl et al. 2018)",
    "malaria": "200 NIH thin-smear cell images, 100 parasitized and 100 uninfected "
    "(public domain, Rajaraman et al. 2018)",
}


def sample_path(name: str) -> Path:
    """The folder of a bundled sample (holds its images, CSV, LICENSE and CITATION)."""
    look_up_option(name, SAMPLES, param="name", where="sample_path")
    return Path(str(resources.files("dermnet.data").joinpath("samples", name)))


def load_sample(name: str) -> Records:
    """Load a sample dataset bundled with dermnet; nothing is downloaded.

    Args:
        name: ``"ham10000"`` (700 real HAM10000 images of all 7 classes, whole lesions,
            rare classes kept so that every class can be evaluated) or ``"malaria"`` (the
            200 real NIH cells).

    Returns:
        The sample's records, loaded exactly as the full dataset would be.

    Examples:
        >>> records = load_sample("ham10000")
        >>> len(records), records.classes
        (700, ('akiec', 'bcc', 'bkl', 'df', 'mel', 'nv', 'vasc'))
    """
    folder = sample_path(name)
    if name == "ham10000":
        records = load_ham10000(folder)
        records.name = "ham10000_sample"
    else:
        records = load_malaria(folder)
        records.name = "malaria_sample"
    return records
