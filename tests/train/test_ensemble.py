"""Ensembles of run folders: one loadable model that averages its members.

The members are the two fold models of a tiny cross-validation (simple_cnn, 1 epoch,
32x32 synthetic images); they share the held-out test images.
"""

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dermnet import DataError, ParameterError
from dermnet.train import RunFolder
from dermnet.train.cv import cross_validate
from dermnet.train.ensemble import (
    EnsembleExplainer,
    build_ensemble,
    ensemble_gradcam,
    ensemble_members,
)
from dermnet.train.ensemble_layer import EnsembleMean
from tests.train.test_cv import config_for, make_image_csv

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ensemble")
    csv = make_image_csv(root / "data", groups_per_class=(4, 4, 4))
    result = cross_validate(config_for(csv), k=2, out=root / "cv", n_bootstrap=0, log=print)
    return root, list(result.folds)


@pytest.fixture(scope="module")
def held_out_images(folds):
    _, runs = folds
    folder = RunFolder(runs[0])
    images, _ = folder.read_records(folder.records("test"))
    return images


def member_probabilities(runs, images):
    return [RunFolder(r).score(RunFolder(r).load_model(), images) for r in runs]


FRESH = textwrap.dedent(
    """
    import sys
    import numpy as np
    from dermnet.train import RunFolder

    folder = RunFolder(sys.argv[1])
    images = np.load(sys.argv[2])
    np.save(sys.argv[3], folder.score(folder.load_model(), images))
    """
)


def test_reloaded_in_a_fresh_process_it_gives_the_mean_of_the_members(folds, held_out_images):
    root, runs = folds
    folder = build_ensemble(runs, root / "mean")
    np.save(root / "images.npy", held_out_images)
    subprocess.run(
        [sys.executable, "-c", FRESH, str(folder.path), str(root / "images.npy"), str(root / "p")],
        check=True,
        timeout=300,
    )
    fresh = np.load(root / "p.npy")
    expected = np.mean(member_probabilities(runs, held_out_images), axis=0)
    np.testing.assert_allclose(fresh, expected, atol=1e-5)
    info = json.loads((folder.path / "config.json").read_text())
    assert info["kind"] == "dermnet-ensemble"
    assert [m["run"] for m in info["ensemble"]["members"]] == [str(r.resolve()) for r in runs]
    assert folder.is_ensemble
    assert len(ensemble_members(folder.load_model())) == 2


def test_the_split_keeps_only_the_shared_held_out_images(folds):
    root, runs = folds
    folder = build_ensemble(runs, root / "split")
    member = RunFolder(runs[0])
    assert sorted(folder.records("test").paths) == sorted(member.records("test").paths)
    with pytest.raises(DataError, match="no 'val' images"):
        folder.records("val")  # each fold's validation images trained the other fold


def test_logit_averaging_is_the_softmax_of_the_mean_log_probabilities(folds, held_out_images):
    root, runs = folds
    folder = build_ensemble(runs, root / "logit", combine="logit")
    got = folder.score(folder.load_model(), held_out_images)
    logs = np.mean([np.log(p) for p in member_probabilities(runs, held_out_images)], axis=0)
    expected = np.exp(logs) / np.exp(logs).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    probability = np.mean(member_probabilities(runs, held_out_images), axis=0)
    assert not np.allclose(got, probability, atol=1e-7)


def test_an_ensemble_of_identical_members_equals_one_member(folds, held_out_images):
    root, runs = folds
    folder = build_ensemble([runs[0], runs[0]], root / "twice")
    got = folder.score(folder.load_model(), held_out_images)
    np.testing.assert_allclose(got, member_probabilities(runs[:1], held_out_images)[0], atol=1e-6)
    # Grad-CAM of two identical members is the member's own Grad-CAM
    from dermnet.explain import get_explainer

    single = RunFolder(runs[0]).load_model()
    own = get_explainer("gradcam", single)(held_out_images[:3], 0)
    averaged = EnsembleExplainer(folder.load_model(), "gradcam")(held_out_images[:3], 0)
    np.testing.assert_allclose(averaged, own, atol=1e-5)


def test_ensemble_gradcam_gives_one_heatmap_per_image(folds, held_out_images):
    root, runs = folds
    model = build_ensemble(runs, root / "cam").load_model()
    maps = ensemble_gradcam(model, held_out_images[:4])
    assert maps.shape == (4, 32, 32)
    assert maps.min() >= 0
    assert np.allclose(maps.reshape(4, -1).max(axis=1), 1.0)


