"""`make_dataset` on a shard folder: the same batches as the image files, named errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermnet._core.errors import ParameterError
from dermnet._core.protocols import IMAGE_INPUT, METADATA_INPUT
from dermnet.data import DataConfig, MetadataEncoder, Records, make_dataset
from dermnet.data.shards import read_shard_index, write_shards

tf = pytest.importorskip("tensorflow")


def _mixed_folder(tmp_path: Path) -> Records:
    """RGB JPEGs of several sizes, an EXIF-rotated JPEG and a 16-bit gray PNG."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "img"
    folder.mkdir()
    rows = []
    for i in range(7):
        path = folder / f"rgb{i}.jpg"
        size = [(30, 40), (90, 120), (64, 64)][i % 3]
        Image.fromarray(rng.integers(0, 255, (*size, 3), dtype=np.uint8)).save(path, quality=90)
        rows.append(path)
    turned = folder / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    Image.fromarray(rng.integers(0, 255, (40, 70, 3), dtype=np.uint8)).save(turned, exif=exif)
    rows.append(turned)
    deep = folder / "deep.png"
    Image.fromarray(rng.integers(0, 65535, (50, 30), dtype=np.uint16)).save(deep)
    rows.append(deep)
    frame = pd.DataFrame(
        {
            "image_path": [str(p) for p in rows],
            "label": ["ab"[i % 2] for i in range(len(rows))],
            "lesion_id": [f"L{i // 2}" for i in range(len(rows))],
            "age": [30.0 + 3 * i for i in range(len(rows))],
            "sex": ["male", "female", "male"] * 3,
        }
    )
    return Records(
        frame, ["a", "b"], name="mixed", group_cols=["lesion_id"], metadata_cols=["age", "sex"]
    )


def _batches(ds):
    return [
        (np.asarray(x[IMAGE_INPUT]), np.asarray(x[METADATA_INPUT]), np.asarray(y)) for x, y in ds
    ]


@pytest.mark.parametrize("image_size", [32, DataConfig((24, 40), resize="pad")])
def test_shards_give_the_same_batches_as_the_image_files(tmp_path, image_size):
    records = _mixed_folder(tmp_path)
    index = write_shards(records, tmp_path / "sh", shard_size=4, workers=2, progress=False)
    assert len(index.files) == 3
    encoder = MetadataEncoder().fit(records)
    options = {"batch_size": 4, "with_metadata": True, "metadata_encoder": encoder}
    from_files = _batches(make_dataset(records, image_size, **options))
    from_shards = _batches(make_dataset(str(tmp_path / "sh"), image_size, **options))
    from_index = _batches(make_dataset(index, image_size, **options))
    assert len(from_files) == len(from_shards) == len(from_index) == 3
    for (xf, mf, yf), (xs, ms, ys), (xi, _, _) in zip(
        from_files, from_shards, from_index, strict=True
    ):
        np.testing.assert_allclose(xs, xf, atol=1e-6)
        np.testing.assert_allclose(xi, xf, atol=1e-6)
        np.testing.assert_allclose(ms, mf, atol=1e-6)
        assert ys.tolist() == yf.tolist()
    assert from_shards[0][2].tolist() == records.labels.tolist()[:4]  # records order


def test_shards_shuffle_reproducibly_and_carry_the_file_shard_policy(tmp_path):
    records = _mixed_folder(tmp_path)
    write_shards(records, tmp_path / "sh", shard_size=3, workers=1, progress=False)
    first = make_dataset(tmp_path / "sh", 16, 9, shuffle=True, seed=4)
    second = make_dataset(tmp_path / "sh", 16, 9, shuffle=True, seed=4)
    (x1, y1), (x2, y2) = next(iter(first)), next(iter(second))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert sorted(y1.numpy().tolist()) == sorted(records.labels.tolist())
    policy = first.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.FILE
    assert int(first.cardinality()) == 1
    cached = make_dataset(tmp_path / "sh", 16, 4, cache="memory", label_mode="one_hot")
    assert [tuple(y.shape) for _, y in cached] == [(4, 2), (4, 2), (1, 2)]


