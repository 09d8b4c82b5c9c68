"""Shard folders: write, resume after a kill, verify, and refuse damaged shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermnet._core.errors import DataError, MissingFileError, ParameterError
from dermnet.data import Records
from dermnet.data.shards import (
    INDEX_FILE,
    example_rows,
    is_shard_folder,
    read_shard_index,
    shard_records,
    verify_shards,
    write_shards,
)

pytest.importorskip("tensorflow")


def _folder(tmp_path: Path, n: int = 10, size: tuple[int, int] = (30, 40)) -> Records:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        path = tmp_path / "img" / f"im{i}.jpg"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(path)
        rows.append(
            {
                "image_path": str(path),
                "label": "ab"[i % 2],
                "lesion_id": f"L{i // 2}",
                "age": 30 + i,
            }
        )
    return Records(
        pd.DataFrame(rows), ["a", "b"], name="tiny", group_cols=["lesion_id"], metadata_cols=["age"]
    )


def test_round_trip_keeps_records_and_bytes(tmp_path):
    records = _folder(tmp_path)
    index = write_shards(records, tmp_path / "sh", shard_size=4, workers=2, progress=False)
    assert [s["count"] for s in index.shards] == [4, 4, 2]
    assert index.classes == ("a", "b")
    assert index.count == 10
    assert is_shard_folder(tmp_path / "sh")
    assert not is_shard_folder(tmp_path / "img")
    back = shard_records(tmp_path / "sh")
    assert back.classes == records.classes
    assert back.group_cols == ("lesion_id",)
    assert back.labels.tolist() == records.labels.tolist()
    assert back.frame["lesion_id"].tolist() == records.frame["lesion_id"].tolist()
    assert example_rows(tmp_path / "sh").tolist() == list(range(10))
    import tensorflow as tf

    from dermnet.data.shards import parse_example

    first = next(iter(tf.data.TFRecordDataset(index.files[0]).map(parse_example)))
    # An RGB JPEG is stored as its own bytes: the pixels are the file's.
    assert first["image"].numpy() == Path(records.paths[0]).read_bytes()
    assert int(first["label"]) == 0
    assert int(first["row"]) == 0
    verify_shards(tmp_path / "sh")


def test_max_side_reencodes_large_images_only(tmp_path):
    records = _folder(tmp_path, n=2, size=(60, 80))
    write_shards(records, tmp_path / "sh", max_side=40, progress=False)
    import tensorflow as tf

    from dermnet.data.shards import parse_example

    index = read_shard_index(tmp_path / "sh")
    example = next(iter(tf.data.TFRecordDataset(index.files[0]).map(parse_example)))
    image = tf.io.decode_image(example["image"]).numpy()
    assert image.shape == (30, 40, 3)
    assert index.max_side == 40


def test_exif_rotated_and_16bit_images_are_stored_upright_rgb(tmp_path):
    rotated = tmp_path / "rot.jpg"
    pixels = np.zeros((20, 30, 3), np.uint8)
    pixels[:, :10] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    Image.fromarray(pixels).save(rotated, exif=exif)
    deep = tmp_path / "deep.png"
    Image.fromarray(np.arange(12 * 12, dtype=np.uint16).reshape(12, 12) * 400).save(deep)
    frame = pd.DataFrame({"image_path": [str(rotated), str(deep)], "label": ["a", "a"]})
    index = write_shards(Records(frame, ["a"]), tmp_path / "sh", progress=False)
    import tensorflow as tf

    from dermnet.data.shards import parse_example

    examples = list(tf.data.TFRecordDataset(index.files[0]).map(parse_example))
    # The JPEG is kept as it is, with its orientation recorded for the reader to apply.
    assert int(examples[0]["orientation"]) == 6
    # The 16-bit PNG is re-encoded as an 8-bit RGB PNG, upright, orientation 1.
    deep_pixels = tf.io.decode_png(examples[1]["image"]).numpy()
    assert deep_pixels.shape == (12, 12, 3)
    assert deep_pixels.dtype == np.uint8
    assert int(examples[1]["orientation"]) == 1


def test_a_bad_image_is_named_and_nothing_is_written_as_done(tmp_path):
    records = _folder(tmp_path, n=4)
    Path(records.paths[2]).write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"im2\.jpg"):
        write_shards(records, tmp_path / "sh", shard_size=2, workers=1, progress=False)
    assert not (tmp_path / "sh" / INDEX_FILE).exists()
    with pytest.raises(MissingFileError, match="interrupted"):
        read_shard_index(tmp_path / "sh")


def test_bad_options_are_refused(tmp_path):
    records = _folder(tmp_path, n=2)
    with pytest.raises(ParameterError, match="'shard_size' parameter of write_shards"):
        write_shards(records, tmp_path / "sh", shard_size=0)
    with pytest.raises(ParameterError, match="'quality' parameter of write_shards"):
        write_shards(records, tmp_path / "sh", quality=101)
    with pytest.raises(ParameterError, match="'records' parameter of write_shards"):
        write_shards(records.frame, tmp_path / "sh")
    with pytest.raises(MissingFileError, match=r"no index\.json"):
        read_shard_index(tmp_path)


def test_verify_finds_truncated_corrupted_and_miscounted_shards(tmp_path):
    records = _folder(tmp_path, n=6)
    index = write_shards(records, tmp_path / "sh", shard_size=3, progress=False)
    first, second = index.files
    data = Path(first).read_bytes()
    Path(first).write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"shard-00000-of-00002.tfrecord is truncated"):
        verify_shards(tmp_path / "sh")
    Path(first).write_bytes(data)
    verify_shards(tmp_path / "sh")
    flipped = bytearray(Path(second).read_bytes())
    flipped[-20] ^= 0xFF
    Path(second).write_bytes(bytes(flipped))
    with pytest.raises(DataError, match=r"shard-00001-of-00002\.tfrecord"):
        verify_shards(tmp_path / "sh")
    index_path = tmp_path / "sh" / INDEX_FILE
    meta = json.loads(index_path.read_text())
    meta["shards"][0]["count"] = 4
    meta["count"] = 7
    index_path.write_text(json.dumps(meta))
    with pytest.raises(DataError, match=r"records\.csv has 6 rows but"):
        shard_records(tmp_path / "sh")


def test_newer_schema_and_broken_index_are_refused(tmp_path):
    records = _folder(tmp_path, n=2)
    write_shards(records, tmp_path / "sh", progress=False)
    index_path = tmp_path / "sh" / INDEX_FILE
    meta = json.loads(index_path.read_text())
    index_path.write_text(json.dumps({**meta, "schema": 99}))
    with pytest.raises(DataError, match="schema 99"):
        read_shard_index(tmp_path / "sh")
    index_path.write_text("{not json")
    with pytest.raises(DataError, match="not a valid shard index"):
        read_shard_index(tmp_path / "sh")


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["jpeg", "pixels"])
def test_sigkill_during_writing_then_resume_keeps_finished_shards(tmp_path, encoding):
    records = _folder(tmp_path, n=40)
    options = "" if encoding == "jpeg" else "encoding='pixels', image_size=16,"
    # slow each image (JPEG) or each shard's pixels, so the kill lands mid-way
    slowed, delay = ("_image_bytes", 0.05) if encoding == "jpeg" else ("shard_pixels", 0.5)
    records.to_csv(tmp_path / "records.csv")
    script = textwrap.dedent(
        f"""
        import sys, time
        import pandas as pd
        import dermnet.data.shards as shards
        from dermnet.data import Records
        frame = pd.read_csv({str(tmp_path / "records.csv")!r})
        records = Records(frame, ["a", "b"], name="tiny", group_cols=["lesion_id"])
        original = shards.{slowed}
        def slow(*args):
            time.sleep({delay})
            return original(*args)
        shards.{slowed} = slow
        shards.write_shards(records, {str(tmp_path / "sh")!r}, shard_size=5, workers=1,
                            {options} progress=False)
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    partial = tmp_path / "sh" / (INDEX_FILE + ".partial")
    deadline = time.time() + 120
    while time.time() < deadline:
        if partial.exists() and len(json.loads(partial.read_text() or "{}").get("shards", [])) >= 2:
            break
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = {s["file"]: s for s in json.loads(partial.read_text())["shards"]}
    assert 2 <= len(kept) < 8
    stamps = {name: os.stat(tmp_path / "sh" / name).st_mtime_ns for name in kept}
    frame = pd.read_csv(tmp_path / "records.csv")
    again = Records(frame, ["a", "b"], name="tiny", group_cols=["lesion_id"])
    pixels = {} if encoding == "jpeg" else {"encoding": "pixels", "image_size": 16}
    index = write_shards(again, tmp_path / "sh", shard_size=5, progress=False, **pixels)
    assert index.count == 40
    assert index.encoding == encoding
    assert len(index.shards) == 8
    for name, stamp in stamps.items():  # finished shards were not rewritten
        assert os.stat(tmp_path / "sh" / name).st_mtime_ns == stamp
    verify_shards(tmp_path / "sh")
    assert not partial.exists()
    assert example_rows(tmp_path / "sh").tolist() == list(range(40))


