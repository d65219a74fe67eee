"""``convert(source, out)``: every series of a folder, a list of paths, a DICOMDIR or an
index to NIfTI, one task per series, committed one stack at a time (see :mod:`.manifest`).

The process that calls it scans (header only, in the scan's worker processes), plans the
names, and commits; the pixels are read and written by the tasks: in this process
(``engine="serial"``), in worker processes (``"processes"``, the default: one series per
task, the largest first), or on a Dask cluster (``"dask"``, the series selected from an
index by ``where``). numpy is imported only where pixels are, so the command starts fast.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from ..model.layout import short_hash
from .manifest import MANIFEST_NAME, STAGING, Committer, recover
from .naming import DEFAULT_NAME, plan_series, series_layout
from .series import Options, SeriesTask, convert_series

__all__ = ["convert", "ConvertReport", "ENGINES", "FORMATS", "MISSING"]

ENGINES = ("serial", "processes", "dask")
FORMATS = ("nii.gz", "nii")
MISSING = ("refuse", "fill")
Progress = Callable[[int, int], Any]


@dataclass
class ConvertReport:
    """What a run did: ``rows``, the manifest rows it committed (one per stack: status
    ``converted``, ``refused`` or ``failed``; one per file no stack holds because the scan
    could not read it: ``unreadable``); ``already``: lines an earlier run had written;
    ``failed_files``: (path, error) of files this run's scan could not read."""

    out: str
    manifest: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    already: int = 0
    failed_files: list[tuple[str, str]] = field(default_factory=list)
    series: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row["status"]] = out.get(row["status"], 0) + 1
        return out

    @property
    def ok(self) -> bool:
        """No stack failed and every file could be read."""
        return not self.failed_files and not any(r["status"] == "failed" for r in self.rows)

    def __str__(self) -> str:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(self.counts().items())) or "nothing new"
        already = f" ({self.already} already done)" if self.already else ""
        stacks = sum(1 for r in self.rows if r["status"] != "unreadable")
        lines = [f"convert: {self.series} series, {stacks} stacks: {counts}{already}"
                 f" -> {self.out}"]
        def order(row: dict[str, Any]) -> tuple[Any, ...]:  # not the order tasks finished
            number = row.get("series_number")
            return (number if isinstance(number, int) else 1 << 62,
                    str(row.get("series_instance_uid")), row["stack"])
        for row in sorted(self.rows, key=order):
            label = f"series {row.get('series_number')} stack {row['stack']}/{row['stacks']}"
            if row["status"] == "unreadable":
                continue  # listed below, with the files this run's scan could not read
            if row["status"] == "converted":
                for o in row["outputs"]:
                    if o["kind"].startswith("nifti"):
                        shape = "x".join(str(v) for v in o["shape"])
                        scaled = " scaled" if "scl_slope" in o else ""
                        lines.append(f"  converted {o['path']}  {shape} {o['dtype']}{scaled}")
            else:
                images = f"{row['images']} image{'s' if row['images'] != 1 else ''}"
                lines.append(f"  {row['status']:<9} {label} ({images}): {row['why']}")
        for path, error in self.failed_files:
            lines.append(f"  unreadable {path}: {error}")
        lines.append(f"  manifest: {self.manifest}")
        return "\n".join(lines)


def _version() -> str:
    from .. import __version__
    return __version__


def _series_records(source: Any, workers: int | None, progress: Progress | None,
                    where: str | None, storage_options: dict[str, Any] | None
                    ) -> tuple[list[list[dict[str, Any]]], list[tuple[str, str]]]:
    """The records of every series (each list in path order), and the unreadable files."""
    if where is not None or _is_index(source):
        return _index_series(os.fspath(source), where, storage_options), []
    if isinstance(source, (str, os.PathLike)) and os.path.isfile(source) and \
            os.path.basename(os.fspath(source)).upper() == "DICOMDIR":
        from ..model.dicomdir import read_dicomdir
        collection = read_dicomdir(source, workers=workers, progress=progress)
    else:
        from ..model.scan import scan
        collection = scan(source, workers=workers, progress=progress)
    series = [[i.record for i in s.instances] for s in collection.series]
    return series, [(path, str(exc)) for path, exc in collection.failed]


def _is_index(source: Any) -> bool:
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = os.fspath(source)
    return path.endswith((".sqlite", ".sqlite3", ".db")) or (
        os.path.isdir(os.path.join(path, "instances")) and
        os.path.exists(os.path.join(path, "_index.json"))) or "://" in path


