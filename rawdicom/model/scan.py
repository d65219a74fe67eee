"""From a folder (or a list of paths) to a Collection: every file read header-only, once.

``scan(source)`` lists the files, reads each with ``read(path, tags=...)`` (the record's
attributes only: never the pixel data), turns each into an instance record and hands the
records to :class:`~rawdicom.model.hierarchy.Collection`. A file that is not DICOM goes to
``.skipped``, a file whose bytes are wrong or that cannot be read (permissions, vanished
since it was listed) to ``.failed``; a scan never stops at one bad file.

Walking a folder:

* recursive, in sorted name order; symbolic links to files and folders are followed, but a
  folder already visited (the same device and inode: a link loop, or two links to one
  folder) is not entered again, and a file reached twice (hard or symbolic links) is read
  once;
* folders whose name starts with ``.`` are not entered (``.git``, ``.Trash``, ``.cache``,
  ``.thumbnails``: tools' state, never a study, sometimes huge), files whose name starts
  with ``.`` are read like any other (a DICOM file is recognised by its bytes, not its name;
  macOS ``._*`` and ``.DS_Store`` files end in ``.skipped`` at the cost of one read each);
* a DICOMDIR (a Media Storage Directory, recognised by its SOP Class in the meta group,
  whatever its name) is not an instance: its path goes to ``Collection.dicomdirs``
  (``read_dicomdir`` reads one).

Many files are read in worker processes (``workers``), in chunks of paths so that the
traffic between processes is a few large messages of plain dicts. The result does not
depend on the worker count nor on the order in which the file system lists names: paths
are sorted before anything is read, and every list in the result follows that order.
With ``workers=1`` everything runs in the calling process and ``multiprocessing`` is never
imported (the WebAssembly case).
"""

from __future__ import annotations

import os
import stat
from typing import Any, Callable, Iterable, Iterator, Union

from ..dictionary import keyword_for, parse_tag
from ..errors import DicomError, NotDicomError
from ..reader import read
from .hierarchy import Collection
from .record import RECORD_TAGS, _value, instance_record, snake_case

__all__ = ["scan", "list_files", "read_records", "MEDIA_STORAGE_DIRECTORY"]

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_MEDIA_STORAGE_SOP_CLASS = 0x00020002
# Below this many files per worker, starting processes costs more than it saves.
_FILES_PER_WORKER = 64
# Chunks per worker: enough to balance uneven files and to report progress, few enough
# that each message between processes carries many records.
_CHUNKS_PER_WORKER = 8
_MAX_CHUNK = 256

PathSource = Union[str, "os.PathLike[str]", Iterable[Union[str, "os.PathLike[str]"]]]
Progress = Callable[[int, int], Any]
# What reading one file gives: ("record", dict) | ("skipped", None) | ("dicomdir", None)
# | ("failed", (error type, message, offset, tag)) for a DicomError | ("failed", OSError).
Outcome = tuple[str, Any]


def scan(source: PathSource, *, workers: int | None = None, progress: Progress | None = None,
         tags: Iterable[Any] | None = None) -> Collection:
    """Read every DICOM file under ``source`` (header only) into a :class:`Collection`.

    source: a folder (walked recursively, see the module docstring), one file, or an
        iterable of paths (each a file; given folders are walked).
    workers: processes to read in; None: ``os.cpu_count()``; 1: in this process. Few files
        are always read in this process.
    progress: called as ``progress(done, total)`` (files) after each chunk of files.
    tags: extra attributes (keywords or tags) to read into every record, under their
        snake_case keyword (``"0009,1001"``-style private tags under ``"tag_00091001"``).
    """
    paths = list_files(source)
    extra = tuple(tags) if tags is not None else ()
    outcomes = read_records(paths, workers=workers, progress=progress, tags=extra)
    records, skipped, failed, dicomdirs = [], [], [], []
    for path, (kind, payload) in zip(paths, outcomes):
        if kind == "record":
            records.append(payload)
        elif kind == "skipped":
            skipped.append(path)
        elif kind == "dicomdir":
            dicomdirs.append(path)
        else:
            failed.append((path, _error(payload)))
    return Collection.from_records(records, skipped=skipped, failed=failed, dicomdirs=dicomdirs)


# -- listing ----------------------------------------------------------------------------------
def list_files(source: PathSource) -> list[str]:
    """The files of ``source`` (see :func:`scan`), sorted, each once."""
    if isinstance(source, (str, os.PathLike)):
        sources: Iterable[Any] = [source]
    else:
        sources = source
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    out: list[str] = []
    given: set[str] = set()
    for item in sources:
        path = os.fspath(item)
        try:
            st = os.stat(path)
        except OSError:
            st = None  # listed anyway: reading it reports the error in .failed
        if st is not None and stat.S_ISDIR(st.st_mode):
            out.extend(_walk(path, st, seen_dirs, seen_files))
        elif path not in given:
            if st is not None:
                key = (st.st_dev, st.st_ino)
                if key in seen_files:
                    continue
                seen_files.add(key)
            out.append(path)
        given.add(path)
    return sorted(set(out))


