"""``build(source, out)``: list the files, map :func:`record` over partitions of them on an
engine, write the rows to SQLite or Parquet.

Engines: ``serial`` (this process), ``processes`` (this process and a local process pool:
all cores by default) and ``dask`` (``dask.distributed``: the given client, the current
one, or a LocalCluster). Work goes out in partitions of ``partition_size`` files, numbered
by their place in the sorted listing. For a Parquet output each task writes its own
partition file (atomically, named by its id), so a task that Dask retries after losing a
worker rewrites the same file: no row lost, none twice. For SQLite the rows come back to
this process as lists of stored values (no dict per file), written one partition per
transaction.
"""

from __future__ import annotations

import collections
import fnmatch
import glob as globmod
import hashlib
import os
import queue
import sys
import threading
import time
import warnings
from collections import Counter
from typing import Any, Callable, Iterable, Sequence

from ..warning_capture import captured_warnings
from . import parquet
from .listing import Entry, list_source
from .record import error_row, file_row
from .schema import extra_keywords
from .sqlite import Batch, SQLiteSink, stored_batch
from .storage import is_url

__all__ = ["build", "Summary", "index_partition"]

ENGINES = ("serial", "processes", "dask")
#: Files read at once per worker when they are URLs: with 20-50 ms per request, about what
#: keeps one core busy parsing (0.5 ms a header).
REMOTE_THREADS = 32
#: Local files below which ``engine="processes"`` with ``workers`` left to it indexes in
#: the calling process alone: starting a worker (a fork, pyarrow's import, cold caches:
#: about 0.15-0.25 s of CPU) costs what indexing 1,000 such files does, and the second
#: core would only take a share of the rest.
POOL_MIN_FILES = 2000


class Summary:
    """What a build did: files listed, rows written per status, files skipped as unchanged
    (SQLite), files marked removed, header bytes read, seconds."""

    def __init__(self, files: int, statuses: Counter, unchanged: int, removed: int,
                 header_bytes: int, seconds: float, out: str) -> None:
        self.files = files
        self.statuses = dict(sorted(statuses.items()))
        self.unchanged = unchanged
        self.removed = removed
        self.header_bytes = header_bytes
        self.seconds = seconds
        self.out = out

    @property
    def indexed(self) -> int:
        return sum(self.statuses.values())

    def __repr__(self) -> str:
        return (f"Summary(files={self.files}, statuses={self.statuses}, unchanged={self.unchanged},"
                f" removed={self.removed}, header_bytes={self.header_bytes}, "
                f"seconds={self.seconds:.2f})")

    def __str__(self) -> str:
        rate = self.indexed / self.seconds if self.seconds > 0 else 0.0
        per_file = self.header_bytes / self.indexed if self.indexed else 0
        counts = ", ".join(f"{n} {s}" for s, n in self.statuses.items()) or "none"
        return (f"{self.out}: {self.files} files listed, {self.indexed} indexed ({counts}), "
                f"{self.unchanged} unchanged, {self.removed} removed; {rate:.0f} files/s, "
                f"{per_file:.0f} header bytes per file")