def test_pixel_shards_store_resized_pixels_and_keep_the_records(tmp_path):
    records = _folder(tmp_path, n=5)
    index = write_shards(
        records,
        tmp_path / "px",
        shard_size=2,
        encoding="pixels",
        image_size=(12, 20),
        resize="crop",
        progress=False,
    )
    assert (index.encoding, index.pixels.image_size, index.pixels.resize) == (
        "pixels",
        (12, 20),
        "crop",
    )
    meta = json.loads((tmp_path / "px" / INDEX_FILE).read_text())
    assert meta["schema"] == 2
    assert meta["pixels"]["image_size"] == [12, 20]
    assert read_shard_index(tmp_path / "px") == index
    back = shard_records(tmp_path / "px")
    assert back.labels.tolist() == records.labels.tolist()
    assert back.frame["lesion_id"].tolist() == records.frame["lesion_id"].tolist()
    assert back.frame["age"].tolist() == records.frame["age"].tolist()
    assert back.metadata_cols == ("age",)
    import tensorflow as tf

    from dermnet.data.shards import parse_example

    first = next(iter(tf.data.TFRecordDataset(index.files[2]).map(parse_example)))
    assert len(first["image"].numpy()) == 12 * 20 * 3  # raw uint8 pixels
    assert (int(first["label"]), int(first["row"]), int(first["orientation"])) == (0, 4, 1)
    verify_shards(tmp_path / "px")
    # a second call with the same options keeps the shards; another size rewrites them
    stamps = [os.stat(f).st_mtime_ns for f in index.files]
    same = write_shards(
        records,
        tmp_path / "px",
        shard_size=2,
        encoding="pixels",
        image_size=(12, 20),
        resize="crop",
        progress=False,
    )
    assert [os.stat(f).st_mtime_ns for f in same.files] == stamps
    other = write_shards(
        records, tmp_path / "px", shard_size=2, encoding="pixels", image_size=8, progress=False
    )
    assert other.pixels.image_size == (8, 8)
    again = next(iter(tf.data.TFRecordDataset(other.files[2]).map(parse_example)))
    assert len(again["image"].numpy()) == 8 * 8 * 3
    verify_shards(tmp_path / "px")


