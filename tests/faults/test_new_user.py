"""A new user's HAM10000 folder with faulty files, through every entry point (issue 13).

Each case is a copy of a small HAM10000-layout folder (``HAM10000_metadata.csv`` and
``images/``, five real sample images per class) with one fault (the ``all_faults`` case has
one fault per file, in five files; ``unknown_extensions`` is a class-folder layout). Every
row of `TABLE` runs one entry point a user would (`dermnet.data.load_ham10000`,
`load_csv`, `load_image_folder`, `make_dataset`, `validate` and ``dermnet describe / train
/ predict / evaluate / explain``) and states its exact outcome: a `DermnetError` (or a CLI
exit status) whose message names the file or field, a recorded skip (``excluded`` and a
warning with a count), or the correct value. No row may show a traceback or a raw
TensorFlow error. A row whose fix has not landed is a strict ``xfail`` naming the part of
issue 13 that owns it. tests/faults/README.md shows the same table.

The model is trained once (module fixture, one epoch at 32 px); the victim of the
single-fault cases is a test-split image of that run, so ``evaluate`` reaches it.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from dermnet import DermnetError
from dermnet.cli import main
from dermnet.data import (
    load_csv,
    load_ham10000,
    load_image_folder,
    make_dataset,
    sample_path,
    validate,
)

PER_CLASS = 5  # images per class in the small folder: 35 in all
SIZE = 32
RAW = ("Traceback", "InvalidArgumentError", "StagingError", "function_node", "tensorflow.python")


# -- the folder ---------------------------------------------------------------------------------
@dataclass
class Case:
    """One faulty copy of the folder."""

    name: str
    root: Path  # the HAM10000 layout: HAM10000_metadata.csv + images/
    victims: list[Path] = field(default_factory=list)  # the faulty files (or rows' files)
    upright: Path | None = None  # for the EXIF case: a lossless upright copy of the victim
    folders: Path | None = None  # for the class-folder case

    @property
    def images(self) -> Path:
        return self.root / "images"


def _small_folder(root: Path) -> pd.DataFrame:
    source = sample_path("ham10000")
    meta = pd.read_csv(source / "HAM10000_metadata.csv")
    meta = meta.groupby("dx", group_keys=False).head(PER_CLASS).reset_index(drop=True)
    (root / "images").mkdir(parents=True)
    for image_id in meta["image_id"]:
        shutil.copy(source / "images" / f"{image_id}.jpg", root / "images")
    meta.to_csv(root / "HAM10000_metadata.csv", index=False)
    return meta


def _huge_png(path: Path, side: int = 20_000) -> None:
    """A PNG whose header says ``side`` x ``side`` gray pixels; a few bytes on disk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\0" * (side + 1))  # one row; the rest is never read
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
    path.write_bytes(png + chunk(b"IEND", b""))