class Progress:
    """files done/total, files/s and errors so far, on one terminal line (stderr)."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.done = 0
        self.errors = 0
        self.start = time.perf_counter()
        self._shown = 0.0

    def update(self, files: int, errors: int) -> None:
        self.done += files
        self.errors += errors
        now = time.perf_counter()
        if self.enabled and (now - self._shown > 0.2 or self.done == self.total):
            self._shown = now
            rate = self.done / max(now - self.start, 1e-9)
            sys.stderr.write(f"\rindex: {self.done}/{self.total} files, {rate:.0f} files/s, "
                             f"{self.errors} errors")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.total:
            sys.stderr.write("\n")


def _safe_record(entry: Entry, tags: tuple[str, ...], storage_options: dict[str, Any] | None,
                 caught: list[warnings.WarningMessage] | None = None) -> dict[str, Any]:
    try:
        return file_row(entry.path, tags, entry.info, storage_options, caught)
    except Exception as exc:  # a defect of rawdicom: still exactly one row for the file
        return error_row(entry.path, exc, tags)


def index_partition(partition: int, entries: Sequence[Entry], tags: tuple[str, ...],
                    parquet_out: str | None, storage_options: dict[str, Any] | None = None,
                    threads: int = 1) -> tuple[int, Batch | None, Counter, int]:
    """Index one partition: ``(partition, batch, status counts, header bytes)``; the batch
    is None when the rows were written to Parquet here, else the rows as SQLite stores
    them (:func:`rawdicom.index.sqlite.stored_batch`: lists of values, what crosses back
    from a worker process cheaply). Module-level, so that it pickles to any worker;
    ``storage_options`` (fsspec's) serve both the files' URLs and a Parquet URL.

    ``threads`` > 1: that many files read at once. For remote files, whose time is the
    latency of each request, not the CPU: the requests overlap while the GIL runs one
    parse at a time (rows in the order of ``entries`` whatever the order they finish in).
    """
    if threads > 1 and len(entries) > 1:
        import concurrent.futures
        with concurrent.futures.ThreadPoolExecutor(min(threads, len(entries))) as pool:
            rows = list(pool.map(lambda e: _safe_record(e, tags, storage_options), entries))
    else:  # one capture of warnings for the partition, each file taking its own from it
        with captured_warnings() as caught:
            rows = [_safe_record(entry, tags, storage_options, caught) for entry in entries]
        for w in caught:  # (raised outside any file's read: issued again, as if not caught)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    statuses = Counter(r["status"] for r in rows)
    header_bytes = sum(r["header_bytes"] or 0 for r in rows)
    if parquet_out is not None:
        parquet.write_partition(parquet_out, partition, rows, tags, storage_options)
        return partition, None, statuses, header_bytes
    return partition, stored_batch(rows, tags), statuses, header_bytes


def _is_sqlite(out: str) -> bool:
    return out.endswith((".sqlite", ".sqlite3", ".db"))


def _listing_digest(entries: list[Entry], tags: tuple[str, ...], partition_size: int) -> str:
    h = hashlib.sha256(repr((tags, partition_size)).encode())
    for e in entries:
        h.update(f"{e.path}\0{e.size}\0{e.mtime}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


Task = tuple[int, list[Entry]]
# (tasks, tags, parquet_out, storage_options, *, workers=, client=, threads=)
Runner = Callable[..., Iterable[tuple]]


def _serial(tasks: list[Task], tags: tuple[str, ...], parquet_out: str | None,
            storage_options: dict[str, Any] | None, *, threads: int = 1, **_: Any
            ) -> Iterable[tuple]:
    for partition, entries in tasks:
        yield index_partition(partition, entries, tags, parquet_out, storage_options, threads)


def _processes(tasks: list[Task], tags: tuple[str, ...], parquet_out: str | None,
               storage_options: dict[str, Any] | None, *, workers: int | None = None,
               threads: int = 1, **_: Any) -> Iterable[tuple]:
    """``workers`` processes index the partitions: this one and ``workers - 1`` started.

    This process works too, taking partitions from the end of the list while a pool takes
    them from the start: starting the pool's processes (a forkserver, each worker importing
    rawdicom, pyarrow) overlaps with indexing instead of preceding it, and no core is left
    to a parent that only waits. The pool is fed from a thread of its own, since starting
    a process blocks the thread that asks for it.
    """
    count = workers or os.cpu_count() or 1
    if count <= 1:
        yield from _serial(tasks, tags, parquet_out, storage_options, threads=threads)
        return
    args = (tags, parquet_out, storage_options, threads)
    pending = collections.deque(tasks)
    lock = threading.Lock()
    finished: queue.Queue = queue.Queue()
    feeder = threading.Thread(target=_feed_pool, args=(count - 1, pending, lock, args, finished),
                              name="rawdicom-index-pool", daemon=True)
    feeder.start()
    ended = False
    try:
        while True:
            with lock:
                task = pending.pop() if pending else None
            if task is None:
                break
            yield index_partition(*task, *args)
            while not ended:  # what the pool finished meanwhile
                try:
                    item = finished.get_nowait()
                except queue.Empty:
                    break
                ended = item is None
                if not ended:
                    yield _outcome(item)
        while not ended:
            item = finished.get()
            ended = item is None
            if not ended:
                yield _outcome(item)
    finally:
        with lock:
            pending.clear()  # (the consumer stopped early: nothing more is submitted)
        feeder.join()


def _outcome(item: Any) -> tuple:
    """A finished future's result, or the exception the pool's feeder met, raised."""
    if isinstance(item, BaseException):
        raise item
    return item.result()


def _warm(parquet_out: str | None) -> None:
    """A worker's start: the imports its first partition would pay (pyarrow for Parquet)."""
    if parquet_out is not None:
        parquet.pyarrow_module()


