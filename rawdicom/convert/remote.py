"""Committing a conversion into a folder at an fsspec URL (``s3://bucket/nifti``): the same
manifest and the same promises as :mod:`.manifest`, with what object stores offer.

A task uploads its finished files under ``OUT/.rawdicom-staging/<attempt>/``; the committer
picks free names (``exists``), writes the manifest whole under a temporary name and moves it
into place (an object appears whole or not at all), then moves each staged file to its name
(``mv``: on object stores a copy of a finished object, then a delete). Killed between the
two, the next run finds the row and moves what is still staged (:func:`recover_remote`).
There is no lock on a URL: one run into one output at a time is the caller's part.
"""

from __future__ import annotations

import json
from typing import Any

from ..index.storage import Folder
from .manifest import FINAL, MANIFEST_NAME, STAGING, _split
from ..model.layout import with_suffix

__all__ = ["RemoteCommitter", "recover_remote"]


def _rows(folder: Folder) -> list[dict[str, Any]]:
    path = folder.join(MANIFEST_NAME)
    if not folder.exists(path):
        return []
    rows = []
    with folder.open(path) as f:
        for line in f.read().decode("utf-8", "replace").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue
            if isinstance(row, dict) and isinstance(row.get("stack_id"), str):
                rows.append(row)
    return rows


def _published(folder: Folder, row: dict[str, Any]) -> bool:
    return all(folder.exists(folder.join(o["path"])) for o in row.get("outputs", ()))


def recover_remote(folder: Folder) -> tuple[dict[str, dict[str, Any]], list[dict[str, Any]]]:
    """(stacks done: id -> row, every row) after finishing what a killed run committed."""
    done: dict[str, dict[str, Any]] = {}
    rows = _rows(folder)
    for row in rows:
        if row.get("status") not in FINAL:
            continue
        if row["status"] == "converted" and not _published(folder, row):
            for output in row.get("outputs", ()):
                final = folder.join(output["path"])
                staged = folder.join(str(row.get("staging") or ""), output["name"])
                if not folder.exists(final) and folder.exists(staged):
                    folder.fs.mv(staged, final)
            if not _published(folder, row):
                continue
        done[row["stack_id"]] = row
    staging = folder.join(STAGING)
    if folder.exists(staging):
        folder.fs.rm(staging, recursive=True)
    return done, rows


class RemoteCommitter:
    """The committer of :mod:`.manifest` for a folder at a URL (see the module docstring)."""

    def __init__(self, folder: Folder, rows: list[dict[str, Any]]) -> None:
        self.folder = folder
        self.lines = [json.dumps(r, ensure_ascii=False, default=str) for r in rows]

    def commit(self, row: dict[str, Any], staging: str | None) -> dict[str, Any]:
        folder = self.folder
        outputs = row.get("outputs") or []
        if row.get("status") == "converted" and outputs:
            parts = [str(p) for p in row.get("folders") or ()]
            renamed = self._free_names(parts, [o["name"] for o in outputs], row["stack_id"])
            for output in outputs:
                output["path"] = "/".join(parts + [renamed[output["name"]]])
            path = folder.fs._strip_protocol(staging) if staging else None
            row["staging"] = path[len(folder.root) + 1:] if path else None
        self.lines.append(json.dumps(row, ensure_ascii=False, default=str))
        text = ("\n".join(self.lines) + "\n").encode("utf-8")
        folder.write_atomic(folder.join(MANIFEST_NAME), lambda f: f.write(text))
        if row.get("status") == "converted" and staging:
            for output in outputs:
                folder.fs.mv(folder.join(row["staging"], output["name"]),
                             folder.join(output["path"]))
        return row

    def _free_names(self, parts: list[str], names: list[str], sid: str) -> dict[str, str]:
        for suffix in ("", sid[:8], sid):
            out = {}
            for name in names:
                stem, extension = _split(name)
                out[name] = with_suffix(stem, suffix, extension) if suffix else name
            if not any(self.folder.exists(self.folder.join(*parts, n)) for n in out.values()):
                return out
        raise FileExistsError(f"{'/'.join(parts)}: no free name for {names[0]}")

    def cleanup(self, staging: str) -> None:
        path = self.folder.fs._strip_protocol(staging)
        if self.folder.exists(path):
            self.folder.fs.rm(path, recursive=True)

    def close(self) -> None:
        staging = self.folder.join(STAGING)
        if self.folder.exists(staging):
            self.folder.fs.rm(staging, recursive=True)
