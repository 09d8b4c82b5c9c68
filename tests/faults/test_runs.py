"""Run folders under faults: a kill (during an epoch or a save), damaged files, failed starts.

Every case ends in one of two outcomes: the run resumes (to exactly the weights of an
uninterrupted run), or a DermnetError names the damaged file and says what to do.
"""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dermnet import DataError, MissingFileError, ParameterError
from dermnet._core.errors import ModelFileError
from dermnet.data import sample_path
from dermnet.models import load_model
from dermnet.train import RunConfig, RunFolder, evaluate_run, predict_run, train_run

EPOCHS = 2
FLAGS = [
    "--sample", "malaria", "--model", "simple_cnn", "--image-size", "32",
    "--epochs", str(EPOCHS), "--batch-size", "32", "--augment", "flips", "--quiet",
]  # fmt: skip
CONFIG = RunConfig(
    sample="malaria",
    model="simple_cnn",
    image_size=32,
    epochs=EPOCHS,
    batch_size=32,
    augment="flips",
)
CLI = "import sys; from dermnet.cli import main; sys.exit(main(sys.argv[1:]))"


def _env() -> dict[str, str]:
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONHASHSEED": "0"}


def _quiet(_line: str) -> None:
    pass


def _weights(path: Path) -> list[np.ndarray]:
    return [np.asarray(w) for w in load_model(path, compile=False).get_weights()]


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=True):
        assert np.array_equal(x, y), float(np.abs(x - y).max())


def _state(run: Path) -> dict:
    try:
        return json.loads((run / "state.json").read_text())
    except (OSError, ValueError):
        return {}


