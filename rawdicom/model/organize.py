"""Organize a folder of DICOM files into Patient/Study/Series/instance folders, safely.

``organize(source, target)`` scans ``source`` (header-only, see :func:`rawdicom.scan`),
names every file from its attributes through the allow-list of :mod:`.layout`, and puts it
under ``target``. What it promises, and how:

* **Never outside the target.** Names come from the allow-list (no separator, no ``..``);
  every planned path is resolved (symbolic links on disk included) and refused unless it
  lies inside the resolved target; folders are created one level at a time and each is
  resolved again before anything is written in it, so a symlink planted in the target
  cannot redirect a write. (Between that check and the write a concurrent process could
  still swap a folder for a link: organize guards against hostile *headers*, not against
  a hostile process with write access to the target.)
* **Never overwrites.** A file is published with ``os.link(temporary, final)``, which
  fails when ``final`` exists (atomic, no window): ``os.replace``/``os.rename`` would
  silently replace. Where hard links are not supported (FAT, some network shares), it falls
  back to a rename after checking that the name is free; that check-then-rename is the one
  window, and only another writer into the same folder can use it. If the name already holds
  identical bytes (SHA-256), the file is skipped; if it holds other bytes (the same
  SOPInstanceUID with different content, or two files whose layout names agree), the new
  file is kept as ``name-<first 12 hex of its SHA-256>.dcm`` and reported.
* **No half files.** Bytes are written to ``.rawdicom-<random>.part`` in the destination
  folder, fsync'd, then linked to their name; an interrupted run leaves at most such
  temporary files, which the next run deletes before it starts (no generated name begins
  with ``.``). ``mode="link"`` makes a hard link (not a symbolic link: the target must stay
  valid when the source folder is deleted or moved; a hard link is the same bytes at no
  cost). Across devices, or where the file system refuses hard links, it copies, and says
  so in the entry's reason. ``mode="move"`` hard-links the source to its name and then
  unlinks the source (a rename that cannot overwrite); across devices it copies, fsyncs,
  re-reads the copy to check its SHA-256, and only then unlinks the source. In both cases
  the new name, its folder and the manifest line are fsync'd before the source goes.
  In link and move modes the output shares its inode with the source while both exist.
* **A manifest, re-runs complete the job.** ``_organize-manifest.jsonl`` in the target gets
  one JSON line per file (source, target relative to the target folder, action, reason,
  sha256, size, the planned path and group hashes), flushed after each file, append-only;
  a torn last line from a killed run is ignored. A re-run plans the same paths (the names an
  earlier run gave to each patient/study/series group are read back from the manifest, so
  collision suffixes do not move even when, after an interrupted move, fewer sources remain),
  skips what is already there byte-identical, and does the rest. A lock file
  (``_organize.lock``, ``fcntl.flock`` where available) refuses two runs into one target;
  it is removed when the run ends.
* **Nothing lost.** After the run every DICOM source's bytes are looked up at its target
  (size and SHA-256 re-read from the disk): ``report.missing`` lists any that are not there,
  ``report.ok`` is False then. Files that are not DICOM, that failed to read, and DICOMDIRs
  are listed with where they went: left in place unless ``others=True``, which puts them
  under ``_other/`` (their path relative to the source, each component made safe) with the
  same mode. Exact copies of one file in the source give one output file; each copy's entry
  points at it.
* ``dry_run=True`` writes nothing at all (no folder, no manifest, no lock) and returns the
  plan: the same report, with the actions that would be taken.

Sources are read twice (a hash first, to decide where a file goes before anything is
written; then the copy, hashed again and compared) and outputs once more to verify. Files
already inside the target are never sources (a target inside the source folder is fine:
its content is left out of the scan); a source folder that is, or lies inside, the target
is refused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

from ..errors import NotRegularFileError
from ..regular_file import open_regular
from .hierarchy import Collection
from .layout import Layout, PathPlanner, as_layout, safe_component, with_suffix
from .scan import PathSource, scan

__all__ = ["organize", "OrganizeReport", "Entry", "MANIFEST_NAME", "OTHER_FOLDER", "MODES"]

MODES = ("copy", "link", "move")
MANIFEST_NAME = "_organize-manifest.jsonl"
LOCK_NAME = "_organize.lock"
OTHER_FOLDER = "_other"
_TEMP = re.compile(r"^\.rawdicom-[0-9a-f]{16}\.part$")
_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,7}$")
_BLOCK = 1 << 20
_PLACED = ("copy", "link", "move", "skip")
# Errors of os.link meaning "no hard links here" (not "the name is taken").
_NO_LINK = {errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOSYS,
            getattr(errno, "ENOTSUP", -1), getattr(errno, "EOPNOTSUPP", -1)}
Progress = Callable[[int, int], Any]


@dataclass
class Entry:
    """What happened (or, in a dry run, would happen) to one source file.

    ``action``: ``copy``, ``link``, ``move`` (the file was put at ``target``), ``skip``
    (identical bytes were already at ``target``), ``leave`` (not organized: not DICOM,
    failed to read, a DICOMDIR, without ``others=True``), ``error`` (the file could not be
    placed: ``reason`` says why; the job went on). ``kind``: ``dicom``, ``other`` (not
    DICOM), ``failed`` (a DicomError or OSError when scanning), ``dicomdir``.
    """

    source: str
    target: str | None
    action: str
    reason: str = ""
    kind: str = "dicom"
    sha256: str | None = None
    size: int | None = None
    sop_instance_uid: str | None = None
    planned: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()


@dataclass
class OrganizeReport:
    """The outcome of :func:`organize` (or its plan, when ``dry_run``).

    ``entries``: one :class:`Entry` per source file, in a deterministic order.
    ``conflicts``: SOPInstanceUIDs found with different bytes, with their entries (all kept).
    ``missing``: DICOM entries whose bytes were not found at their target after the run.
    ``ignored``: files found under the source that lie inside the target (not sources).
    ``verified``: True when the target was checked (every run but a dry one).
    """

    target: str
    mode: str
    dry_run: bool
    layout: str
    manifest: str | None
    entries: list[Entry] = field(default_factory=list)
    conflicts: list[tuple[str, list[Entry]]] = field(default_factory=list)
    missing: list[Entry] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    verified: bool = False

    @property
    def dicom(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "dicom"]

    @property
    def others(self) -> list[Entry]:
        """Entries of files that are not instances: not DICOM, failed, DICOMDIRs."""
        return [e for e in self.entries if e.kind != "dicom"]

    @property
    def errors(self) -> list[Entry]:
        return [e for e in self.entries if e.action == "error"]

    @property
    def ok(self) -> bool:
        """No file failed to be placed, and every DICOM source is in the target."""
        return not self.errors and not self.missing

    def counts(self) -> dict[str, int]:
        """Entries per action."""
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.action] = out.get(entry.action, 0) + 1
        return out

    def __str__(self) -> str:
        head = (f"organize ({self.mode}{', dry run' if self.dry_run else ''}): "
                f"{len(self.dicom)} DICOM files -> {self.target}")
        lines = [head, "  " + ", ".join(f"{n} {a}" for a, n in sorted(self.counts().items()))]
        if self.conflicts:
            lines.append(f"  {len(self.conflicts)} SOPInstanceUIDs with different bytes "
                         "(all kept, under distinct names)")
        others = self.others
        if others:
            kinds = sorted({e.kind for e in others})
            where = ("left in place" if all(e.action == "leave" for e in others)
                     else f"under {OTHER_FOLDER}/")
            lines.append(f"  {len(others)} other files ({', '.join(kinds)}): {where}")
        for entry in self.errors[:10]:
            lines.append(f"  error: {entry.source}: {entry.reason}")
        if self.verified:
            lines.append("  every DICOM source is in the target" if not self.missing else
                         f"  MISSING from the target: {len(self.missing)} DICOM files")
        return "\n".join(lines)


class _Outside(Exception):
    """A path that would leave the target."""


def make_folders_inside(root: str, parts: Iterable[str], made: set[str],
                        outside: Callable[[str], Exception]) -> str:
    """Create the folders ``root/parts...`` one level at a time, each resolved before the
    next is made in it (os.makedirs would follow a planted link and create folders
    outside); ``made`` remembers those already checked. Raises ``outside(folder)`` for one
    that leads out of ``root``; returns the last folder. Shared by organize and convert."""
    folder = root
    for part in parts:
        folder = os.path.join(folder, part)
        if folder in made:
            continue
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        if not _within(root, os.path.realpath(folder)):
            raise outside(folder)
        made.add(folder)
    return folder


def organize(source: "PathSource | Collection", target: "str | os.PathLike[str]", *,
             mode: str = "copy", layout: "str | Layout | None" = None, dry_run: bool = False,
             workers: int | None = None, progress: Progress | None = None,
             others: bool = False) -> OrganizeReport:
    """Put every DICOM file of ``source`` into ``target``/Patient/Study/Series/ folders.

    source: a folder, a file or an iterable of paths (as for :func:`rawdicom.scan`), or a
        :class:`Collection` already scanned.
    mode: ``copy``, ``link`` (hard links, copies across devices) or ``move``.
    layout: a format string over record fields, ``/`` between levels (see
        :class:`~rawdicom.model.layout.Layout`); None: :data:`~.layout.DEFAULT_LAYOUT`,
        ``{patient_id}_{patient_name}/{study_date}_{study_description}/``
        ``{series_number}_{modality}_{series_description}/{instance_number}_{sop_instance_uid}.dcm``.
    dry_run: write nothing, return the plan.
    workers: scan processes (see scan) and copy threads; 1: everything in this thread.
    progress: ``progress(done, total)``, called by the scan, then once per file placed
        (from the copy threads, one call at a time).
    others: also put the files that are not instances under ``target/_other/``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    chosen = as_layout(layout)
    root = os.path.realpath(os.fspath(target))
    _refuse_overlap(source, root)
    collection = source if isinstance(source, Collection) else scan(
        source, workers=workers, progress=progress)
    threads = 1 if workers == 1 else max(1, min(16, workers or 2 * (os.cpu_count() or 1)))
    manifest_path = os.path.join(root, MANIFEST_NAME)
    report = OrganizeReport(root, mode, dry_run, chosen.template,
                            None if dry_run else manifest_path)
    lock = None if dry_run else _lock(root)
    try:
        if not dry_run:
            _remove_temporaries(root)
        job = _Job(root, mode, dry_run, threads, progress, report,
                   None if dry_run else _Manifest(manifest_path))
        try:
            job.run(collection, chosen, _read_manifest(manifest_path), others)
        finally:
            if job.manifest is not None:
                job.manifest.close()
    finally:
        if lock is not None:
            lock.close()
    return report


