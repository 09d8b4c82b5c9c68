import json
import re

import numpy as np
import pytest

from dermnet import DataError, MissingFileError, ParameterError
from dermnet.cli import main
from dermnet.data import DataConfig, load_images
from dermnet.explain import load_explained_model, write_explanations
from dermnet.explain.files import read_images
from dermnet.models import create_model


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    from PIL import Image

    root = tmp_path_factory.mktemp("run")
    model = create_model("simple_cnn", 3, input_shape=(32, 32, 3))
    model.save(root / "model.keras")
    (root / "config.json").write_text(json.dumps({"data": {"class_names": ["nv", "mel", "bcc"]}}))
    rng = np.random.default_rng(0)
    for i, size in enumerate([(40, 50), (32, 32), (20, 30)]):
        pixels = rng.integers(0, 255, (*size, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / f"lesion{i}.png")
    return root


def test_load_explained_model_reads_class_names(run_folder):
    model, names = load_explained_model(run_folder)
    assert names == ["nv", "mel", "bcc"]
    assert model.output_shape == (None, 3)
    model, names = load_explained_model(run_folder / "model.keras")
    assert names == ["nv", "mel", "bcc"]  # config.json beside the file
    with pytest.raises(MissingFileError, match="does not exist"):
        load_explained_model(run_folder / "nope.keras")
    with pytest.raises(MissingFileError, match=r"model\.keras"):
        load_explained_model(run_folder.parent)


def test_write_explanations_from_python(run_folder, tmp_path):
    model, _ = load_explained_model(run_folder)
    files = sorted(run_folder.glob("lesion*.png"))
    records = write_explanations(model, files, tmp_path / "out", method="gradcam++")
    assert [r["overlay"] for r in records] == [f"lesion{i}_gradcampp.png" for i in range(3)]
    assert {r["predicted"] for r in records} <= {"0", "1", "2"}  # no names given: indices
    for r in records:
        assert (tmp_path / "out" / r["overlay"]).is_file()
        assert 0.0 <= r["probability"] <= 1.0
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(DataError, match="not readable"):
        write_explanations(model, [bad], tmp_path / "bad")


def _png(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize(
    "cfg",
    [None, DataConfig((32, 32), resize="pad"), DataConfig((32, 32), resize="crop")],
    ids=["stretch", "pad", "crop"],
)
def test_overlays_are_at_the_image_resolution_with_caption_and_colour_bar(
    run_folder, tmp_path, cfg
):
    from matplotlib import colormaps

    model, _ = load_explained_model(run_folder)
    files = sorted(run_folder.glob("lesion*.png"))  # 50x40, 32x32, 30x20
    records = write_explanations(model, files, tmp_path / "a0", alpha=0.0, data_config=cfg)
    for path, record in zip(files, records, strict=True):
        original = _png(path)
        h, w = original.shape[:2]
        figure = _png(tmp_path / "a0" / record["overlay"])
        top = figure.shape[0] - h  # the caption band
        assert top > 0
        assert figure.shape[1] > w
        # alpha 0: the image area is the original file, pixel for pixel, at its own size
        np.testing.assert_array_equal(figure[top:, :w], original)
        # the caption band holds dark text on white
        assert figure[:top].min() < 100
        assert figure[:top].max() == 255
        # a jet colour bar beside the image: 1 at the top, 0 at the bottom
        bar = figure[top:, w:]
        jet = (np.asarray(colormaps["jet"]([1.0, 0.0]))[:, :3] * 255).astype(int)
        columns = [c for c in range(bar.shape[1]) if np.abs(bar[0, c] - jet[0]).max() <= 2]
        assert columns, "no colour bar column starts with the colour of 1.0"
        assert np.abs(bar[-1, columns[0]].astype(int) - jet[1]).max() <= 2
    # with the map blended in, the image area differs from the original
    records = write_explanations(model, files[:1], tmp_path / "a9", alpha=0.9, data_config=cfg)
    figure = _png(tmp_path / "a9" / records[0]["overlay"])
    original = _png(files[0])
    assert not np.array_equal(figure[figure.shape[0] - 40 :, :50], original)


def test_caption_names_the_explained_class_and_its_probability(run_folder, tmp_path, monkeypatch):
    import dermnet.explain.files as files_module

    captions = []
    real = files_module._overlay_figure

    def spy(file, heatmap, data_config, alpha, caption):
        captions.append(caption)
        return real(file, heatmap, data_config, alpha, caption)

    monkeypatch.setattr(files_module, "_overlay_figure", spy)
    model, names = load_explained_model(run_folder)
    image = run_folder / "lesion0.png"
    records = write_explanations(model, [image], tmp_path / "out", class_names=names)
    r = records[0]
    assert captions == [f"gradcam: {r['predicted']} p={r['probability']:.2f}"]
    other = next(i for i, n in enumerate(names) if n != r["predicted"])
    records = write_explanations(
        model, [image], tmp_path / "cls", class_names=names, class_index=other
    )
    r = records[0]
    assert captions[-1] == (
        f"gradcam: {names[other]} p={r['explained_probability']:.2f} "
        f"(predicted {r['predicted']} p={r['probability']:.2f})"
    )


@pytest.mark.parametrize(
    ("cfg", "shape"),
    [
        (DataConfig((32, 32), resize="pad"), (40, 80)),  # letterboxed: rows 8-23 hold it
        (DataConfig((32, 32), resize="crop"), (40, 80)),  # centre crop: columns 20-59
    ],
    ids=["pad", "crop"],
)
def test_map_on_original_undoes_the_resize(cfg, shape):
    from dermnet.explain.files import _map_on_original

    heat = np.zeros((32, 32), np.float32)
    if cfg.resize == "pad":
        heat[8:24] = 1.0  # the image; the padding rows stay 0
        full, seen = _map_on_original(heat, shape, cfg)
        assert full.shape == shape
        assert seen.all()
        np.testing.assert_allclose(full, 1.0)  # the padding's part of the map is dropped
    else:
        heat[:] = 1.0
        full, seen = _map_on_original(heat, shape, cfg)
        assert full.shape == shape
        assert seen[:, 20:60].all()
        assert not seen[:, :20].any()
        assert not seen[:, 60:].any()
        np.testing.assert_allclose(full[:, 20:60], 1.0)
        assert not full[:, :20].any()


@pytest.mark.parametrize("method", ["gradcam", "lime"])
def test_cli_writes_overlays_json_and_html(run_folder, tmp_path, capsys, method):
    out = tmp_path / method
    files = [str(p) for p in sorted(run_folder.glob("lesion*.png"))]
    argv = ["explain", "--model", str(run_folder), "--method", method, *files, "-o", str(out)]
    argv += ["--num-samples", "40", "--segmentation", "slic"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Wrote 3 overlays" in printed
    result = json.loads((out / "explanations.json").read_text())
    assert result["method"] == method
    assert result["class_names"] == ["nv", "mel", "bcc"]
    assert len(result["images"]) == 3
    assert {r["predicted"] for r in result["images"]} <= {"nv", "mel", "bcc"}
    for r in result["images"]:
        assert (out / r["overlay"]).is_file()
    html = (out / "index.html").read_text()
    assert html.count("data:image/png;base64,") == 1
    assert not re.search(r'(src|href)="(?!data:)', html)


def test_cli_explains_a_given_class_and_reports_errors(run_folder, tmp_path, capsys):
    image = str(run_folder / "lesion0.png")
    out = tmp_path / "cls"
    assert main(["explain", "-m", str(run_folder), image, "-o", str(out), "--class", "2"]) == 0
    result = json.loads((out / "explanations.json").read_text())
    assert result["images"][0]["explained"] == "bcc"
    # a missing image is a usage error (exit 2), found before TensorFlow loads
    assert main(["explain", "-m", str(run_folder), str(tmp_path / "missing.png")]) == 2
    assert "missing.png does not exist" in capsys.readouterr().err
    assert main(["explain", "-m", str(run_folder), image, "-o", str(out), "--class", "7"]) == 1
    assert "class indices in [0, 2]" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["explain", "-m", str(run_folder), image, "--method", "gradcom"])
    assert info.value.code == 2


@pytest.fixture
def fed_pixels(monkeypatch):
    """The image arrays that write_explanations passes to the model's predictor."""
    import dermnet.explain._predictor as model_module

    seen = []
    real = model_module.predictor

    def spy(model, **kwargs):
        predict = real(model, **kwargs)

        def run(images, *args, **kw):
            seen.append(np.array(images, copy=True))
            return predict(images, *args, **kw)

        return run

    monkeypatch.setattr(model_module, "predictor", spy)
    return seen


@pytest.mark.parametrize(
    "cfg",
    [
        DataConfig((32, 32), resize="pad"),
        DataConfig((32, 32), resize="crop", interpolation="bicubic"),
    ],
    ids=["pad", "crop-bicubic"],
)
def test_write_explanations_feeds_the_data_config_pixels(run_folder, tmp_path, fed_pixels, cfg):
    model, _ = load_explained_model(run_folder)
    files = sorted(run_folder.glob("lesion*.png"))
    records = write_explanations(model, files, tmp_path / "out", data_config=cfg)
    expected = load_images(files, cfg)
    assert len(fed_pixels) == 1
    np.testing.assert_array_equal(fed_pixels[0], expected)
    # and not the default (stretched) pixels: the config was used
    assert not np.array_equal(expected, load_images(files, DataConfig((32, 32))))
    probs = model.predict(expected, verbose=0)
    for r, p in zip(records, probs, strict=True):
        assert r["probability"] == pytest.approx(float(p.max()), abs=1e-6)


def test_write_explanations_without_config_reads_like_make_dataset(
    run_folder, tmp_path, fed_pixels
):
    model, _ = load_explained_model(run_folder)
    files = sorted(run_folder.glob("lesion*.png"))
    write_explanations(model, files, tmp_path / "out")
    np.testing.assert_array_equal(fed_pixels[0], load_images(files, DataConfig((32, 32))))


def test_write_explanations_refuses_a_config_of_another_size(run_folder, tmp_path):
    model, _ = load_explained_model(run_folder)
    files = sorted(run_folder.glob("lesion*.png"))
    with pytest.raises(ParameterError, match="'data_config' parameter of write_explanations"):
        write_explanations(model, files, tmp_path / "out", data_config=DataConfig(64))
    with pytest.raises(ParameterError, match="'data_config' parameter of write_explanations"):
        write_explanations(model, files, tmp_path / "out", data_config=(32, 32))


def test_read_images_is_load_images(run_folder, tmp_path):
    files = sorted(run_folder.glob("lesion*.png"))
    rgb = read_images(files, (24, 28))
    np.testing.assert_array_equal(rgb, load_images(files, DataConfig((24, 28))))
    gray = read_images(files, (24, 28), channels=1)
    assert gray.shape == (3, 24, 28, 1)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
    np.testing.assert_allclose(gray[..., 0], np.round(luma), atol=0)
    with pytest.raises(ParameterError, match="'channels' parameter of read_images"):
        read_images(files, (24, 28), channels=4)
    data = (run_folder / "lesion0.png").read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not readable") as info:
        read_images([files[0], truncated], (24, 28))
    assert str(truncated) in str(info.value)


@pytest.mark.parametrize("name", ["load_explained_model", "read_images", "write_explanations"])
def test_the_old_report_module_warns_and_gives_the_same_functions(name):
    import dermnet.explain.files as files
    import dermnet.explain.report as old

    with pytest.warns(DeprecationWarning, match=f"import {name} from dermnet.explain.files"):
        assert getattr(old, name) is getattr(files, name)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        old.nothing  # noqa: B018
