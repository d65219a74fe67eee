"""Patients, studies and series from instance records: the DICOM information model.

Grouping follows the identifiers the standard defines, nothing else:

* a patient is (PatientID, IssuerOfPatientID): the same ID from two issuers is two patients;
* a study is its StudyInstanceUID, within its patient; a series its SeriesInstanceUID, within
  its study (never SeriesNumber, which restarts and repeats);
* a file missing one of these is not dropped: it goes under a node whose identifier is None
  and whose ``unknown`` names what is missing ("no SeriesInstanceUID").

Duplicates (the same SOPInstanceUID in more than one file) are found here, cheaply: only the
files of a repeated UID are compared, by size first and by a SHA-256 of their bytes when the
sizes agree. Identical copies are one instance (the first path is used, the others listed in
``Collection.duplicates``); copies that differ are all kept, and flagged there.

Every list is in a deterministic order (patients by ID and issuer, studies by date and UID,
series by number and UID, instances by path), whatever order the records came in.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from .instance import Instance

__all__ = ["Collection", "Patient", "Study", "Series", "Duplicate"]

_HASH_BLOCK = 1 << 20


def _first(instances: list[Instance], name: str) -> Any:
    """The first non-empty value of ``name`` among ``instances`` (they are in path order)."""
    for instance in instances:
        value = instance.record.get(name)
        if value is not None:
            return value
    return None


def _frame_count(record: dict[str, Any]) -> int:
    """The frames of one file as a label counts them: its per-frame items, else Number of
    Frames when that is a positive integer (a header may hold "nan", 0 or a list), else 1."""
    frames, declared = record.get("frames"), record.get("number_of_frames")
    if frames:
        return len(frames)
    if isinstance(declared, int) and not isinstance(declared, bool) and declared > 0:
        return declared
    return 1


_PLURALS = {"study": "studies", "series": "series"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {_PLURALS.get(word, word + 's')}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


class Series:
    """One series: ``instances`` (files, in path order) sharing a SeriesInstanceUID."""

    def __init__(self, instances: list[Instance], unknown: str | None = None) -> None:
        self.instances = instances
        #: why this node has no SeriesInstanceUID (None for a real series)
        self.unknown = unknown
        self.series_instance_uid: str | None = _first(instances, "series_instance_uid")
        self.series_number: int | None = _first(instances, "series_number")
        self.modality: str | None = _first(instances, "modality")
        self.series_description: str | None = _first(instances, "series_description")
        self.frame_of_reference_uid: str | None = _first(instances, "frame_of_reference_uid")
        self.body_part_examined: str | None = _first(instances, "body_part_examined")
        self.protocol_name: str | None = _first(instances, "protocol_name")

    def stacks(self, **tolerances: Any) -> list[Any]:
        """The series split into regular grids, each with the reason it is apart."""
        from .stacks import split_stacks
        return split_stacks(self.instances, **tolerances)

    def volume(self, **kw: Any) -> Any:
        """The volume of the largest regular stack (a warning names what was left out)."""
        from .volume import series_volume
        return series_volume(self.stacks(), **kw)

    def __iter__(self) -> Iterator[Instance]:
        return iter(self.instances)

    def __len__(self) -> int:
        return len(self.instances)

    def _label(self) -> str:
        if self.unknown:
            head = f"Series (unknown: {self.unknown})"
        else:
            number = "" if self.series_number is None else f" {self.series_number}"
            head = f"Series{number}"
        desc = f' "{self.series_description}"' if self.series_description else ""
        frames = sum(_frame_count(i.record) for i in self.instances)
        extra = f", {frames} frames" if frames != len(self.instances) else ""
        return f"{head} {_text(self.modality) or '-'}{desc}: {_plural(len(self), 'instance')}{extra}"

    def __repr__(self) -> str:
        return f"<Series {self.series_instance_uid or self.unknown}: {len(self)} instances>"


class Study:
    """One study: its ``series``, sharing a StudyInstanceUID within one patient."""

    def __init__(self, series: list[Series], unknown: str | None = None) -> None:
        self.series = series
        #: why this node has no StudyInstanceUID (None for a real study)
        self.unknown = unknown
        instances = [i for s in series for i in s.instances]
        self.study_instance_uid: str | None = _first(instances, "study_instance_uid")
        self.study_id: str | None = _first(instances, "study_id")
        self.study_date: str | None = _first(instances, "study_date")
        self.study_time: str | None = _first(instances, "study_time")
        self.study_description: str | None = _first(instances, "study_description")
        self.accession_number: str | None = _first(instances, "accession_number")

    @property
    def instances(self) -> list[Instance]:
        return [i for s in self.series for i in s.instances]

    def __iter__(self) -> Iterator[Series]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    def _label(self) -> str:
        head = f"Study (unknown: {self.unknown})" if self.unknown else "Study"
        parts = [head]
        if self.study_date:
            parts.append(self.study_date)
        if self.study_description:
            parts.append(f'"{self.study_description}"')
        if self.study_id:
            parts.append(f"ID {self.study_id}")
        if self.accession_number:
            parts.append(f"accession {self.accession_number}")
        return " ".join(parts) + f": {_plural(len(self), 'series')}"

    def __repr__(self) -> str:
        return f"<Study {self.study_instance_uid or self.unknown}: {len(self)} series>"


class Patient:
    """One patient: ``studies`` of the files sharing (PatientID, IssuerOfPatientID)."""

    def __init__(self, studies: list[Study], unknown: str | None = None) -> None:
        self.studies = studies
        #: why this node has no PatientID (None for a real one)
        self.unknown = unknown
        instances = [i for s in studies for i in s.instances]
        self.patient_id: str | None = _first(instances, "patient_id")
        self.issuer_of_patient_id: str | None = _first(instances, "issuer_of_patient_id")
        self.patient_name: str | None = _first(instances, "patient_name")
        self.patient_birth_date: str | None = _first(instances, "patient_birth_date")
        self.patient_sex: str | None = _first(instances, "patient_sex")

    @property
    def key(self) -> tuple[str | None, str | None]:
        return (self.patient_id, self.issuer_of_patient_id)

    @property
    def instances(self) -> list[Instance]:
        return [i for s in self.studies for i in s.instances]

    def __iter__(self) -> Iterator[Study]:
        return iter(self.studies)

    def __len__(self) -> int:
        return len(self.studies)

    def _label(self) -> str:
        head = f"Patient (unknown: {self.unknown})" if self.unknown else f"Patient {self.patient_id}"
        issuer = f" (issuer {self.issuer_of_patient_id})" if self.issuer_of_patient_id else ""
        name = f" {self.patient_name}" if self.patient_name else ""
        return f"{head}{issuer}{name}: {_plural(len(self), 'study')}"

    def __repr__(self) -> str:
        return f"<Patient {self.key}: {len(self)} studies>"


@dataclass(frozen=True)
class Duplicate:
    """Files holding the same SOPInstanceUID.

    ``identical``: True when all have the same bytes (only ``kept[0]`` is used), False when
    some differ (``kept`` are all used, one per distinct content), None when they could not
    be compared (a file unreadable now: all kept). ``dropped``: exact copies left out.
    """

    sop_instance_uid: str
    paths: tuple[str, ...]
    identical: bool | None
    kept: tuple[str, ...]
    dropped: tuple[str, ...] = ()
    reason: str = ""


@dataclass
class _Tree:
    """Nested dicts patient key -> study uid -> series uid -> instances, in insertion order."""

    nodes: dict[Any, dict[Any, dict[Any, list[Instance]]]] = field(default_factory=dict)

    def add_all(self, instances: Iterable[Instance]) -> None:
        """Each instance under its patient, study and series (a list in a UID or an ID, a
        backslash in it, as a tuple: a dict key)."""
        nodes = self.nodes
        for instance in instances:
            get = instance.record.get
            values = [get("patient_id"), get("issuer_of_patient_id"),
                      get("study_instance_uid"), get("series_instance_uid")]
            for k, value in enumerate(values):
                if type(value) is list:
                    values[k] = tuple(value)
            patient, issuer, study, series = values
            studies = nodes.setdefault((patient, issuer), {})
            series_map = studies.setdefault(study, {})
            members = series_map.get(series)
            if members is None:
                series_map[series] = [instance]
            else:
                members.append(instance)


def _path_order(instance: Instance) -> tuple[str, str]:
    """Instances in path order (then SOP Instance UID): (per instance: inlined _text)."""
    get = instance.record.get
    path, uid = get("path"), get("sop_instance_uid")
    return ("" if path is None else str(path), "" if uid is None else str(uid))


def _none_last(value: Any) -> tuple[int, Any, str]:
    """A sort key for any record value: numbers, then text, then None; never a TypeError
    (a broken file may give a list where a number is expected)."""
    if value is None:
        return (2, 0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1, 0, str(value))


class Collection:
    """What a scan found: ``patients`` -> ``studies`` -> ``series`` -> ``instances``.

    Also ``skipped`` (paths of files that are not DICOM), ``failed`` ((path, error) of files
    that could not be read), ``duplicates`` (:class:`Duplicate`, one per repeated
    SOPInstanceUID) and ``dicomdirs`` (DICOMDIR files met, not instances).
    ``instances`` is every instance used, flat, in tree order.
    """

    def __init__(self, instances: Iterable[Instance], skipped: Iterable[str] = (),
                 failed: Iterable[tuple[str, Exception]] = (), *,
                 dicomdirs: Iterable[str] = ()) -> None:
        ordered = sorted(instances, key=_path_order)
        self.skipped: list[str] = sorted(skipped)
        self.failed: list[tuple[str, Exception]] = sorted(failed, key=lambda f: f[0])
        self.dicomdirs: list[str] = sorted(dicomdirs)
        used, self.duplicates = _deduplicate(ordered)
        self.patients: list[Patient] = _build(used)
        self.instances: list[Instance] = [i for p in self.patients for i in p.instances]

    @classmethod
    def from_records(cls, records: Iterable[dict[str, Any]], skipped: Iterable[str] = (),
                     failed: Iterable[tuple[str, Exception]] = (), *,
                     dicomdirs: Iterable[str] = ()) -> "Collection":
        """A Collection of instance records (from a scan, an index, a DICOMDIR)."""
        return cls([Instance(r) for r in records], skipped, failed, dicomdirs=dicomdirs)

    @property
    def studies(self) -> list[Study]:
        return [s for p in self.patients for s in p.studies]

    @property
    def series(self) -> list[Series]:
        return [s for p in self.patients for st in p.studies for s in st.series]

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per instance used (the records underneath, in tree order)."""
        return [i.record for i in self.instances]

    def __iter__(self) -> Iterator[Patient]:
        return iter(self.patients)

    def __len__(self) -> int:
        return len(self.patients)

    def __str__(self) -> str:
        studies, series = self.studies, self.series
        head = (f"Collection: {_plural(len(self.patients), 'patient')}, "
                f"{_plural(len(studies), 'study')}, {_plural(len(series), 'series')}, "
                f"{_plural(len(self.instances), 'instance')}")
        notes = []
        if self.skipped:
            notes.append(f"{len(self.skipped)} not DICOM")
        if self.failed:
            notes.append(f"{len(self.failed)} failed")
        if self.duplicates:
            notes.append(_plural(len(self.duplicates), "duplicate UID"))
        if self.dicomdirs:
            notes.append(_plural(len(self.dicomdirs), "DICOMDIR"))
        lines = [head + (f" ({', '.join(notes)})" if notes else "")]
        for patient in self.patients:
            lines.append("  " + patient._label())
            for study in patient.studies:
                lines.append("    " + study._label())
                for s in study.series:
                    lines.append("      " + s._label())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<Collection {len(self.patients)} patients, {len(self.instances)} instances, "
                f"{len(self.skipped)} skipped, {len(self.failed)} failed>")