def _truncate(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # the header is intact, the scan is cut
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _text(path: Path) -> Path:
    path.write_text("lesion 12, left shoulder, seen 2019-03-02\n")
    return path


def _huge(path: Path) -> Path:
    path.unlink()
    _huge_png(path.with_suffix(".png"))  # same image id, a .png
    return path.with_suffix(".png")


def _rotate(path: Path) -> Path:
    """Store the image turned on its side with EXIF orientation 6 ("rotate to display")."""
    with Image.open(path) as image:
        stored = image.transpose(Image.Transpose.ROTATE_90)  # what a phone writes
    exif = Image.Exif()
    exif[0x0112] = 6
    stored.save(path, exif=exif, quality=95)
    return path


def _upright_copy(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(path) as image:
        upright = ImageOps.exif_transpose(image).convert("RGB")
    out = folder / f"{path.stem}_upright.png"
    upright.save(out)
    return out


def _relabel(root: Path, image_id: str, label: str) -> Path:
    table = pd.read_csv(root / "HAM10000_metadata.csv", keep_default_na=False, dtype=str)
    table.loc[table["image_id"] == image_id, "dx"] = label
    table.to_csv(root / "HAM10000_metadata.csv", index=False)
    return root / "images" / f"{image_id}.jpg"


FILE_FAULTS = {
    "truncated_jpeg": _truncate,
    "zero_byte": _empty,
    "text_as_jpg": _text,
    "huge_png": _huge,
}


def build_case(name: str, base: Path, where: Path, test_ids: list[str]) -> Case:
    """Copy the clean folder ``base`` to ``where`` and put the fault of case ``name`` in."""
    root = where / "ham"
    shutil.copytree(base, root)
    victim = root / "images" / f"{test_ids[0]}.jpg"
    case = Case(name, root)
    if name in FILE_FAULTS:
        case.victims = [FILE_FAULTS[name](victim)]
    elif name == "exif_rotated":
        case.victims = [_rotate(victim)]
        case.upright = _upright_copy(victim, where / "upright")
    elif name == "missing_image":
        victim.unlink()
        case.victims = [victim]
    elif name == "label_spaces":
        case.victims = [_relabel(root, test_ids[0], "   ")]
    elif name == "label_NA":
        case.victims = [_relabel(root, test_ids[0], "NA")]
    elif name == "all_faults":  # one fault per file
        files = [root / "images" / f"{i}.jpg" for i in test_ids[:5]]
        faults = [_truncate, _empty, _text, _huge, _rotate]
        case.victims = [fault(path) for fault, path in zip(faults, files, strict=True)]
    elif name == "unknown_extensions":
        folders = where / "folders"
        meta = pd.read_csv(root / "HAM10000_metadata.csv")
        for image_id, dx in zip(meta["image_id"], meta["dx"], strict=True):
            (folders / dx).mkdir(parents=True, exist_ok=True)
            shutil.copy(root / "images" / f"{image_id}.jpg", folders / dx)
        (folders / "mel" / "scan.heic").write_bytes(b"\0\0\0\x18ftypheic" + b"\0" * 16)
        (folders / "nv" / "notes.txt").write_text("follow up in 6 months\n")
        with Image.open(root / "images" / f"{test_ids[0]}.jpg") as image:
            image.save(folders / "bcc" / "phone.webp", lossless=True)  # supported: kept
        case.folders = folders
        case.victims = [folders / "mel" / "scan.heic", folders / "nv" / "notes.txt"]
    elif name == "layer_image":  # no file fault: a user names the input layer for Grad-CAM
        case.victims = [victim]
    else:  # pragma: no cover - a typo in the table
        raise KeyError(name)
    return case


@dataclass
class World:
    base: Path
    run: Path
    test_ids: list[str]
    tmp: Any
    cases: dict[str, Case] = field(default_factory=dict)

    def case(self, name: str) -> Case:
        if name not in self.cases:
            self.cases[name] = build_case(name, self.base, self.tmp.mktemp(name), self.test_ids)
        return self.cases[name]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    """The clean folder and one run trained on it (1 epoch, 32 px)."""
    base = tmp_path_factory.mktemp("clean") / "ham"
    _small_folder(base)
    run = base.parent / "run"
    code, text = cli(
        [
            "train",
            "--dataset",
            "ham10000",
            "--root",
            str(base),
            "--epochs",
            "1",
            "--image-size",
            str(SIZE),
            "--batch-size",
            "8",
            "-o",
            str(run),
            "--quiet",
        ]
    )
    assert code == 0, text
    split = pd.read_csv(run / "split.csv")
    test_ids = split.loc[split["role"] == "test", "image_id"].tolist()
    assert len(test_ids) >= 5, test_ids
    return World(base, run, test_ids, tmp_path_factory)


# -- running an entry point ----------------------------------------------------------------------
def cli(argv: list[str]) -> tuple[int, str]:
    """Run ``dermnet ARGV`` in this process: exit status, and stdout, stderr and warnings."""
    out, err = io.StringIO(), io.StringIO()
    with (
        warnings.catch_warnings(record=True) as caught,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        warnings.simplefilter("always")
        code = main(argv)
    return code, "\n".join([out.getvalue(), err.getvalue(), *_said(caught)])


def _said(caught: list[warnings.WarningMessage]) -> list[str]:
    """The warnings a user sees (deprecation notices of other libraries left out)."""
    quiet = (DeprecationWarning, PendingDeprecationWarning)
    return [f"warning: {w.message}" for w in caught if not issubclass(w.category, quiet)]


def _records(case: Case, **options: Any) -> Any:
    return load_ham10000(case.root, **options)


def _count(ds: Any) -> int:
    return sum(int(batch[0].shape[0]) for batch in ds)


def _pixels(paths: list[Path]) -> np.ndarray:
    frame = pd.DataFrame({"image_path": [str(p) for p in paths], "label": "x"})
    from dermnet.data import Records

    ds = make_dataset(Records(frame, ["x"]), SIZE, batch_size=None, label_mode=None)
    return np.stack([np.asarray(x) for x in ds])


def _orientation(case: Case) -> str:
    """'upright' when make_dataset reads the EXIF-rotated victim as its upright copy."""
    got, upright = _pixels([case.victims[0], case.upright])
    with Image.open(case.victims[0]) as image:  # as stored, EXIF ignored
        stored = np.asarray(image.convert("RGB").resize((SIZE, SIZE), Image.BILINEAR), float)
    to_upright = float(np.abs(got - upright).mean())
    to_stored = float(np.abs(got - stored).mean())
    verdict = "upright" if to_upright < 3.0 and to_upright < to_stored / 4 else "NOT upright"
    return f"orientation: {verdict} (mean difference {to_upright:.1f} to the upright copy)"


def _excluded(records_or_ds: Any) -> str:
    excluded = getattr(records_or_ds, "excluded", None)
    if excluded is None or len(excluded) == 0:
        return "excluded: none"
    names = [Path(p).name for p in excluded["image_path"]]
    return f"excluded {len(excluded)}: {names} {excluded['reason'].tolist()}"


def entry_load_ham10000(case: Case, world: World, tmp: Path) -> str:
    return f"{len(_records(case))} images"


def entry_load_ham10000_verify(case: Case, world: World, tmp: Path) -> str:
    return f"{len(_records(case, verify=True))} images"


def entry_load_ham10000_skip(case: Case, world: World, tmp: Path) -> str:
    records = _records(case, verify=True, on_error="skip")
    return f"{len(records)} images; {_excluded(records)}"


def entry_load_csv(case: Case, world: World, tmp: Path) -> str:
    records = load_csv(
        case.root / "HAM10000_metadata.csv",
        case.images,
        image_col="image_id",
        label_col="dx",
        group_col="lesion_id",
    )
    return f"{len(records)} images"


def entry_load_image_folder(case: Case, world: World, tmp: Path) -> str:
    records = load_image_folder(case.folders)
    return f"{len(records)} images; {_excluded(records)}"


def entry_make_dataset(case: Case, world: World, tmp: Path) -> str:
    records = load_image_folder(case.folders) if case.folders else _records(case)
    text = f"{_count(make_dataset(records, SIZE, 8))} images"
    return f"{text}; {_orientation(case)}" if case.upright else text


def entry_make_dataset_skip(case: Case, world: World, tmp: Path) -> str:
    ds = make_dataset(_records(case), SIZE, 8, on_error="skip")
    return f"{_count(ds)} images; {_excluded(ds)}"


def entry_validate(case: Case, world: World, tmp: Path) -> str:
    report = validate(_records(case))
    return f"ok={report.ok}\n{report.summary()}"


def entry_describe(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    if case.folders:
        return cli(["describe", "image_folder", str(case.folders)])
    return cli(["describe", "ham10000", str(case.root)])


def entry_describe_validate(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    return cli(["describe", "ham10000", str(case.root), "--validate"])


def entry_train(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    out = tmp / "run"
    argv = ["train", "--dataset", "ham10000", "--root", str(case.root), "--epochs", "1"]
    code, text = cli([*argv, "--image-size", str(SIZE), "--batch-size", "8", "-o", str(out)])
    left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    return code, f"{text}\nleft in the run folder: {left or 'nothing'}"


def _predictions(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text.split("\n\n")[0]))


def entry_predict(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    folder = case.folders or case.images
    code, text = cli(["predict", str(world.run), str(folder), "--quiet"])
    if code == 0:
        table = _predictions(text)
        text += f"\nscored {len(table)} of {sum(p.is_file() for p in folder.rglob('*'))} files"
        if case.upright:
            upright = _predictions(cli(["predict", str(world.run), str(case.upright), "-q"])[1])
            row = table[table["image"].str.endswith(case.victims[0].name)]
            columns = [c for c in table.columns if c.startswith("p_")]
            gap = float(np.abs(row[columns].to_numpy() - upright[columns].to_numpy()).max())
            same = "same" if gap < 0.02 else "DIFFERENT"
            text += f"\n{same} probabilities as the upright copy (largest gap {gap:.4f})"
    return code, text


def _run_copy(case: Case, world: World, tmp: Path) -> Path:
    """The trained run, its split.csv pointing at this case's copy of the files."""
    run = tmp / "run"
    run.mkdir()
    for name in ("config.json", "model.keras"):
        shutil.copy(world.run / name, run / name)
    split = pd.read_csv(world.run / "split.csv")
    paths = []
    for image_id in split["image_id"]:
        found = sorted(case.images.glob(f"{image_id}.*"))
        paths.append(str(found[0] if found else case.images / f"{image_id}.jpg"))
    split["image_path"] = paths
    split.to_csv(run / "split.csv", index=False)
    return run


def entry_evaluate(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    return cli(["evaluate", str(_run_copy(case, world, tmp))])


def entry_explain(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    victim = case.victims[0]
    code, text = cli(["explain", "--model", str(world.run), str(victim), "-o", str(tmp / "x")])
    if code == 0 and case.upright:
        import json

        got = json.loads((tmp / "x" / "explanations.json").read_text())["images"][0]
        cli(["explain", "--model", str(world.run), str(case.upright), "-o", str(tmp / "u")])
        want = json.loads((tmp / "u" / "explanations.json").read_text())["images"][0]
        gap = abs(got["probability"] - want["probability"])
        same = "same" if got["predicted"] == want["predicted"] and gap < 0.02 else "DIFFERENT"
        text += f"\n{same} prediction as the upright copy (gap {gap:.4f})"
    return code, text


def entry_explain_layer_image(case: Case, world: World, tmp: Path) -> tuple[int, str]:
    argv = ["explain", "--model", str(world.run), "--layer", "image", str(case.victims[0])]
    return cli([*argv, "-o", str(tmp / "x")])


ENTRIES = {
    "load_ham10000": entry_load_ham10000,
    "load_ham10000(verify=True)": entry_load_ham10000_verify,
    "load_ham10000(verify=True, on_error='skip')": entry_load_ham10000_skip,
    "load_csv": entry_load_csv,
    "load_image_folder": entry_load_image_folder,
    "make_dataset": entry_make_dataset,
    "make_dataset(on_error='skip')": entry_make_dataset_skip,
    "validate": entry_validate,
    "dermnet describe": entry_describe,
    "dermnet describe --validate": entry_describe_validate,
    "dermnet train": entry_train,
    "dermnet predict RUN FOLDER": entry_predict,
    "dermnet evaluate RUN": entry_evaluate,
    "dermnet explain": entry_explain,
    "dermnet explain --layer image": entry_explain_layer_image,
}


# -- the table ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    """Expected outcome: ``kind`` is ``ok``, ``exit N`` or an error class name; ``pattern``
    is searched in the text (``{victim}`` stands for the faulty file's name)."""

    case: str
    entry: str
    kind: str
    pattern: str
    outcome: str  # for the README table
    open_in: str | None = None  # the part of issue 13 whose fix is not landed (strict xfail)


V = "{victim}"
NAMED = rf"{V}"
UNREAD = r"cannot be (read|decoded)"
BLANK = r"(empty|blank) label"
NA = r"'NA'.*read as a missing value"

TABLE: list[Row] = []


def rows(case: str, *entries: tuple[Any, ...]) -> None:
    for entry in entries:
        TABLE.append(Row(case, *entry))


for _case, _what in [
    ("truncated_jpeg", r"cannot be decoded: OSError: image file is truncated"),
    ("zero_byte", r"empty file \(0 bytes\)"),
    ("text_as_jpg", r"not a readable image"),
    ("huge_png", r"too many pixels"),
]:
    _decode = _case == "truncated_jpeg"  # the header is intact: found only when decoding
    rows(
        _case,
        ("load_ham10000", "ok", r"^35 images$", "loads 35 rows (checks existence only)"),
        (
            "load_ham10000(verify=True)",
            "DataError",
            rf"(?s){V}.*on_error='skip'",
            "DataError naming the file, says how to skip",
        ),
        (
            "load_ham10000(verify=True, on_error='skip')",
            "ok",
            rf"^34 images; excluded 1: \['{V}'\]",
            "34 rows; the file in `records.excluded`",
        ),
        ("load_csv", "ok", r"^35 images$", "loads 35 rows (checks existence only)"),
        (
            "make_dataset",
            "DataError",
            rf"(?s){UNREAD}.*{V}.*{_what}.*on_error='skip'",
            "DataError naming the file and the reason, says how to skip",
        ),
        (
            "make_dataset(on_error='skip')",
            "ok",
            rf"(?s)^34 images; excluded 1: \['{V}'\].*excluded 1 of 35",
            "34 images; the file in `ds.excluded`; a warning with the count",
        ),
        ("validate", "ok", rf"(?s)ok=False.*: 1 \(.*{V}\)", "report not ok, names the file"),
        ("dermnet describe", "exit 0", r"akiec", "exit 0: counts and tables (no decoding)"),
        (
            "dermnet describe --validate",
            "exit 1",
            rf"(?s)Validation.*: 1 \(.*{V}\)",
            "exit 1; the report names the file",
        ),
        (
            "dermnet train",
            "exit 1",
            rf"(?s){UNREAD}.*{V}" + ("" if _decode else ".*left in the run folder: nothing"),
            "exit 1 naming the file; "
            + (
                "found when the test split is decoded, after the epoch (header intact): "
                "the trained epoch stays in the run folder"
                if _decode
                else "found from its header before training: no run folder left"
            ),
        ),
        (
            "dermnet predict RUN FOLDER",
            "exit 1",
            rf"not readable images: .*{V}.*{_what}",
            "exit 1 naming the file",
        ),
        ("dermnet evaluate RUN", "exit 1", rf"(?s){V}", "exit 1 naming the file"),
        (
            "dermnet explain",
            "exit 1",
            rf"not readable images: .*{V}.*{_what}",
            "exit 1 naming the file",
        ),
    )

rows(
    "exif_rotated",
    ("load_ham10000(verify=True)", "ok", r"^35 images$", "loads 35 rows"),
    (
        "make_dataset",
        "ok",
        r"^35 images; orientation: upright",
        "35 images; the rotated photo is read upright (as PIL shows it)",
    ),
    ("validate", "ok", r"ok=True", "report ok"),
    (
        "dermnet predict RUN FOLDER",
        "exit 0",
        r"(?s)scored 35 of 35 files.*same probabilities as the upright copy",
        "exit 0; the same probabilities as an upright copy",
    ),
    (
        "dermnet explain",
        "exit 0",
        r"same prediction as the upright copy",
        "exit 0; explained as the upright copy",
    ),
)
rows(
    "missing_image",
    (
        "load_ham10000",
        "MissingFileError",
        rf"1 image file\(s\).*missing: .*{V}.*on_error='skip'",
        "MissingFileError naming the file, says how to skip",
    ),
    (
        "load_ham10000(verify=True, on_error='skip')",
        "ok",
        rf"^34 images; excluded 1: \['{V}'\] \['missing file'\]",
        "34 rows; the file in `excluded`",
    ),
    ("load_csv", "MissingFileError", r"missing: .*{stem}", "MissingFileError naming the file"),
    ("dermnet describe", "exit 1", rf"missing: .*{V}", "exit 1 naming the file"),
    (
        "dermnet train",
        "exit 1",
        rf"(?s)missing: .*{V}.*left in the run folder: nothing",
        "exit 1 naming the file; no run folder left",
    ),
    ("dermnet evaluate RUN", "exit 1", rf"(?s){V}", "exit 1 naming the file"),
)
for _label_case, _label_pattern, _label_said in [
    ("label_spaces", BLANK, "blank label"),
    ("label_NA", NA, "'NA' read as missing"),
]:
    rows(
        _label_case,
        (
            "load_ham10000",
            "DataError",
            rf"(?s)HAM10000_metadata\.csv.*{_label_pattern}.*row",
            f"DataError: {_label_said}, naming the CSV and the row",
        ),
        (
            "load_csv",
            "DataError",
            rf"(?s)HAM10000_metadata\.csv.*{_label_pattern}.*row",
            f"DataError: {_label_said}, naming the CSV, column and row",
        ),
        (
            "dermnet describe",
            "exit 1",
            rf"(?s){_label_pattern}.*row",
            f"exit 1: {_label_said}, the row",
        ),
        (
            "dermnet train",
            "exit 1",
            rf"(?s){_label_pattern}.*row.*left in the run folder: nothing",
            f"exit 1: {_label_said}, the row; no run folder left",
        ),
    )
rows(
    "unknown_extensions",
    (
        "load_image_folder",
        "ok",
        r"(?s)^36 images; excluded 2: \['scan\.heic', 'notes\.txt'\].*warning: .*2 file\(s\)",
        "36 images (.webp kept); .heic and .txt in `excluded`; a warning with the count",
    ),
    ("make_dataset", "ok", r"^36 images$", "36 images"),
    (
        "dermnet describe",
        "exit 0",
        r"(?s)excluded: 2.*warning: .*2 file\(s\).*scan\.heic",
        "exit 0; the 2 files reported (count and names)",
    ),
    (
        "dermnet predict RUN FOLDER",
        "exit 0",
        r"(?s)scored 36 of 38 files.*2 file\(s\).*(scan\.heic|notes\.txt)",
        "exit 0; 36 scored, the 2 other files reported",
    ),
)
rows(
    "all_faults",
    (
        "load_ham10000(verify=True, on_error='skip')",
        "ok",
        r"^31 images; excluded 4:",
        "31 rows; the 4 bad files in `excluded`, each with its reason",
    ),
    (
        "make_dataset(on_error='skip')",
        "ok",
        r"(?s)^31 images; excluded 4:.*excluded 4 of 35",
        "31 images; 4 in `excluded`; a warning with the count",
    ),
    (
        "validate",
        "ok",
        r"(?s)ok=False.*unreadable image: 3 .*image too large: 1",
        "report not ok: 3 unreadable, 1 too large, each named",
    ),
    (
        "dermnet describe --validate",
        "exit 1",
        r"(?s)unreadable image: 3 .*image too large: 1",
        "exit 1; the report names the 4 files",
    ),
    (
        "dermnet train",
        "exit 1",
        r"(?s)3 of \d+ image file\(s\) cannot be read.*nothing",
        "exit 1 naming the 3 files found from their headers; no run folder left",
    ),
)
rows(
    "layer_image",
    (
        "dermnet explain --layer image",
        "exit 1",
        r"'target_layer' parameter of GradCAM .* Got 'image' instead: an input layer.*"
        r"Usable layers: .*'simple_cnn/block3_conv'",
        "exit 1: the input layer named, with the usable layers (not a StagingError)",
    ),
)

#: Rows whose fix has not landed yet (strict xfail): (case, entry) -> the part of issue 13.
_RAW_DECODE = (
    "issue 13 part A: a JPEG truncated after its header fails inside tf.data as a tensorflow "
    "InvalidArgumentError (the DataError text inside it names the file)"
)
OPEN: dict[tuple[str, str], str] = {
    ("truncated_jpeg", "make_dataset"): _RAW_DECODE,
}
TABLE = [
    Row(r.case, r.entry, r.kind, r.pattern, r.outcome, OPEN.get((r.case, r.entry))) for r in TABLE
]
assert set(OPEN) <= {(r.case, r.entry) for r in TABLE}


def _param(row: Row) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=row.open_in)] if row.open_in else []
    return pytest.param(row, id=f"{row.case}-{row.entry}", marks=marks)


@pytest.mark.parametrize("row", [_param(row) for row in TABLE])
def test_new_user_fault_table(row: Row, world: World, tmp_path: Path) -> None:
    case = world.case(row.case)
    victim = case.victims[0] if case.victims else Path("?")
    pattern = row.pattern.replace("{victim}", re.escape(victim.name))
    pattern = pattern.replace("{stem}", re.escape(victim.stem))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = ENTRIES[row.entry](case, world, tmp_path)
        except DermnetError as exc:  # anything else is a raw crash: the row fails
            result = (type(exc).__name__, str(exc))
    if isinstance(result, str):
        kind, text = "ok", result
    elif isinstance(result[0], int):
        kind, text = f"exit {result[0]}", result[1]
    else:
        kind, text = result
    text = "\n".join([text, *_said(caught)])
    raw = [word for word in RAW if word in text]
    assert not raw, f"raw error text {raw} in:\n{text}"
    assert kind == row.kind, text
    assert re.search(pattern, text, re.MULTILINE), f"{pattern!r} not in:\n{text}"


def test_every_case_and_entry_point_is_in_the_table() -> None:
    cases = {row.case for row in TABLE}
    assert cases == {
        "truncated_jpeg",
        "zero_byte",
        "text_as_jpg",
        "huge_png",
        "exif_rotated",
        "missing_image",
        "label_spaces",
        "label_NA",
        "unknown_extensions",
        "all_faults",
        "layer_image",
    }
    assert {row.entry for row in TABLE} == set(ENTRIES)
    assert len({(row.case, row.entry) for row in TABLE}) == len(TABLE)


# -- the README table -----------------------------------------------------------------------------
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- table: begin -->", "<!-- table: end -->"


def markdown_table() -> str:
    """The table of tests/faults/README.md, built from `TABLE`."""
    lines = ["| case | entry point | outcome | status |", "| --- | --- | --- | --- |"]
    for row in TABLE:
        status = f"xfail ({_part(row.open_in)})" if row.open_in else "passes"
        lines.append(f"| `{row.case}` | `{row.entry}` | {row.outcome} | {status} |")
    reasons = sorted({row.open_in for row in TABLE if row.open_in})
    if reasons:
        lines += ["", "Open (strict xfail until the fix lands):", ""]
        lines += [f"- {_part(r)}: {r.split(': ', 1)[1]}" for r in reasons]
    return "\n".join(lines)


def _part(reason: str) -> str:
    return reason.split(":")[0].replace("issue 13 ", "")


def test_the_readme_shows_this_table() -> None:
    text = README.read_text(encoding="utf-8")
    shown = text.split(BEGIN)[1].split(END)[0].strip()
    assert shown == markdown_table(), (
        "tests/faults/README.md is out of date: paste markdown_table() between the markers"
    )
