"""K-fold cross-validation of a run config: one run folder per fold, out-of-fold predictions.

`cross_validate` splits the data once (a held-out test part, then ``k`` grouped,
stratified folds of the rest, `dermnet.data.kfold`), trains one run folder per fold with
`dermnet.train.train_run` and scores each fold's held-out images with its model. A CV
folder holds:

- ``cv.json``: the run config, ``k``, the group column, the seed, the classes;
- ``folds.csv``: every image with its fold (``-1``: the held-out test part);
- ``fold_<i>/``: a run folder (train = the other folds, val = fold ``i``, test = the
  held-out part); ``fold_<i>/oof.csv`` once its fold is done;
- ``oof.csv``: the out-of-fold predictions, every image of the folds exactly once:
  ``image_path``, ``group``, ``label``, ``fold``, ``p_<class>``;
- ``cv_metrics.json`` and ``report.html``: pooled out-of-fold metrics and per-fold
  metrics with bootstrap intervals, and their spread across folds.

A CV run resumes fold by fold: a fold with its ``oof.csv`` is skipped, an interrupted
fold resumes from its last epoch (`train_run` with ``resume=True``).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from dermnet._core.errors import DataError, ParameterError
from dermnet._core.validation import check_bool, check_float, check_int, fail
from dermnet.train.run_config import RunConfig
from dermnet.train.run_folder import read_json, write_atomic, write_json

__all__ = ["CVResult", "add_cv_arguments", "cross_validate", "read_oof", "run_cv"]

_WHERE = "cross_validate"
CV_KIND = "dermnet-cv"


@dataclasses.dataclass(frozen=True)
class CVResult:
    """What `cross_validate` returns.

    Attributes:
        path: the CV folder.
        folds: the fold run folders, in fold order.
        oof: the out-of-fold predictions (``oof.csv``) as a ``pandas.DataFrame``.
        pooled: the `dermnet.metrics.EvaluationReport` of all out-of-fold predictions.
        per_fold: one report per fold (its held-out images).
        spread: ``{metric: {"mean", "sd", "min", "max"}}`` of the per-fold values.
        trained: the folds trained (or resumed) by this call; the others were done.
    """

    path: Path
    folds: tuple[Path, ...]
    oof: Any
    pooled: Any
    per_fold: tuple[Any, ...]
    spread: dict[str, dict[str, float | None]]
    trained: tuple[int, ...]


def _check_groups_per_class(records: Any, group_by: str | None, k: int) -> None:
    """A class must reach every fold: at least ``k`` groups of it (the message names it)."""
    groups = records.groups(group_by) if group_by else np.asarray(records.paths)
    labels = records.labels
    total = len(np.unique(groups))
    if total < k:
        raise ParameterError(
            f"The 'k' parameter of {_WHERE} must be at most the number of "
            f"{group_by or 'image'} groups ({total}). Got {k} instead."
        )
    short = {}
    for i, name in enumerate(records.classes):
        n = len(np.unique(groups[labels == i]))
        if 0 < n < k:
            short[name] = n
    if short:
        raise ParameterError(
            f"Every class of {_WHERE} needs at least k={k} {group_by or 'image'} groups, one "
            f"per fold; these have fewer: {short}. Use fewer folds, or merge or drop the "
            "class."
        )


def _prepare(config: RunConfig, out: Path, k: int, group_by: Any, test_size: float, log: Any):
    """Split the data into folds and write ``folds.csv`` and ``cv.json`` (``cv.json`` last)."""
    from dermnet.data import kfold, split
    from dermnet.train.run import load_run_records

    records = load_run_records(config, log)
    group = group_by if group_by is not None else config.group_by
    group = "auto" if group is None else group
    if group == "auto":
        group = records.group_cols[0] if records.group_cols else None
    elif group not in records.frame.columns:
        raise fail(
            "group_by", _WHERE, f"a column of the records ({list(records.frame.columns)})", group
        )
    pool, holdout = records, None
    if test_size > 0:
        parts = split(records, test_size=test_size, group_by=group, seed=config.seed)
        pool, holdout = parts.train, parts.test
    _check_groups_per_class(pool, group, k)
    folds = kfold(pool, k, group_by=group, seed=config.seed)
    fold_of = {}
    for fold in folds:
        fold_of.update(dict.fromkeys(fold.val.paths, fold.index))
    table = pool.frame
    table["fold"] = [fold_of[p] for p in pool.paths]
    if holdout is not None:
        table = _concat(table, holdout.frame.assign(fold=-1))
    table["group"] = (
        np.concatenate([pool.groups(group), holdout.groups(group)])
        if holdout is not None
        else pool.groups(group)
    )
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "folds.csv", table.to_csv(index=False))
    if config.metadata:
        from dermnet.data import MetadataEncoder

        encoder = MetadataEncoder().fit(pool)
        write_json(out / "metadata_encoder.json", encoder.to_dict())
    info = {
        "kind": CV_KIND,
        "k": k,
        "group_by": group,
        "test_size": test_size,
        "seed": config.seed,
        "run": config.to_dict(),
        "classes": list(records.classes),
        "dataset_name": records.name,
        "group_cols": list(records.group_cols),
        "metadata_cols": list(records.metadata_cols),
    }
    write_json(out / "cv.json", info)
    return info


def _concat(a: Any, b: Any) -> Any:
    import pandas as pd

    return pd.concat([a, b], ignore_index=True)


def _records(info: dict[str, Any], table: Any, role: str) -> Any:
    from dermnet.data import Records

    columns = [c for c in table.columns if c not in ("fold", "group")]
    return Records(
        table[columns],
        info["classes"],
        name=info["dataset_name"],
        group_cols=tuple(info["group_cols"]),
        metadata_cols=tuple(info["metadata_cols"]),
        role=role,
    )


def _train_fold(
    info: dict[str, Any], table: Any, i: int, fold_dir: Path, cv_dir: Path, **options: Any
) -> None:
    """Train fold ``i`` with `train_run`: a new run on the fold's split, or resume it.

    A new fold trains on the other folds, with fold ``i`` as its validation split and the
    held-out part as its test split; a metadata run uses the CV's shared encoder.
    """
    from dermnet.data import MetadataEncoder, Split
    from dermnet.train.run import train_run

    if (fold_dir / "config.json").is_file():
        train_run(None, fold_dir, resume=True, **options)
        return
    config = RunConfig.from_dict(info["run"])
    pool = table[table["fold"] >= 0]
    val_share = float((pool["fold"] == i).sum()) / len(table)
    fold_config = dataclasses.replace(config, val_size=round(min(val_share, 0.99), 6))
    train = _records(info, pool[pool["fold"] != i], "train")
    val = _records(info, pool[pool["fold"] == i], "val")
    held = table[table["fold"] < 0]
    test = _records(info, held, "test") if len(held) else None
    encoder = None
    if config.metadata:
        encoder = MetadataEncoder.from_dict(read_json(cv_dir / "metadata_encoder.json"))
    train_run(
        fold_config,
        fold_dir,
        parts=Split(train, val, test),  # type: ignore[arg-type]  # test may be absent
        metadata_encoder=encoder,
        extra_facts={"cv": {"folder": str(cv_dir.resolve()), "fold": i, "k": info["k"]}},
        **options,
    )


def _score_fold(fold_dir: Path, i: int, table: Any) -> Any:
    """Score fold ``i``'s held-out images with its model; write ``oof.csv`` (marks it done)."""
    import pandas as pd

    from dermnet.train.run_folder import RunFolder

    folder = RunFolder(fold_dir)
    records = folder.records("val")
    images, metadata = folder.read_records(records)
    scores = folder.score(folder.load_model(), images, metadata)
    groups = dict(zip(table["image_path"].astype(str), table["group"].astype(str), strict=True))
    oof = pd.DataFrame(
        {
            "image_path": records.paths,
            "group": [groups[p] for p in records.paths],
            "label": records.frame["label"].astype(str).to_numpy(),
            "fold": i,
        }
    )
    for c, name in enumerate(folder.classes):
        oof[f"p_{name}"] = scores[:, c]
    write_atomic(fold_dir / "oof.csv", oof.to_csv(index=False))
    return oof


