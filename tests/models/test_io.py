"""Every model dermnet saves reloads in a fresh process; every `dermnet>` object round-trips.

Process A (this pytest process) trains, saves and predicts; process B is one fresh Python
subprocess that runs ``import dermnet; dermnet.load_model(path)`` for each model, then
deserializes every registered dermnet Keras object, then imports every dermnet module to
check that nothing registers an object ``register_custom_objects`` does not know. All
subprocess work is batched into that one subprocess (starting TensorFlow is the cost).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest

from dermnet import MissingFileError
from dermnet._core.custom_objects import KERAS_OBJECT_MODULES
from dermnet.models import ModelFileError, load_model, register_custom_objects

SRC = Path(__file__).resolve().parents[2] / "src" / "dermnet"

#: Constructor arguments for every registered dermnet Keras object, by its Keras name.
#: Not the defaults where a value can be changed, so the round trip shows it is kept.
#: A class registered without an entry here fails
#: `test_every_registered_object_has_a_constructor_entry`: add one.
CONSTRUCTORS: dict[str, dict] = {
    "dermnet>EnsembleMean": {"combine": "logit"},
    "dermnet>ImagePreprocessing": {"mode": "torch"},
    "dermnet>RandomFlip": {"mode": "horizontal", "seed": 1},
    "dermnet>RandomRot90": {"seed": 2, "value_range": (0.0, 1.0)},
    "dermnet>RandomDihedral": {"seed": 2, "value_range": (0.0, 1.0)},
    "dermnet>RandomRotation": {"max_angle": 30.0, "fill_mode": "constant", "seed": 3},
    "dermnet>RandomZoom": {"zoom_range": (0.8, 1.2), "interpolation": "nearest"},
    "dermnet>RandomTranslation": {"fraction": 0.2, "fill_value": 7.0},
    "dermnet>RandomAffine": {"max_angle": 45.0, "zoom_range": (0.9, 1.3), "translate": 0.1},
    "dermnet>RandomBrightness": {"max_delta": 0.2, "seed": 4},
    "dermnet>RandomContrast": {"factor": 0.3},
    "dermnet>RandomSaturation": {"factor": 0.25},
    "dermnet>RandomHue": {"max_delta": 0.1},
    "dermnet>MixUp": {"alpha": 0.4, "num_classes": 3, "seed": 5},
    "dermnet>CutMix": {"alpha": 0.5, "num_classes": 4},
    "dermnet>CategoricalFocalLoss": {"gamma": 1.5, "alpha": [1.0, 2.0, 0.5]},
    "dermnet>BinaryFocalLoss": {"gamma": 1.0, "alpha": 0.75, "from_logits": True},
    "dermnet>ClassBalancedLoss": {"samples_per_class": [90, 10, 5], "beta": 0.99, "gamma": 1.0},
    "dermnet>BalancedAccuracy": {"num_classes": 3, "name": "bal_acc"},
    "dermnet>MacroAUC": {"num_classes": 4, "num_bins": 50},
    "dermnet>WarmupCosine": {
        "learning_rate": 3e-3,
        "total_steps": 100,
        "warmup_steps": 10,
        "min_learning_rate": 1e-5,
    },
}

_FRESH_PROCESS = textwrap.dedent(
    """
    import json, sys
    job = json.loads(open(sys.argv[1]).read())

    import dermnet
    out = {"fresh": "dermnet.train.schedules" not in sys.modules, "models": {}}
    for name, path in job["models"].items():
        model = dermnet.load_model(path)  # nothing else imported or registered first
        import numpy as np
        x = dict(np.load(job["inputs"][name]))
        x = x["image"] if list(x) == ["image"] else x
        np.save(path + ".reloaded.npy", model.predict(x, verbose=0))
        out["models"][name] = {
            "optimizer": model.optimizer.get_config(),
            "optimizer_class": type(model.optimizer).__name__,
            "iterations": int(model.optimizer.iterations.numpy()),
            "loss": type(model.loss).__name__,
            "loss_config": model.loss.get_config() if hasattr(model.loss, "get_config") else None,
        }

    import keras
    dermnet.models.register_custom_objects()
    out["configs"] = {
        name: keras.saving.deserialize_keras_object(serialized).get_config()
        for name, serialized in job["objects"].items()
    }
    names = keras.saving.get_custom_objects()
    out["registered"] = sorted(k for k in names if k.startswith("dermnet>"))

    import importlib, pkgutil
    out["not_importable"] = {}
    for module in pkgutil.walk_packages(dermnet.__path__, "dermnet."):
        if not module.name.endswith("__main__"):
            try:
                importlib.import_module(module.name)
            except ImportError as exc:  # an optional dependency; the source scan covers it
                out["not_importable"][module.name] = str(exc)
    out["modules_after_importing_all"] = {
        name: obj.__module__
        for name, obj in keras.saving.get_custom_objects().items()
        if name.startswith("dermnet>")
    }
    print("RESULT" + json.dumps(out, default=str))
    """
)


def _json(value):
    """Configs as they travel through JSON (tuples become lists)."""
    return json.loads(json.dumps(value, default=str))


def _data(n=8, metadata=False):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (n, 32, 32, 3)).astype("float32")
    labels = np.arange(n) % 3
    x = {"image": images}
    if metadata:
        x["metadata"] = rng.normal(size=(n, 4)).astype("float32")
    inputs = x if metadata else images
    return x, tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(4)


def _train_and_save(tmp_path, name, *, metadata=False, **fit_kwargs):
    import dermnet
    from dermnet.models import create_model

    dermnet.seed_everything(0)
    model = create_model(
        "simple_cnn", 3, input_shape=(32, 32, 3), metadata_dim=4 if metadata else None
    )
    x, ds = _data(metadata=metadata)
    dermnet.train.fit(
        model,
        ds,
        epochs=1,
        optimizer="adamw",
        lr_schedule="cosine",
        warmup_epochs=0.5,
        verbose=0,
        recalibrate_bn=False,
        **fit_kwargs,
    )
    path = tmp_path / f"{name}.keras"
    model.save(path)
    np.savez(tmp_path / f"{name}.inputs.npz", **x)
    predictions = model.predict(x if metadata else x["image"], verbose=0)
    return str(path), predictions, model


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """Train and save three models here, then reload everything in one fresh process."""
    import keras

    from dermnet.imbalance import CategoricalFocalLoss, ClassBalancedLoss
    from dermnet.metrics import BalancedAccuracy, MacroAUC

    tmp_path = tmp_path_factory.mktemp("fresh")
    saved = {  # two models between them hold every kind of object a fit compiles in
        "image": _train_and_save(
            tmp_path,
            "image",
            loss=CategoricalFocalLoss(gamma=2.0, alpha=[1.0, 2.0, 3.0]),
            metrics=["accuracy", BalancedAccuracy(3), MacroAUC(3)],
        ),
        "metadata": _train_and_save(
            tmp_path, "metadata", metadata=True, loss=ClassBalancedLoss([5, 2, 1], beta=0.9)
        ),
    }
    objects = register_custom_objects()
    serialized, configs = {}, {}
    for name, kwargs in CONSTRUCTORS.items():
        if name in objects:  # a stale entry fails test_every_registered_object_...
            obj = objects[name](**kwargs)
            serialized[name] = _json(keras.saving.serialize_keras_object(obj))
            configs[name] = _json(obj.get_config())
    job = {
        "models": {name: path for name, (path, _, _) in saved.items()},
        "inputs": {name: str(tmp_path / f"{name}.inputs.npz") for name in saved},
        "objects": serialized,
    }
    job_file = tmp_path / "job.json"
    job_file.write_text(json.dumps(job))
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, str(job_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert lines, proc.stdout[-3000:]
    result = json.loads(lines[-1][len("RESULT") :])
    return {"saved": saved, "configs": configs, "result": result}


@pytest.mark.parametrize("name", ["image", "metadata"])
def test_a_saved_model_reloads_and_predicts_the_same_in_a_fresh_process(fresh, name):
    path, predictions, model = fresh["saved"][name]
    assert fresh["result"]["fresh"], "the subprocess had dermnet's schedules imported already"
    reloaded = np.load(path + ".reloaded.npy")
    assert reloaded.shape == predictions.shape == (8, 3)
    np.testing.assert_allclose(reloaded, predictions, rtol=1e-5, atol=1e-6)
    info = fresh["result"]["models"][name]
    schedule = info["optimizer"]["learning_rate"]
    assert schedule["registered_name"] == "dermnet>WarmupCosine"
    assert schedule["config"] == _json(model.optimizer.get_config()["learning_rate"]["config"])
    assert schedule["config"]["warmup_steps"] == 1  # half of the 2 steps
    assert info["optimizer_class"] == "AdamW"
    assert info["iterations"] == 2  # the optimizer state came back too


def test_the_loss_comes_back_with_its_arguments(fresh):
    models = fresh["result"]["models"]
    assert models["image"]["loss"] == "CategoricalFocalLoss"
    assert models["image"]["loss_config"]["alpha"] == [1.0, 2.0, 3.0]
    assert models["metadata"]["loss"] == "ClassBalancedLoss"
    assert models["metadata"]["loss_config"]["samples_per_class"] == [5, 2, 1]


def test_every_registered_object_has_a_constructor_entry():
    registered = set(register_custom_objects())
    missing = sorted(registered - set(CONSTRUCTORS))
    assert not missing, f"registered dermnet Keras objects without a CONSTRUCTORS entry: {missing}"
    stale = sorted(set(CONSTRUCTORS) - registered)
    assert not stale, f"CONSTRUCTORS entries for names nobody registers: {stale}"


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_every_registered_object_round_trips_in_a_fresh_process(fresh, name):
    revived = fresh["result"]["configs"].get(name)
    assert revived is not None, f"{name} was not deserialized in the fresh process"
    assert _json(revived) == fresh["configs"][name]
    for key, value in CONSTRUCTORS[name].items():  # the arguments, not just defaults
        assert _json(revived[key]) == _json(value), key


def test_the_fresh_process_registers_what_this_one_does(fresh):
    assert fresh["result"]["registered"] == sorted(register_custom_objects())


def test_no_module_registers_a_keras_object_outside_the_list(fresh):
    """Importing every dermnet module registers nothing beyond the listed modules."""
    modules = fresh["result"]["modules_after_importing_all"]
    assert sorted(modules) == fresh["result"]["registered"]
    outside = {name: m for name, m in modules.items() if m not in KERAS_OBJECT_MODULES}
    assert not outside, f"add these modules to KERAS_OBJECT_MODULES: {outside}"


def test_every_module_that_registers_keras_objects_is_listed():
    """A source scan: no import needed, so it also sees modules nothing imports."""
    listed = set(KERAS_OBJECT_MODULES)
    registering = set()
    for path in SRC.rglob("*.py"):
        if path.name == "custom_objects.py":
            continue
        if "register_keras_serializable" in path.read_text(encoding="utf-8"):
            parts = path.relative_to(SRC.parent).with_suffix("").parts
            registering.add(".".join(p for p in parts if p != "__init__"))
    assert registering, "the scan found nothing: has the source moved?"
    assert not sorted(registering - listed), (
        f"modules that register Keras objects but are missing from KERAS_OBJECT_MODULES "
        f"in src/dermnet/_core/custom_objects.py: {sorted(registering - listed)}"
    )
    assert not sorted(listed - registering), "listed modules that register nothing"


# -- files that are not dermnet models -------------------------------------------------------
def _zip(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_file_that_is_not_a_model_is_named_in_a_model_file_error(fresh, tmp_path):
    saved = Path(fresh["saved"]["image"][0])
    text = tmp_path / "notes.keras"
    text.write_text("these are my notes, not a model\n")
    truncated = tmp_path / "truncated.keras"
    truncated.write_bytes(saved.read_bytes()[: saved.stat().st_size // 2])
    no_config = _zip(tmp_path / "no_config.keras", {"metadata.json": "{}"})
    bad_json = _zip(tmp_path / "bad_json.keras", {"config.json": "{not json"})
    not_keras = _zip(tmp_path / "not_keras.keras", {"config.json": '{"a": 1}'})
    with zipfile.ZipFile(saved) as archive:
        parts = {n: archive.read(n) for n in ("config.json", "metadata.json")}
    no_weights = _zip(tmp_path / "no_weights.keras", parts)
    text_h5 = tmp_path / "text.h5"
    text_h5.write_text("not hdf5")
    suffix = tmp_path / "model.txt"
    suffix.write_bytes(saved.read_bytes())
    cases = {
        text: "not a zip archive",
        truncated: "truncated",
        no_config: "without config.json",
        bad_json: "damaged archive",
        not_keras: "does not describe a Keras object",
        no_weights: "could not be loaded by Keras",
        text_h5: "could not be loaded by Keras",
        suffix: "suffix '.txt'",
    }
    for path, expected in cases.items():
        with pytest.raises(ModelFileError, match=expected) as info:
            load_model(path)
        assert str(path) in str(info.value)
        assert isinstance(info.value, ValueError)
    with pytest.raises(MissingFileError, match=r"gone\.keras"):
        load_model(tmp_path / "gone.keras")


def test_a_model_with_an_unregistered_custom_object_is_a_model_file_error(tmp_path):
    import keras

    class Unregistered(keras.layers.Layer):
        def call(self, inputs):
            return inputs

    model = keras.Sequential([keras.Input((4,)), Unregistered(), keras.layers.Dense(2)])
    path = tmp_path / "foreign.keras"
    model.save(path)
    with pytest.raises(ModelFileError, match="Unregistered") as info:
        load_model(path)
    assert str(path) in str(info.value)
