"""`RunConfig`: a training run described as data, and the named built-in recipes.

Every setting of a run is one field of `RunConfig`, declared once with its type, its
constraint and a one-line help text (the field's ``metadata``). The same declaration
validates a config, reads a TOML file, and builds the options of ``dermnet train``, so the
three cannot drift apart. Nothing here imports TensorFlow: a bad config is reported before
TensorFlow loads.

A run file is TOML, one ``key = value`` per field (unknown keys are an error naming the key
and the file)::

    recipe = "cpu_best"        # start from a built-in recipe (optional)
    dataset = "ham10000"
    root = "data/HAM10000"
    epochs = 20                # overrides the recipe

Built-in recipes are TOML files shipped in ``dermnet/recipes`` (`list_recipes`).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dermnet._core.config import ConfigMixin
from dermnet._core.errors import MissingFileError, ParameterError
from dermnet._core.registry import did_you_mean

__all__ = ["RunConfig", "get_recipe", "list_recipes", "load_run_config", "recipe_summary"]

_AUGMENTATIONS = ("none", "flips", "dihedral", "geometric", "dermoscopy", "microscopy")
_PREPROCESSING = ("none", "color_constancy", "dermoscopy", "dermoscopy_clahe", "microscopy")


def _field(default: Any, help: str, **constraint: Any) -> Any:
    """A dataclass field whose metadata holds its help text and constraint."""
    return dataclasses.field(default=default, metadata={"help": help, **constraint})


@dataclasses.dataclass(frozen=True)
class RunConfig(ConfigMixin):
    """Everything a training run needs, saved in the run folder's ``config.json``.

    Give the data as a registered ``dataset`` name with its ``root`` folder (see
    `dermnet.data.list_datasets`), or as a bundled ``sample`` name. Each field's
    constraint and help text are in its ``metadata`` (`RunConfig.describe`).

    Attributes:
        recipe: the built-in recipe this config started from (informational).
        model: a registered model name.
        weights: ``None``, ``"imagenet"`` or a weights file.
        dataset: a registered dataset name, e.g. ``"ham10000"``.
        root: the dataset's folder.
        sample: a bundled sample instead (``"ham10000"``, ``"malaria"``).
        image_size: square input size; ``None`` uses the model's default.
        resize: ``"stretch"``, ``"pad"`` or ``"crop"``.
        preprocessing: a preprocessing preset applied to every image, or ``"none"``.
        augment: a named augmentation set for training images, or ``"none"``.
        augment_on: ``"data"``: augment in the input pipeline (on the CPU);
            ``"model"``: inside the model, in training only (on the GPU or TPU that
            trains it; the saved ``model.keras`` leaves the augmentation out).
        batch_size: images per batch.
        epochs: epochs in all (the most, with early stopping).
        optimizer: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        learning_rate: the (peak) learning rate.
        weight_decay: decoupled weight decay (AdamW, SGD); ``None``: Keras' default.
        lr_schedule: ``"constant"``, ``"cosine"`` or ``"plateau"``.
        warmup_epochs: epochs of linear warm-up.
        early_stopping: patience in epochs (restores the best weights), or ``None``.
        keep: which model ``model.keras`` holds: ``"best"`` (lowest validation loss)
            or ``"last"`` (after the last epoch).
        loss: ``"crossentropy"``, ``"focal"`` or ``"class_balanced"``.
        label_smoothing: label smoothing of the cross-entropy.
        focal_gamma: the focusing parameter of the focal losses.
        class_weights: ``"balanced"``, ``"inverse_sqrt"``, ``"effective_number"`` or
            ``"none"``.
        logit_adjustment: post-hoc logit adjustment by the training prior at prediction
            time, with this ``tau`` (0 turns it off; 1 is the balanced-error decision).
        tta: test-time augmentation at prediction time: ``"none"``, ``"flips"`` or
            ``"dihedral"``.
        dropout: dropout before the classifier.
        metadata: fuse patient metadata (age, sex, site) with the image.
        test_size: share of images for the test set (grouped by lesion/patient).
        val_size: share of images for validation.
        group_by: the group column of the split; ``None``: the dataset's own.
        max_images: use a seeded random subset of at most this many images (for quick
            trials; ``None``: all).
        seed: seeds the split, the initial weights and the shuffling.
        binary_output: ``"softmax"`` or ``"sigmoid"`` for two-class data.
        mixed_precision: train in mixed precision.
        cache: keep decoded images in memory after the first epoch.
    """

    recipe: str | None = _field(None, "the built-in recipe this run started from")
    model: str = _field("simple_cnn", "registered model name (dermnet info lists them)")
    weights: str | None = _field(None, "none, imagenet, or a weights file")
    dataset: str | None = _field(None, "registered dataset name, e.g. ham10000")
    root: str | None = _field(None, "the dataset's folder")
    sample: str | None = _field(None, "a bundled sample instead: ham10000 or malaria")
    image_size: int | None = _field(None, "square input size in pixels", low=8)
    resize: str = _field("stretch", "how images reach the size", choices=("stretch", "pad", "crop"))
    preprocessing: str = _field("none", "preprocessing preset", choices=_PREPROCESSING)
    augment: str = _field("none", "augmentation of training images", choices=_AUGMENTATIONS)
    augment_on: str = _field(
        "data",
        "where augmentation runs: the input pipeline (CPU) or inside the model (GPU)",
        choices=("data", "model"),
    )
    batch_size: int = _field(32, "images per batch", low=1)
    epochs: int = _field(10, "epochs in all (the most, with early stopping)", low=1)
    optimizer: str = _field("adam", "optimizer", choices=("adam", "adamw", "sgd"))
    learning_rate: float = _field(1e-3, "the (peak) learning rate", low=0.0, low_open=True)
    weight_decay: float | None = _field(None, "decoupled weight decay (adamw, sgd)", low=0.0)
    lr_schedule: str = _field(
        "constant", "learning-rate schedule", choices=("constant", "cosine", "plateau")
    )
    warmup_epochs: float = _field(0.0, "epochs of linear warm-up", low=0.0)
    early_stopping: int | None = _field(None, "patience in epochs (restores the best)", low=1)
    keep: str = _field(
        "best", "model.keras holds the best or the last epoch", choices=("best", "last")
    )
    loss: str = _field(
        "crossentropy", "training loss", choices=("crossentropy", "focal", "class_balanced")
    )
    label_smoothing: float = _field(
        0.0, "label smoothing of the cross-entropy", low=0.0, high=1.0, high_open=True
    )
    focal_gamma: float = _field(2.0, "focusing parameter of the focal losses", low=0.0)
    class_weights: str = _field(
        "balanced",
        "per-class loss weights",
        choices=("balanced", "inverse_sqrt", "effective_number", "none"),
    )
    logit_adjustment: float = _field(
        0.0, "post-hoc logit adjustment tau at prediction (0: off)", low=0.0
    )
    tta: str = _field(
        "none", "test-time augmentation at prediction", choices=("none", "flips", "dihedral")
    )
    dropout: float = _field(0.2, "dropout before the classifier", low=0.0, high=1.0, high_open=True)
    metadata: bool = _field(False, "fuse patient metadata (age, sex, site) with the image")
    test_size: float = _field(
        0.2, "share of images for the test set", low=0.0, high=1.0, low_open=True, high_open=True
    )
    val_size: float = _field(
        0.15, "share of images for validation", low=0.0, high=1.0, high_open=True
    )
    group_by: str | None = _field(None, "group column of the split (default: the dataset's)")
    max_images: int | None = _field(
        None, "use a seeded random subset of this many images (quick trials)", low=10
    )
    seed: int = _field(0, "random seed", low=0, high=2**32 - 1)
    binary_output: str = _field(
        "softmax", "output of two-class models", choices=("softmax", "sigmoid")
    )
    mixed_precision: bool = _field(False, "train in mixed precision")
    cache: bool = _field(False, "keep decoded images in memory")

    # -- declaration helpers ------------------------------------------------------------
    @classmethod
    def field_names(cls) -> list[str]:
        """The names of the fields, in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Each field's type, default, help text and constraint, as plain data."""
        out: dict[str, dict[str, Any]] = {}
        for f in dataclasses.fields(cls):
            out[f.name] = {"type": str(f.type), "default": f.default, **dict(f.metadata)}
        return out

    def validate(self, *, where: str = "RunConfig") -> RunConfig:
        """Check every field against its declaration and the registries; return ``self``.

        Raises:
            ParameterError: a field has a bad value (the message names it).
        """
        for f in dataclasses.fields(self):
            _check_field(f, getattr(self, f.name), where)
        from dermnet.models.registry import MODELS, list_models

        list_models()  # fills the registry
        MODELS.get(self.model, where=f"{where} field 'model'")
        if (self.sample is None) == (self.dataset is None):
            raise ParameterError(
                f"{where} needs either 'dataset' (with 'root') or 'sample'. Got "
                f"dataset={self.dataset!r}, sample={self.sample!r}."
            )
        if self.dataset is not None and self.root is None:
            raise ParameterError(f"{where} needs the 'root' folder of dataset {self.dataset!r}.")
        if self.test_size + self.val_size >= 1:
            raise ParameterError(
                f"The 'test_size' and 'val_size' fields of {where} must leave images to train "
                f"on (their sum below 1). Got {self.test_size} + {self.val_size}."
            )
        if self.keep == "best" and self.val_size == 0:
            raise ParameterError(
                f"The 'keep' field of {where} is 'best', which needs validation images; set "
                "'val_size' above 0 or 'keep' to 'last'."
            )
        if self.warmup_epochs >= self.epochs:
            raise ParameterError(
                f"The 'warmup_epochs' field of {where} must be below 'epochs' (warm-up must "
                f"leave epochs to train). Got warmup_epochs={self.warmup_epochs:g}, "
                f"epochs={self.epochs}."
            )
        if self.label_smoothing and self.loss != "crossentropy":
            raise ParameterError(
                f"The 'label_smoothing' field of {where} applies to loss 'crossentropy' only. "
                f"Got loss {self.loss!r}."
            )
        if self.loss == "class_balanced" and self.class_weights != "none":
            raise ParameterError(
                f"The 'class_weights' field of {where} must be 'none' with loss "
                "'class_balanced', which weights the classes itself. Got "
                f"{self.class_weights!r}."
            )
        return self

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, source: str = "the run config"
    ) -> RunConfig:
        """Build a config from plain ``{field: value}`` data (a TOML table, CLI flags).

        Unknown keys and values of the wrong type are errors that name the key and the
        ``source``; a ``recipe`` key starts from that built-in recipe.
        """
        values = dict(values)
        names = cls.field_names()
        unknown = [k for k in values if k not in names]
        if unknown:
            key = unknown[0]
            hint = did_you_mean(key, names)
            raise ParameterError(
                f"{source}: unknown field {key!r}"
                + (f"; did you mean {hint[0]!r}?" if hint else ".")
                + f" Known fields: {', '.join(names)}."
            )
        base: dict[str, Any] = {}
        if values.get("recipe") is not None:
            base = get_recipe(str(values["recipe"])).to_fields()
        merged = {**base, **values}
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key, value in merged.items():
            merged[key] = _coerce(fields[key], value, source)
        return cls(**merged)

    def to_fields(self) -> dict[str, Any]:
        """The fields as a plain dict (what a TOML run file holds)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_toml(self) -> str:
        """The config as a TOML run file (fields left at ``None`` are omitted)."""
        lines = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            lines.append(f"{f.name} = {_toml_value(value)}  # {f.metadata['help']}")
        return "\n".join(lines) + "\n"


# -- field checks ---------------------------------------------------------------------------
def _kinds(f: dataclasses.Field[Any]) -> tuple[str, bool]:
    """The field's base type name and whether it may be ``None``."""
    text = str(f.type).replace(" ", "")
    parts = text.split("|")
    optional = "None" in parts
    base = next(p for p in parts if p != "None")
    return base, optional


