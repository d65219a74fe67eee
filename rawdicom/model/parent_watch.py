"""Worker processes end with the process that started them, even when it is SIGKILLed.

A worker of scan, organize or the index's ``processes`` engine that outlives its parent
waits forever: on a queue nobody reads, for a chunk nobody sends. Killing the parent with
SIGKILL (the OOM killer, a user's ``kill -9``, a scheduler's time limit) runs none of its
cleanup, so the workers must notice by themselves. :func:`end_with_parent`, run first thing
in every worker, makes them:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` (through ctypes): the kernel kills the
  worker as soon as its parent ends, even while the worker is blocked in a system call;
* everywhere (where prctl does not exist: macOS, the BSDs, Windows; and as a second line
  on Linux), a daemon thread waits on ``multiprocessing.parent_process().sentinel``, which
  becomes ready when the parent ends (a pipe whose other end only the parent holds; for a
  forkserver's child, the pipe of the process that started the forkserver), and then ends
  the worker with ``os._exit``.

A parent that died before the worker got here is noticed too: its sentinel is ready at
once. (With the forkserver start method, the worker's direct parent is the forkserver,
which itself exits when the process that started it ends: the death signal then follows.)
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading

__all__ = ["end_with_parent"]

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_parent() -> None:
    """Make this worker process end when its parent does (see the module docstring)."""
    _death_signal()
    parent = multiprocessing.parent_process()
    if parent is None:  # not a multiprocessing child: nothing to watch
        return
    threading.Thread(target=_watch, args=(parent.sentinel,), daemon=True,
                     name="rawdicom-parent-watch").start()


def _death_signal() -> bool:
    """Ask Linux to SIGKILL this process when its parent ends; False where that cannot be."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):  # no libc to load, or no prctl in it
        return False


def _watch(sentinel: int) -> None:
    """Wait until the parent ends, then end this process at once (no cleanup: the parent,
    which would have used its results, is gone)."""
    multiprocessing.connection.wait([sentinel])
    os._exit(1)
