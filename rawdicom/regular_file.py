"""Open a path only when it names a regular file: never block on a FIFO, never read a device.

``open()`` on a FIFO waits for a writer, forever; ``/dev/zero`` or ``/dev/urandom`` read
without end; a Unix socket cannot be opened at all. A folder of uploads may hold any of
them, and a job over thousands of files must neither hang on one nor read one without
bound. So every path the library reads (the reader, scan, the index, organize, DICOMDIR)
is opened here:

* ``os.stat`` first: a FIFO, socket or device is refused before it is opened (opening
  some devices has effects of its own: a tape rewinds, a serial line hangs up);
* then ``os.open(O_RDONLY | O_NONBLOCK)``, which returns at once even on a FIFO, and
  ``os.fstat`` on the descriptor: what is read is what was checked, even when the path
  was swapped for a FIFO between the two calls. ``O_NONBLOCK`` changes nothing for a
  regular file (its reads never wait).

A refused path raises :class:`~rawdicom.errors.NotRegularFileError` (a NotDicomError: no
DICOM file is there) with the reason "not a regular file" and what the path is.
"""

from __future__ import annotations

import errno
import os
import stat

from .errors import NotRegularFileError

__all__ = ["open_regular", "open_regular_stat", "check_regular"]

_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
_KINDS = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_regular(mode: int, path: object) -> None:
    """Raise NotRegularFileError unless ``mode`` (an ``st_mode``) is a regular file's; a
    folder raises an OSError (see _folder_error)."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise _folder_error(path)
    kind = next((name for test, name in _KINDS if test(mode)), "not a file")
    raise NotRegularFileError(f"not a regular file ({kind}): nothing is read from it")


def _folder_error(path: object) -> OSError:
    """Why a folder given as a file cannot be read. A walk lists a folder it could not
    enter as a path of its own, so that it is reported rather than silently left out:
    the error is then the one listing it gives (PermissionError for a folder without read
    permission)."""
    try:
        with os.scandir(os.fspath(path)):  # type: ignore[call-overload]
            pass
    except OSError as exc:
        return exc
    return IsADirectoryError(errno.EISDIR, "a folder, not a file", os.fspath(path))


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of the regular file at ``path`` (the caller closes it).

    Raises NotRegularFileError for a FIFO, socket or device, an OSError for a folder
    (why it cannot be listed, else IsADirectoryError) or a path that cannot be opened.
    """
    return open_regular_stat(path)[0]


def open_regular_stat(path: str | os.PathLike[str]) -> tuple[int, os.stat_result]:
    """:func:`open_regular`, with the ``fstat`` of the descriptor (size, mtime)."""
    check_regular(os.stat(path).st_mode, path)
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        check_regular(st.st_mode, path)
    except BaseException:
        os.close(fd)
        raise
    return fd, st
