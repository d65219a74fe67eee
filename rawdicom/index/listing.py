"""What to index: a folder, a list, a glob or an fsspec URL, as a sorted list of entries.

Listing costs no file opens: local folders are walked with ``os.scandir`` (size and mtime
from the directory entry's stat), remote ones with fsspec's ``find`` / ``glob`` (size, ETag
and modification time from the listing). The order is sorted by path, so that partition ids
are the same on every run over the same files.
"""

from __future__ import annotations

import glob as globmod
import os
from typing import Any, Iterable, NamedTuple

from .header import _mtime

__all__ = ["Entry", "list_source"]


class Entry(NamedTuple):
    """One file to index: its path or URL, size and mtime when listed (None when not
    known: a vanished file is still listed, its row says unreadable), fsspec info."""

    path: str
    size: int | None
    mtime: float | None
    info: dict[str, Any] | None


def _local(path: str) -> Entry:
    try:
        st = os.stat(path)
    except OSError:
        return Entry(path, None, None, None)
    return Entry(path, st.st_size, st.st_mtime, None)


def _walk(folder: str) -> list[Entry]:
    out: list[Entry] = []
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as it:
                entries = list(it)
        except OSError:  # its files cannot be named: the folder gets a row of its own,
            out.append(Entry(current, None, None, None))  # status unreadable, saying why
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                st = entry.stat()
                out.append(Entry(entry.path, st.st_size, st.st_mtime, None))
            except OSError:
                out.append(Entry(entry.path, None, None, None))
    return out


def _remote(url: str, storage_options: dict[str, Any] | None) -> list[Entry]:
    try:
        import fsspec
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("indexing URLs needs fsspec: pip install 'rawdicom[remote]'") from exc
    fs, key = fsspec.core.url_to_fs(url, **(storage_options or {}))
    if globmod.has_magic(key):
        found = fs.glob(key, detail=True)
    elif fs.isdir(key):
        found = fs.find(key, detail=True)
    else:
        found = {key: fs.info(key)}
    out = []
    for name, info in found.items():
        if info.get("type") == "directory":
            continue
        full = fs.unstrip_protocol(name) if "://" not in name else name
        out.append(Entry(full, info.get("size"), _mtime(info), info))
    return out


def list_source(source: str | os.PathLike[str] | Iterable[Any],
                storage_options: dict[str, Any] | None = None) -> list[Entry]:
    """The files of ``source``, sorted by path; ``storage_options`` go to fsspec for a URL."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text.startswith("file://"):
            text = text[len("file://"):]
        if "://" in text:
            entries = _remote(text, storage_options)
        elif globmod.has_magic(text):
            entries = [_local(p) for p in globmod.glob(text, recursive=True)
                       if not os.path.isdir(p)]
        elif os.path.isdir(text):
            entries = _walk(text)
        else:
            entries = [_local(text)]
    else:
        entries = [_local(os.fspath(p)) if "://" not in os.fspath(p)
                   else Entry(os.fspath(p), None, None, None) for p in source]
    return sorted(entries, key=lambda e: e.path)