def _build(instances: list[Instance]) -> list[Patient]:
    tree = _Tree()
    tree.add_all(instances)
    patients = []
    for (patient_id, _issuer), studies in tree.nodes.items():
        study_nodes = []
        for study_uid, series_map in studies.items():
            series_nodes = [Series(members, None if uid else "no SeriesInstanceUID")
                            for uid, members in series_map.items()]
            series_nodes.sort(key=lambda s: (_none_last(s.series_number),
                                             _none_last(s.series_instance_uid)))
            study_nodes.append(Study(series_nodes, None if study_uid else "no StudyInstanceUID"))
        study_nodes.sort(key=lambda s: (_none_last(s.study_date),
                                        _none_last(s.study_instance_uid)))
        patients.append(Patient(study_nodes, None if patient_id else "no PatientID"))
    patients.sort(key=lambda p: (_none_last(p.patient_id), _none_last(p.issuer_of_patient_id)))
    return patients


def _deduplicate(instances: list[Instance]) -> tuple[list[Instance], list[Duplicate]]:
    """The instances to use, and the SOPInstanceUIDs found in more than one file."""
    by_uid: dict[tuple[Any, int | None], list[Instance]] = {}
    for instance in instances:
        uid = instance.record.get("sop_instance_uid")
        if uid is not None:  # (frames given as instances are told apart by their index)
            key = (tuple(uid) if type(uid) is list else uid, instance.frame)
            group = by_uid.get(key)
            if group is None:
                by_uid[key] = [instance]
            else:
                group.append(instance)
    dropped: set[int] = set()
    duplicates = []
    for (uid, _frame), group in by_uid.items():
        if len(group) < 2:
            continue
        duplicate, drop = _compare(uid, group)
        duplicates.append(duplicate)
        dropped.update(id(i) for i in drop)
    used = [i for i in instances if id(i) not in dropped]
    return used, sorted(duplicates, key=lambda d: str(d.sop_instance_uid))