def read_oof(path: str | os.PathLike[str], classes: Any = None) -> tuple[Any, np.ndarray]:
    """Read an ``oof.csv``: the table and its ``(n, classes)`` probabilities.

    Args:
        path: an ``oof.csv`` (or the CV folder holding one).
        classes: the class order (default: the ``p_`` columns in file order).
    """
    import pandas as pd

    path = Path(path)
    if path.is_dir():
        path = path / "oof.csv"
    table = pd.read_csv(path)
    names = [c[2:] for c in table.columns if c.startswith("p_")] if classes is None else classes
    missing = [f"p_{c}" for c in names if f"p_{c}" not in table.columns]
    if missing:
        raise DataError(f"The out-of-fold file {path} has no column(s) {missing}.")
    return table, table[[f"p_{c}" for c in names]].to_numpy(dtype=np.float64)


def cross_validate(
    config: RunConfig,
    k: int = 5,
    out: str | os.PathLike[str] = "runs/cv",
    *,
    group_by: str | None = None,
    test_size: float | None = None,
    resume: bool = True,
    n_bootstrap: int = 1000,
    log: Callable[[str], None] = print,
    verbose: int | str = 0,
) -> CVResult:
    """Cross-validate a run config: ``k`` grouped, stratified folds, one run folder each.

    The data are loaded as `train_run` loads them; a held-out test part (``test_size``,
    grouped) is set aside first, and the rest is split into ``k`` folds
    (`dermnet.data.kfold`: no lesion or patient in two folds, each class spread evenly).
    Fold ``i`` trains on the other folds, with fold ``i`` as its validation split (early
    stopping, best model), and its model scores fold ``i``: the out-of-fold predictions.
    For a metadata run the metadata encoder is fitted once on all folds (its statistics
    use no labels), so the fold models share it and form one ensemble.

    Args:
        config: the run config of every fold.
        k: number of folds, >= 2.
        out: the CV folder.
        group_by: the group column (``"lesion_id"``, ``"patient_id"``); ``None``: the
            config's ``group_by``, else the dataset's first group column.
        test_size: share of images held out from every fold (kept as each fold's test
            split, for the fold ensemble); ``None``: the config's ``test_size``; 0: none.
        resume: continue the CV in ``out`` (finished folds are skipped, an interrupted
            one resumes from its last epoch); ``False`` refuses a folder that holds one.
        n_bootstrap: bootstrap resamples for the 95% intervals.
        log: receives progress lines.
        verbose: Keras' own progress output.

    Returns:
        A `CVResult`.

    Raises:
        ParameterError: a bad parameter; fewer groups than folds; a class with fewer
            groups than folds (named); ``out`` holds a CV of another config.

    Examples:
        >>> config = RunConfig(sample="ham10000")
        >>> result = cross_validate(config, k=5, out="runs/cv")  # doctest: +SKIP
        >>> result.pooled.balanced_accuracy, result.spread["balanced_accuracy"]  # doctest: +SKIP
    """
    import pandas as pd

    if not isinstance(config, RunConfig):
        raise fail("config", _WHERE, "a RunConfig", type(config).__name__)
    config.validate(where=_WHERE)
    k = check_int(k, "k", _WHERE, low=2)
    resume = check_bool(resume, "resume", _WHERE)
    n_bootstrap = check_int(n_bootstrap, "n_bootstrap", _WHERE, low=0)
    if test_size is None:
        test_size = config.test_size
    test_size = check_float(test_size, "test_size", _WHERE, low=0.0, high=1.0, high_open=True)
    cv_dir = Path(out)
    if (cv_dir / "cv.json").is_file():
        if not resume:
            raise ParameterError(
                f"The folder {cv_dir} already holds a cross-validation; resume it "
                "(resume=True) or choose another 'out' folder."
            )
        info = read_json(cv_dir / "cv.json", "cross-validation config")
        asked = {"run": config.to_dict(), "k": k, "test_size": test_size}
        for key, value in asked.items():
            if info.get(key) != value:
                raise ParameterError(
                    f"The folder {cv_dir} holds a cross-validation with another {key!r} "
                    f"({info.get(key)!r}, asked {value!r}); choose another 'out' folder."
                )
        log(f"Resuming the cross-validation in {cv_dir}")
    else:
        info = _prepare(config, cv_dir, k, group_by, test_size, log)
    table = pd.read_csv(cv_dir / "folds.csv", keep_default_na=True)
    trained = []
    oofs = []
    for i in range(k):
        fold_dir = cv_dir / f"fold_{i}"
        if (fold_dir / "oof.csv").is_file():
            log(f"Fold {i + 1}/{k}: done already, skipped")
            oofs.append(pd.read_csv(fold_dir / "oof.csv"))
            continue
        log(f"Fold {i + 1}/{k}: training in {fold_dir}")
        _train_fold(info, table, i, fold_dir, cv_dir, evaluate_on=(), log=log, verbose=verbose)
        oofs.append(_score_fold(fold_dir, i, table))
        trained.append(i)
        log(f"Fold {i + 1}/{k}: done")
    from dermnet.train.cv_report import summarize

    oof = pd.concat(oofs, ignore_index=True)
    pool = table[table["fold"] >= 0]
    counts = oof["image_path"].value_counts()
    if len(oof) != len(pool) or set(counts.index) != set(pool["image_path"]) or counts.max() > 1:
        raise DataError(
            f"The out-of-fold predictions of {cv_dir} do not cover every image of the folds "
            f"exactly once ({len(oof)} rows for {len(pool)} images): a fold's oof.csv is "
            "stale. Delete the fold folders' oof.csv files and run again."
        )
    write_atomic(cv_dir / "oof.csv", oof.to_csv(index=False))
    pooled, per_fold, spread = summarize(cv_dir, info, oof, n_bootstrap=n_bootstrap)
    log(f"Cross-validation report: {cv_dir / 'report.html'}")
    return CVResult(
        cv_dir,
        tuple(cv_dir / f"fold_{i}" for i in range(k)),
        oof,
        pooled,
        tuple(per_fold),
        spread,
        tuple(trained),
    )


