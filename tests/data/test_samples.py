import pytest

from dermnet import UnknownNameError
from dermnet.data import HAM10000_CLASSES, load_sample, sample_path


def test_ham10000_sample_has_every_class_whole_lesions_and_license():
    rec = load_sample("ham10000")
    assert len(rec) == 700
    counts = rec.class_counts()
    assert tuple(counts) == HAM10000_CLASSES
    assert min(counts.values()) >= 50
    assert counts["nv"] == max(counts.values())  # the real imbalance is kept
    folder = sample_path("ham10000")
    assert "CC BY-NC 4.0" in (folder / "LICENSE.txt").read_text()
    assert "Tschandl" in (folder / "CITATION.txt").read_text()
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert size < 8 * 1024 * 1024


def test_malaria_sample_is_balanced_and_public_domain():
    rec = load_sample("malaria")
    assert rec.class_counts() == {"Parasitized": 100, "Uninfected": 100}
    assert "public domain" in (sample_path("malaria") / "LICENSE.txt").read_text()


def test_unknown_sample_suggests():
    with pytest.raises(UnknownNameError, match="'malaria'"):
        load_sample("malria")
