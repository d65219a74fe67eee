"""Where a Parquet index lives: a local folder, or a folder at any fsspec URL.

On a cluster the workers write their partitions themselves, so the index must be somewhere
every worker reaches: a bucket (``s3://``, ``gs://``, ``az://``) as often as a shared mount.
:class:`Folder` is the handful of operations the Parquet sink needs (list, remove, write a
file atomically, open one to read), on the local file system with ``os`` alone (fsspec is
not needed for a local index) and through fsspec for a URL.

Atomic writes: a file is written under a temporary name in the same folder, then renamed
(``os.replace``, or fsspec's ``mv``: on object stores a copy of a finished object), so a
reader never sees half a partition and a writer killed mid-write leaves only a temporary
file, which :func:`rawdicom.index.parquet.write_manifest` removes.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from typing import IO, Any, Callable

from ..regular_file import open_regular

__all__ = ["Folder", "is_url"]


def is_url(location: str) -> bool:
    """Whether ``location`` names a place through fsspec (``file://`` is a local path)."""
    return "://" in location and not location.startswith("file://")


class Folder:
    """A folder of the index: ``location`` is a local path, a ``file://`` URL or any fsspec
    URL; ``storage_options`` go to fsspec (credentials, ``endpoint_url``, ...)."""

    def __init__(self, location: str, storage_options: dict[str, Any] | None = None) -> None:
        self.location = location
        if is_url(location):
            try:
                import fsspec
            except ImportError as exc:  # pragma: no cover - depends on the environment
                raise ImportError("an index at a URL needs fsspec: pip install "
                                  "'rawdicom[remote]'") from exc
            fs, root = fsspec.core.url_to_fs(location, **(storage_options or {}))
            self.fs: Any = fs
            self.root = root.rstrip("/")
        else:
            self.fs = None
            self.root = location[len("file://"):] if location.startswith("file://") else location

    def join(self, *parts: str) -> str:
        """The path (in this folder's file system) of ``parts`` under the folder."""
        if self.fs is None:
            return os.path.join(self.root, *parts)
        return posixpath.join(self.root, *parts)

    def url(self, path: str) -> str:
        """``path`` as the user names it: a local path, or a URL with its protocol."""
        return path if self.fs is None else self.fs.unstrip_protocol(path)

    def exists(self, path: str) -> bool:
        return os.path.exists(path) if self.fs is None else bool(self.fs.exists(path))

    def names(self, folder: str) -> list[str]:
        """The names of the files in ``folder`` (none when it does not exist)."""
        if self.fs is None:
            return sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        try:
            found = self.fs.ls(folder, detail=False, refresh=True)
        except (FileNotFoundError, NotADirectoryError):
            return []
        return sorted(posixpath.basename(p.rstrip("/")) for p in found)

    def remove(self, path: str) -> None:
        if self.fs is None:
            os.remove(path)
        else:
            self.fs.rm(path)

    def makedirs(self, folder: str) -> None:
        if self.fs is None:
            os.makedirs(folder, exist_ok=True)
        else:
            self.fs.makedirs(folder, exist_ok=True)  # object stores: nothing to make

    def write_atomic(self, path: str, write: Callable[[IO[bytes]], None]) -> None:
        """Write ``path`` whole or not at all: ``write(f)`` fills a temporary file, which is
        then renamed to ``path`` (replacing a file written before: a retried task)."""
        folder = os.path.dirname(path) if self.fs is None else posixpath.dirname(path)
        self.makedirs(folder)
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        opener = open if self.fs is None else self.fs.open
        try:
            with opener(tmp, "wb") as f:
                write(f)
            if self.fs is None:
                os.replace(tmp, path)
            else:
                self.fs.mv(tmp, path)
        except BaseException:
            if self.exists(tmp):
                self.remove(tmp)
            raise

    def open(self, path: str) -> IO[bytes]:
        """``path`` open for reading (binary)."""
        return os.fdopen(open_regular(path), "rb") if self.fs is None else self.fs.open(path, "rb")