def _feed_pool(workers: int, pending: collections.deque, lock: threading.Lock,
               args: tuple, finished: queue.Queue) -> None:
    """Run partitions from the start of ``pending`` on a pool of ``workers`` processes.

    A partition is submitted only to a worker that is ready (started, imports done) and
    idle, so none waits on a worker's start-up while the calling process could have taken
    it: a job smaller than that start-up is done by the caller alone. Each finished
    partition's future, or an exception, goes to ``finished``, then None."""
    import concurrent.futures
    import multiprocessing

    from ..model.parent_watch import end_with_parent
    # forkserver/spawn, not fork: the caller may hold threads (a Dask client, a GUI, this
    # feeder). The forkserver imports this module once for all the workers it forks.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        from multiprocessing import forkserver
        preload = getattr(forkserver._forkserver, "_preload_modules", ["__main__"])
        context.set_forkserver_preload(list(dict.fromkeys([*preload, __name__])))
    try:
        # Each worker ends with this process, even when this one is SIGKILLed.
        with concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                                    initializer=end_with_parent) as pool:
            warming = {pool.submit(_warm, args[1]) for _ in range(workers)}
            running = set(warming)
            idle = 0
            while True:
                with lock:
                    while pending and idle:
                        running.add(pool.submit(index_partition, *pending.popleft(), *args))
                        idle -= 1
                if not running:
                    break
                done, running = concurrent.futures.wait(
                    running, return_when=concurrent.futures.FIRST_COMPLETED)
                for future in done:
                    idle += 1
                    if future not in warming:  # (a failed warm-up fails its partitions too)
                        finished.put(future)
    except BaseException as exc:  # (a pool that could not start: raised in the caller)
        finished.put(exc)
    finally:
        finished.put(None)


def _dask(tasks: list[Task], tags: tuple[str, ...], parquet_out: str | None,
          storage_options: dict[str, Any] | None, *, client: Any = None, threads: int = 1,
          **_: Any) -> Iterable[tuple]:
    try:
        import distributed
    except ImportError as exc:
        raise ImportError("engine='dask' needs dask.distributed: pip install 'rawdicom[dask]'"
                          ) from exc
    own = None
    if client is None:
        try:
            client = distributed.get_client()
        except ValueError:
            own = client = distributed.Client(distributed.LocalCluster(processes=True))
    try:
        token = hashlib.sha256(repr((parquet_out, tags, [t[0] for t in tasks],
                                     [t[1][:1] for t in tasks])).encode()).hexdigest()[:16]
        futures = [client.submit(index_partition, p, e, tags, parquet_out, storage_options,
                                 threads, key=f"rawdicom-index-{token}-{p}", retries=2)
                   for p, e in tasks]
        for future in distributed.as_completed(futures):
            yield future.result()
            future.release()
    finally:
        if own is not None:
            cluster = own.cluster
            own.close()
            cluster.close()


_RUNNERS: dict[str, Runner] = {"serial": _serial, "processes": _processes, "dask": _dask}


def covers(source: Any) -> Callable[[str], bool]:
    """Whether a row's path lies in what ``source`` lists, listed or not now: under the
    folder or URL prefix, matching the glob, the file itself; for a list of paths, those
    paths. A row outside is another root's and stays as it is."""
    if not isinstance(source, (str, os.PathLike)):
        paths = {os.fspath(p) for p in source} if isinstance(source, (list, tuple, set)) \
            else set()
        return paths.__contains__
    text = os.fspath(source)
    if text.startswith("file://"):
        text = text[len("file://"):]
    if "://" not in text and globmod.has_magic(text):
        return lambda path: fnmatch.fnmatchcase(path, text)
    prefix = text.rstrip("/\\") + ("/" if "://" in text else os.sep)
    return lambda path: path == text or path.startswith(prefix)