def _index_series(index: str, where: str | None, storage_options: dict[str, Any] | None
                  ) -> list[list[dict[str, Any]]]:
    """The series of an index that ``where`` (SQL over its ``instances`` table) selects."""
    from ..index import read_rows
    from ..index.geometry import instances_from_rows
    condition = f" AND ({where})" if where else ""
    sql = ("SELECT DISTINCT series_instance_uid FROM instances WHERE status = 'ok'"
           + condition)
    if index.endswith((".sqlite", ".sqlite3", ".db")):
        import sqlite3
        db = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
        try:
            selected = {r[0] for r in db.execute(sql.replace("WHERE", "WHERE removed = 0 AND", 1))}
        finally:
            db.close()
    else:
        from ..index import connect
        con = connect(index, storage_options=storage_options)
        selected = {r[0] for r in con.execute(sql).fetchall()}
    rows = [r for r in read_rows(index, storage_options=storage_options)
            if r.get("series_instance_uid") in selected]
    paths = {r["path"] for r in rows}
    frames = [f for f in read_rows(index, "frames", storage_options=storage_options)
              if f.get("path") in paths]
    by_series: dict[Any, list[dict[str, Any]]] = {}
    for inst in instances_from_rows(rows, frames):
        by_series.setdefault(inst.record.get("series_instance_uid"), []).append(inst.record)
    return [sorted(v, key=lambda r: str(r.get("path"))) for _, v in sorted(
        by_series.items(), key=lambda item: str(item[0]))]


def _unreadable(path: str, error: str) -> dict[str, Any]:
    """The manifest line of a file the scan could not read (it is in no stack)."""
    try:
        st = os.stat(path)
        version: Any = [st.st_size, st.st_mtime_ns]
    except OSError:
        version = None
    return {"stack_id": short_hash(["unreadable", os.path.abspath(path), version], 20),
            "series_instance_uid": None, "series_number": None, "series_description": None,
            "modality": None, "stack": 0, "stacks": 0, "reason": "", "images": 0, "files": 1,
            "first_file": path, "folders": [], "planned": [], "keys": [],
            "status": "unreadable", "why": error, "diagnostics": [], "notes": [],
            "outputs": []}


def _prior(rows: Iterable[dict[str, Any]]) -> dict[tuple[tuple[str, ...], str], str]:
    """(parent components, group hash) -> name, from the manifest's rows."""
    prior: dict[tuple[tuple[str, ...], str], str] = {}
    for row in rows:
        planned, keys = row.get("planned"), row.get("keys")
        if not isinstance(planned, list) or not isinstance(keys, list) or \
                len(planned) != len(keys):
            continue
        for level, (name, key) in enumerate(zip(planned, keys)):
            if isinstance(name, str) and isinstance(key, str):
                prior.setdefault((tuple(planned[:level]), key), name)
    return prior


