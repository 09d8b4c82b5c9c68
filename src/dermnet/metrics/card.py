"""A model card (Mitchell et al., 2019) for evaluation reports: what the model is, what it
was trained and tested on, what it is for and what it must not be used for."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from dermnet._core.config import ConfigMixin
from dermnet._core.validation import fail

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
        model: the model: architecture, weights, training recipe.
        data: the data it was trained and evaluated on.
        split: how the data was split (grouping, sizes, leakage check).
        population: who and what the data represents (sites, devices, patients).
        intended_use: what the model is for.
        limitations: what it must not be used for and where it may fail.
        class_counts: images per class for each split, ``{split: {class: count}}``.

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
