"""A model card (Mitchell et al., 2019) for evaluation reports: what the model is, what it
was trained and tested on, what it is for and what it must not be used for."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from dermnet._core.config import ConfigMixin
from dermnet._core.validation import check_image_size, fail
from dermnet.metrics.report_text import card_markdown

__all__ = ["DEFAULT_INTENDED_USE", "DEFAULT_LIMITATIONS", "KNOWN_POPULATIONS", "ModelCard"]

DEFAULT_INTENDED_USE = (
    "Research and education only: studying and comparing image classifiers on public "
    "medical image datasets. Not a medical device; not for diagnosis, screening or any "
    "decision about a patient."
)

DEFAULT_LIMITATIONS = (
    "Not a medical device and not clinically validated: it must not be used to diagnose, "
    "screen or treat patients.",
    "Class imbalance: rare classes are represented by few test images, so their metrics "
    "are uncertain; read them with their confidence intervals, and prefer balanced accuracy "
    "and per-class sensitivity to accuracy.",
    "Dataset shift: performance was measured on one dataset and can drop on images from "
    "other devices, clinics, acquisition protocols and patient populations.",
)

#: Who is in the public datasets dermnet loads (by ``Records.name``), for the model card.
KNOWN_POPULATIONS = {
    "ham10000": (
        "HAM10000 (Tschandl et al., 2018): dermoscopic images of pigmented lesions collected "
        "over 20 years at the Department of Dermatology of the Medical University of Vienna "
        "(Austria) and a skin cancer practice in Queensland (Australia). More than half of "
        "the diagnoses are confirmed by histopathology, the rest by follow-up, expert "
        "consensus or confocal microscopy. Skin type is not recorded; the patients are "
        "predominantly fair-skinned, so performance on darker skin is unknown."
    ),
    "isic2020": (
        "SIIM-ISIC 2020 (Rotemberg et al., 2021): dermoscopic images of over 2,000 patients "
        "from several international centres, about 1.8% malignant; skin type is not "
        "recorded and the patients are predominantly fair-skinned."
    ),
    "malaria": (
        "NIH/NLM malaria cells (Rajaraman et al., 2018): segmented red blood cells from "
        "Giemsa-stained thin blood smears of P. falciparum-infected and healthy patients, "
        "collected at Chittagong Medical College Hospital (Bangladesh) and imaged with a "
        "smartphone on a light microscope."
    ),
}
KNOWN_POPULATIONS["ham10000_sample"] = KNOWN_POPULATIONS["ham10000"]

_ROLES = ("train", "val", "test")


def _is_records(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("labels", "classes", "class_counts", "role"))


def _describe_records(records: Any) -> str:
    text = f"{records.name}: {len(records)} images, {records.num_classes} classes"
    for group in getattr(records, "group_cols", ()):
        text += f", {records.frame[group].nunique()} distinct {group}"
    return text


@dataclasses.dataclass(frozen=True)
class ModelCard(ConfigMixin):
    """The model-card section of an evaluation report.

    Every field is plain text, so a card can be written by hand; `from_data` fills
    the data, split and population fields from records.

    Attributes:
        model: the model: architecture, initial weights, input size.
        data: the data it was trained and evaluated on.
        split: how the data was split (grouping, sizes, leakage check).
        population: who and what the data represents (sites, devices, patients).
        intended_use: what the model is for.
        limitations: what it must not be used for and where it may fail.
        class_counts: images per class for each split, ``{split: {class: count}}``.
        training: how it was trained: recipe, epochs, optimizer, schedule, seed.

    Examples:
        >>> card = ModelCard(model="simple_cnn, 30 epochs", data="HAM10000 sample")
        >>> ModelCard.from_dict(card.to_dict()) == card
        True
    """

    model: str = "not described"
    data: str = "not described"
    split: str = "not described"
    population: str = "not described"
    intended_use: str = DEFAULT_INTENDED_USE
    limitations: tuple[str, ...] = DEFAULT_LIMITATIONS
    class_counts: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)
    training: str = "not described"

    def to_markdown(self, report: Any = None) -> str:
        """The card as a Markdown document (for ``model_card.md``).

        Args:
            report: the `EvaluationReport` whose metrics (with their intervals) and
                computed limitations the card shows; ``None`` for the card alone.

        Returns:
            Markdown text: model, training, data, split, population, intended use, the
            metrics when a report is given, and the limitations.

        Examples:
            >>> text = ModelCard(model="fast_cnn").to_markdown()
            >>> text.splitlines()[0], "**Model.** fast_cnn" in text
            ('# Model card', True)
        """
        return card_markdown(self, report)

    @classmethod
    def from_data(
        cls,
        data: Any,
        *,
        model: str = "not described",
        population: str | None = None,
        intended_use: str = DEFAULT_INTENDED_USE,
        limitations: Sequence[str] = DEFAULT_LIMITATIONS,
        group_by: str | None = "auto",
    ) -> ModelCard:
        """Build a card from a description or from the records of the split.

        Args:
            data: a text description; one `Records`; a
                `Split` (``split(...)``); or a mapping
                ``{"train": records, "val": records, "test": records}``.
            model: text describing the model.
            population: who the data represents; by default taken from
                `KNOWN_POPULATIONS` for the datasets dermnet loads.
            intended_use: the intended use.
            limitations: the limitations.
            group_by: group column for the train/test leakage check (``"auto"``: the first
                group column of the records; ``None``: image files only).

        Returns:
            A `ModelCard`; with a train and a test part, its split text says whether
            they share any lesion, patient or image (checked with
            `dermnet.data.check_leakage`).

        Examples:
            >>> from dermnet.data import load_sample, split
            >>> card = ModelCard.from_data(split(load_sample("ham10000"), seed=0))
            >>> "no lesion_id and no image shared" in card.split
            True
        """
        where = "ModelCard.from_data"
        texts = {"model": str(model), "intended_use": str(intended_use)}
        limits = tuple(str(x) for x in limitations)
        if isinstance(data, str):
            return cls(
                data=data, split="not described", population=population or "not described",
                limitations=limits, **texts,
            )  # fmt: skip
        parts = _parts(data, where)
        first = next(iter(parts.values()))
        names = {p.name for p in parts.values()}
        described = "; ".join(f"{role}: {_describe_records(r)}" for role, r in parts.items())
        split_text = ", ".join(f"{role} {len(r)} images" for role, r in parts.items())
        if "train" in parts and "test" in parts:
            from dermnet.data import check_leakage

            report = check_leakage(parts["train"], parts["test"], group_by)
            key = report.group_by or "group"
            if report.ok:
                split_text += (
                    f". Checked: no {report.group_by + ' and no ' if report.group_by else ''}"
                    "image shared between train and test."
                )
            else:
                split_text += (
                    f". WARNING: train and test share {len(report.shared_groups)} {key} "
                    f"value(s) and {len(report.shared_files)} image(s): the test metrics are "
                    "optimistic."
                )
        if population is None:
            known = [KNOWN_POPULATIONS[n] for n in sorted(names) if n in KNOWN_POPULATIONS]
            population = " ".join(dict.fromkeys(known)) or "not described"
        counts = {role: dict(r.class_counts()) for role, r in parts.items()}
        return cls(
            data=described if len(parts) > 1 else _describe_records(first),
            split=split_text,
            population=population,
            limitations=limits,
            class_counts=counts,
            **texts,
        )

    @classmethod
    def from_run_info(
        cls,
        info: Mapping[str, Any],
        *,
        population: str | None = None,
        intended_use: str = DEFAULT_INTENDED_USE,
        limitations: Sequence[str] = DEFAULT_LIMITATIONS,
    ) -> ModelCard:
        """Build a card from the plain facts of a training run (e.g. its ``config.json``).

        Every key is optional; a missing fact is left out of the text (or, when nothing
        at all is known about a section, that section reads "not described"). Keys this
        method does not use are ignored, so a whole run configuration can be passed.

        Args:
            info: the run's facts:

                - ``model`` (str): the architecture, e.g. ``"fast_cnn"``.
                - ``weights`` (str or ``None``): initial weights; ``None`` means trained
                  from scratch.
                - ``image_size`` (int or ``[height, width]``): the model's input size.
                - ``metadata`` (list of str or bool): the patient metadata fed to the
                  model, if any.
                - ``dataset`` (str): the dataset name, e.g. ``"ham10000"``.
                - ``num_images`` (int): images in the dataset (default: the split's sum).
                - ``classes`` (list of str): the class names.
                - ``split`` (``{part: images}``): e.g. ``{"train": 7000, "val": 1500,
                  "test": 1515}``.
                - ``group_by`` (str or ``None``): the column the split keeps together
                  (e.g. ``"lesion_id"``); ``None`` means split by image.
                - ``seed`` (int), ``recipe`` (str), ``epochs`` (int), ``training`` (str,
                  free text such as "AdamW, cosine schedule").
                - ``evaluated_on`` (str): the part the metrics are computed on.
                - ``class_counts`` (``{part: {class: images}}``).
            population: who the data represents; by default taken from
                `KNOWN_POPULATIONS` for the datasets dermnet loads.
            intended_use: the intended use.
            limitations: the general limitations; limitations that follow from the run
                (input size, source population, evaluation on the validation part) are
                added after them.

        Returns:
            A `ModelCard`.

        Raises:
            ParameterError: ``info`` is not a mapping, or a key holds the wrong type.

        Examples:
            >>> card = ModelCard.from_run_info(
            ...     {"model": "fast_cnn", "weights": None, "image_size": [64, 64],
            ...      "dataset": "ham10000", "split": {"train": 70, "test": 30},
            ...      "group_by": "lesion_id", "epochs": 3, "evaluated_on": "test"})
            >>> card.model
            'fast_cnn, trained from scratch (no pretrained weights), input 64x64 pixels'
            >>> card.training
            '3 epochs.'
        """
        where = "ModelCard.from_run_info"
        if not isinstance(info, Mapping):
            raise fail("info", where, "a dict of run facts", type(info).__name__)
        facts = _RunFacts(info, where)
        extra = []
        if facts.size is not None:
            height, width = facts.size
            extra.append(
                f"Input size: images are resized to {height}x{width} pixels, so detail finer "
                "than that (fine dermoscopic structures) is lost to the model."
            )
        if facts.dataset:
            extra.append(
                f"Source population: the model was trained and tested only on {facts.dataset} "
                "images (see Population); its performance on other sites, devices and skin "
                "types is unknown."
            )
        if facts.evaluated_on == "val":
            extra.append(
                "These metrics are on the validation part, which also chose the checkpoint: "
                "they are optimistic; the test part gives the fair estimate."
            )
        if population is None:
            known = KNOWN_POPULATIONS.get(_dataset_key(facts.dataset))
            population = known or (
                f"not described for the dataset {facts.dataset!r}" if facts.dataset
                else "not described"
            )  # fmt: skip
        return cls(
            model=facts.model_text(),
            data=facts.data_text(),
            split=facts.split_text(),
            population=str(population),
            intended_use=str(intended_use),
            limitations=(*(str(x) for x in limitations), *extra),
            class_counts=facts.class_counts,
            training=facts.training_text(),
        )


def _dataset_key(name: str | None) -> str:
    """The `KNOWN_POPULATIONS` key of a dataset name such as "HAM10000" or
    "ham10000_sample (bundled sample)"."""
    words = (name or "").lower().replace("(", " ").split()
    return words[0] if words else ""


class _RunFacts:
    """The facts of a run dict, type-checked, with the sentences built from them."""

    def __init__(self, info: Mapping[str, Any], where: str) -> None:
        self.info = info
        self.where = where
        self.model = self._text("model")
        self.dataset = self._text("dataset")
        self.recipe = self._text("recipe")
        self.training = self._text("training")
        self.evaluated_on = self._text("evaluated_on")
        self.size = None
        if info.get("image_size") is not None:
            self.size = check_image_size(info["image_size"], "info['image_size']", where)
        self.classes = [str(c) for c in self._sequence("classes")]
        self.split = self._counts("split", info.get("split"))
        self.class_counts = {
            str(part): self._counts(f"class_counts[{part!r}]", counts)
            for part, counts in self._mapping("class_counts").items()
        }
        self.epochs = self._int("epochs")
        self.seed = self._int("seed")
        self.num_images = self._int("num_images")
        if self.num_images is None and self.split:
            self.num_images = sum(self.split.values())

    # -- checks -----------------------------------------------------------------------
    def _bad(self, key: str, must: str) -> Exception:
        return fail(f"info[{key!r}]", self.where, must, self.info[key])

    def _text(self, key: str) -> str | None:
        value = self.info.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a str")
        return value.strip() or None

    def _int(self, key: str) -> int | None:
        value = self.info.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an int")
        return int(value)

    def _sequence(self, key: str) -> Sequence[Any]:
        value = self.info.get(key)
        if value is None:
            return ()
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise self._bad(key, "a list")
        return value

    def _mapping(self, key: str) -> Mapping[str, Any]:
        value = self.info.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(key, "a dict")
        return value

    def _counts(self, name: str, value: Any) -> dict[str, int]:
        if value is None:
            return {}
        ok = isinstance(value, Mapping) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value.values()
        )
        if not ok:
            raise fail(f"info[{name!r}]", self.where, "a dict {name: number of images}", value)
        return {str(k): int(v) for k, v in value.items()}

    # -- sentences --------------------------------------------------------------------
    def model_text(self) -> str:
        parts = [self.model or "model not named"]
        if "weights" in self.info:
            weights = self.info["weights"]
            parts.append(
                "trained from scratch (no pretrained weights)" if weights is None
                else f"initialised from {weights} weights"
            )  # fmt: skip
        if self.size is not None:
            parts.append(f"input {self.size[0]}x{self.size[1]} pixels")
        metadata = self.info.get("metadata")
        if metadata:
            names = ", ".join(map(str, metadata)) if not isinstance(metadata, (bool, str)) else ""
            parts.append(f"with patient metadata ({names})" if names else "with patient metadata")
        if len(parts) == 1 and self.model is None:
            return "not described"
        return ", ".join(parts)

    def training_text(self) -> str:
        parts = []
        if self.recipe:
            parts.append(f"Recipe {self.recipe}")
        if self.epochs is not None:
            parts.append(f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}")
        if self.seed is not None:
            parts.append(f"seed {self.seed}")
        text = ", ".join(parts)
        text = text[:1].upper() + text[1:] + "." if text else ""
        if self.training:
            training = self.training if self.training.endswith(".") else self.training + "."
            text = f"{text} {training}".strip()
        return text or "not described"

    def data_text(self) -> str:
        parts = []
        if self.num_images is not None:
            parts.append(f"{self.num_images} images")
        if self.classes:
            parts.append(f"{len(self.classes)} classes ({', '.join(self.classes)})")
        details = ", ".join(parts)
        if self.dataset:
            return f"{self.dataset}: {details}" if details else self.dataset
        return details or "not described"

    def split_text(self) -> str:
        sentences = []
        if self.split:
            sizes = ", ".join(f"{part} {count}" for part, count in self.split.items())
            sentences.append(f"{sizes} images")
        if "group_by" in self.info:
            group = self.info["group_by"]
            if group is None:
                sentences.append(
                    "split by image, not by lesion or patient: images of one lesion may be in "
                    "both train and test, which makes the test metrics optimistic"
                )
            else:
                sentences.append(
                    f"grouped by {group}: all images with the same {group} are in the same "
                    "part, so none is in both train and test"
                )
        if self.seed is not None and (self.split or "group_by" in self.info):
            sentences.append(f"random seed {self.seed}")
        if self.evaluated_on:
            size = self.split.get(self.evaluated_on)
            where = f"the {self.evaluated_on} part" + (f" ({size} images)" if size else "")
            sentences.append(f"the metrics below are on {where}")
        if not sentences:
            return "not described"
        return "; ".join(sentences)[:1].upper() + "; ".join(sentences)[1:] + "."


def _parts(data: Any, where: str) -> dict[str, Any]:
    if _is_records(data):
        return {data.role or "all": data}
    if all(hasattr(data, a) for a in ("train", "val", "test")) and not isinstance(data, Mapping):
        pairs = {"train": data.train, "val": data.val, "test": data.test}
    elif isinstance(data, Mapping):
        pairs = dict(data)
    else:
        raise fail(
            "data", where, "a description, Records, a Split or {role: Records}", type(data).__name__
        )
    parts = {str(k): v for k, v in pairs.items() if v is not None}
    if not parts or not all(_is_records(v) for v in parts.values()):
        raise fail(
            "data", where, "Records for each split", {k: type(v).__name__ for k, v in pairs.items()}
        )
    ordered = {r: parts.pop(r) for r in _ROLES if r in parts}
    ordered.update(parts)
    return ordered
