"""``dermnet shard`` as the lead wires it: `add_shard_arguments` + `run_shard`."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from dermnet.data.shard_command import add_shard_arguments, run_shard
from dermnet.data.shards import read_shard_index, shard_records

pytest.importorskip("tensorflow")


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dermnet shard")
    add_shard_arguments(parser)
    return parser.parse_args(argv)


def _table(tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for i in range(5):
        name = f"im{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / name)
        rows.append({"image": name, "label": "xy"[i % 2]})
    csv = tmp_path / "table.csv"
    pd.DataFrame(rows).to_csv(csv, index=False)
    return csv


def test_shard_command_writes_and_verifies_a_csv_dataset(tmp_path, capsys):
    csv = _table(tmp_path)
    out = tmp_path / "shards"
    args = _parse(["--csv", str(csv), "--root", str(tmp_path), str(out), "--shard-size", "2"])
    args.quiet = True
    assert run_shard(args) == 0
    printed = capsys.readouterr().out
    assert "wrote 5 images into 3 shards" in printed
    assert "verified" in printed
    assert [s["count"] for s in read_shard_index(out).shards] == [2, 2, 1]
    assert shard_records(out).labels.tolist() == [0, 1, 0, 1, 0]
    # a second run resumes: the finished shards are kept, the result is the same
    assert run_shard(args) == 0
    assert read_shard_index(out).count == 5


def test_shard_command_reports_bad_input_with_status_2(tmp_path, capsys):
    args = _parse(["--csv", str(tmp_path / "none.csv"), str(tmp_path / "out"), "--quiet"])
    assert run_shard(args) == 2
    assert "none.csv" in capsys.readouterr().err
    args = _parse(["--dataset", "ham10000", str(tmp_path / "out")])
    assert run_shard(args) == 2
    assert "--dataset needs --root" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse([str(tmp_path / "out")])  # neither --dataset nor --csv


def test_shard_command_writes_pixel_shards(tmp_path, capsys):
    csv = _table(tmp_path)
    out = tmp_path / "pixels"
    argv = ["--csv", str(csv), "--root", str(tmp_path), str(out), "--quiet"]
    args = _parse([*argv, "--encoding", "pixels", "--image-size", "16x24", "--resize", "pad"])
    assert run_shard(args) == 0
    assert "as pixels at 16x24" in capsys.readouterr().out
    index = read_shard_index(out)
    assert index.encoding == "pixels"
    assert (index.pixels.image_size, index.pixels.resize) == ((16, 24), "pad")
    assert shard_records(out).labels.tolist() == [0, 1, 0, 1, 0]
    # --image-size without pixels would be ignored: refused, with status 2
    assert run_shard(_parse([*argv, "--image-size", "16"])) == 2
    assert "encoding='jpeg'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--image-size", "0", "ints >= 8"),
        ("--image-size", "16xabc", "ints >= 8"),
        ("--shard-size", "0", ">= 1"),
        ("--quality", "101", "<= 100"),
        ("--workers", "two", "an int"),
        ("--encoding", "png", "invalid choice"),
    ],
)
def test_shard_command_checks_options_when_parsing(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as exit_info:
        _parse(["--csv", "t.csv", str(tmp_path / "out"), option, value])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert option in err
    assert message in err
