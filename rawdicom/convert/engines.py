"""Where the series tasks run: worker processes of this machine, or a Dask cluster.

Processes: a pool of ``workers`` processes (forked on Linux when no other thread runs, as
the scan's), one series per task; each worker ends when its parent
dies (``model.parent_watch``), so a killed convert leaves no worker writing behind it. A
worker that dies (out of memory, killed) breaks the pool: the tasks it did not return are
run again in this process, so none is lost.

Dask: one task per series, submitted to ``client``; as each finishes its rows are committed
here. A worker lost mid-task makes the scheduler run the task again elsewhere; each attempt
stages its files apart (a fresh staging name is drawn in the task), and only the rows that
reach this process are committed, once per stack, so nothing is lost or published twice.
"""

from __future__ import annotations

import multiprocessing
import secrets
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any, Iterator

from ..model.parent_watch import end_with_parent
from .manifest import release_inherited_locks
from .series import SeriesTask, convert_series

__all__ = ["run_processes", "run_dask"]


def _die_with_parent() -> None:
    """In a worker: end when the parent process dies, even by SIGKILL (the kernel's death
    signal and a watch on the parent's sentinel, which also catches a parent that died
    before this ran), and do not hold the parent's lock on the output folder."""
    release_inherited_locks()
    end_with_parent()


def _context() -> Any:
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _import_numpy() -> None:
    try:
        import numpy  # noqa: F401
    except ImportError:  # the workers name the extra when they need it
        pass


def run_processes(tasks: list[SeriesTask], workers: int
                  ) -> Iterator[tuple[SeriesTask, list[dict[str, Any]]]]:
    """(task, rows) as the tasks finish in ``workers`` processes."""
    left = list(tasks)
    context = _context()
    if context.get_start_method() == "fork":
        _import_numpy()  # once here, inherited by every worker, not once in each
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=context,
                               initializer=_die_with_parent)
    try:
        futures = {pool.submit(convert_series, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                rows = future.result()
            except BrokenProcessPool:
                continue  # run again below
            left.remove(task)
            yield task, rows
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for task in left:  # a worker died: what it held is done here
        yield task, convert_series(task)


def _attempt(task: SeriesTask) -> tuple[SeriesTask, list[dict[str, Any]]]:
    """A Dask task: this attempt's own staging folder, then the series converted."""
    task = replace(task, staging=f"{task.staging}-{secrets.token_hex(4)}")
    return task, convert_series(task)


def run_dask(tasks: list[SeriesTask], client: Any
             ) -> Iterator[tuple[SeriesTask, list[dict[str, Any]]]]:
    """(task, rows) as the tasks finish on the cluster of ``client``."""
    from distributed import as_completed as dask_completed
    futures = [client.submit(_attempt, task, pure=False, retries=3) for task in tasks]
    for future in dask_completed(futures):
        task, rows = future.result()
        yield task, rows
        future.release()