def build(source: Any, out: str, *, engine: str = "processes", client: Any = None,
          workers: int | None = None, tags: Iterable[str] | None = None,
          partition_size: int = 500, progress: bool | None = None,
          storage_options: dict[str, Any] | None = None, threads: int | None = None
          ) -> Summary:
    """Index ``source`` (a folder, a list of paths or URLs, a glob, an fsspec URL) into
    ``out``: an SQLite file (``.sqlite``, ``.sqlite3``, ``.db``; local) or a Parquet
    folder (local, or any fsspec URL: ``s3://bucket/index``, where the workers write).

    SQLite is incremental: files whose path, size and mtime match their row are not read
    again, rows of files no longer listed are marked removed, and an interrupted build
    resumes. One SQLite index may hold several roots: a build marks removed only the rows
    its source covers (:func:`covers`), so indexing DIR2 into an index of DIR1 adds DIR2
    and leaves DIR1's rows as they are. A Parquet folder is rebuilt, except that a re-run over the same listing after
    an interruption keeps the partitions already written. Every listed file gives exactly
    one row. ``progress``: a status line on stderr (default: when stderr is a terminal).
    ``storage_options``: fsspec's options (credentials, ``endpoint_url``, ...) for the
    source's and ``out``'s URLs, on every worker. ``threads``: files read at once by each
    worker (default: ``REMOTE_THREADS`` when the files are URLs, where each request waits
    tens of milliseconds; 1 for local files, whose reads wait on nothing but the CPU).
    ``engine="processes"``: this process and ``workers - 1`` started (default: one per
    core; with ``workers`` left unset, fewer than ``POOL_MIN_FILES`` local files are indexed
    in this process alone).
    """
    if engine not in _RUNNERS:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    start = time.perf_counter()
    extra = extra_keywords(tags)
    entries = list_source(source, storage_options)
    out = os.fspath(out)
    unchanged = removed = 0
    sink: SQLiteSink | None = None
    parquet_out: str | None = None
    if _is_sqlite(out):
        if is_url(out):
            raise ValueError(f"{out}: an SQLite index is a local file; for a URL, write "
                             "Parquet (an out without .sqlite/.db)")
        sink = SQLiteSink(out, extra)
        known = sink.known()
        listed = {e.path for e in entries}
        covered = covers(source)
        removed = sink.mark_removed(p for p, (_, _, gone) in known.items()
                                    if not gone and p not in listed and covered(p))
        todo = [e for e in entries if known.get(e.path) != (e.size, e.mtime, 0)
                or e.size is None]
        unchanged = len(entries) - len(todo)
        tasks = [(i // partition_size, todo[i:i + partition_size])
                 for i in range(0, len(todo), partition_size)]
    else:
        parquet_out = out
        digest = _listing_digest(entries, extra, partition_size)
        tasks = [(i // partition_size, entries[i:i + partition_size])
                 for i in range(0, len(entries), partition_size)]
        resumed = parquet.prepare(out, digest, len(tasks), storage_options)
        unchanged = sum(len(e) for p, e in tasks if p in resumed)
        tasks = [(p, e) for p, e in tasks if p not in resumed]
    if threads is None:
        threads = REMOTE_THREADS if any(is_url(e.path) for e in entries) else 1
    statuses: Counter = Counter()
    header_bytes = 0
    bar = Progress(sum(len(e) for _, e in tasks), progress)
    if engine == "processes" and (len(tasks) <= 1 or (
            workers is None and threads == 1 and sum(len(e) for _, e in tasks) < POOL_MIN_FILES)):
        engine = "serial"  # starting a pool would cost more than it saves
    try:
        for _, batch, counts, nbytes in _RUNNERS[engine](tasks, extra, parquet_out,
                                                          storage_options, workers=workers,
                                                          client=client, threads=threads):
            if sink is not None:
                sink.write(batch)
            statuses.update(counts)
            header_bytes += nbytes
            bar.update(sum(counts.values()), sum(n for s, n in counts.items() if s != "ok"))
    finally:
        bar.close()
        if sink is not None:
            sink.close()
    if parquet_out is not None:
        parquet.write_manifest(out, extra, digest, len(entries), storage_options)
    return Summary(len(entries), statuses, unchanged, removed, header_bytes,
                   time.perf_counter() - start, out)
