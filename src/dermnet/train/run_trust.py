"""The clinical-trust parts of evaluating a run: subgroups from the run's metadata and the
abstention threshold chosen on validation (``abstention.json``) and applied on test.

``abstention.json`` holds ``{"score": "max_probability", **AbstentionThreshold.to_dict()}``;
`read_abstention` reads it back (``dermnet predict`` marks abstentions with it).
"""

from __future__ import annotations

import csv
import json
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError, UnknownNameError

__all__ = [
    "ABSTENTION_FILE",
    "ABSTENTION_SCORE",
    "DEFAULT_TARGET_RISK",
    "abstention_for_split",
    "available_group_columns",
    "check_by",
    "group_table",
    "parse_by",
    "read_abstention",
    "split_csv_columns",
]

#: The file, in a run folder, of the abstention threshold chosen on validation.
ABSTENTION_FILE = "abstention.json"
#: The confidence the threshold applies to.
ABSTENTION_SCORE = "max_probability"
#: The target risk when neither a risk nor a coverage is given.
DEFAULT_TARGET_RISK = 0.1
#: Columns of split.csv that are not patient attributes.
_NOT_GROUPS = ("image_path", "label", "dx", "role", "image_id", "image", "lesion_id", "patient_id")
#: Columns an age band is derived from, in order of preference.
_AGE_COLUMNS = ("age", "age_approx")


def parse_by(by: Sequence[str] | str | None) -> list[str]:
    """``"sex,age_band"`` or ``["sex", "age_band"]`` as a list of column names."""
    if by is None:
        return []
    items = by.split(",") if isinstance(by, str) else list(by)
    names = [str(item).strip() for item in items]
    if not names or any(not n for n in names):
        raise ParameterError(
            f"The 'by' parameter must name group columns, e.g. 'sex,age_band'. Got {by!r} instead."
        )
    return names


def available_group_columns(columns: Sequence[str]) -> list[str]:
    """The group columns a table with ``columns`` offers (``age_band`` where it has an age)."""
    names = [str(c) for c in columns if str(c) not in _NOT_GROUPS]
    if any(c in names for c in _AGE_COLUMNS) and "age_band" not in names:
        names.append("age_band")
    return names


def split_csv_columns(run: Path) -> list[str] | None:
    """The header of the run's split.csv, or ``None`` when it cannot be read."""
    try:
        with (run / "split.csv").open(newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle))
    except (OSError, StopIteration, UnicodeDecodeError, csv.Error):
        return None


def check_by(by: Sequence[str], columns: Sequence[str], source: str) -> None:
    """Raise `UnknownNameError` naming the available columns when ``by`` has an unknown one."""
    available = available_group_columns(columns)
    unknown = [name for name in by if name not in available]
    if unknown:
        raise UnknownNameError(
            f"The 'by' parameter names group column(s) {unknown} that {source} does not have; "
            f"the available columns are {available or 'none (the run has no metadata)'}."
        )


def group_table(frame: Any, by: Sequence[str], source: str) -> dict[str, np.ndarray]:
    """The group columns ``by`` of a records frame (``age_band`` from its age column)."""
    from dermnet.metrics.subgroups import age_bands

    check_by(by, list(frame.columns), source)
    table = {}
    for name in by:
        if name == "age_band" and "age_band" not in frame.columns:
            age = next(c for c in _AGE_COLUMNS if c in frame.columns)
            table[name] = age_bands(frame[age].to_numpy())
        else:
            table[name] = frame[name].to_numpy(dtype=object)
    return table


def read_abstention(run: str | Path) -> Any:
    """The run's `AbstentionThreshold` from ``abstention.json``, or ``None`` without one.

    Raises:
        DataError: the file is damaged or is for another score.
    """
    from dermnet.metrics.uncertainty import AbstentionThreshold

    path = Path(run) / ABSTENTION_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("score") != ABSTENTION_SCORE:
            raise DataError(
                f"{path} is for the score {data.get('score')!r}; dermnet applies "
                f"{ABSTENTION_SCORE!r} thresholds. Evaluate the run on 'val' to rewrite it."
            )
        return AbstentionThreshold.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"The abstention file {path} is damaged ({type(exc).__name__}: {exc}). Evaluate the "
            "run on its validation split (dermnet evaluate RUN --split val) to rewrite it."
        ) from None


def abstention_for_split(
    run: Path,
    split: str,
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    target_risk: float | None,
    target_coverage: float | None,
) -> tuple[Any, Any]:
    """The abstention section of a run's evaluation, and the threshold to save (``val``).

    On ``val`` a threshold is chosen for the target (`DEFAULT_TARGET_RISK` when none is
    given); on ``test`` the saved one is applied (the targets are ignored: the caller
    refuses them).

    Returns:
        ``(section, threshold to write or None)``.
    """
    from dermnet.metrics.report_sections import abstention_section
    from dermnet.metrics.uncertainty import choose_abstention_threshold

    confidence = scores.max(axis=1)
    correct = scores.argmax(axis=1) == labels
    if split != "val":
        saved = read_abstention(run)
        note = (
            None
            if saved is not None
            else f"No {ABSTENTION_FILE} in the run: evaluate on split 'val' to choose a threshold."
        )
        return abstention_section(confidence, correct, threshold=saved, note=note), None
    if target_risk is None and target_coverage is None:
        target_risk = DEFAULT_TARGET_RISK
    try:
        chosen = choose_abstention_threshold(
            confidence, correct, target_risk=target_risk, target_coverage=target_coverage
        )
    except DataError as exc:
        warnings.warn(f"no abstention threshold saved: {exc}", UserWarning, stacklevel=3)
        section = abstention_section(
            confidence, correct, note=f"No abstention threshold saved: {exc}"
        )
        return section, None
    section = abstention_section(confidence, correct, threshold=chosen, chosen_here=True)
    return section, chosen
