"""The warnings raised while reading one file, captured for that file alone, in any thread.

Jobs over many files (scan, the index) turn the reader's warnings into a file's problems,
and decide from them whether the file is truncated. ``warnings.catch_warnings`` does that by
swapping process-wide state (the filters and the function that shows a warning), so two
threads inside it at once restore each other's state: one file's warnings land in another
file's record, and a dead list can stay installed for every warning after. Here the
captures take turns (a lock); the caller keeps its I/O outside, so reads still overlap.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Iterator

__all__ = ["captured_warnings"]

_CAPTURING = threading.RLock()  # (re-entrant: a capture inside a capture is no deadlock)


@contextlib.contextmanager
def captured_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside, recorded in the list yielded (one thread at a time)."""
    with _CAPTURING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught
