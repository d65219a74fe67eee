"""Chunks of files read in worker processes and in this one (imported by scan only when
processes are used).

``workers`` processes in all: this process and ``workers - 1`` started ones. The chunks
are shared out as work proceeds: this process takes them from the front of the list, the
workers from the back, each claiming the next under a lock, until they meet (this process
leaves the workers a few more, see _SERIAL_SHARE); so a busy
core or a slow folder holds nobody up, and this process, which would otherwise only wait,
reads its share without sending it anywhere (half the records of a 2-worker scan never
cross a process boundary). A worker sends each chunk's outcomes back as it finishes it, as
one ``marshal`` blob: each record a tuple of its values, its keys sent once per chunk (a
record's keys are the same in every file), so that neither side pickles a dict of 86
keys per file (a chunk holding anything marshal cannot write, an error's class, goes
pickled as it is).
A worker that dies (killed, out of memory) is no loss: the chunks it never delivered are
read here at the end. A worker ends with this process, even when this one is SIGKILLed
(see ``parent_watch``).

Workers are started with ``fork`` where that is safe (Linux, and no other thread running
in this process: forking a threaded process can copy a held lock), since a forked worker
starts in about a millisecond with rawdicom imported and the paths in its memory;
elsewhere with ``spawn``.
"""

from __future__ import annotations

import marshal
import multiprocessing
import queue
import sys
import threading
from typing import Any, Callable

from .parent_watch import end_with_parent
from .scan import Outcome, read_chunk

__all__ = ["map_chunks"]

_POLL = 0.5  # seconds between checks that the workers are alive, while waiting for them
# What this process does alone after the reading (building the Collection, a caller's
# stacks; unpacking what the workers sent), as a share of the reading: the share of the
# chunks it leaves to each worker (bench_scan.py, a scan with stacks: 0.1 to 0.2; a scan
# alone: a few hundredths).
_SERIAL_SHARE = 0.1


def _context() -> Any:
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def map_chunks(chunks: list[list[str]], tags: tuple[Any, ...], workers: int,
               progress: Callable[[int, int], Any] | None, total: int) -> list[Outcome]:
    """read_chunk over ``chunks`` in ``workers`` processes (this one included); outcomes
    in path order."""
    ctx = _context()
    bounds = ctx.RawArray("q", [0, len(chunks)])  # [next from the front, end of the back]
    lock = ctx.Lock()
    results: Any = ctx.Queue()
    procs = [ctx.Process(target=_work, args=(chunks, tags, bounds, lock, results), daemon=True)
             for _ in range(workers - 1)]
    for proc in procs:
        proc.start()
    done: dict[int, list[Outcome]] = {}
    finished = 0
    count = 0

    def collect(item: tuple[int, Any]) -> None:
        nonlocal finished, count
        index, outcomes = item
        if outcomes is None:  # a worker has no more chunks to claim
            finished += 1
            return
        if type(outcomes) is bytes:
            outcomes = _unpack(outcomes)
        done[index] = outcomes
        count += len(outcomes)
        if progress is not None:
            progress(count, total)

    # The last chunks are left to the workers: this process has the Collection (and the
    # caller the stacks) to build alone after the reading, and the records it receives
    # to unpack meanwhile.
    reserve = min(len(chunks), round(len(chunks) * _SERIAL_SHARE * (workers - 1)))
    try:
        while True:
            index = _claim(bounds, lock, front=True, keep=reserve)
            if index is None:
                break
            collect((index, read_chunk(chunks[index], tags)))
            while True:  # what the workers sent meanwhile
                try:
                    collect(results.get_nowait())
                except queue.Empty:
                    break
        while finished < len(procs):
            try:
                collect(results.get(timeout=_POLL))
            except queue.Empty:
                if all(proc.exitcode is not None for proc in procs):
                    break  # a worker died without its last message
        for index in range(len(chunks)):  # chunks a dead worker claimed but never sent
            if index not in done:
                collect((index, read_chunk(chunks[index], tags)))
    finally:
        for proc in procs:
            proc.join(timeout=_POLL)
            if proc.exitcode is None:
                proc.terminate()
                proc.join()
        results.close()
    return [outcome for index in range(len(chunks)) for outcome in done[index]]


def _claim(bounds: Any, lock: Any, front: bool, keep: int = 0) -> int | None:
    """The index of the next unclaimed chunk, from the front or the back; None when none
    (or no more than ``keep``: those are left to the others)."""
    with lock:
        low, high = bounds[0], bounds[1]
        if high - low <= keep:
            return None
        if front:
            bounds[0] = low + 1
            return low
        bounds[1] = high - 1
        return high - 1


def _work(chunks: list[list[str]], tags: tuple[Any, ...], bounds: Any, lock: Any,
          results: Any) -> None:
    """A worker: claim chunks from the back and send their outcomes, then a last None."""
    end_with_parent()  # a parent killed (even by SIGKILL) leaves no worker waiting
    while True:
        index = _claim(bounds, lock, front=False)
        if index is None:
            break
        results.put((index, _pack(read_chunk(chunks[index], tags))))
    results.put((-1, None))


def _pack(outcomes: list[Outcome]) -> bytes | list[Outcome]:
    """A chunk's outcomes as one marshal blob (see the module docstring), or as they are
    when marshal cannot write them."""
    layouts: dict[tuple[str, ...], int] = {}
    rows: list[tuple[Any, Any]] = []
    for kind, payload in outcomes:
        if kind == "record":
            keys = tuple(payload)
            layout = layouts.get(keys)
            if layout is None:
                layout = layouts[keys] = len(layouts)
            rows.append((layout, tuple(payload.values())))
        else:
            rows.append((kind, payload))
    try:
        return marshal.dumps((tuple(layouts), rows))
    except ValueError:  # (an error's class, a value of a type of its own)
        return outcomes


def _unpack(blob: bytes) -> list[Outcome]:
    """The outcomes _pack wrote: records again dicts, their keys in their order."""
    layouts, rows = marshal.loads(blob)
    return [("record", dict(zip(layouts[first], second))) if type(first) is int
            else (first, second) for first, second in rows]
