"""preprocess_folder and `dermnet preprocess`: output tree, manifest, resume, errors."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from dermnet import MissingFileError, ParameterError
from dermnet import transforms as T
from dermnet.cli import main
from dermnet.transforms.offline import MANIFEST_NAME


@pytest.fixture
def source(tmp_path, write_image):
    rng = np.random.default_rng(0)
    root = tmp_path / "src"
    for cls, n in (("mel", 3), ("nv", 4)):
        for i in range(n):
            image = rng.integers(0, 256, (30 + i, 40, 3), dtype=np.uint8)
            write_image(root / cls / f"img_{i}.jpg", image)
    write_image(root / "nv" / "palette.png", rng.integers(0, 256, (20, 20, 3), np.uint8), "P")
    (root / "notes.txt").write_text("not an image")
    return root


PIPELINE = T.Compose([T.ShadesOfGray(), T.Resize(16, mode="pad")])


def test_writes_a_mirrored_cache_with_a_manifest(source, tmp_path):
    dst = tmp_path / "cache"
    seen = []
    report = T.preprocess_folder(
        source, dst, PIPELINE, workers=1, progress=lambda d, n: seen.append((d, n))
    )
    assert report.ok
    assert (report.total, report.written, report.skipped, report.failed) == (8, 8, 0, 0)
    assert seen[-1] == (8, 8)
    files = sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*.png"))
    assert files[0] == "mel/img_0.png"
    assert "nv/palette.png" in files
    assert len(files) == 8
    with Image.open(dst / "mel" / "img_1.png") as img:
        assert img.size == (16, 16)
        assert img.mode == "RGB"
    # the cached pixels are the pipeline's output on the decoded source
    src = np.asarray(Image.open(source / "mel" / "img_1.jpg").convert("RGB"))
    cached = np.asarray(Image.open(dst / "mel" / "img_1.png"))
    np.testing.assert_array_equal(cached, PIPELINE(src))
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    assert manifest["status"] == "complete"
    assert T.transform_from_dict(manifest["pipeline"]) == PIPELINE
    assert manifest["counts"] == {
        "total": 8,
        "written": 8,
        "skipped": 0,
        "failed": 0,
        "stale": 0,
        "unreadable": 0,
    }
    size, mtime_ns, _ = manifest["sources"]["mel/img_1.png"].split()
    stat = (source / "mel" / "img_1.jpg").stat()
    assert (int(size), int(mtime_ns)) == (stat.st_size, stat.st_mtime_ns)
    assert len(manifest["sources"]) == 8
    assert not (dst / ".dermnet_preprocess.journal").exists()  # folded into the manifest
    assert "8 written, 0 already" in report.summary()


def _older(path, seconds=3600):
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


def test_resume_reuses_only_verified_outputs_and_rebuilds_the_rest(source, tmp_path, write_image):
    dst = tmp_path / "cache"
    T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    (dst / "mel" / "img_0.png").unlink()  # missing: written, not counted as rebuilt
    # truncated: the header still reads, the pixels do not
    data = (dst / "nv" / "img_1.png").read_bytes()
    (dst / "nv" / "img_1.png").write_bytes(data[: len(data) // 2])
    with Image.open(dst / "nv" / "img_1.png") as img:
        assert img.size == (16, 16)
    # sources changed with an OLDER mtime: exact match, not "newer than", finds them
    changed = write_image(source / "nv" / "img_2.jpg", np.full((50, 40, 3), 200, np.uint8))
    _older(changed)
    replaced = source / "mel" / "img_2.jpg"
    replaced.write_bytes((source / "mel" / "img_1.jpg").read_bytes())
    _older(replaced)
    _older(dst / "nv" / "img_3.png")  # an output older than its source is still valid
    report = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert (report.written, report.skipped, report.failed) == (4, 4, 0)
    assert (report.rebuilt, report.stale, report.unreadable) == (3, 2, 1)
    assert "4 written (rebuilt: 3 (stale 2, unreadable 1))" in report.summary()
    src = np.asarray(Image.open(changed).convert("RGB"))
    np.testing.assert_array_equal(np.asarray(Image.open(dst / "nv" / "img_2.png")), PIPELINE(src))
    with Image.open(dst / "nv" / "img_1.png") as img:
        img.load()
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    assert manifest["counts"]["stale"] == 2
    assert manifest["counts"]["unreadable"] == 1
    before = {p: p.stat().st_mtime_ns for p in dst.rglob("*.png")}
    again = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert (again.written, again.skipped, again.rebuilt) == (0, 8, 0)
    assert {p: p.stat().st_mtime_ns for p in dst.rglob("*.png")} == before  # not rewritten
    forced = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False, overwrite=True)
    assert (forced.written, forced.rebuilt) == (8, 0)


def test_outputs_without_a_recorded_source_are_rebuilt(source, tmp_path):
    dst = tmp_path / "cache"
    T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    del manifest["sources"]  # a cache written before sources were recorded
    (dst / MANIFEST_NAME).write_text(json.dumps(manifest))
    report = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert (report.written, report.stale, report.skipped) == (8, 8, 0)


def test_an_interrupted_run_keeps_what_its_journal_records(source, tmp_path):
    dst = tmp_path / "cache"
    T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    sources = manifest.pop("sources")
    (dst / MANIFEST_NAME).write_text(json.dumps(manifest))
    # what a killed run leaves: the journal of its finished chunks, the last line cut
    lines = [json.dumps({"output": k, "source": v}) for k, v in sorted(sources.items())[:5]]
    (dst / ".dermnet_preprocess.journal").write_text("\n".join(lines) + '\n{"output": "mel/im')
    report = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert (report.skipped, report.written, report.stale) == (5, 3, 3)


def test_a_failed_rebuild_removes_the_stale_output(source, tmp_path):
    dst = tmp_path / "cache"
    T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    (source / "mel" / "img_0.jpg").write_bytes(b"no longer an image")
    report = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert (report.failed, report.stale) == (1, 1)
    assert not (dst / "mel" / "img_0.png").exists()
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    assert "mel/img_0.png" not in manifest["sources"]


def test_unreadable_images_are_counted_and_named(source, tmp_path):
    (source / "mel" / "broken.jpg").write_bytes(b"not a jpeg")
    (source / "nv" / "empty.png").write_bytes(b"")
    dst = tmp_path / "cache"
    report = T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    assert not report.ok
    assert (report.total, report.written, report.failed) == (10, 8, 2)
    named = sorted(os.path.basename(p) for p, _ in report.errors)
    assert named == ["broken.jpg", "empty.png"]
    assert "not a readable image" in report.errors[0][1]
    assert "broken.jpg" in report.summary()
    manifest = json.loads((dst / MANIFEST_NAME).read_text())
    assert manifest["status"] == "complete_with_errors"
    assert len(manifest["errors"]) == 2


def test_parallel_workers_give_the_same_cache(source, tmp_path):
    one = T.preprocess_folder(source, tmp_path / "a", PIPELINE, workers=1, progress=False)
    two = T.preprocess_folder(source, tmp_path / "b", PIPELINE.to_dict(), workers=2, progress=False)
    assert one.written == two.written == 8
    for path in (tmp_path / "a").rglob("*.png"):
        other = tmp_path / "b" / path.relative_to(tmp_path / "a")
        np.testing.assert_array_equal(np.asarray(Image.open(path)), np.asarray(Image.open(other)))


def test_refuses_a_cache_of_another_pipeline_or_a_foreign_folder(source, tmp_path):
    dst = tmp_path / "cache"
    T.preprocess_folder(source, dst, PIPELINE, workers=1, progress=False)
    other = T.Compose([T.GrayWorld(), T.Resize(16, mode="pad")])
    with pytest.raises(ParameterError, match="another pipeline"):
        T.preprocess_folder(source, dst, other, workers=1, progress=False)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "thesis.docx").write_text("precious")
    with pytest.raises(ParameterError, match="not a dermnet cache"):
        T.preprocess_folder(source, foreign, PIPELINE, workers=1, progress=False)


def test_bad_arguments(source, tmp_path):
    with pytest.raises(MissingFileError, match="does not exist"):
        T.preprocess_folder(tmp_path / "nope", tmp_path / "c", PIPELINE, progress=False)
    with pytest.raises(ParameterError, match="outside the source"):
        T.preprocess_folder(source, source / "cache", PIPELINE, progress=False)
    with pytest.raises(ParameterError, match="'workers' parameter of preprocess_folder"):
        T.preprocess_folder(source, tmp_path / "c", PIPELINE, workers=0, progress=False)
    with pytest.raises(ParameterError, match="'image_format' parameter"):
        T.preprocess_folder(source, tmp_path / "c", PIPELINE, image_format="webp")
    with pytest.raises(ParameterError, match="'transform' parameter"):
        T.preprocess_folder(source, tmp_path / "c", "dermoscopy")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ParameterError, match="holds no image"):
        T.preprocess_folder(empty, tmp_path / "c", PIPELINE, progress=False)


def test_two_sources_mapping_to_one_output_are_refused(source, tmp_path, write_image):
    write_image(source / "mel" / "img_0.png", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ParameterError, match="same cache file"):
        T.preprocess_folder(source, tmp_path / "c", PIPELINE, progress=False)


def test_cli_preprocess_with_a_preset_and_with_a_pipeline_file(source, tmp_path, capsys):
    dst = tmp_path / "cli"
    args = ["--preset", "resize", "--image-size", "12", "-j", "1", "--format", "jpg", "-q"]
    code = main(["preprocess", str(source), str(dst), *args])
    assert code == 0
    assert "8 written" in capsys.readouterr().out
    assert len(list(dst.rglob("*.jpg"))) == 8
    pipeline_file = tmp_path / "pipeline.json"
    pipeline_file.write_text(json.dumps(PIPELINE.to_dict()))
    args = ["--pipeline", str(pipeline_file), "-j", "1", "-q"]
    code = main(["preprocess", str(source), str(tmp_path / "cli2"), *args])
    assert code == 0


def test_cli_preprocess_failures_exit_1_with_the_paths(source, tmp_path, capsys):
    (source / "mel" / "broken.jpg").write_bytes(b"nope")
    code = main(["preprocess", str(source), str(tmp_path / "c"), "--preset", "resize", "-j", "1"])
    captured = capsys.readouterr()
    assert code == 1
    assert "1 failed" in captured.out
    assert "broken.jpg" in captured.out
    assert "images/s" in captured.err  # the progress line


def test_cli_preprocess_errors_are_one_line(tmp_path, capsys):
    assert main(["preprocess", str(tmp_path / "missing"), str(tmp_path / "c")]) == 1
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "src").mkdir()
    code = main(["preprocess", str(tmp_path / "src"), str(tmp_path / "c"), "--preset", "dermo"])
    assert code == 1
    assert "Did you mean 'dermoscopy'" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code = main(["preprocess", str(tmp_path / "src"), str(tmp_path / "c"), "--pipeline", str(bad)])
    assert code == 1
    assert "not a valid pipeline" in capsys.readouterr().err
