"""Contract: every registered dermnet Keras object survives ``model.save`` and a fresh process.

For each object ``register_custom_objects`` returns (built with the arguments of
`tests.models.test_io.CONSTRUCTORS`), this process puts it in a tiny model (a layer in the
graph, with a list of inputs for `EnsembleMean`; a loss or metric compiled in; a
learning-rate schedule in the optimizer), saves the model to ``.keras`` and records what
it computes (a seeded random layer: also its first draw in training mode, since the seed
generator's state is saved); one fresh Python process loads every file with
``dermnet.load_model`` and computes the same things, which must match. A registered
object of a kind this file does not know fails the guard test: add a case.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from dermnet.models import register_custom_objects
from tests.models.test_io import CONSTRUCTORS

#: Steps at which a learning-rate schedule is compared.
STEPS = [0, 1, 5, 10, 50, 99, 150]

_FRESH = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import dermnet

    job = json.loads(open(sys.argv[1]).read())
    out = {}
    for name, case in job.items():
        model = dermnet.load_model(case["path"])  # nothing registered beforehand
        import keras

        arrays = dict(np.load(case["arrays"]))
        kind, got = case["kind"], {}
        if kind in ("layer", "mixing", "list"):
            if kind == "list":
                inputs = [arrays["a"], arrays["b"]]
            elif kind == "mixing":
                inputs = [arrays["x"], arrays["y"]]
            else:
                inputs = arrays["x"]
            outputs = model.predict(inputs, verbose=0)
            outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
            got["outputs"] = [np.asarray(o).tolist() for o in outputs]
            got["classes"] = [keras.saving.get_registered_name(type(l)) for l in model.layers]
            if case["seeded"]:  # the seed generator's state is saved: same first draw
                drawn = model(inputs, training=True)
                drawn = drawn if isinstance(drawn, (list, tuple)) else [drawn]
                got["training"] = [np.asarray(o).tolist() for o in drawn]
        elif kind in ("loss", "metric"):
            got["evaluate"] = model.evaluate(
                arrays["x"], arrays["y"], batch_size=8, verbose=0, return_dict=True
            )
            got["loss_class"] = keras.saving.get_registered_name(type(model.loss))
        elif kind == "schedule":
            schedule = model.optimizer._learning_rate
            got["class"] = keras.saving.get_registered_name(type(schedule))
            got["values"] = [float(schedule(step)) for step in case["steps"]]
        out[name] = got
    print("RESULT" + json.dumps(out))
    """
)


#: Layers that take a list of tensors (the members' probabilities of an ensemble).
LIST_INPUT_LAYERS = {"dermnet>EnsembleMean"}


def _kind(name: str, cls) -> str | None:
    import inspect

    import keras

    if issubclass(cls, keras.optimizers.schedules.LearningRateSchedule):
        return "schedule"
    if issubclass(cls, keras.losses.Loss):
        return "loss"
    if issubclass(cls, keras.metrics.Metric):
        return "metric"
    if issubclass(cls, keras.layers.Layer) and name in LIST_INPUT_LAYERS:
        return "list"
    if issubclass(cls, keras.layers.Layer):
        # MixUp and CutMix take (images, labels) and return both
        return "mixing" if "labels" in inspect.signature(cls.call).parameters else "layer"
    return None


def _units(kwargs: dict) -> int:
    """Output units of the model that carries a loss or metric: its class count."""
    for key in ("num_classes", "samples_per_class", "alpha"):
        value = kwargs.get(key)
        if isinstance(value, int):
            return value
        if isinstance(value, (list, tuple)):
            return len(value)
    return 1  # a binary loss: one unit


