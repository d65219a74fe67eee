"""The warnings raised while reading one file, captured for that file alone, in any thread.

Jobs over many files (scan, the index) turn the reader's warnings into a file's problems,
and decide from them whether the file is truncated. ``warnings.catch_warnings`` does that by
swapping process-wide state (the filters and the function that shows a warning), so two
threads inside it at once restore each other's state: one file's warnings land in another
file's record, and a dead list can stay installed for every warning after. Here the
captures take turns (a lock). The index fetches a file's bytes outside its captures, so
remote reads still overlap; scan reads its local file inside one (a scan run in threads
takes turns; scan's own parallelism is processes).

Only the reader's own warnings (:class:`~rawdicom.DicomWarning`) belong to the file: any
other warning caught meanwhile (another library's, or one that another thread raised in
that time: a Dask worker runs many) is issued again by :func:`dicom_messages`, as if it
had never been caught.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Iterator

from .errors import DicomWarning

__all__ = ["captured_warnings", "dicom_messages"]

_CAPTURING = threading.RLock()  # (re-entrant: a capture inside a capture is no deadlock)


@contextlib.contextmanager
def captured_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Every warning raised inside, recorded in the list yielded (one thread at a time)."""
    with _CAPTURING, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


def dicom_messages(caught: list[warnings.WarningMessage]) -> list[str]:
    """The texts of the DicomWarnings among ``caught``, in order; every other warning is
    issued again (call it after the capture has ended)."""
    texts = []
    for w in caught:
        if issubclass(w.category, DicomWarning):
            texts.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return texts