def _walk(root: str, root_stat: os.stat_result, seen_dirs: set[tuple[int, int]],
          seen_files: set[tuple[int, int]]) -> Iterator[str]:
    """Files under ``root``, depth first; folders entered once by (device, inode)."""
    pending = [(root, root_stat.st_dev, root_stat.st_ino)]
    while pending:
        folder, dev, ino = pending.pop()
        if (dev, ino) in seen_dirs:
            continue
        seen_dirs.add((dev, ino))
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue  # an unreadable folder holds nothing we can list
        subfolders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows symbolic links
                if entry.is_symlink():
                    st = os.stat(entry.path)
                    key = (st.st_dev, st.st_ino)
                else:
                    key = (dev, entry.inode())
            except OSError:  # a dangling link, or gone since listing: reading reports it
                if not entry.name.startswith("."):
                    yield entry.path
                continue
            if is_dir:
                if not entry.name.startswith("."):
                    subfolders.append((entry.path, key[0], key[1]))
            elif key not in seen_files:
                seen_files.add(key)
                yield entry.path
        pending.extend(reversed(subfolders))


# -- reading ----------------------------------------------------------------------------------
def read_records(paths: list[str], *, workers: int | None = None,
                 progress: Progress | None = None, tags: tuple[Any, ...] = ()
                 ) -> list[Outcome]:
    """The outcome of reading each path, in the order of ``paths``."""
    total = len(paths)
    workers = (os.cpu_count() or 1) if workers is None else max(1, int(workers))
    workers = min(workers, max(1, total // _FILES_PER_WORKER))
    size = max(1, min(_MAX_CHUNK, -(-total // (workers * _CHUNKS_PER_WORKER))))
    chunks = [paths[i:i + size] for i in range(0, total, size)]
    if progress is not None:
        progress(0, total)
    if workers == 1:
        results = []
        done = 0
        for chunk in chunks:
            results.extend(read_chunk(chunk, tags))
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return results
    from ._pool import map_chunks  # multiprocessing only when processes are used
    return map_chunks(chunks, tags, workers, progress, total)


def read_chunk(paths: list[str], tags: tuple[Any, ...] = ()) -> list[Outcome]:
    """Read one chunk of files (in a worker process or in this one)."""
    wanted = RECORD_TAGS + tags
    return [read_one(path, wanted, tags) for path in paths]


def read_one(path: str, wanted: tuple[Any, ...] = RECORD_TAGS, extra: tuple[Any, ...] = ()
             ) -> Outcome:
    """Read one file header-only into its record; never raises for a file's defects."""
    try:
        ds = read(path, tags=wanted)
        meta = ds.file_meta
        if meta is not None and _MEDIA_STORAGE_SOP_CLASS in meta._elements and \
                meta.get(_MEDIA_STORAGE_SOP_CLASS) == MEDIA_STORAGE_DIRECTORY:
            return ("dicomdir", None)
        record = instance_record(ds, path)
        if extra:
            _add_extra(record, ds, extra)
        return ("record", record)
    except NotDicomError:
        return ("skipped", None)
    except DicomError as exc:
        # Sent as plain values: an error may hold a partial Dataset over the file's bytes.
        return ("failed", (type(exc), exc.reason, exc.offset, exc.tag))
    except OSError as exc:
        return ("failed", exc)


def _add_extra(record: dict[str, Any], ds: Any, extra: tuple[Any, ...]) -> None:
    """The extra attributes asked for, under their snake_case keyword (values as in records)."""
    problems = record["problems"]
    for key in extra:
        tag = parse_tag(key)
        keyword = keyword_for(tag)
        name = _extra_name(tag, keyword)
        if name in record and keyword in RECORD_TAGS:
            continue
        record[name] = _value(ds, tag, problems) if tag in ds else None


def _extra_name(tag: int, keyword: str) -> str:
    return snake_case(keyword) if keyword else f"tag_{tag:08x}"


def _error(payload: Any) -> Exception:
    if isinstance(payload, tuple):
        cls, reason, offset, tag = payload
        try:
            return cls(reason, offset=offset, tag=tag)
        except TypeError:  # pragma: no cover - a DicomError subclass with another signature
            return DicomError(reason, offset=offset, tag=tag)
    return payload
