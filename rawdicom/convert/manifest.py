"""The manifest of a conversion and the publishing of its files, so that a run can be
killed at any point and run again.

``OUT/convert-manifest.jsonl``: one JSON line per stack (append-only; a torn last line from
a killed run is ignored, as organize's). A stack's files are first written complete into a
staging folder (``OUT/.rawdicom-staging/<attempt>/``); the committer, one thread of the
process that runs the job, then, for each row a task returns:

1. picks the names: the planned ones, or ``name-<stack id>`` where one is taken by a file
   it did not write (nothing is ever overwritten);
2. appends the row (its outputs, its staging folder) to the manifest and flushes it;
3. publishes each staged file under its name with ``os.link`` (which refuses to replace an
   existing name), then deletes the staging folder.

Killed before 2: the stack is not in the manifest; the next run deletes the staging folder
and converts it again. Killed after 2: the next run finds the row, links whatever of its
files is not yet published from the staging folder the row names (:func:`recover`), and
does not convert the stack again. A published name only ever holds a complete file, and
every stack ends in the manifest once. A lock (``_convert.lock``, ``fcntl.flock``) keeps two
runs out of one folder; a run that ends removes it.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Iterable

from ..model.layout import safe_component, with_suffix
from ..model.organize import _commit, _Lock, _read_manifest, _within
from ..model.organize import _lock as _folder_lock, make_folders_inside

__all__ = ["MANIFEST_NAME", "STAGING", "Committer", "recover", "read_rows", "FINAL",
           "release_inherited_locks"]

MANIFEST_NAME = "convert-manifest.jsonl"
STAGING = ".rawdicom-staging"
LOCK_NAME = "_convert.lock"
#: Statuses a rerun does not redo (a failed stack is tried again; an unreadable file is
#: again only once it changed: its line's id holds its size and modification time).
FINAL = ("converted", "refused", "unreadable")
# File descriptors of the locks this process holds: a forked worker closes its copies, so
# that a worker outliving a killed parent for a moment does not keep the folder locked.
_HELD: set[int] = set()


def release_inherited_locks() -> None:
    """In a forked worker: close the lock descriptors inherited from the parent."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


def read_rows(root: str) -> list[dict[str, Any]]:
    """The manifest's rows (a torn last line left out)."""
    return [r for r in _read_manifest(os.path.join(root, MANIFEST_NAME))
            if isinstance(r.get("stack_id"), str)]


def _published(root: str, row: dict[str, Any]) -> bool:
    return all(os.path.exists(os.path.join(root, o["path"])) for o in row.get("outputs", ()))


def recover(root: str) -> dict[str, dict[str, Any]]:
    """Finish what a killed run committed, remove its staging; the stacks done (id -> row).

    A converted row whose files cannot all be published (its staging folder gone, a file
    deleted since) is not done: the stack is converted again."""
    done: dict[str, dict[str, Any]] = {}
    for row in read_rows(root):
        if row.get("status") not in FINAL:
            continue
        if row["status"] == "converted" and not _published(root, row):
            staging = os.path.join(root, str(row.get("staging") or ""))
            for output in row.get("outputs", ()):
                final = os.path.join(root, output["path"])
                staged = os.path.join(staging, output["name"])
                if not os.path.exists(final) and os.path.isfile(staged) and \
                        _within(root, os.path.realpath(os.path.dirname(final))):
                    _commit(staged, final)
            if not _published(root, row):
                continue
        done[row["stack_id"]] = row
    shutil.rmtree(os.path.join(root, STAGING), ignore_errors=True)
    return done


class Committer:
    """Appends rows to the manifest and publishes their staged files (see the module
    docstring); holds the folder's lock until closed."""

    def __init__(self, root: str) -> None:
        self.root = root
        os.makedirs(root, exist_ok=True)
        self.lock = _lock(root)
        path = os.path.join(root, MANIFEST_NAME)
        torn = os.path.exists(path) and os.path.getsize(path) > 0 and _last_byte(path) != b"\n"
        self.file = open(path, "a", encoding="utf-8", newline="\n")
        if torn:
            self.file.write("\n")
        self.made: set[str] = set()

    def close(self) -> None:
        shutil.rmtree(os.path.join(self.root, STAGING), ignore_errors=True)
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        _HELD.discard(self.lock.handle.fileno())
        self.lock.close()

    def _folder(self, parts: Iterable[str]) -> str:
        """Create the output folders one level at a time, each checked to lie inside."""
        return make_folders_inside(self.root, [safe_component(p) for p in parts], self.made,
                                   lambda folder: OSError(f"{folder} leads outside {self.root}"))

    def commit(self, row: dict[str, Any], staging: str | None) -> dict[str, Any]:
        """Write ``row`` to the manifest; publish its files staged in ``staging``."""
        outputs = row.get("outputs") or []
        if row.get("status") == "converted" and outputs:
            folder = self._folder(row.get("folders") or ())
            renamed = _free_names(folder, [o["name"] for o in outputs], row["stack_id"])
            rel = os.path.relpath(folder, self.root)
            for output in outputs:
                final = renamed[output["name"]]
                output["path"] = os.path.normpath(os.path.join(rel, final)).replace(os.sep, "/")
            row["staging"] = os.path.relpath(staging, self.root).replace(os.sep, "/") \
                if staging else None
        self.file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        self.file.flush()
        if row.get("status") == "converted" and staging:
            for output in outputs:
                _commit(os.path.join(staging, output["name"]),
                        os.path.join(self.root, output["path"]))
        return row

    def cleanup(self, staging: str) -> None:
        shutil.rmtree(staging, ignore_errors=True)


def _lock(root: str) -> _Lock:
    """An exclusive lock on the output folder for the run (released if the process dies;
    its file removed when the run ends), as organize locks its target."""
    lock = _folder_lock(root, LOCK_NAME, "convert")
    _HELD.add(lock.handle.fileno())
    return lock


def _last_byte(path: str) -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)


def _free_names(folder: str, names: list[str], sid: str) -> dict[str, str]:
    """The staged names as published: unchanged when all are free, else every one of the
    stack's files with ``-<stack id>`` (its files keep one stem)."""
    for suffix in ("", sid[:8], sid):
        out = {}
        for name in names:
            stem, extension = _split(name)
            out[name] = with_suffix(stem, suffix, extension) if suffix else name
        if not any(os.path.lexists(os.path.join(folder, n)) for n in out.values()):
            return out
    raise FileExistsError(f"{folder}: no free name for {names[0]}")


def _split(name: str) -> tuple[str, str]:
    for extension in (".nii.gz", ".nii", ".json", ".bval", ".bvec"):
        if name.endswith(extension):
            return name[: -len(extension)], extension
    return name, ""