def _type_text(base: str, optional: bool) -> str:
    word = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false"}
    return word[base] + (" or none" if optional else "")


def _coerce(f: dataclasses.Field[Any], value: Any, source: str) -> Any:
    """Check a raw value's type for field ``f`` (ints are accepted for floats)."""
    base, optional = _kinds(f)
    if value is None or (optional and isinstance(value, str) and value.lower() == "none"):
        if optional:
            return None
        raise ParameterError(
            f"{source}: field {f.name!r} must be {_type_text(base, optional)}. Got none."
        )
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, numbers.Integral) and not isinstance(value, bool),
        "float": isinstance(value, numbers.Real) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
    }[base]
    if not ok:
        raise ParameterError(
            f"{source}: field {f.name!r} must be {_type_text(base, optional)}. "
            f"Got {value!r} ({type(value).__name__})."
        )
    return float(value) if base == "float" else value


def _check_field(f: dataclasses.Field[Any], value: Any, where: str) -> None:
    base = _kinds(f)[0]
    _coerce(f, value, where)
    if value is None:
        return
    meta = f.metadata
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        hint = did_you_mean(str(value), choices)
        raise ParameterError(
            f"The {f.name!r} field of {where} must be one of {', '.join(choices)}. Got "
            f"{value!r}" + (f"; did you mean {hint[0]!r}?" if hint else ".")
        )
    if base in ("int", "float"):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"The {f.name!r} field of {where} must be finite. Got {value}.")
        low, high = meta.get("low"), meta.get("high")
        bad = (low is not None and (value <= low if meta.get("low_open") else value < low)) or (
            high is not None and (value >= high if meta.get("high_open") else value > high)
        )
        if bad:
            parts = []
            if low is not None:
                parts.append(f"{'>' if meta.get('low_open') else '>='} {low}")
            if high is not None:
                parts.append(f"{'<' if meta.get('high_open') else '<='} {high}")
            raise ParameterError(
                f"The {f.name!r} field of {where} must be {' and '.join(parts)}. Got {value}."
            )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