# -- the job ----------------------------------------------------------------------------------
class _Job:
    """One run: plan, place (in threads, one thread per destination name), verify."""

    def __init__(self, root: str, mode: str, dry_run: bool, threads: int,
                 progress: Progress | None, report: OrganizeReport,
                 manifest: "_Manifest | None") -> None:
        self.root, self.mode, self.dry_run, self.threads = root, mode, dry_run, threads
        self.progress, self.report, self.manifest = progress, report, manifest
        self.virtual: dict[str, str] = {}  # dry run: path -> sha256 of what would be there
        self.guard = threading.Lock()
        self.done = self.total = 0
        self.touched: set[str] = set()
        self.made: set[str] = set()  # folders created (or found) and checked in this run

    def run(self, collection: Collection, layout: Layout, rows: list[dict[str, Any]],
            others: bool) -> None:
        records, copies, other_files = self._sources(collection)
        paths = [r["path"] for r in records] + copies + [p for p, _, _ in other_files]
        digests = dict(zip(paths, self._map(_digest, paths)))
        records = _with_copies(records, copies, collection, digests)
        planner = PathPlanner(layout, _prior_names(rows))
        entries: list[Entry] = []
        for record, (parts, keys) in zip(records, planner.plan(records)):
            entries.append(self._entry(record["path"], parts, keys, "dicom", digests,
                                       record.get("sop_instance_uid")))
        base = _common_folder(paths)
        for path, kind, reason in other_files:
            # (a FIFO, socket or device is no file to put anywhere: left, with its reason)
            if others and not isinstance(digests.get(path), NotRegularFileError):
                parts = (OTHER_FOLDER,) + _other_parts(path, base)
                entry = self._entry(path, parts, (), kind, digests, None)
                entry.reason = _join(reason, entry.reason)
                entries.append(entry)
            else:
                entries.append(Entry(path, None, "leave", reason, kind,
                                     *_known(digests.get(path))))
        entries.sort(key=lambda e: (e.kind != "dicom", e.source))
        self.report.entries = entries
        groups: dict[str, list[Entry]] = {}
        for entry in entries:
            if entry.action == "pending":
                groups.setdefault(entry.target or "", []).append(entry)
            elif self.manifest is not None:
                self.manifest.write(entry, self.root)
        self.total = sum(len(g) for g in groups.values())
        self._map(self._place_group, list(groups.values()))
        if not self.dry_run:
            for folder in sorted(self.touched):
                _fsync_dir(folder)
        self.report.conflicts = _conflicts(self.report.dicom)
        if not self.dry_run:
            self.report.missing = self._verify(self.report.dicom)
            self.report.verified = True

    def _sources(self, collection: Collection) -> tuple[list[dict[str, Any]], list[str],
                                                        list[tuple[str, str, str]]]:
        """The instance records, the exact copies the scan set aside (see _with_copies) and
        the other files, without those inside the target."""
        records, ignored = [], []
        for instance in collection.instances:
            (ignored if self._inside(instance.record["path"]) else records).append(instance.record)
        copies = [p for d in collection.duplicates for p in d.dropped]
        other = [(path, "other", "not DICOM") for path in collection.skipped]
        other += [(path, "failed", f"{type(error).__name__}: {error}")
                  for path, error in collection.failed]
        other += [(path, "dicomdir", "a DICOMDIR (its files are organized on their own)")
                  for path in collection.dicomdirs]
        self.report.ignored = sorted([r["path"] for r in ignored]
                                     + [p for p in copies if self._inside(p)]
                                     + [o[0] for o in other if self._inside(o[0])])
        return (records, [p for p in copies if not self._inside(p)],
                [o for o in other if not self._inside(o[0])])

    def _inside(self, path: str) -> bool:
        return _within(self.root, os.path.realpath(path))

    def _entry(self, source: str, parts: tuple[str, ...], keys: tuple[str, ...], kind: str,
               digests: Mapping[str, Any], uid: str | None) -> Entry:
        sha, size = _known(digests.get(source))
        destination = os.path.join(self.root, *parts)
        entry = Entry(source, destination, "pending", "", kind, sha, size, uid, parts, keys)
        if sha is None:
            entry.action, entry.reason = "error", f"cannot read: {digests.get(source)}"
        elif not _within(self.root, os.path.realpath(destination)):
            entry.action, entry.reason = "error", "the path leaves the target (a symbolic link)"
        return entry

    def _map(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
        if self.threads == 1 or len(items) < 2:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(fn, items))

    # -- placing ------------------------------------------------------------------------------
    def _place_group(self, group: list[Entry]) -> None:
        for entry in group:
            try:
                self._place(entry)
            except _Outside:
                entry.action, entry.reason = "error", "the path leaves the target (a symbolic link)"
            except OSError as exc:
                entry.action, entry.reason = "error", f"{type(exc).__name__}: {exc}"
            if entry.action == "pending":  # pragma: no cover - every branch sets an action
                entry.action = "error"
            with self.guard:
                if self.manifest is not None:
                    self.manifest.write(entry, self.root)
                self.done += 1
                if self.progress is not None:
                    self.progress(self.done, self.total)

    def _place(self, entry: Entry) -> None:
        planned = entry.target or ""
        if not self.dry_run:
            self._make_folders(entry.planned[:-1])
        for _attempt in range(3):
            dest, present = self._slot(planned, entry)
            entry.target = dest
            if dest != planned:
                entry.reason = (f"{os.path.basename(planned)} holds different bytes: "
                                f"kept as {os.path.basename(dest)}")
            if present:
                entry.action = "skip"
                entry.reason = _join(entry.reason, "identical bytes already there")
                if self.mode == "move" and not self.dry_run and self._release(entry):
                    entry.reason = _join(entry.reason, "source removed")
                return
            if self.dry_run:
                self.virtual[dest] = entry.sha256 or ""
                entry.action = self.mode
                return
            try:
                self._publish(entry, dest)
                return
            except FileExistsError:
                continue  # someone took the name since we looked: look again
        raise FileExistsError(f"{planned}: the name keeps being taken")

    def _slot(self, planned: str, entry: Entry) -> tuple[str, bool]:
        """Where ``entry`` goes: its planned name, else ``name-<hash12>``, else
        ``name-<hash>``; and whether identical bytes are already there."""
        base = os.path.basename(planned)
        match = _SUFFIX.search(base)  # ".dcm", ".txt"; not the last part of a UID
        extension = match.group(0) if match else ""
        folder = os.path.dirname(planned)
        sha = entry.sha256 or ""
        for name in (base, with_suffix(base, sha[:12], extension), with_suffix(base, sha, extension)):
            path = os.path.join(folder, name)
            if path in self.virtual:
                if self.virtual[path] == sha:
                    return path, True
                continue
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                return path, False
            if stat.S_ISREG(st.st_mode) and st.st_size == entry.size and _digest(path) == (sha, entry.size):
                return path, True
        raise FileExistsError(f"{planned}: three names hold other bytes")

    def _make_folders(self, parts: Sequence[str]) -> None:
        with self.guard:
            make_folders_inside(self.root, parts, self.made, _Outside)

    def _publish(self, entry: Entry, dest: str) -> None:
        """Put the source's bytes at ``dest`` (free when looked at) by the job's mode."""
        folder = os.path.dirname(dest)
        if not _within(self.root, os.path.realpath(folder)):
            raise _Outside(folder)
        if self.mode in ("link", "move"):
            try:
                os.link(entry.source, dest)
                entry.action = self.mode
            except FileExistsError:
                raise
            except OSError as exc:
                if exc.errno != errno.EXDEV and exc.errno not in _NO_LINK:
                    raise
                why = "another device" if exc.errno == errno.EXDEV else "no hard links here"
                _copy(entry.source, dest, entry.sha256 or "")
                entry.action = "copy" if self.mode == "link" else "move"
                entry.reason = _join(entry.reason, f"{why}: copied"
                                     + (", verified" if self.mode == "move" else ""))
                if self.mode == "move" and _digest(dest) != (entry.sha256, entry.size):
                    raise OSError(f"{dest}: the copy does not read back as the source")
        else:
            _copy(entry.source, dest, entry.sha256 or "")
            entry.action = "copy"
        with self.guard:
            self.touched.add(folder)
        if self.mode == "move":
            self._release(entry)

    def _release(self, entry: Entry) -> bool:
        """Unlink a moved source once its bytes, their name and the manifest line are
        durable. A source that cannot be unlinked (a read-only folder) stays: the entry is
        then a copy, which is what happened."""
        if os.path.realpath(entry.source) == os.path.realpath(entry.target or ""):
            return False
        _fsync_dir(os.path.dirname(entry.target or ""))
        if self.manifest is not None:
            with self.guard:
                self.manifest.write(entry, self.root, note="source to be removed")
                self.manifest.sync()
        try:
            os.unlink(entry.source)
        except OSError as exc:
            entry.reason = _join(entry.reason, f"source not removed: {exc}")
            if entry.action == "move":
                entry.action = "copy"
            return False
        return True

    # -- checking -----------------------------------------------------------------------------
    def _verify(self, entries: list[Entry]) -> list[Entry]:
        placed = [e for e in entries if e.action in _PLACED and e.target]
        found = self._map(_digest_or_none, [e.target for e in placed])
        missing = [e for e, got in zip(placed, found) if got != (e.sha256, e.size)]
        missing += [e for e in entries if e.action not in _PLACED]
        return sorted(missing, key=lambda e: e.source)