def _compare(uid: str, group: list[Instance]) -> tuple[Duplicate, list[Instance]]:
    """Split files of one SOPInstanceUID into distinct contents: size first, then SHA-256."""
    paths = tuple(_text(i.record.get("path")) for i in group)
    try:
        sizes = [os.stat(p).st_size for p in paths]
        contents: dict[tuple[int, bytes], list[Instance]] = {}
        same_size = {s for s in sizes if sizes.count(s) > 1}
        for instance, path, size in zip(group, paths, sizes):
            digest = _digest(path) if size in same_size else path.encode()
            contents.setdefault((size, digest), []).append(instance)
    except OSError as exc:
        return Duplicate(uid, paths, None, paths, (), f"cannot compare: {exc}"), []
    kept = [members[0] for members in contents.values()]
    drop = [i for members in contents.values() for i in members[1:]]
    kept_paths = tuple(_text(i.record.get("path")) for i in kept)
    drop_paths = tuple(_text(i.record.get("path")) for i in drop)
    if len(contents) == 1:
        return Duplicate(uid, paths, True, kept_paths, drop_paths, "identical bytes"), drop
    return Duplicate(uid, paths, False, kept_paths, drop_paths,
                     f"{len(contents)} different contents"), drop


def _digest(path: str) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_HASH_BLOCK), b""):
            h.update(block)
    return h.digest()