def _kill_after_epoch(args: list[str], run: Path, epoch: int = 1, timeout: float = 120) -> int:
    """Start ``args``; SIGKILL it as soon as ``state.json`` says ``epoch`` epochs are done."""
    proc = subprocess.Popen(args, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if _state(run).get("epochs_done", 0) >= epoch:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-2000:]
    return int(_state(run)["epochs_done"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """An uninterrupted run (in this process) of the configuration the subprocesses run."""
    folder = tmp_path_factory.mktemp("faults") / "uninterrupted"
    train_run(CONFIG, folder, log=_quiet, evaluate_on=())
    return folder


def _scores(run: Path) -> dict:
    report = evaluate_run(run, write=False, n_bootstrap=0)
    return {"y_score": np.asarray(report.y_score).tolist(), **report.headline()}


def test_kill_after_an_epoch_and_resume_gives_the_weights_of_an_uninterrupted_run(
    reference, tmp_path
):
    run = tmp_path / "killed"
    done = _kill_after_epoch([sys.executable, "-c", CLI, "train", *FLAGS, "-o", str(run)], run)
    assert 1 <= done < EPOCHS
    assert _state(run) == {"epochs_done": done, "finished": False}
    summary = train_run(None, run, resume=True, log=_quiet, evaluate_on=())
    assert summary["epochs_done"] == EPOCHS
    assert _state(run) == {"epochs_done": EPOCHS, "finished": True}
    _assert_same_weights(run / "last.keras", reference / "last.keras")
    _assert_same_weights(run / "model.keras", reference / "model.keras")
    pd.testing.assert_frame_equal(
        pd.read_csv(run / "history.csv"), pd.read_csv(reference / "history.csv")
    )
    assert _scores(run) == _scores(reference)


_DIE_IN_SAVE = """
import os, signal, sys
import keras
from dermnet.train import run_folder

calls = {"last": 0}
original = run_folder.save_model_atomic

def dying_save(model, path):
    if os.path.basename(str(path)) == "last.keras":
        calls["last"] += 1
        if calls["last"] == 2:  # epoch 2: half a file, then the power goes
            original(model, path.with_name("probe.keras"))
            data = path.with_name("probe.keras").read_bytes()
            tmp = path.with_name(".last.partial.keras")
            with open(tmp, "wb") as handle:
                handle.write(data[: len(data) // 2])
                handle.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    original(model, path)

run_folder.save_model_atomic = dying_save
import dermnet.train.run
dermnet.train.run.save_model_atomic = dying_save
from dermnet.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_in_the_middle_of_saving_leaves_a_run_that_resumes_exactly(reference, tmp_path):
    run = tmp_path / "killed_in_save"
    died = subprocess.run(
        [sys.executable, "-c", _DIE_IN_SAVE, "train", *FLAGS, "-o", str(run)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    assert (run / ".last.partial.keras").is_file()  # the torn write is a hidden temporary
    assert _state(run) == {"epochs_done": 1, "finished": False}
    # the files that the commands read are whole
    assert len(_weights(run / "last.keras")) == len(_weights(reference / "last.keras"))
    assert len(predict_run(run, sample_path("malaria") / "Uninfected")) == 100
    assert evaluate_run(run, write=False, n_bootstrap=0).balanced_accuracy >= 0
    (run / "probe.keras").unlink()
    summary = train_run(None, run, resume=True, log=_quiet, evaluate_on=())
    assert summary["epochs_done"] == EPOCHS
    _assert_same_weights(run / "last.keras", reference / "last.keras")


@pytest.fixture
def copy(reference, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(reference, target)
    return target


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_damaged_split_file_is_named(copy):
    (copy / "split.csv").write_text("")
    with pytest.raises(DataError, match=r"split\.csv is not a readable CSV.*retrain"):
        evaluate_run(copy)
    (copy / "split.csv").write_text("image_path,label\nx.png,Parasitized\n")
    with pytest.raises(DataError, match=r"split\.csv is damaged: it has no \['role'\]"):
        evaluate_run(copy)
    (copy / "split.csv").unlink()
    with pytest.raises(MissingFileError, match=r"lacks split\.csv.*retrain"):
        evaluate_run(copy)
    with pytest.raises(MissingFileError, match=r"lacks split\.csv"):
        train_run(None, copy, resume=True, epochs=EPOCHS + 1, log=_quiet)


def test_a_damaged_config_is_named(copy):
    _truncate(copy / "config.json")
    for action in (
        lambda: evaluate_run(copy),
        lambda: predict_run(copy, [sample_path("malaria") / "Uninfected"]),
        lambda: train_run(None, copy, resume=True, log=_quiet),
    ):
        with pytest.raises(DataError, match=r"config\.json is not valid JSON.*retrain"):
            action()


def test_a_damaged_state_is_named(copy):
    _truncate(copy / "state.json")
    with pytest.raises(DataError, match=r"state\.json is not valid JSON.*--resume cannot"):
        train_run(None, copy, resume=True, log=_quiet)
    (copy / "state.json").write_text('{"epochs_done": "two"}')
    with pytest.raises(DataError, match=r"state\.json is damaged.*'epochs_done'"):
        train_run(None, copy, resume=True, log=_quiet)
    assert evaluate_run(copy, write=False, n_bootstrap=0).balanced_accuracy >= 0


def test_damaged_model_files_are_named_with_what_to_do(copy):
    _truncate(copy / "last.keras")
    with pytest.raises(ModelFileError, match=r"last\.keras is damaged.*model\.keras"):
        train_run(None, copy, resume=True, epochs=EPOCHS + 1, log=_quiet)
    assert evaluate_run(copy, write=False, n_bootstrap=0).balanced_accuracy >= 0  # model.keras
    _truncate(copy / "model.keras")
    with pytest.raises(ModelFileError, match=r"model\.keras is damaged.*last\.keras"):
        evaluate_run(copy)
    with pytest.raises(ModelFileError, match=r"model\.keras is damaged"):
        predict_run(copy, [sample_path("malaria") / "Uninfected"])


def test_a_damaged_history_and_metadata_encoder_are_named(copy):
    (copy / "history.csv").write_text("")
    with pytest.raises(DataError, match=r"history\.csv is damaged.*delete it"):
        train_run(None, copy, resume=True, epochs=EPOCHS + 1, log=_quiet)
    (copy / "history.csv").write_bytes(b"epoch,loss\n0,\xff\xfe\n")
    with pytest.raises(DataError, match=r"history\.csv is damaged"):
        evaluate_run(copy, n_bootstrap=0)
    info = json.loads((copy / "config.json").read_text())
    info["run"] = dataclasses.replace(RunConfig.from_dict(info["run"]), metadata=True).to_dict()
    (copy / "config.json").write_text(json.dumps(info))
    (copy / "metadata_encoder.json").write_text('{"columns": ')
    with pytest.raises(DataError, match=r"metadata_encoder\.json is not valid JSON.*Retrain"):
        RunFolder(copy).metadata_encoder()
    (copy / "metadata_encoder.json").write_text('{"something": "else"}')
    with pytest.raises(DataError, match=r"metadata_encoder\.json is damaged"):
        RunFolder(copy).metadata_encoder()
    (copy / "metadata_encoder.json").unlink()
    with pytest.raises(MissingFileError, match=r"no metadata_encoder\.json"):
        RunFolder(copy).metadata_encoder()


def test_saves_leave_no_temporary_files(reference):
    assert not [p.name for p in reference.iterdir() if ".partial" in p.name or p.suffix == ".tmp"]
    assert not list(reference.parent.glob(".*starting"))


# -- failed starts ------------------------------------------------------------------------
def _image_folder(root: Path, *, bad: bool = False, empty_class: bool = False) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(12):
            pixels = rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"{name}{i}.png")
    if bad:
        (root / "b" / "broken.png").write_text("not an image")
    if empty_class:
        (root / "c").mkdir()
    return root


def _folder_config(root: Path, **changes) -> RunConfig:
    fields = {"dataset": "image_folder", "root": str(root), "model": "simple_cnn", "image_size": 16}
    return RunConfig(**fields, epochs=1, batch_size=8, test_size=0.25, val_size=0.25, **changes)


@pytest.mark.parametrize(
    ("case", "error", "match"),
    [
        ("bad image", DataError, r"broken\.png"),
        ("bad model setting", ParameterError, r"class_balanced"),
    ],
)
def test_a_failed_start_writes_nothing_and_a_rerun_works(tmp_path, case, error, match):
    root = _image_folder(tmp_path / "images", bad=case == "bad image")
    changes = {"loss": "class_balanced", "binary_output": "sigmoid"}
    config = _folder_config(root, **(changes if case == "bad model setting" else {}))
    out = tmp_path / "run"
    with pytest.raises(error, match=match):
        train_run(config, out, log=_quiet)
    assert not (out / "config.json").exists()
    assert not list(tmp_path.glob(".*starting"))
    if case == "bad image":
        (root / "b" / "broken.png").unlink()
    summary = train_run(_folder_config(root), out, log=_quiet, evaluate_on=())
    assert summary["epochs_done"] == 1


def test_an_empty_class_folder_fails_clearly_without_a_half_run(tmp_path):
    root = _image_folder(tmp_path / "images", empty_class=True)
    out = tmp_path / "run"
    with pytest.raises(DataError, match=r"Class folder\(s\) without images.*\['c'\]"):
        train_run(_folder_config(root), out, log=_quiet)
    assert not out.exists()
    shutil.rmtree(root / "c")
    assert train_run(_folder_config(root), out, log=_quiet, evaluate_on=())["epochs_done"] == 1


def test_a_run_that_never_finished_an_epoch_is_replaced_by_a_rerun(reference, tmp_path):
    """Killed or failed during epoch 1: config.json exists but no epoch was saved."""
    out = tmp_path / "unstarted"
    out.mkdir()
    for name in ("config.json", "split.csv"):
        shutil.copy(reference / name, out / name)
    (out / "history.csv").write_text("epoch,loss\n")
    from dermnet.cli import main

    assert main(["train", *FLAGS[:6], "--epochs", "1", "--quiet", "-o", str(out)]) == 0
    assert _state(out) == {"epochs_done": 1, "finished": True}
    assert len(pd.read_csv(out / "history.csv")) == 1
    with pytest.raises(ParameterError, match="already holds a training run"):
        train_run(CONFIG, out, log=_quiet)
