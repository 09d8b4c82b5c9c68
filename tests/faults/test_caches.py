"""Caches that cannot go stale: `make_dataset`'s file cache and the offline cache.

Every case changes what a cache was built from and checks that the next run returns the
new pixels, labels and count (with a warning naming what changed), never the old ones;
an unchanged dataset reuses its cache, proven by reading pixels only the cache holds.
"""

import json
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from dermnet import transforms as T
from dermnet.data import Records, make_dataset
from dermnet.data.cache_fingerprint import FINGERPRINT_SUFFIX

SIZE = 8


def _write(path, value, write_image):
    return write_image(path, np.full((SIZE, SIZE, 3), value, np.uint8))


def _records(paths, labels):
    frame = pd.DataFrame({"image_path": [str(p) for p in paths], "label": labels})
    return Records(frame, ["a", "b"])


@pytest.fixture
def folder(tmp_path, write_image):
    """12 BMP images (a BMP's size depends only on its dimensions) of values 0, 20, ..."""
    paths = [_write(tmp_path / "img" / f"{i:02d}.bmp", 20 * i, write_image) for i in range(12)]
    return paths, ["ab"[i % 2] for i in range(12)]


def _read(records, cache, **kwargs):
    """(pixel value per image, labels) through a file cache; the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = make_dataset(records, SIZE, batch_size=None, cache=cache, **kwargs)
        elements = list(ds.as_numpy_iterator())
    values = [round(float(x.mean())) for x, _ in elements]
    labels = [int(y) for _, y in elements]
    messages = [str(w.message) for w in caught if "file cache" in str(w.message)]
    return values, labels, messages


def _cache_state(prefix):
    """(name, inode, mtime_ns) of the complete cache files: changes when rewritten."""
    files = sorted(prefix.parent.glob(prefix.name + ".*"))
    return [(p.name, p.stat().st_ino, p.stat().st_mtime_ns) for p in files]


def test_changed_file_gives_the_new_pixels(folder, tmp_path, write_image):
    paths, labels = folder
    cache = tmp_path / "cache"
    assert _read(_records(paths, labels), cache)[0][3] == 60
    _write(paths[3], 200, write_image)
    stat = os.stat(paths[3])
    os.utime(paths[3], ns=(stat.st_atime_ns, stat.st_mtime_ns - 10**9))  # even an older mtime
    values, _, messages = _read(_records(paths, labels), cache)
    assert values[3] == 200
    assert len(messages) == 1
    assert "the image files (size or modification time)" in messages[0]
    assert "paths" not in messages[0]


def test_reversed_records_give_the_new_images_and_labels(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    first = _read(_records(paths, labels), cache)
    assert first[:2] == ([20 * i for i in range(12)], [i % 2 for i in range(12)])
    values, got, messages = _read(_records(paths[::-1], labels[::-1]), cache)
    assert values == first[0][::-1]
    assert got == first[1][::-1]
    assert "the image paths or their order" in messages[0]
    assert "the labels or classes" in messages[0]


def test_fewer_records_give_fewer_elements(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    assert len(_read(_records(paths, labels), cache)[0]) == 12
    values, _, messages = _read(_records(paths[:3], labels[:3]), cache)
    assert values == [0, 20, 40]
    assert "the number of records (12 -> 3)" in messages[0]


def test_relabelled_records_give_the_new_labels(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    _read(_records(paths, labels), cache)
    flipped = ["b" if label == "a" else "a" for label in labels]
    _, got, messages = _read(_records(paths, flipped), cache)
    assert got == [1 - i % 2 for i in range(12)]
    assert messages
    assert "the labels or classes" in messages[0]


def _invert(image):
    return 255 - image


def test_changed_settings_rebuild_the_cache(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    records = _records(paths, labels)
    _read(records, cache)
    values, _, messages = _read(records, cache, transforms=_invert)
    assert values[:2] == [255, 235]
    assert "the decoding, resizing or preprocessing settings" in messages[0]
    _read(records, cache, transforms=T.ShadesOfGray(p=6))
    assert _read(records, cache, transforms=T.ShadesOfGray(p=6))[2] == []  # same config
    assert _read(records, cache, transforms=T.ShadesOfGray(p=4))[2]  # another config
    assert _read(records, cache, resize="pad")[2]


def test_an_unchanged_dataset_reuses_its_cache(folder, tmp_path, write_image):
    paths, labels = folder
    cache = tmp_path / "cache"
    first = _read(_records(paths, labels), cache)
    state = _cache_state(cache)
    assert [name for name, _, _ in state] == [
        "cache.data-00000-of-00001",
        "cache.fingerprint.json",
        "cache.index",
    ]
    # Rewrite one file keeping its size and its exact mtime: only a deliberate utime does
    # this, and it shows the second run really reads the cache (it returns the old pixels).
    stat = os.stat(paths[5])
    _write(paths[5], 255, write_image)
    os.utime(paths[5], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = _read(_records(paths, labels), cache)
    assert again[:2] == first[:2]
    assert again[2] == []  # no warning
    assert _cache_state(cache) == state  # not rewritten


def test_a_half_written_cache_is_not_used(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    first = _read(_records(paths, labels), cache)
    # What a run killed in its first epoch leaves: a lockfile and a temporary data file.
    (tmp_path / "cache.index").unlink()
    data = tmp_path / "cache.data-00000-of-00001"
    os.replace(data, tmp_path / "cache_0.data-00000-of-00001.tempstate1")
    (tmp_path / "cache_0.lockfile").write_text("Created at: 0")
    values, got, messages = _read(_records(paths, labels), cache)
    assert (values, got) == first[:2]
    assert "incomplete" in messages[0]
    assert not (tmp_path / "cache_0.lockfile").exists()
    assert [name for name, _, _ in _cache_state(cache)] == [
        "cache.data-00000-of-00001",
        "cache.fingerprint.json",
        "cache.index",
    ]


def test_a_cache_without_fingerprint_is_rebuilt(folder, tmp_path):
    paths, labels = folder
    cache = tmp_path / "cache"
    _read(_records(paths, labels), cache)
    (tmp_path / ("cache" + FINGERPRINT_SUFFIX)).unlink()
    values, _, messages = _read(_records(paths[:2], labels[:2]), cache)
    assert values == [0, 20]
    assert "no readable fingerprint" in messages[0]
    stored = json.loads((tmp_path / ("cache" + FINGERPRINT_SUFFIX)).read_text())
    assert stored["parts"]["count"] == 2


def test_in_memory_images_are_fingerprinted_by_content(tmp_path):
    images = np.zeros((3, SIZE, SIZE, 3), np.uint8)
    frame = pd.DataFrame({"image_path": ["x0", "x1", "x2"], "label": ["a", "b", "a"]})
    cache = tmp_path / "cache"
    assert _read(Records(frame, ["a", "b"], images=images), cache)[0] == [0, 0, 0]
    images[1] = 99
    values, _, messages = _read(Records(frame, ["a", "b"], images=images), cache)
    assert values == [0, 99, 0]
    assert "the in-memory images" in messages[0]
