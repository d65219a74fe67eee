"""Chunks of files read in worker processes (imported by scan only when processes are used).

Workers are started with ``fork`` where that is safe (Linux, and no other thread running
in this process: forking a threaded process can copy a held lock), since a forked worker
starts in about a millisecond with rawdicom already imported; elsewhere with ``spawn``.
Chunks are handed out as workers free up (``imap``, in order), so one slow folder does not
hold the others back, and results come back in the order of the chunks.
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any, Callable

from .scan import Outcome, read_chunk

__all__ = ["map_chunks"]


def _context() -> Any:
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def map_chunks(chunks: list[list[str]], tags: tuple[Any, ...], workers: int,
               progress: Callable[[int, int], Any] | None, total: int) -> list[Outcome]:
    """read_chunk over ``chunks`` in ``workers`` processes; outcomes in path order."""
    results: list[Outcome] = []
    with _context().Pool(workers) as pool:
        for outcomes in pool.imap(_read_chunk, [(chunk, tags) for chunk in chunks]):
            results.extend(outcomes)
            if progress is not None:
                progress(len(results), total)
    return results


def _read_chunk(args: tuple[list[str], tuple[Any, ...]]) -> list[Outcome]:
    chunk, tags = args
    return read_chunk(chunk, tags)
