"""`describe`: counts per class and split, and the figures people draw by hand for a dataset."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dermnet._core.errors import ParameterError
from dermnet.data.records import Records, _missing

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["DatasetDescription", "describe"]

_AGE_COLUMNS = ("age", "age_approx")
_SEX_COLUMNS = ("sex",)
_SITE_COLUMNS = ("localization", "anatom_site_general_challenge", "anatom_site_general", "site")
_MISSING_LABEL = "(missing)"


def _parts(data: Any) -> tuple[dict[str, Records], str]:
    """Named parts from Records, a Split/Fold (or any iterable of Records) or a mapping."""
    if isinstance(data, Records):
        return {data.role or "all": data}, data.name
    if isinstance(data, Mapping):
        parts = dict(data)
    elif dataclasses.is_dataclass(data) and not isinstance(data, type):
        parts = {
            f.name: getattr(data, f.name)
            for f in dataclasses.fields(data)
            if isinstance(getattr(data, f.name), Records)
        }
    elif isinstance(data, Sequence) and not isinstance(data, str):
        parts = {(r.role or f"part{i}"): r for i, r in enumerate(data) if r is not None}
    else:
        parts = {}
    parts = {str(k): v for k, v in parts.items() if v is not None}
    if not parts or not all(isinstance(v, Records) for v in parts.values()):
        raise ParameterError(
            "The 'data' parameter of describe must be Records, a Split (or other sequence "
            f"of Records) or a dict of name -> Records. Got {type(data).__name__} instead."
        )
    classes = {v.classes for v in parts.values()}
    if len(classes) > 1:
        raise ParameterError("describe needs records that share one class list.")
    return parts, next(iter(parts.values())).name


def _pick(
    frame: pd.DataFrame, given: str | None, candidates: Sequence[str], what: str
) -> str | None:
    if given is not None:
        if given not in frame.columns:
            raise ParameterError(
                f"The {what!r} parameter of describe must be a column of the records "
                f"({list(frame.columns)}). Got {given!r} instead."
            )
        return given
    return next((c for c in candidates if c in frame.columns), None)


def _category_table(frame: pd.DataFrame, column: str, classes: Sequence[str]) -> pd.DataFrame:
    values = frame[column].astype(object).where(~_missing(frame[column]), _MISSING_LABEL)
    table = pd.crosstab(values.astype(str), frame["label"]).reindex(columns=list(classes))
    table = table.fillna(0).astype(int)
    order = table.sum(axis=1).sort_values(ascending=False).index
    table = table.loc[order]
    table.index.name = column
    table.columns.name = "label"
    return table


@dataclasses.dataclass(frozen=True)
class DatasetDescription:
    """What `describe` found, as tables, text and figures.

    Attributes:
        name: the dataset name.
        classes: the class order.
        counts: images per class (rows) and part (columns), with ``all`` and ``share``.
        groups: per part, number of images, of distinct groups and of images per group.
        age: per class, age statistics (``count``, ``missing``, ``mean``, ``median``,
            ``q1``, ``q3``), or ``None`` without an age column.
        sex: counts of each sex value (rows) per class (columns), or ``None``.
        site: counts of each body site (rows) per class (columns), or ``None``.
        columns: which columns were read as age, sex and site.
    """

    name: str
    classes: tuple[str, ...]
    counts: pd.DataFrame
    groups: pd.DataFrame
    age: pd.DataFrame | None
    sex: pd.DataFrame | None
    site: pd.DataFrame | None
    columns: dict[str, str | None]
    _frame: pd.DataFrame = dataclasses.field(repr=False)

    @property
    def imbalance_ratio(self) -> float:
        """Images of the largest class over images of the smallest non-empty class."""
        counts = self.counts["all"]
        present = counts[counts > 0]
        return float(present.max() / present.min()) if len(present) else float("nan")

    def summary(self) -> str:
        """The counts table and the headline facts, as text."""
        lines = [f"Dataset {self.name!r}: {int(self.counts['all'].sum())} images"]
        lines.append(self.counts.to_string())
        lines.append(f"imbalance (largest / smallest class): {self.imbalance_ratio:.1f}x")
        if not self.groups.empty:
            lines.append(self.groups.to_string())
        if self.age is not None:
            lines.append(f"{self.columns['age']} by class:")
            lines.append(self.age.round(1).to_string())
        for key, table in (("sex", self.sex), ("site", self.site)):
            if table is not None:
                lines.append(f"{self.columns[key]} by class:")
                lines.append(table.to_string())
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def figures(self) -> dict[str, Figure]:
        """Matplotlib figures: ``class_balance`` and, when the columns exist, ``age``,
        ``sex`` and ``site`` against the label."""
        import matplotlib.pyplot as plt

        figs: dict[str, Figure] = {"class_balance": self._plot_balance(plt)}
        if self.age is not None:
            figs["age"] = self._plot_age(plt)
        if self.sex is not None:
            figs["sex"] = self._plot_shares(plt, self.sex, "sex")
        if self.site is not None:
            figs["site"] = self._plot_shares(plt, self.site, "site")
        return figs

    def _plot_balance(self, plt: Any) -> Figure:
        parts = [c for c in self.counts.columns if c not in ("all", "share")]
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(self.classes) + 2), 3.6))
        x = np.arange(len(self.classes))
        width = 0.8 / max(len(parts), 1)
        for i, part in enumerate(parts):
            ax.bar(x + i * width - 0.4 + width / 2, self.counts[part], width, label=part)
        ax.set_xticks(x, self.classes, rotation=30 if len(self.classes) > 6 else 0)
        ax.set_ylabel("images")
        if self.imbalance_ratio > 20:
            ax.set_yscale("log")
            ax.set_ylabel("images (log scale)")
        ax.set_title(f"{self.name}: images per class (imbalance {self.imbalance_ratio:.0f}x)")
        if len(parts) > 1:
            ax.legend()
        fig.tight_layout()
        return fig

    def _plot_age(self, plt: Any) -> Figure:
        col = self.columns["age"] or ""  # only called when an age column exists
        ages = pd.to_numeric(self._frame[col].where(~_missing(self._frame[col])), errors="coerce")
        data = [ages[self._frame["label"] == c].dropna().to_numpy() for c in self.classes]
        fig, ax = plt.subplots(figsize=(max(5.0, 0.9 * len(self.classes) + 2), 3.6))
        keep = [i for i, d in enumerate(data) if len(d)]
        ax.boxplot([data[i] for i in keep], showfliers=False)
        ax.set_xticks(range(1, len(keep) + 1), [self.classes[i] for i in keep])
        ax.set_ylabel(col)
        ax.set_title(f"{self.name}: {col} by class")
        fig.tight_layout()
        return fig

    def _plot_shares(self, plt: Any, table: pd.DataFrame, key: str) -> Figure:
        """Heat map: share of each value within each class (columns sum to 100%)."""
        shares = table / table.sum(axis=0).replace(0, np.nan) * 100
        fig, ax = plt.subplots(
            figsize=(max(5.0, 0.9 * len(self.classes) + 3), max(2.5, 0.35 * len(table) + 1.5))
        )
        image = ax.imshow(shares.fillna(0).to_numpy(), aspect="auto", cmap="Blues", vmin=0)
        ax.set_xticks(range(len(self.classes)), self.classes)
        ax.set_yticks(range(len(table)), table.index)
        for (r, c), value in np.ndenumerate(table.to_numpy()):
            share = shares.iloc[r, c]
            if value:
                ax.text(
                    c,
                    r,
                    f"{share:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if share > 60 else "black",
                )
        fig.colorbar(image, ax=ax, label="% of the class")
        ax.set_title(f"{self.name}: {self.columns[key]} within each class")
        fig.tight_layout()
        return fig

    def save(self, folder: str | os.PathLike[str]) -> list[Path]:
        """Write the tables (CSV), the summary (``summary.txt``) and the figures (PNG)."""
        import matplotlib.pyplot as plt

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "summary.txt"]
        written[0].write_text(self.summary() + "\n")
        tables = {
            "counts": self.counts,
            "groups": self.groups,
            "age": self.age,
            "sex": self.sex,
            "site": self.site,
        }
        for key, table in tables.items():
            if table is not None and not table.empty:
                table.to_csv(out / f"{key}.csv")
                written.append(out / f"{key}.csv")
        for key, fig in self.figures().items():
            fig.savefig(out / f"{key}.png", dpi=110)
            plt.close(fig)
            written.append(out / f"{key}.png")
        return written


def describe(
    data: Records | Any,
    *,
    age: str | None = None,
    sex: str | None = None,
    site: str | None = None,
) -> DatasetDescription:
    """Describe a dataset: counts per class and part, groups, and age, sex and body site
    against the label, as tables (``.counts``, ``.age``, ...), text (``.summary()``) and
    figures (``.figures()``, ``.save(folder)``).

    Args:
        data: Records, a `Split` (or `Fold`, or a list of Records with
            roles), or a dict ``{"train": ..., "test": ...}``.
        age: the age column (default: ``age`` or ``age_approx``, if present).
        sex: the sex column (default: ``sex``, if present).
        site: the body-site column (default: ``localization``,
            ``anatom_site_general_challenge`` or ``anatom_site_general``, if present).

    Returns:
        A `DatasetDescription`.

    Examples:
        >>> from dermnet.data import load_sample, split
        >>> info = describe(split(load_sample("ham10000"), test_size=0.2, seed=0))
        >>> info.counts.loc["nv", ["train", "test", "all"]].tolist()
        [201, 49, 250]
        >>> sorted(info.figures())
        ['age', 'class_balance', 'sex', 'site']
    """
    parts, name = _parts(data)
    first = next(iter(parts.values()))
    classes = first.classes
    counts = pd.DataFrame({k: pd.Series(v.class_counts()) for k, v in parts.items()})
    counts = counts.reindex(list(classes)).fillna(0).astype(int)
    counts["all"] = counts.sum(axis=1) if len(parts) > 1 else counts.iloc[:, 0]
    total = counts["all"].sum()
    counts["share"] = (counts["all"] / total * 100).round(1) if total else 0.0
    counts.index.name = "class"
    frames = []
    for key, rec in parts.items():
        frames.append(rec.frame.assign(_part=key))
    frame = pd.concat(frames, ignore_index=True)
    group_rows = []
    for key, rec in parts.items():
        for col in rec.group_cols:
            groups = rec.groups(col)
            n_groups = len(set(groups))
            group_rows.append(
                {
                    "part": key,
                    "group": col,
                    "images": len(rec),
                    "groups": n_groups,
                    "images_per_group": round(len(rec) / n_groups, 2) if n_groups else 0.0,
                    "groups_with_2+_images": int((pd.Series(groups).value_counts() > 1).sum()),
                }
            )
    groups_table = pd.DataFrame(group_rows)
    age_col = _pick(frame, age, _AGE_COLUMNS, "age")
    sex_col = _pick(frame, sex, _SEX_COLUMNS, "sex")
    site_col = _pick(frame, site, _SITE_COLUMNS, "site")
    age_table = None
    if age_col is not None:
        values = pd.to_numeric(frame[age_col].where(~_missing(frame[age_col])), errors="coerce")
        rows = {}
        for cls in classes:
            v = values[frame["label"] == cls]
            present = v.dropna()
            rows[cls] = {
                "count": int(present.size),
                "missing": int(v.isna().sum()),
                "mean": float(present.mean()) if present.size else np.nan,
                "median": float(present.median()) if present.size else np.nan,
                "q1": float(present.quantile(0.25)) if present.size else np.nan,
                "q3": float(present.quantile(0.75)) if present.size else np.nan,
            }
        age_table = pd.DataFrame(rows).T
        age_table.index.name = "class"
    sex_table = _category_table(frame, sex_col, classes) if sex_col else None
    site_table = _category_table(frame, site_col, classes) if site_col else None
    return DatasetDescription(
        name=name,
        classes=tuple(classes),
        counts=counts,
        groups=groups_table,
        age=age_table,
        sex=sex_table,
        site=site_table,
        columns={"age": age_col, "sex": sex_col, "site": site_col},
        _frame=frame,
    )