def convert(source: Any, out: str | os.PathLike[str], *, name: str = DEFAULT_NAME,
            format: str = "nii.gz", missing: str = "refuse", engine: str = "processes",
            workers: int | None = None, client: Any = None, where: str | None = None,
            level: int = 6, progress: Progress | None = None,
            storage_options: dict[str, Any] | None = None) -> ConvertReport:
    """Convert every series of ``source`` to NIfTI under ``out``; see the package docstring.

    source: a folder, a file, a list of paths, a DICOMDIR, or an index (an SQLite file or
        a Parquet folder from ``rawdicom.index.build``; ``where``: SQL over its
        ``instances`` columns selecting the series to convert).
    name: the folders and file name of a series, from DICOM keywords (see :mod:`.naming`).
    format: ``nii.gz`` or ``nii``. missing: ``refuse`` (default) a stack with missing
        slices, or ``fill`` them with NaN (float32). level: gzip level (1-9).
    engine: ``serial``, ``processes`` (``workers`` processes, default the cores) or
        ``dask`` (``client``: a ``distributed.Client``; ``out`` must be a folder every
        worker reaches).
    progress: ``progress(done, total)`` over the series (after the scan's own calls).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, not {format!r}")
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, not {missing!r}")
    if not (isinstance(level, int) and 1 <= level <= 9):
        raise ValueError(f"level must be 1 to 9, not {level!r}")
    if engine == "dask" and client is None:
        raise ValueError("engine='dask' needs client= (a distributed.Client)")
    layout = series_layout(name)
    committer, done, staging = _open(os.fspath(out), storage_options)
    try:
        series, failed = _series_records(source, workers if engine != "dask" else None,
                                         progress, where, storage_options)
        shown = os.fspath(out)  # as the caller named it
        report = ConvertReport(shown, os.path.join(shown, MANIFEST_NAME), series=len(series),
                               failed_files=failed)
        tasks = _tasks(series, layout, done, staging, format, missing, level, engine, workers,
                       storage_options)
        report.already = len(done)
        for path, error in failed:  # every file accounted for: those no stack holds too
            row = _unreadable(path, error)
            if row["stack_id"] not in done:
                report.rows.append(committer.commit(row, None))
        total, count = len(tasks), 0
        if progress is not None:
            progress(0, total)
        for task, rows in _run(tasks, engine, workers, client):
            for row in rows:
                report.rows.append(committer.commit(row, task.staging))
            committer.cleanup(task.staging)
            count += 1
            if progress is not None:
                progress(count, total)
    finally:
        # every task is committed: what is left was staged by attempts that died (a lost
        # Dask worker) and is never published
        committer.close()
    return report


def _open(out: str, storage_options: dict[str, Any] | None
          ) -> tuple[Any, dict[str, dict[str, Any]], str]:
    """The committer of ``out`` (a local folder, locked; or a folder at an fsspec URL), the
    stacks an earlier run did, and the folder tasks stage their files under."""
    if "://" in out:  # rawdicom.index (its package) only for a URL: start-up time
        from ..index.storage import Folder, is_url
    if "://" in out and is_url(out):
        from .remote import RemoteCommitter, recover_remote
        folder = Folder(out, storage_options)
        done, rows = recover_remote(folder)
        return RemoteCommitter(folder, rows), done, folder.url(folder.join(STAGING))
    root = os.path.realpath(out[len("file://"):] if out.startswith("file://") else out)
    committer = Committer(root)
    try:
        return committer, recover(root), os.path.join(root, STAGING)
    except BaseException:
        committer.close()
        raise


def _tasks(series: list[list[dict[str, Any]]], layout: Any, done: dict[str, dict[str, Any]],
           staging: str, format: str, missing: str, level: int, engine: str,
           workers: int | None, storage_options: dict[str, Any] | None) -> list[SeriesTask]:
    """One task per series with stacks still to do, the largest first."""
    by_series: dict[Any, list[dict[str, Any]]] = {}
    for row in done.values():
        if not row.get("stack"):
            continue  # an unreadable file's line
        by_series.setdefault(row.get("series_instance_uid"), []).append(row)
    plans = plan_series(layout, [records[0] for records in series],
                        _prior(r for rows in by_series.values() for r in rows))
    cores = os.cpu_count() or 1
    processes = 1 if engine == "serial" else (workers or cores)
    pending = []
    for records, (parts, keys) in zip(series, plans):
        finished = by_series.get(records[0].get("series_instance_uid"), [])
        skip = frozenset(r["stack_id"] for r in finished if not (
            missing == "fill" and r["status"] == "refused" and "missing slices" in str(r["why"])))
        if finished and len(skip) >= max(r["stacks"] for r in finished):
            continue  # every stack of the series is done
        pending.append((records, parts, keys, skip))
    pending.sort(key=lambda p: -len(p[0]))
    busy = max(1, min(processes, len(pending)))
    threads = max(1, cores // busy) if engine != "dask" else 1
    options = Options(extension="." + format, missing=missing, level=level, threads=threads,
                      read_threads=threads, version=_version())
    return [SeriesTask(records, tuple(parts[:-1]), parts[-1], tuple(parts), tuple(keys),
                       f"{staging}/{short_hash(records[0].get('series_instance_uid'), 12)}"
                       f"-{secrets.token_hex(4)}",
                       skip, options, storage_options)
            for records, parts, keys, skip in pending]


def _run(tasks: list[SeriesTask], engine: str, workers: int | None, client: Any
         ) -> Iterator[tuple[SeriesTask, list[dict[str, Any]]]]:
    """(task, its rows) as the tasks finish."""
    if engine == "dask":
        from .engines import run_dask
        yield from run_dask(tasks, client)
    elif engine == "processes" and len(tasks) > 1 and (workers or os.cpu_count() or 1) > 1:
        from .engines import run_processes
        yield from run_processes(tasks, workers or os.cpu_count() or 1)
    else:
        for task in tasks:
            yield task, convert_series(task)