def test_a_truncated_shard_is_an_error_naming_it(tmp_path):
    records = _mixed_folder(tmp_path)
    index = write_shards(records, tmp_path / "sh", shard_size=4, workers=1, progress=False)
    damaged = Path(index.files[1])
    damaged.write_bytes(damaged.read_bytes()[:-200])
    ds = make_dataset(tmp_path / "sh", 16, 4)
    with pytest.raises(
        tf.errors.OpError, match=r"DataError: Shard .*shard-00001-of-00003.*truncated"
    ):
        for _ in ds:
            pass


def test_on_error_skip_is_refused_for_shards(tmp_path):
    records = _mixed_folder(tmp_path)
    write_shards(records, tmp_path / "sh", shard_size=9, workers=1, progress=False)
    assert read_shard_index(tmp_path / "sh").count == 9
    with pytest.raises(ParameterError, match="on_error='skip'"):
        make_dataset(tmp_path / "sh", 16, on_error="skip")


def test_shards_count_turned_examples_and_upright_shards_read_the_same(tmp_path):
    records = _mixed_folder(tmp_path)
    index = write_shards(records, tmp_path / "sh", shard_size=4, progress=False)
    # the EXIF-rotated JPEG is row 7: the second shard
    assert [s["turned"] for s in read_shard_index(tmp_path / "sh").shards] == [0, 1, 0]
    assert [s["turned"] for s in index.shards] == [0, 1, 0]
    upright = records.subset(np.array([0, 1, 2, 3, 4, 5, 6, 8]))
    write_shards(upright, tmp_path / "up", shard_size=4, progress=False)
    assert [s["turned"] for s in read_shard_index(tmp_path / "up").shards] == [0, 0]
    # no orientation step in the graph: still the pixels of the files
    from_files = [np.asarray(x) for x, _ in make_dataset(upright, 32, 4)]
    from_shards = [np.asarray(x) for x, _ in make_dataset(str(tmp_path / "up"), 32, 4)]
    assert len(from_files) == len(from_shards) == 2
    for xf, xs in zip(from_files, from_shards, strict=True):
        np.testing.assert_allclose(xs, xf, atol=1e-6)


def _pixel_options(image_size):
    if isinstance(image_size, DataConfig):
        return {"image_size": image_size}
    return {"image_size": image_size[0], "resize": image_size[1], "interpolation": image_size[2]}


@pytest.mark.parametrize(
    "image_size",
    [(32, None, None), (24, "crop", "area"), DataConfig((24, 40), resize="pad")],
)
def test_pixel_shards_give_the_batches_of_the_image_files(tmp_path, image_size):
    records = _mixed_folder(tmp_path)
    options = _pixel_options(image_size)
    index = write_shards(
        records, tmp_path / "px", shard_size=4, encoding="pixels", progress=False, **options
    )
    assert index.encoding == "pixels"
    encoder = MetadataEncoder().fit(records)
    read = {"batch_size": 4, "with_metadata": True, "metadata_encoder": encoder}
    if not isinstance(image_size, DataConfig):
        image_size, read["resize"], read["interpolation"] = image_size
    from_files = _batches(make_dataset(records, image_size, **read))
    from_pixels = _batches(make_dataset(tmp_path / "px", image_size, **read))
    assert len(from_files) == len(from_pixels) == 3
    for (xf, mf, yf), (xp, mp, yp) in zip(from_files, from_pixels, strict=True):
        assert xp.dtype == np.float32
        assert xp.shape == xf.shape
        assert np.abs(xp - xf).max() <= 0.5  # the same decode+resize, rounded to uint8
        np.testing.assert_allclose(mp, mf, atol=1e-6)
        assert yp.tolist() == yf.tolist()
    images = np.concatenate([x for x, _, _ in from_pixels])
    assert images.max() > 100  # real pixels, not an empty or constant image
    assert len({image.tobytes() for image in images}) == len(records)