# -- files and recipes ----------------------------------------------------------------------
def _read_toml(path: Path) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"The run file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ParameterError(f"The run file {path} is not UTF-8 text: {exc}") from None


def _recipe_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "recipes"


def list_recipes() -> list[str]:
    """Names of the built-in recipes (``dermnet recipes`` prints them with a summary).

    Examples:
        >>> "cpu_best" in list_recipes()
        True
    """
    return sorted(p.stem for p in _recipe_dir().glob("*.toml"))


def recipe_summary(name: str) -> str:
    """The one-line summary of a built-in recipe (its first comment line)."""
    path = _recipe_path(name)
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def _recipe_path(name: str) -> Path:
    names = list_recipes()
    if name not in names:
        hint = did_you_mean(str(name), names)
        raise ParameterError(
            f"Unknown recipe {name!r}"
            + (f"; did you mean {hint[0]!r}?" if hint else ".")
            + f" Built-in recipes: {', '.join(names)}."
        )
    return _recipe_dir() / f"{name}.toml"


def get_recipe(name: str) -> RunConfig:
    """A built-in recipe as a `RunConfig` (its data fields unset).

    Raises:
        ParameterError: no recipe has that name (the message lists them).
    """
    path = _recipe_path(name)
    values = _read_toml(path)
    values.pop("recipe", None)
    config = RunConfig.from_mapping(values, source=f"recipe {name!r} ({path})")
    return dataclasses.replace(config, recipe=name)


