"""The bookkeeping of a preprocessing cache: manifest, journal and source fingerprints.

The manifest, ``dermnet_preprocess.json`` at the cache's root, records the pipeline
dict, the dermnet version, the counts, the errors and, per output, the fingerprint of
its source (``"size mtime_ns config-digest"``). Chunks append what they wrote to a
journal as they finish; the journal is folded into the manifest at the end, and read
back when a killed run is resumed.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from dermnet._core.errors import ParameterError

__all__ = ["MANIFEST_NAME"]

#: The manifest file written at the root of a cache.
MANIFEST_NAME = "dermnet_preprocess.json"
# Appended as chunks finish (output -> source key), folded into the manifest at the end.
_JOURNAL_NAME = ".dermnet_preprocess.journal"
_SOURCES_FORMAT = "output path -> 'source size in bytes, source mtime in ns, config digest'"


def _source_key(path: Path, config: str) -> str | None:
    """What an output records of its source: size, mtime in ns and the config digest."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return f"{stat.st_size} {stat.st_mtime_ns} {config}"


def _config_digest(pipeline: dict[str, Any], image_format: str) -> str:
    """A short digest of what makes an output from a source: the pipeline and the format."""
    text = json.dumps([_strip_version(pipeline), image_format], sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Write JSON under a temporary name and rename: a kill never leaves half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    os.replace(tmp, path)


def _strip_version(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _strip_version(v) for k, v in d.items() if k != "dermnet_version"}
    if isinstance(d, list):
        return [_strip_version(v) for v in d]
    return d


def _same_pipeline(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return bool(_strip_version(a) == _strip_version(b))


def _recorded_sources(manifest_path: Path, journal_path: Path) -> dict[str, str]:
    """Output -> recorded source key, from the manifest and an interrupted run's journal."""
    recorded: dict[str, str] = {}
    try:
        previous = json.loads(manifest_path.read_text())
    except (OSError, ValueError):
        previous = None
    if isinstance(previous, dict) and isinstance(previous.get("sources"), dict):
        recorded.update((k, v) for k, v in previous["sources"].items() if isinstance(v, str))
    try:
        lines = journal_path.read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:  # the last line of a killed run may be cut short
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("output"), str):
            continue
        if isinstance(entry.get("source"), str):
            recorded[entry["output"]] = entry["source"]
        else:
            recorded.pop(entry["output"], None)
    return recorded


def _check_collisions(sources: list[Path], outputs: list[Path], root: Path) -> None:
    seen: dict[Path, Path] = {}
    clashes: list[str] = []
    for src, out in zip(sources, outputs, strict=True):
        if out in seen:
            clashes.append(f"{seen[out].relative_to(root)} and {src.relative_to(root)}")
        seen[out] = src
    if clashes:
        raise ParameterError(
            f"{len(clashes)} pair(s) of source images would be written to the same cache "
            f"file (same name, different suffix), e.g. {'; '.join(clashes[:3])}. Rename them."
        )


def _check_existing_cache(
    manifest_path: Path, dst_root: Path, pipeline: dict[str, Any], overwrite: bool
) -> None:
    if manifest_path.is_file():
        try:
            previous = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            previous = None
        if (
            not overwrite
            and isinstance(previous, dict)
            and not _same_pipeline(previous.get("pipeline", {}), pipeline)
        ):
            raise ParameterError(
                f"The cache {dst_root} was written by another pipeline "
                f"({json.dumps(previous.get('pipeline'))[:300]}). Use another destination, "
                "or pass overwrite=True (--overwrite) to rewrite it."
            )
    elif dst_root.is_dir() and any(dst_root.iterdir()) and not overwrite:
        raise ParameterError(
            f"The destination {dst_root} is a folder that is not empty and is not a dermnet "
            f"cache (no {MANIFEST_NAME}). Use an empty or new folder, or pass overwrite=True "
            "(--overwrite)."
        )
