"""A DICOMDIR (Basic Directory IOD, PS3.3 F.2-F.5) read into the same Collection as a scan.

The directory records form a tree by byte offsets (PS3.3 F.3.2.1): the root's first record
is at (0004,1200), each record names its next sibling (0004,1400) and its first child
(0004,1420), all "from the first byte of the file". The reader gives every item of the
Directory Record Sequence its offset (``Dataset.offset``, the position of its Item tag), so
the links are followed through a map offset -> record. The walk visits each record at
most once: a link to a record already visited (a loop) or to an offset that is no record
(out of range, or inside one) is a MalformedElementError naming the offset, never a hang.

The Collection itself comes from the referenced files' own headers (read as
:func:`rawdicom.scan` reads them), the DICOMDIR giving the list of files and a hierarchy to
check them against: where a directory record disagrees with its file (another
SOPInstanceUID, SeriesInstanceUID, StudyInstanceUID or PatientID), the instance record's
``problems`` says so, and the file's own values are used. The record's
``referenced_file_id`` is the file ID the DICOMDIR gives (a scan leaves it None). A
Referenced File ID is resolved inside the DICOMDIR's folder only: an absolute one, or one
with an empty, ``.`` or ``..`` component or a path separator inside a component, is refused
and reported in ``.failed`` with the file ID as written; so is one whose real path
(symbolic links resolved, in any component) leaves the DICOMDIR's folder, and one that is
not text (a number); a referenced file that is missing is reported there too. Components
are matched case-insensitively when the exact name does not exist (media written in upper
case, mounted in lower case).
"""

from __future__ import annotations

import os
from typing import Any, Callable

from ..dataset import Dataset
from ..errors import DicomError, MalformedElementError
from ..reader import read
from .hierarchy import Collection
from .scan import MEDIA_STORAGE_DIRECTORY, outcome_error, read_records

__all__ = ["read_dicomdir", "directory_files"]

_ROOT_FIRST = 0x00041200
_NEXT = 0x00041400
_LOWER = 0x00041420
_RECORD_SEQUENCE = 0x00041220
_RECORD_TYPE = 0x00041430
_FILE_ID = 0x00041500
_SOP_INSTANCE_IN_FILE = 0x00041511
# What each level of directory record asserts about the files below it.
_LEVEL_KEYS = {
    "PATIENT": (("PatientID", "patient_id"),),
    "STUDY": (("StudyInstanceUID", "study_instance_uid"),),
    "SERIES": (("SeriesInstanceUID", "series_instance_uid"),),
}


def read_dicomdir(path: str | os.PathLike[str], *, workers: int | None = 1,
                  progress: Callable[[int, int], Any] | None = None) -> Collection:
    """The Collection of the files a DICOMDIR references (see the module docstring).

    Raises a DicomError for a DICOMDIR that cannot be walked (not a Media Storage
    Directory, a loop, an offset that points at no directory record); a referenced file
    that is refused, missing or broken goes to ``.failed``.
    """
    path = os.fspath(path)
    entries, refused = directory_files(path)
    folder = os.path.dirname(os.path.abspath(path))
    real_folder = os.path.realpath(folder)
    resolved: list[tuple[str, list[str], dict[str, Any]]] = []
    failed: list[tuple[str, Exception]] = list(refused)
    seen: set[str] = set()
    for components, expected, offset in entries:
        target = _resolve(folder, components)
        real = os.path.realpath(target)
        if os.path.commonpath([real_folder, real]) != real_folder:
            failed.append(("\\".join(components), MalformedElementError(
                f"Referenced File ID {'/'.join(components)!r} resolves to {real!r}, outside "
                "the DICOMDIR's folder (through a symbolic link): not read",
                offset=offset, tag=_FILE_ID)))
            continue
        if target not in seen:
            seen.add(target)
            resolved.append((target, components, expected))
    outcomes = read_records([t for t, _, _ in resolved], workers=workers, progress=progress)
    records, skipped = [], []
    for (target, components, expected), (kind, payload) in zip(resolved, outcomes):
        if kind == "record":
            _check(payload, expected)
            payload["referenced_file_id"] = [c.strip() for c in components]
            records.append(payload)
        elif kind == "failed":
            failed.append((target, outcome_error(payload)))
        else:  # not DICOM, or another DICOMDIR: not an instance
            skipped.append(target)
    return Collection.from_records(records, skipped=skipped, failed=failed, dicomdirs=[path])