def test_explain_run_on_an_ensemble_averages_the_members_maps(folds, tmp_path, monkeypatch):
    """`dermnet explain` on an ensemble folder explains with `EnsembleExplainer` (the mean
    of the members' maps); on two identical members it predicts what the member does."""
    import dermnet.train.ensemble as ensemble
    from dermnet.train.run import explain_run

    made = []

    class Spy(ensemble.EnsembleExplainer):
        def __init__(self, model, method="gradcam", **options):
            made.append(method)
            super().__init__(model, method, **options)

    monkeypatch.setattr(ensemble, "EnsembleExplainer", Spy)
    root, runs = folds
    files = [str(p) for p in RunFolder(runs[0]).records("test").paths[:2]]
    own = explain_run(runs[0], files, tmp_path / "own", method="gradcam")
    assert made == []  # a single run builds its own explainer
    twice = build_ensemble([runs[0], runs[0]], root / "explain_twice")
    doubled = explain_run(twice.path, files, tmp_path / "twice", method="gradcam")
    assert made == ["gradcam"]
    assert [e["predicted"] for e in doubled] == [e["predicted"] for e in own]
    saved = json.loads((tmp_path / "twice" / "explanations.json").read_text())
    assert len(saved["images"]) == 2
    assert len(list((tmp_path / "twice").glob("*_gradcam.png"))) == 2


def _edited_copy(run, target, edit):
    shutil.copytree(run, target)
    info = json.loads((target / "config.json").read_text())
    edit(info)
    (target / "config.json").write_text(json.dumps(info))
    return target


def test_runs_with_other_classes_are_refused(folds):
    root, runs = folds

    def rename(info):
        info["classes"] = ["x", "y", "z"]
        counts = info["class_counts"].values()
        info["class_counts"] = dict(zip(info["classes"], counts, strict=True))

    other = _edited_copy(runs[1], root / "other_classes", rename)
    with pytest.raises(ParameterError, match=rf"class list: run {other} has \['x', 'y', 'z'\]"):
        build_ensemble([runs[0], other], root / "refused")
    assert not (root / "refused").exists()


def test_runs_with_another_data_config_are_refused(folds):
    root, runs = folds

    def resize(info):
        info["data_config"]["config"]["resize"] = "pad"

    other = _edited_copy(runs[1], root / "other_data", resize)
    with pytest.raises(ParameterError, match=f"data config: run {other}"):
        build_ensemble([runs[0], other], root / "refused2")


def test_bad_parameters_are_refused(folds):
    root, runs = folds
    with pytest.raises(ParameterError, match="non-empty list"):
        build_ensemble([], root / "none")
    with pytest.raises(ParameterError, match="'combine' parameter"):
        build_ensemble(runs, root / "bad", combine="median")
    build_ensemble(runs, root / "exists")
    with pytest.raises(ParameterError, match="already holds a run"):
        build_ensemble(runs, root / "exists")


def test_ensemble_mean_round_trips_and_combines_sigmoid_logits():
    import keras

    layer = EnsembleMean("logit")
    rebuilt = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert rebuilt.combine == "logit"
    a, b = np.array([[0.9]], "float32"), np.array([[0.5]], "float32")
    expected = 1 / (1 + np.exp(-(np.log(9.0) + 0.0) / 2))
    np.testing.assert_allclose(np.asarray(rebuilt([a, b])), [[expected]], atol=1e-5)
    with pytest.raises(ParameterError, match="'combine' parameter"):
        EnsembleMean("max")


def test_an_ensemble_exports_with_the_same_outputs(folds, held_out_images):
    from dermnet.models.export import export_model, run_exported

    root, runs = folds
    model = build_ensemble(runs, root / "export", combine="logit").load_model()
    result = export_model(model, root / "ensemble.tflite", sample=held_out_images[:4])
    assert result.max_abs_diff < 1e-4
    exported = np.asarray(run_exported(root / "ensemble.tflite", held_out_images[:2]))
    np.testing.assert_allclose(exported, model.predict(held_out_images[:2], verbose=0), atol=1e-4)


def test_the_ensemble_command_combines_runs_that_evaluate_takes(folds, held_out_images, capsys):
    from dermnet.cli import main

    root, runs = folds
    out = root / "cli"
    argv = ["ensemble", str(runs[0]), str(runs[1]), "-o", str(out), "--combine", "logit"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "Ensemble of 2 runs (logit mean" in printed
    assert f"dermnet evaluate {out} --split test" in printed
    folder = RunFolder(out)
    logs = np.mean([np.log(p) for p in member_probabilities(runs, held_out_images)], axis=0)
    expected = np.exp(logs) / np.exp(logs).sum(axis=1, keepdims=True)
    got = folder.score(folder.load_model(), held_out_images)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert main(["evaluate", str(out), "--split", "test"]) == 0
    assert (out / "metrics.json").is_file()
    # bad input: named, nothing written
    assert main(argv) == 1  # the folder holds an ensemble already
    assert "already holds a run" in capsys.readouterr().err
    assert main(["ensemble", str(runs[0]), "-o", str(root / "one")]) == 2
    assert "2 or more run folders" in capsys.readouterr().err
    assert main(["ensemble", str(runs[0]), str(root / "absent"), "-o", str(root / "x")]) == 2
    assert "absent" in capsys.readouterr().err
    assert not (root / "one").exists()
    assert not (root / "x").exists()
