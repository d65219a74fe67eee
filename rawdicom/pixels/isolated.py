"""Decoding untrusted pixel data in a child process.

The codecs behind compressed transfer syntaxes are native code.  rawdicom
checks what is cheap to check before handing them a codestream, but a native
decoder fed a hostile codestream can still crash or exhaust the process, where
no ``except`` helps.  ``pixel_array_isolated`` runs the decoding in a child
process, with a time limit and (on POSIX) a memory limit, so that such a crash
becomes a :class:`PixelDataError` in the parent.

Processes are an option on CPython; WebAssembly builds have none, and there
this raises ``RuntimeError`` (decode in process with ``pixel_array`` instead).
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

import numpy as np

from ..errors import PixelDataError

__all__ = ["pixel_array_isolated"]


def _decode(src: Any, frame: int | None, kwargs: dict[str, Any]) -> np.ndarray:
    """In the child: read the source and decode it."""
    from .. import read
    from .frames import pixel_array
    return pixel_array(read(src), frame, **kwargs)


def _limit_memory(max_memory: int | None) -> None:
    """In the child, before any work: cap its address space (POSIX only)."""
    if max_memory is None:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    resource.setrlimit(resource.RLIMIT_AS, (max_memory, max_memory))


def run_isolated(fn: Callable[..., Any], args: tuple[Any, ...], *, timeout: float,
                 max_memory: int | None) -> Any:
    """``fn(*args)`` in a fresh child process; a crash, timeout or memory error raises PixelDataError.

    DicomErrors raised in the child come back as they are.
    """
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context(method),
                               initializer=_limit_memory, initargs=(max_memory,))
    try:
        future = pool.submit(fn, *args)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            raise PixelDataError(f"decoding took longer than {timeout} s; the child process "
                                 "was stopped") from None
        except BrokenProcessPool:
            raise PixelDataError("the decoder crashed the child process (a hostile or corrupt "
                                 "codestream)") from None
        except MemoryError:
            raise PixelDataError(f"decoding needs more than the {max_memory} bytes allowed"
                                 ) from None
    finally:
        # A hung child must be killed: shutdown() only waits for it.  Python 3.14 has
        # ProcessPoolExecutor.terminate_workers(); before that, the pool's own table.
        for process in list(getattr(pool, "_processes", {}).values()):
            if process.is_alive():
                process.kill()
        pool.shutdown(wait=True, cancel_futures=True)


def pixel_array_isolated(src: str | os.PathLike[str] | bytes, frame: int | None = None, *,
                         timeout: float = 60.0, max_memory: int | None = 2 << 30,
                         **kwargs: Any) -> np.ndarray:
    """``rawdicom.pixel_array(rawdicom.read(src), frame, **kwargs)``, decoded in a child process.

    For files from untrusted sources: a native codec that crashes, hangs past
    ``timeout`` seconds or allocates past ``max_memory`` bytes (POSIX) ends in
    a PixelDataError here, and this process goes on.  The array is copied back
    from the child, so it costs one copy and a process start (~10 ms with fork).
    """
    if isinstance(src, os.PathLike):
        src = os.fspath(src)
    return run_isolated(_decode, (src, frame, kwargs), timeout=timeout, max_memory=max_memory)