def directory_files(path: str | os.PathLike[str]
                    ) -> tuple[list[tuple[list[str], dict[str, Any], int]],
                               list[tuple[str, DicomError]]]:
    """The file IDs a DICOMDIR references, in directory order, with what their directory
    records assert (``{"sop_instance_uid": ..., "series_instance_uid": ..., ...}``) and the
    offset of the record; and the refused file IDs as (file ID as written, error)."""
    ds = read(path)
    meta = ds.file_meta
    sop_class = meta.get(0x00020002) if meta is not None else None
    if sop_class != MEDIA_STORAGE_DIRECTORY:
        raise MalformedElementError(f"not a DICOMDIR: Media Storage SOP Class is {sop_class!r}, "
                                    f"not {MEDIA_STORAGE_DIRECTORY}", offset=0, tag=0x00020002)
    items = ds.get(_RECORD_SEQUENCE) or []
    if not isinstance(items, list) or not all(isinstance(item, Dataset) for item in items):
        element = ds[_RECORD_SEQUENCE]
        raise MalformedElementError(f"Directory Record Sequence has VR {element.vr}, not SQ: "
                                    "no directory records", offset=element.offset,
                                    tag=_RECORD_SEQUENCE)
    by_offset = {item.offset: item for item in items}
    files: list[tuple[list[str], dict[str, Any], int]] = []
    refused: list[tuple[str, DicomError]] = []
    visited: set[int] = set()
    # (offset of the first record of a chain, what the records above assert, who links there)
    pending: list[tuple[int, dict[str, Any], int]] = [(_offset(ds, _ROOT_FIRST), {}, _ROOT_FIRST)]
    while pending:
        offset, inherited, link = pending.pop()
        chain: list[tuple[int, dict[str, Any], int]] = []
        while offset:
            record = by_offset.get(offset)
            if record is None:
                raise MalformedElementError(f"offset {offset} does not point at a directory "
                                            "record", offset=offset, tag=link)
            if offset in visited:
                raise MalformedElementError(f"directory record at offset {offset} is linked "
                                            "to twice (a loop)", offset=offset, tag=link)
            visited.add(offset)
            asserted = dict(inherited)
            kind = _text(record.get(_RECORD_TYPE))
            for keyword, key in _LEVEL_KEYS.get(kind, ()):
                value = _text(record.get(keyword))
                if value:
                    asserted[key] = value
            file_id = record.get(_FILE_ID)
            if file_id is not None and file_id != "" and file_id != []:
                # (text, a list of text; a number when the VR is wrong: refused below)
                components = list(file_id) if isinstance(file_id, list) else [file_id]
                uid = _text(record.get(_SOP_INSTANCE_IN_FILE))
                wanted = dict(asserted, sop_instance_uid=uid) if uid else asserted
                problem = _refusal(components)
                if problem:
                    refused.append(("\\".join(str(c) for c in components),
                                    MalformedElementError(problem, offset=offset, tag=_FILE_ID)))
                else:
                    files.append((components, wanted, offset))
            lower = _offset(record, _LOWER)
            if lower:
                chain.append((lower, asserted, _LOWER))
            offset, link = _offset(record, _NEXT), _NEXT
        pending.extend(reversed(chain))  # children in directory order, depth first
    return files, refused


def _offset(ds: Dataset, tag: int) -> int:
    value = ds.get(tag)
    if isinstance(value, list):
        value = value[0] if value else 0
    if value is None:
        return 0
    if not isinstance(value, int):
        raise MalformedElementError(f"offset is not a number: {value!r}", offset=ds.offset,
                                    tag=tag)
    return value


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def _refusal(components: list[Any]) -> str:
    """Why a Referenced File ID may not be followed, or "" when it stays in the folder."""
    for c in components:
        if not isinstance(c, str):
            return f"Referenced File ID component {c!r} is not text"
        if not c.strip():
            return "Referenced File ID has an empty component"
        c = c.strip()
        if c in (".", ".."):
            return f"Referenced File ID component {c!r} leaves the DICOMDIR's folder"
        if "/" in c or "\\" in c or "\0" in c or (len(c) >= 2 and c[1] == ":"):
            return f"Referenced File ID component {c!r} is a path, not a name"
    return ""


def _resolve(folder: str, components: list[str]) -> str:
    """The file a (checked) Referenced File ID names under ``folder``; a component that does
    not exist as written is matched case-insensitively."""
    current = folder
    for c in (c.strip() for c in components):
        candidate = os.path.join(current, c)
        if not os.path.exists(candidate):
            try:
                matches = [n for n in os.listdir(current) if n.lower() == c.lower()]
            except OSError:
                matches = []
            if len(matches) == 1:
                candidate = os.path.join(current, matches[0])
        current = candidate
    return current


def _check(record: dict[str, Any], expected: dict[str, Any]) -> None:
    """Note in the record where its directory record says otherwise."""
    for key, value in expected.items():
        actual = record.get(key)
        if actual != value:
            record["problems"].append(f"DICOMDIR: {key} is {value!r} in the directory record, "
                                      f"{actual!r} in the file")