def load_run_config(
    path: str | os.PathLike[str] | None = None,
    *,
    recipe: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> RunConfig:
    """A validated run config from a recipe, a TOML run file and overrides, in that order.

    Args:
        path: a TOML run file (``None``: none).
        recipe: a built-in recipe to start from (``None``: the file's ``recipe`` key, if
            any).
        overrides: field values that win over both (e.g. command-line flags).

    Raises:
        MissingFileError: the file does not exist.
        ParameterError: an unknown field, a wrong type or a bad value (the message names
            the field and the file).
    """
    values: dict[str, Any] = {}
    source = "the command line"
    if recipe is not None:
        values["recipe"] = recipe
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise MissingFileError(f"The run file does not exist: {file}")
        from_file = _read_toml(file)
        nested = [k for k, v in from_file.items() if isinstance(v, dict)]
        if nested:
            raise ParameterError(
                f"The run file {file} has a table [{nested[0]}]; a run file holds plain "
                "'field = value' lines only."
            )
        if recipe is not None and from_file.get("recipe") not in (None, recipe):
            from_file.pop("recipe")  # the command line's recipe wins
        values.update(from_file)
        source = f"the run file {file}"
    values.update(dict(overrides or {}))
    config = RunConfig.from_mapping(values, source=source)
    return config.validate(where=source)