def _save_case(name: str, obj, kwargs: dict, kind: str, folder) -> tuple[dict, dict]:
    """Save a tiny model carrying ``obj``; return the job entry and the expected results."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    arrays: dict[str, np.ndarray] = {}
    expected: dict = {}
    if kind == "list":  # two members' softmax outputs
        for key in ("a", "b"):
            arrays[key] = rng.dirichlet(np.ones(3), 4).astype("float32")
        members = [keras.Input((3,)), keras.Input((3,))]
        model = keras.Model(members, obj(members))
        expected["outputs"] = [model.predict([arrays["a"], arrays["b"]], verbose=0)]
    elif kind in ("layer", "mixing"):
        low, high = kwargs.get("value_range", (0.0, 255.0))
        arrays["x"] = rng.uniform(low, high, (4, 16, 16, 3)).astype("float32")
        image = keras.Input((16, 16, 3))
        if kind == "mixing":
            classes = kwargs["num_classes"]
            arrays["y"] = np.eye(classes, dtype="float32")[np.arange(4) % classes]
            labels = keras.Input((classes,))
            model = keras.Model([image, labels], list(obj(image, labels)))
            outputs = model.predict([arrays["x"], arrays["y"]], verbose=0)
        else:
            model = keras.Model(image, obj(image))
            outputs = [model.predict(arrays["x"], verbose=0)]
        expected["outputs"] = [np.asarray(o) for o in outputs]
    elif kind in ("loss", "metric"):
        units = _units(kwargs)
        arrays["x"] = rng.normal(size=(16, 4)).astype("float32")
        arrays["y"] = np.arange(16) % max(units, 2)
        logits = kind == "loss" and kwargs.get("from_logits", False)
        activation = None if logits else ("sigmoid" if units == 1 else "softmax")
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(units, activation=activation)(inputs))
        model.compile(
            optimizer="sgd",
            loss=obj if kind == "loss" else "sparse_categorical_crossentropy",
            metrics=[obj] if kind == "metric" else None,
        )
        expected["evaluate"] = model.evaluate(
            arrays["x"], arrays["y"], batch_size=8, verbose=0, return_dict=True
        )
    else:  # schedule
        inputs = keras.Input((4,))
        model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=obj), loss="mse")
        expected["values"] = [float(obj(step)) for step in STEPS]
    path = folder / f"{name.replace('>', '_')}.keras"
    model.save(path)
    seeded = kind in ("layer", "mixing") and "seed" in kwargs
    if seeded:  # the first random draw after saving, in training mode
        inputs = [arrays["x"], arrays["y"]] if kind == "mixing" else arrays["x"]
        drawn = model(inputs, training=True)
        expected["training"] = [np.asarray(o) for o in (drawn if kind == "mixing" else [drawn])]
    np.savez(folder / f"{path.stem}.npz", **arrays)
    job = {"path": str(path), "arrays": str(folder / f"{path.stem}.npz"), "kind": kind}
    job.update(steps=STEPS, seeded=seeded)
    return job, expected


@pytest.fixture(scope="module")
def contract(tmp_path_factory):
    folder = tmp_path_factory.mktemp("contract")
    objects = register_custom_objects()
    jobs, expected = {}, {}
    for name, cls in sorted(objects.items()):
        kind = _kind(name, cls)
        if kind is None or name not in CONSTRUCTORS:
            continue  # the guard tests below fail for it
        jobs[name], expected[name] = _save_case(
            name, cls(**CONSTRUCTORS[name]), CONSTRUCTORS[name], kind, folder
        )
    job_file = folder / "job.json"
    job_file.write_text(json.dumps(jobs))
    proc = subprocess.run(
        [sys.executable, "-c", _FRESH, str(job_file)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT")]
    assert lines, proc.stdout[-3000:]
    return {"jobs": jobs, "expected": expected, "got": json.loads(lines[-1][len("RESULT") :])}


def test_guard_every_registered_object_has_a_kind_this_contract_knows():
    objects = register_custom_objects()
    unknown = {n: c.__name__ for n, c in objects.items() if _kind(n, c) is None}
    assert not unknown, f"add a case to tests/models/test_serialization_contract.py: {unknown}"
    kinds = {_kind(n, c) for n, c in objects.items()}
    assert kinds == {"layer", "list", "mixing", "loss", "metric", "schedule"}


@pytest.mark.parametrize("name", sorted(CONSTRUCTORS))
def test_a_saved_object_computes_the_same_in_a_fresh_process(contract, name):
    assert name in contract["got"], f"{name} was not saved and reloaded"
    expected, got = contract["expected"][name], contract["got"][name]
    kind = contract["jobs"][name]["kind"]
    if kind in ("layer", "mixing", "list"):
        assert name in got["classes"], f"the reloaded model has no {name} layer"
        assert len(got["outputs"]) == len(expected["outputs"])
        for g, e in zip(got["outputs"], expected["outputs"], strict=True):
            np.testing.assert_allclose(np.asarray(g), e, rtol=1e-5, atol=1e-5)
        if "seed" in CONSTRUCTORS[name]:  # a seeded random layer draws the same
            images = np.load(contract["jobs"][name]["arrays"])["x"]
            assert not np.allclose(expected["training"][0], images), "the draw changed nothing"
            for g, e in zip(got["training"], expected["training"], strict=True):
                np.testing.assert_allclose(np.asarray(g), e, rtol=1e-5, atol=1e-4)
    elif kind in ("loss", "metric"):
        if kind == "loss":
            assert got["loss_class"] == name
        assert sorted(got["evaluate"]) == sorted(expected["evaluate"])
        assert len(expected["evaluate"]) == (1 if kind == "loss" else 2)
        for key, value in expected["evaluate"].items():
            np.testing.assert_allclose(got["evaluate"][key], value, rtol=1e-5, atol=1e-6)
    else:
        assert got["class"] == name
        np.testing.assert_allclose(got["values"], expected["values"], rtol=1e-6)
        assert len(set(expected["values"])) > 2  # the schedule changes over the steps