def _common_folder(paths: Sequence[str]) -> str | None:
    """The folder all sources lie in (the base of the relative paths under _other/)."""
    if not paths:
        return None
    try:
        return os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in paths])
    except ValueError:  # paths on different drives
        return None


def _other_parts(path: str, base: str | None) -> tuple[str, ...]:
    full = os.path.abspath(path)
    rel = os.path.relpath(full, base) if base else os.path.splitdrive(full)[1]
    parts = [p for p in re.split(r"[\\/]+", rel) if p not in ("", ".", "..")]
    return tuple(safe_component(p) for p in parts) or (safe_component(""),)


def _with_copies(records: list[dict[str, Any]], copies: list[str], collection: Collection,
                 digests: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The scan keeps one file of exact copies (same SOPInstanceUID, same bytes); organize
    accounts for every file, so each copy set aside gets the record of the kept file with
    its bytes (the first kept file if it changed since: it then lands under another name)."""
    by_path = {r["path"]: r for r in records}
    wanted = set(copies)
    out = list(records)
    for duplicate in collection.duplicates:
        kept = [by_path[p] for p in duplicate.kept if p in by_path]
        for path in duplicate.dropped:
            if kept and path in wanted:
                same = [r for r in kept if digests.get(r["path"]) == digests.get(path)]
                out.append(dict((same or kept)[0], path=path))
    return sorted(out, key=lambda r: r["path"])


def _conflicts(entries: list[Entry]) -> list[tuple[str, list[Entry]]]:
    by_uid: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.sop_instance_uid:
            by_uid.setdefault(entry.sop_instance_uid, []).append(entry)
    return [(uid, group) for uid, group in sorted(by_uid.items())
            if len({e.sha256 for e in group}) > 1]


def _join(*reasons: str) -> str:
    return "; ".join(r for r in reasons if r)


def _within(root: str, path: str) -> bool:
    root, path = os.path.normcase(root), os.path.normcase(path)
    try:
        return os.path.commonpath([root, path]) == root
    except ValueError:
        return False


def _refuse_overlap(source: Any, root: str) -> None:
    if isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        real = os.path.realpath(source)
        if _within(root, real):
            raise ValueError(f"the source folder {os.fspath(source)!r} is, or lies inside, "
                             f"the target {root!r}: organize into a separate folder")


def _known(digest: Any) -> tuple[str | None, int | None]:
    return digest if isinstance(digest, tuple) else (None, None)


# -- files ------------------------------------------------------------------------------------
def _digest(path: str) -> "tuple[str, int] | OSError | NotRegularFileError":
    """(SHA-256 hex, size) of a file's bytes, or why it could not be read (a FIFO, a
    socket or a device is not opened: see rawdicom.regular_file)."""
    h = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(open_regular(path), "rb") as f:
            for block in iter(lambda: f.read(_BLOCK), b""):
                h.update(block)
                size += len(block)
    except (OSError, NotRegularFileError) as exc:
        return exc
    return h.hexdigest(), size


def _digest_or_none(path: str) -> tuple[str, int] | None:
    got = _digest(path)
    return got if isinstance(got, tuple) else None


def _copy(source: str, dest: str, sha: str) -> None:
    """Copy through a fsync'd temporary file in ``dest``'s folder, linked to ``dest`` only
    when the bytes copied hash to ``sha`` (the source did not change since it was planned)."""
    temp = os.path.join(os.path.dirname(dest), f".rawdicom-{secrets.token_hex(8)}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        h = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, os.fdopen(_open_source(source), "rb") as src:
            for block in iter(lambda: src.read(_BLOCK), b""):
                h.update(block)
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if h.hexdigest() != sha:
            raise OSError(f"{source} changed while it was organized")
        _commit(temp, dest)
    finally:
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass


def _open_source(path: str) -> int:
    """A file open for reading; one that is not a regular file (a source swapped for a FIFO
    since it was hashed, a FIFO planted as the manifest) is an OSError, like any file that
    cannot be read."""
    try:
        return open_regular(path)
    except NotRegularFileError as exc:
        raise OSError(f"{path}: {exc}") from exc


def _commit(temp: str, dest: str) -> None:
    """Give ``temp`` the name ``dest`` unless ``dest`` exists (FileExistsError then)."""
    try:
        os.link(temp, dest)
        return
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    if os.path.lexists(dest):  # no hard links: check, then rename (see the module docstring)
        raise FileExistsError(errno.EEXIST, "exists", dest)
    os.rename(temp, dest)


def _fsync_dir(folder: str) -> None:
    """Make a folder's new entries durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_temporaries(root: str) -> None:
    """Delete the temporary files an interrupted run left (only names organize makes)."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            if _TEMP.match(name):
                try:
                    os.unlink(os.path.join(folder, name))
                except FileNotFoundError:
                    pass


class _Lock:
    """The target's lock file, held open (and flock'ed) for the run; removed at its end, so
    that a finished run leaves only what it organized and its manifest."""

    def __init__(self, handle: Any, path: str | None = None) -> None:
        self.handle = handle
        self.path = path  # None: the file stays

    def close(self) -> None:
        if self.path is not None:
            try:
                os.unlink(self.path)  # before the lock is released: no other run holds it
            except OSError:
                pass
        self.handle.close()


def _lock(root: str, name: str = LOCK_NAME, job: str = "organize") -> _Lock:
    """An exclusive lock on the target, held for the run (released if the process dies);
    ``name`` and ``job`` for the other jobs that write into a folder (convert).

    The lock file is removed when a run ends, so a run that opened it just before may lock a
    file no longer in the folder: the lock counts only while the file it holds is the one at
    the path (the same inode), else that run refuses as if the target were busy.
    """
    os.makedirs(root, exist_ok=True)
    path = os.path.join(root, name)
    handle = open(path, "a+b")
    try:
        import fcntl
    except ImportError:  # Windows, WebAssembly: no advisory lock (documented)
        return _Lock(handle, path)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(handle.fileno()).st_ino != os.stat(path).st_ino:
            raise OSError("the lock file was replaced")
    except OSError:
        handle.close()
        raise RuntimeError(f"another {job} is running into {root}") from None
    return _Lock(handle, path)


# -- the manifest -----------------------------------------------------------------------------
class _Manifest:
    """Append-only JSON lines, flushed per line; a torn last line is closed off first."""

    def __init__(self, path: str) -> None:
        torn = False
        try:
            with os.fdopen(_open_source(path), "rb") as f:  # (a FIFO there: an OSError)
                f.seek(0, os.SEEK_END)
                if f.tell():
                    f.seek(-1, os.SEEK_END)
                    torn = f.read(1) != b"\n"
        except FileNotFoundError:
            pass
        self.file = open(path, "a", encoding="utf-8", newline="\n")
        if torn:
            self.file.write("\n")

    def write(self, entry: Entry, root: str, note: str = "") -> None:
        target = entry.target
        rel = os.path.relpath(target, root).replace(os.sep, "/") if target else None
        row = {"source": os.path.abspath(entry.source), "target": rel, "action": entry.action,
               "reason": _join(entry.reason, note), "kind": entry.kind, "sha256": entry.sha256,
               "size": entry.size, "sop_instance_uid": entry.sop_instance_uid,
               "planned": list(entry.planned), "keys": list(entry.keys)}
        line = json.dumps(row, ensure_ascii=False)
        if not line.isascii() and not _is_text(line):
            # A name that is not UTF-8 (a lone surrogate): written \udcxx, read back as it was.
            line = json.dumps(row)
        self.file.write(line + "\n")
        self.file.flush()

    def sync(self) -> None:
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def _is_text(text: str) -> bool:
    """Whether ``text`` encodes to UTF-8 (no lone surrogate from a file name)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _read_manifest(path: str) -> list[dict[str, Any]]:
    rows = []
    try:
        with open(_open_source(path), encoding="utf-8", errors="replace") as f:
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # the torn last line of a killed run
                if isinstance(row, dict):
                    rows.append(row)
    except FileNotFoundError:
        pass
    return rows


def _prior_names(rows: Iterable[dict[str, Any]]) -> dict[tuple[tuple[str, ...], str], str]:
    """(parent components, group hash) -> name, from an earlier run's placed files."""
    prior: dict[tuple[tuple[str, ...], str], str] = {}
    for row in rows:
        planned, keys = row.get("planned"), row.get("keys")
        if row.get("action") not in _PLACED or not isinstance(planned, list) \
                or not isinstance(keys, list) or len(planned) != len(keys) or not planned:
            continue
        if not all(isinstance(p, str) for p in planned + keys):
            continue
        for level, (name, key) in enumerate(zip(planned, keys)):
            prior.setdefault((tuple(planned[:level]), key), name)
    return prior