def test_pixel_options_are_checked(tmp_path):
    records = _folder(tmp_path, n=2)
    out = tmp_path / "sh"
    with pytest.raises(ParameterError, match="'encoding' parameter of write_shards"):
        write_shards(records, out, encoding="png")
    with pytest.raises(ParameterError, match="needs 'image_size'"):
        write_shards(records, out, encoding="pixels")
    with pytest.raises(ParameterError, match=r"\['image_size'\] with encoding='jpeg'"):
        write_shards(records, out, image_size=32)
    with pytest.raises(ParameterError, match="'max_side' parameter of write_shards"):
        write_shards(records, out, encoding="pixels", image_size=32, max_side=64)
    with pytest.raises(ParameterError, match="'image_size' parameter of write_shards"):
        write_shards(records, out, encoding="pixels", image_size=0)
    with pytest.raises(ParameterError, match="'resize' parameter of write_shards"):
        write_shards(records, out, encoding="pixels", image_size=8, resize="squash")
    from dermnet.data import DataConfig

    with pytest.raises(ParameterError, match="the data config owns them"):
        write_shards(
            records, out, encoding="pixels", image_size=DataConfig(8), interpolation="area"
        )


def test_verify_finds_a_corrupted_pixel_shard(tmp_path):
    records = _folder(tmp_path, n=4)
    index = write_shards(
        records, tmp_path / "px", shard_size=2, encoding="pixels", image_size=16, progress=False
    )
    verify_shards(tmp_path / "px")
    path = Path(index.files[1])
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one pixel bit of the first example
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"shard-00001-of-00002\.tfrecord"):
        verify_shards(tmp_path / "px")
    path.write_bytes(bytes(data[:-100]))
    with pytest.raises(DataError, match=r"shard-00001-of-00002\.tfrecord is truncated"):
        verify_shards(tmp_path / "px")
