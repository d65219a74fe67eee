"""From a folder (or a list of paths) to a Collection: every file read header-only, once.

``scan(source)`` lists the files, reads each with ``read(path, tags=...)`` (the record's
attributes only: never the pixel data), turns each into an instance record and hands the
records to :class:`~rawdicom.model.hierarchy.Collection`. A file that is not DICOM goes to
``.skipped``, a file whose bytes are wrong or that cannot be read (permissions, vanished
since it was listed) to ``.failed``; so do a FIFO, a socket or a device (a
NotRegularFileError, "not a regular file": never opened, see ``rawdicom.regular_file``) and
a folder that cannot be listed (its PermissionError: never silently left out). A scan
never stops at one bad file.

Walking a folder:

* recursive; symbolic links to files and folders are followed, but a
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

Many files are read in ``workers`` processes, this one included (see ``_pool``), in
chunks of paths so that the traffic between processes is a few large messages of plain
dicts. The result does not depend on the worker count nor on the order in which the
file system lists names: paths are sorted before anything is read, and every list in the
result follows that order.
With ``workers=1`` everything runs in the calling process and ``multiprocessing`` is never
imported (the WebAssembly case).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import gc
import os
import stat
import warnings
from typing import Any, Callable, Iterable, Iterator, Union

from ..dictionary import keyword_for, parse_tag
from ..errors import (DicomError, DicomWarning, MalformedElementError, NotDicomError, NotRegularFileError,
                      TruncatedError)
from ..reader import read
from ..warning_capture import captured_warnings
from .hierarchy import Collection
from .record import (IDENTIFIER_FIELDS, RECORD_TAGS, instance_record, plain_value,
                     snake_case)

__all__ = ["scan", "list_files", "read_records", "read_chunk", "read_one", "outcome_error",
           "pixel_data_truncation", "overrun_text_element", "MEDIA_STORAGE_DIRECTORY",
           "TRUNCATION_MARKS"]

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
_MEDIA_STORAGE_BYTES = MEDIA_STORAGE_DIRECTORY.encode()
_MEDIA_STORAGE_SOP_CLASS = 0x00020002
_PIXEL_DATA = 0x7FE00010
_FLOAT_PIXEL_DATA = 0x7FE00008  # where a read that stops before the pixels stops
_UNDEFINED_LENGTH = 0xFFFFFFFF
# How the reader's warnings say that the data ended before the header did (the reader keeps
# what it read; for a scan, such a file is truncated). Tested in tests/test_scan.py.
TRUNCATION_MARKS = ("the data ends", "cut short", "past the end of the data",
                     "before the end of the data")
# The longest value of each text VR with a bound (PS3.5 table 6.2-1; PN: 3 groups of 64
# characters of up to 4 bytes... taken as 324); UC, UR, UT have none.
_TEXT_LIMITS = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
                "LT": 10240, "PN": 324, "SH": 16, "ST": 1024, "TM": 14, "UI": 64}
# Bytes no text value holds (control characters but TAB, LF, FF, CR and ESC).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27))
# Below this many files per worker, starting processes costs more than it saves: a fork
# and the pages both processes then copy (copy-on-write) cost tens of milliseconds, what
# reading a few hundred headers takes (200 files: one process 30 ms of CPU; two, 25-40 ms
# in the busier one).
_FILES_PER_WORKER = 128
# Chunks per worker: enough to balance uneven files and to report progress, few enough
# that each message between processes carries many records (the processes meet at the
# last chunk: one of them may wait up to a chunk's time there, a few milliseconds).
_CHUNKS_PER_WORKER = 24
_MAX_CHUNK = 128

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
    workers: processes to read in, this one included; None: the cores this process may
        run on (``os.sched_getaffinity``, else ``os.cpu_count()``); 1: this process only.
        Few files (under 128 per worker) are read with fewer workers.
    progress: called as ``progress(done, total)`` (files) after each chunk of files.
    tags: extra attributes (keywords or tags) to read into every record, under their
        snake_case keyword (``"0009,1001"``-style private tags under ``"tag_00091001"``).

    Raises FileNotFoundError when ``source`` is one path that does not exist: a root that
    is not there is the caller's mistake, not a file's defect (a listed file that cannot
    be read goes to ``.failed``).
    """
    if isinstance(source, (str, os.PathLike)) and not os.path.lexists(source):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), os.fspath(source))
    paths = list_files(source)
    extra = tuple(tags) if tags is not None else ()
    with _collector_paused():
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
                failed.append((path, outcome_error(payload)))
        return Collection.from_records(records, skipped=skipped, failed=failed,
                                       dicomdirs=dicomdirs)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while records pile up (restored after).

    Tens of thousands of records (dicts holding lists), all kept, set off collection after
    collection that frees nothing: about a tenth of a parallel scan's time. Reading makes
    no reference cycles (datasets hold their elements' context, not themselves), so
    nothing waits on the collector meanwhile.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# -- listing ----------------------------------------------------------------------------------
def list_files(source: PathSource) -> list[str]:
    """The files of ``source`` (see :func:`scan`), sorted, each once.

    A file reached by several paths (links) is listed under the smallest of them, so the
    choice does not depend on the order the paths came in.
    """
    if isinstance(source, (str, os.PathLike)):
        sources: Iterable[Any] = [source]
    else:
        sources = source
    seen_dirs: set[tuple[int, int]] = set()
    by_file: dict[Any, str] = {}  # (device, inode), or the path when it cannot be stat'ed

    def keep(key: Any, path: str) -> None:
        if key not in by_file or path < by_file[key]:
            by_file[key] = path

    for item in sources:
        path = os.fspath(item)
        try:
            st = os.stat(path)
        except OSError:
            keep(path, path)  # listed anyway: reading it reports the error in .failed
            continue
        if stat.S_ISDIR(st.st_mode):
            for key, found in _walk(path, st, seen_dirs):
                keep(key, found)
        else:
            keep((st.st_dev, st.st_ino), path)
    return sorted(set(by_file.values()))


def _walk(root: str, root_stat: os.stat_result, seen_dirs: set[tuple[int, int]]
          ) -> Iterator[tuple[Any, str]]:
    """(identity, path) of the files under ``root``; folders entered once by (device, inode)."""
    pending = [(root, root_stat.st_dev, root_stat.st_ino)]
    while pending:
        folder, dev, ino = pending.pop()
        if (dev, ino) in seen_dirs:
            continue
        seen_dirs.add((dev, ino))
        try:
            with os.scandir(folder) as it:
                entries = list(it)
        except OSError:  # listed itself: reading it reports why (rawdicom.regular_file)
            yield folder, folder
            continue
        for entry in entries:
            try:
                if entry.is_dir():  # follows symbolic links
                    if not entry.name.startswith("."):
                        st = entry.stat()  # its own device: it may be a mount point
                        pending.append((entry.path, st.st_dev, st.st_ino))
                    continue
                if entry.is_symlink():
                    st = entry.stat()
                    key: Any = (st.st_dev, st.st_ino)
                else:  # a file in this folder: its device, and the inode listing gave
                    key = (dev, entry.inode())
            except OSError:  # a dangling link, or gone since listing: reading reports it
                key = entry.path
            yield key, entry.path


# -- reading ----------------------------------------------------------------------------------
def read_records(paths: list[str], *, workers: int | None = None,
                 progress: Progress | None = None, tags: tuple[Any, ...] = ()
                 ) -> list[Outcome]:
    """The outcome of reading each path, in the order of ``paths``."""
    total = len(paths)
    workers = _cores() if workers is None else max(1, int(workers))
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


def _cores() -> int:
    """The cores this process may run on (a container or ``taskset`` may allow fewer than
    the machine has: a worker more than the cores only adds the transfer)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # (macOS, Windows, WebAssembly)
        return os.cpu_count() or 1


def read_chunk(paths: list[str], tags: tuple[Any, ...] = ()) -> list[Outcome]:
    """Read one chunk of files (in a worker process or in this one): one capture of the
    warnings for the chunk, each file's own cut from it (see read_one)."""
    wanted = RECORD_TAGS + tags
    before_pixels = _before_pixels(wanted)
    outside: list[warnings.WarningMessage] = []
    with captured_warnings() as caught:
        outcomes = [_read_one(path, wanted, tags, before_pixels, caught, outside)
                    for path in paths]
    _issue_again(outside)
    return outcomes


def read_one(path: str, wanted: tuple[Any, ...] = RECORD_TAGS, extra: tuple[Any, ...] = ()
             ) -> Outcome:
    """Read one file header-only into its record; never raises for a file's defects.

    The read stops before the Pixel Data (``Dataset.stopped_at`` gives its place, read from
    the first kilobytes only), walking past what lies between the last attribute asked for
    and it (a group length of 7FE0, overlays, private groups) in the same read; only a file
    with Float Pixel Data, or asked for attributes past the Pixel Data, is read again.

    The reader's warnings (lenient readings) go to the record's ``problems`` as
    ``"warning: ..."`` rather than to stderr, once per file of thousands. A file is
    truncated (a TruncatedError in ``.failed``) when its Pixel Data runs past the end of
    the file (the header alone would pass, and the series' volume fail later) or when the
    reader warned that the data ends inside the header. A file whose header holds none of
    SOP Class, SOP Instance, Study and Series Instance UID is no instance: not DICOM when
    it has no preamble nor meta group either (a file of NUL bytes parses as empty
    elements), else a MalformedElementError.
    """
    outside: list[warnings.WarningMessage] = []
    with captured_warnings() as caught:  # (this file's warnings only, in any thread)
        outcome = _read_one(path, wanted, extra, _before_pixels(wanted), caught, outside)
    _issue_again(outside)
    return outcome


@functools.lru_cache(maxsize=16)
def _before_pixels(wanted: tuple[Any, ...]) -> bool:
    """Whether a read of ``wanted`` may stop before the Pixel Data: none of them lies past
    it (Pixel Data itself comes from where the read stopped)."""
    return all(parse_tag(t) < _FLOAT_PIXEL_DATA for t in wanted if t != _PIXEL_DATA)


def _issue_again(caught: list[warnings.WarningMessage]) -> None:
    """Issue again the warnings caught that are no file's problems (another library's,
    another thread's, and the reader's after a file's record was made), as if they had
    never been caught."""
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


def _read_one(path: str, wanted: tuple[Any, ...], extra: tuple[Any, ...], before_pixels: bool,
              caught: list[warnings.WarningMessage], outside: list[warnings.WarningMessage]
              ) -> Outcome:
    """read_one inside a capture of warnings (``caught``, shared by the files of a chunk):
    the reader's warnings while this file is read and its record made are its problems;
    any other warning, and what the checks after that warn, go to ``outside``."""
    try:
        start = len(caught)
        try:
            ds, record = _header(path, wanted, extra, before_pixels)
        finally:
            notes = []
            for w in caught[start:]:
                if issubclass(w.category, DicomWarning):
                    notes.append(str(w.message))
                else:
                    outside.append(w)
        if record is None:
            return ("dicomdir", None)
        start = len(caught)
        try:
            return _checked(path, ds, record, notes)
        finally:
            outside.extend(caught[start:])
    except NotRegularFileError as exc:  # a FIFO, socket or device: reported, not skipped
        return ("failed", (type(exc), exc.reason, None, None))
    except NotDicomError:
        return ("skipped", None)
    except DicomError as exc:
        # Sent as plain values: an error may hold a partial Dataset over the file's bytes.
        return ("failed", (type(exc), exc.reason, exc.offset, exc.tag))
    except OSError as exc:
        return ("failed", exc)


def _header(path: str, wanted: tuple[Any, ...], extra: tuple[Any, ...], before_pixels: bool
            ) -> tuple[Any, dict[str, Any] | None]:
    """The header-only dataset of a file and its record (None for a DICOMDIR)."""
    ds = read(path, tags=wanted, stop_before_pixels=before_pixels)
    meta = ds.file_meta
    if meta is not None and _is_dicomdir(meta):
        return ds, None
    stopped = ds.stopped_at
    if stopped is not None and stopped[0] < _PIXEL_DATA:  # Float Pixel Data before it
        ds = read(path, tags=wanted)
    record = instance_record(ds, path)
    if extra:
        _add_extra(record, ds, extra)
    return ds, record


def _checked(path: str, ds: Any, record: dict[str, Any], notes: list[str]) -> Outcome:
    """A file's outcome once its record is made: damaged, truncated, no instance, or its
    record with the reader's warnings (``notes``) among its problems."""
    stopped = ds.stopped_at
    # (a length that swallowed the elements after it hides Pixel Data's header)
    damage = None if stopped and stopped[0] == _PIXEL_DATA else overrun_text_element(ds)
    if damage is not None:
        raise damage
    for note in notes:
        if any(mark in note for mark in TRUNCATION_MARKS):
            where = "Pixel Data" if "(7FE0,0010)" in note else "header"
            raise TruncatedError(f"the file ends inside its {where} ({note})")
    if not (ds.transfer_syntax and ds.transfer_syntax.deflated):  # offsets: inflated
        _check_pixel_data(path, record, ds.source_size)
    if not any(record[key] for key in IDENTIFIER_FIELDS):
        if ds.preamble is None and not ds.file_meta:
            return ("skipped", None)
        raise MalformedElementError("no SOP Class, SOP Instance, Study or Series Instance "
                                    "UID: not an instance")
    record["problems"].extend(f"warning: {note}" for note in notes)
    return ("record", record)


def _is_dicomdir(meta: Any) -> bool:
    """Whether a meta group names the Media Storage Directory SOP Class (a DICOMDIR). The
    value is decoded only when its bytes hold that UID (one file in thousands)."""
    stored = meta._elements.get(_MEDIA_STORAGE_SOP_CLASS)
    if stored is None:
        return False
    if type(stored) is tuple and len(stored) == 3:  # (vr, length, offset): the bytes first
        vr, length, offset = stored
        if _MEDIA_STORAGE_BYTES not in bytes(meta._buf[offset:offset + length]):
            return False
    return meta.get(_MEDIA_STORAGE_SOP_CLASS) == MEDIA_STORAGE_DIRECTORY


def _check_pixel_data(path: str, record: dict[str, Any], size: int | None) -> None:
    """Native Pixel Data must lie in the file of ``size`` bytes (as the header-only read
    found it; else one stat: the read saw only the header)."""
    offset, length = record["pixel_data_offset"], record["pixel_data_length"]
    if offset is not None and length != _UNDEFINED_LENGTH:
        error = pixel_data_truncation(offset, length,
                                      os.stat(path).st_size if size is None else size)
        if error is not None:
            raise error


def pixel_data_truncation(offset: int | None, length: int | None, size: int | None
                          ) -> TruncatedError | None:
    """The TruncatedError of Pixel Data (value at ``offset``, ``length`` bytes) that runs
    past the end of a file of ``size`` bytes, else None (also when any is unknown, or the
    length undefined: encapsulated fragments are checked when decoded). For a file read
    header-only, locally (a stat) or remotely (the size a listing or HEAD gave), alike;
    not for a deflated file, whose offsets are into the inflated data."""
    if offset is None or length is None or size is None or length == _UNDEFINED_LENGTH:
        return None
    if offset + length <= size:
        return None
    return TruncatedError(f"Pixel Data of {length} bytes runs past the end of the file "
                          f"({max(size - offset, 0)} bytes remain)", offset=offset,
                          tag=_PIXEL_DATA)


def overrun_text_element(ds: Any, data: Any = None) -> MalformedElementError | None:
    """The error of a text element whose length runs far past its value, else None.

    A damaged length (Modality, CS, claiming 65,535 bytes) swallows the elements that
    follow it, the Pixel Data's header among them: the read goes on to the end of the
    file and finds nothing wrong. Such a value is long (over 4 times the longest value
    of its VR, and 1 KiB) and holds binary bytes (a NUL or a control character before its
    padding: element headers), which no text value may. ``data``: the bytes the dataset
    was read from, when its values may run past them (a header prefix); else each
    element's own bytes. Only elements the read kept are looked at.
    """
    for tag, stored in ds._elements.items():  # (lengths without making Elements: per file)
        length = stored[1] if type(stored) is tuple else stored.length
        if length < 1024 or length == _UNDEFINED_LENGTH:
            continue
        element = ds[tag]
        limit = _TEXT_LIMITS.get(element.vr)
        if limit is None or length <= 4 * limit:
            continue
        if data is not None:
            value = bytes(data[element.offset:element.offset + length])
        else:
            try:
                value = bytes(element.raw)
            except DicomError:
                continue  # cut short: the reader's own warning says so
        value = value.rstrip(b"\x00 ")  # (padding)
        if len(value.translate(None, _CONTROL)) < len(value):
            return MalformedElementError(
                f"{element.vr} value claims {length} bytes and holds binary data: its length "
                "runs past its value, over the elements after it (the file is damaged)",
                offset=element.offset, tag=element.tag)
    return None


def _add_extra(record: dict[str, Any], ds: Any, extra: tuple[Any, ...]) -> None:
    """The extra attributes asked for, under their snake_case keyword (values as in records;
    a sequence as a list of dicts, one per item, keyed the same way)."""
    problems = record["problems"]
    for key in extra:
        tag = parse_tag(key)
        keyword = keyword_for(tag)
        name = _extra_name(tag, keyword)
        if name in record and keyword in RECORD_TAGS:
            continue
        record[name] = _plain_value(ds, tag, problems) if tag in ds else None


def _plain_value(ds: Any, tag: int, problems: list[str]) -> Any:
    """One element's value as plain data; the items of a sequence as dicts."""
    if ds[tag].vr != "SQ":
        return plain_value(ds, tag, problems)
    try:
        items = ds[tag].value or []
    except DicomError as exc:
        problems.append(f"{_extra_name(tag, keyword_for(tag))}: {exc}")
        return None
    return [{_extra_name(el.tag, el.keyword): _plain_value(item, el.tag, problems)
             for el in item} for item in items]


def _extra_name(tag: int, keyword: str) -> str:
    return snake_case(keyword) if keyword else f"tag_{tag:08x}"


def outcome_error(payload: Any) -> Exception:
    if isinstance(payload, tuple):
        cls, reason, offset, tag = payload
        try:
            return cls(reason, offset=offset, tag=tag)
        except TypeError:  # pragma: no cover - a DicomError subclass with another signature
            return DicomError(reason, offset=offset, tag=tag)
    return payload