# -- command line (``dermnet cv``) ------------------------------------------------------


def add_cv_arguments(parser: Any) -> None:
    """Add the options of ``dermnet cv`` to an ``argparse`` parser.

    The run config comes from ``--recipe`` and ``--config`` as for ``dermnet train``; a
    parser that also has the per-field options of ``dermnet train`` (``--model``,
    ``--epochs``, ...) overrides them, since `run_cv` reads every `RunConfig` field it
    finds on the parsed arguments.
    """
    parser.add_argument("--recipe", metavar="NAME", help="start from this built-in recipe")
    parser.add_argument("--config", metavar="FILE", help="a TOML run file (field = value lines)")
    parser.add_argument(
        "--folds", "-k", type=int, default=5, metavar="K", help="number of folds (default: 5)"
    )
    parser.add_argument(
        "--output", "-o", default=None, help="the CV folder (default: runs/cv-<recipe or model>)"
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=None,
        metavar="X",
        help="share of images held out of every fold (default: the config's test_size; 0: none)",
    )
    parser.add_argument(
        "--no-resume",
        dest="resume",
        action="store_false",
        help="refuse a CV folder that exists (default: resume it fold by fold)",
    )
    parser.add_argument(
        "--ensemble",
        action="store_true",
        help="also combine the fold models into OUTPUT/ensemble and evaluate it on the "
        "held-out images",
    )
    parser.add_argument(
        "--n-bootstrap", type=int, default=1000, metavar="N", help="bootstrap resamples"
    )
    if not any("--quiet" in a.option_strings for a in parser._actions):
        parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def run_cv(args: Any) -> int:
    """Run ``dermnet cv`` from parsed `add_cv_arguments` options; return the exit status."""
    from dermnet.train.run_config import load_run_config

    names = [n for n in RunConfig.field_names() if n != "recipe" and hasattr(args, n)]
    overrides = {n: getattr(args, n) for n in names if getattr(args, n) is not None}
    if overrides.get("dataset") is not None:
        overrides["sample"] = None
    if overrides.get("sample") is not None:
        overrides.update(dataset=None, root=None)
    config = load_run_config(args.config, recipe=args.recipe, overrides=overrides)
    quiet = bool(getattr(args, "quiet", False))

    def log(line: str) -> None:
        if not quiet:
            print(line, flush=True)

    out = args.output or f"runs/cv-{config.recipe or config.model}"
    result = cross_validate(
        config,
        k=args.folds,
        out=out,
        test_size=args.holdout,
        resume=args.resume,
        n_bootstrap=args.n_bootstrap,
        log=log,
    )
    spread = result.spread["balanced_accuracy"]
    print(
        f"Out-of-fold balanced accuracy {_text(result.pooled, 'balanced_accuracy')}, macro AUC "
        f"{_text(result.pooled, 'macro_auc')}; across folds "
        f"{_number(spread['mean'])} +/- {_number(spread['sd'])} "
        f"(min {_number(spread['min'])}, max {_number(spread['max'])})"
    )
    if args.ensemble:
        from dermnet.train.ensemble import build_ensemble
        from dermnet.train.run import evaluate_run

        folder = build_ensemble(result.folds, result.path / "ensemble", overwrite=True)
        print(f"Ensemble of {len(result.folds)} fold models: {folder.path}")
        if folder.info.get("split", {}).get("test"):
            report = evaluate_run(folder.path, "test", n_bootstrap=args.n_bootstrap)
            print(
                f"Ensemble on the held-out images: balanced accuracy "
                f"{_text(report, 'balanced_accuracy')}, macro AUC {_text(report, 'macro_auc')}"
            )
    return 0


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _text(report: Any, name: str) -> str:
    ci = (report.intervals or {}).get(name)
    return _number(getattr(report, name)) + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