def test_pixel_shards_are_read_only_at_their_size_and_options(tmp_path):
    records = _mixed_folder(tmp_path)
    write_shards(
        records, tmp_path / "px", shard_size=4, encoding="pixels", image_size=32, progress=False
    )
    with pytest.raises(ParameterError, match=r"resized to 32x32 .*asked for 24x40"):
        make_dataset(tmp_path / "px", (24, 40))
    with pytest.raises(ParameterError, match=r"resize='stretch'.*asked for .*resize='pad'"):
        make_dataset(tmp_path / "px", 32, resize="pad")
    with pytest.raises(ParameterError, match="fast_jpeg=False"):
        make_dataset(tmp_path / "px", 32, fast_jpeg=False)
    # shuffled, cached, per-worker sharded by file: as JPEG shards
    ds = make_dataset(tmp_path / "px", 32, 9, shuffle=True, seed=1)
    policy = ds.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.FILE
    ((x, y),) = list(ds)
    assert sorted(y.numpy().tolist()) == sorted(records.labels.tolist())
    plain = np.concatenate([x for x, _ in make_dataset(records, 32, 9)])
    assert sorted(map(bytes, x.numpy().astype(np.uint8))) == sorted(
        map(bytes, plain.astype(np.uint8))
    )
    # with a DataConfig's preprocessing, it runs on the stored pixels when reading
    from dermnet.transforms import ShadesOfGray

    config = DataConfig(32, preprocessing=ShadesOfGray(p=6))
    from_files = np.concatenate([x for x, _ in make_dataset(records, config, 9)])
    from_pixels = np.concatenate([x for x, _ in make_dataset(tmp_path / "px", config, 9)])
    assert np.abs(from_pixels - from_files).max() <= 0.5
    assert np.abs(from_pixels - plain).max() > 1  # the preprocessing did run


def test_a_corrupted_pixel_example_is_an_error_when_read(tmp_path):
    records = _mixed_folder(tmp_path)
    index = write_shards(
        records, tmp_path / "px", shard_size=4, encoding="pixels", image_size=16, progress=False
    )
    damaged = Path(index.files[2])
    damaged.write_bytes(damaged.read_bytes()[:-200])
    with pytest.raises(tf.errors.OpError, match=r"shard-00002-of-00003.*truncated"):
        for _ in make_dataset(tmp_path / "px", 16, 4):
            pass


def test_predict_reads_pixel_shards_written_at_the_runs_data_config(tmp_path):
    from dermnet.data import load_sample
    from dermnet.train.prediction import predict_to_csv
    from dermnet.train.run import RunConfig, train_run
    from dermnet.train.run_folder import RunFolder

    run = tmp_path / "run"
    config = RunConfig(sample="malaria", image_size=32, epochs=1, max_images=40)
    train_run(config, run, log=lambda _m: None, evaluate_on=())
    records = load_sample("malaria").subset(np.arange(7))
    data_config = RunFolder(run).data_config
    write_shards(records, tmp_path / "jpeg", shard_size=3, progress=False)
    write_shards(
        records,
        tmp_path / "px",
        shard_size=3,
        encoding="pixels",
        image_size=data_config,
        progress=False,
    )
    tables = {}
    for name in ("jpeg", "px"):
        out = tmp_path / f"{name}.csv"
        assert predict_to_csv(run, tmp_path / name, out, batch_size=2).written == 7
        tables[name] = pd.read_csv(out).set_index("image").sort_index()
    classes = [c for c in tables["jpeg"].columns if c.startswith("p_")]
    assert list(tables["px"].index) == sorted(str(p) for p in records.paths)
    np.testing.assert_allclose(tables["px"][classes], tables["jpeg"][classes], atol=1e-5)
    write_shards(records, tmp_path / "small", encoding="pixels", image_size=16, progress=False)
    with pytest.raises(ParameterError, match="resized to 16x16"):
        predict_to_csv(run, tmp_path / "small", tmp_path / "small.csv")


def test_pixel_shards_keep_the_records_order_over_several_chunks(tmp_path, monkeypatch):
    import dermnet.data.shard_reading as shard_reading

    monkeypatch.setattr(shard_reading, "_CHUNK", 3)  # shards of 4: a chunk of 3, then 1
    records = _mixed_folder(tmp_path)
    write_shards(
        records, tmp_path / "px", shard_size=4, encoding="pixels", image_size=16, progress=False
    )
    from_files = np.concatenate([x for x, _ in make_dataset(records, 16, 2)])
    batches = list(make_dataset(tmp_path / "px", 16, 2))
    from_pixels = np.concatenate([x for x, _ in batches])
    assert np.concatenate([y for _, y in batches]).tolist() == records.labels.tolist()
    assert np.abs(from_pixels - from_files).max() <= 0.5
