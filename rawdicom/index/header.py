"""The header bytes of one file, and nothing more: a bounded prefix, doubled while needed.

A DICOM header is a few kilobytes in front of pixel data that is often hundreds; remote
storage charges for every byte and every request, and fsspec's default blocks (5 MB on S3,
40 MiB on GCS) would fetch a whole CT slice to read its header. So the first read is
``PREFIX`` (64 KiB) bytes, parsed with ``rawdicom.read(prefix, tags=RECORD_TAGS)``, which
stops right after the Pixel Data element's header. When the parse did not reach Pixel Data
before the prefix ended, the next range (as many bytes again) is fetched and the
header parsed again, until Pixel Data is reached or the file ends, or a text element is found
whose length runs past its value (``rawdicom.model.scan.overrun_text_element``: a damaged
file, whose header would otherwise be read to its end). Remote ranges are asked
with ``fs.cat_file(path, start, end)``: no fsspec file object, so no block cache and no
read-ahead, each request is exactly the range wanted. Local files are read with ``os.pread``.
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Iterable

from ..dataset import Dataset
from ..errors import DicomError, DicomWarning
from ..model.scan import overrun_text_element
from ..reader import read
from ..regular_file import open_regular_stat
from ..warning_capture import captured_warnings, dicom_messages
from .storage import is_url

__all__ = ["PREFIX", "Header", "LocalFile", "RemoteFile", "BytesFile", "open_source", "read_header",
           "take_dicom_messages"]

PREFIX = 64 * 1024
_PIXEL_DATA = 0x7FE00010
_PIXEL_TAG_TEXT = "(7FE0,0010)"


class LocalFile:
    """A local file open for positioned reads (one descriptor, no file object)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd, st = open_regular_stat(path)  # (a FIFO or a device: NotRegularFileError)
        self.size: int | None = st.st_size
        self.mtime: float | None = st.st_mtime
        self.etag: str | None = None

    def read(self, start: int, count: int) -> bytes:
        """Up to ``count`` bytes from ``start``; fewer only at the end of the file."""
        parts = []
        while count > 0:
            if hasattr(os, "pread"):
                chunk = os.pread(self._fd, count, start)
            else:  # pragma: no cover - Windows
                os.lseek(self._fd, start, os.SEEK_SET)
                chunk = os.read(self._fd, count)
            if not chunk:
                break
            parts.append(chunk)
            start += len(chunk)
            count -= len(chunk)
        return b"".join(parts)

    def close(self) -> None:
        os.close(self._fd)


class RemoteFile:
    """An fsspec object read by explicit byte ranges; ``info`` (from a listing) saves the
    metadata request."""

    def __init__(self, url: str, info: dict[str, Any] | None = None,
                 storage_options: dict[str, Any] | None = None) -> None:
        try:
            import fsspec
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("reading URLs needs fsspec: pip install 'rawdicom[remote]'") from exc
        self.path = url
        try:
            self._fs, self._key = fsspec.core.url_to_fs(url, **(storage_options or {}))
            if not info or info.get("size") is None:
                info = self._fs.info(self._key)
        except OSError:
            raise
        except Exception as exc:  # the storage's own errors (HTTP status, credentials)
            raise OSError(f"{type(exc).__name__}: {exc}") from exc
        self.size = info.get("size")
        self.mtime = _mtime(info)
        etag = info.get("ETag", info.get("etag", info.get("md5Hash")))
        self.etag = str(etag).strip('"') if etag is not None else None

    def read(self, start: int, count: int) -> bytes:
        if self.size is not None:
            count = min(count, self.size - start)
        if count <= 0:
            return b""
        try:
            return bytes(self._fs.cat_file(self._key, start=start, end=start + count))
        except OSError:
            raise
        except Exception as exc:  # the storage's own errors, as above
            raise OSError(f"{type(exc).__name__}: {exc}") from exc

    def close(self) -> None:
        pass


class BytesFile:
    """Data already in memory, read as a file would be."""

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.path = None
        self._data = bytes(data)
        self.size = len(self._data)
        self.mtime = None
        self.etag = None

    def read(self, start: int, count: int) -> bytes:
        return self._data[start:start + count]

    def close(self) -> None:
        pass


def _mtime(info: dict[str, Any]) -> float | None:
    """A modification time in seconds from an fsspec info dict (its keys vary by backend)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "Last-Modified"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, (int, float)):
            return float(value)
        if hasattr(value, "timestamp"):
            return float(value.timestamp())
        try:
            from email.utils import parsedate_to_datetime
            return parsedate_to_datetime(str(value)).timestamp()
        except (TypeError, ValueError):
            try:
                from datetime import datetime
                return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
            except ValueError:
                return None
    return None


def open_source(source: Any, info: dict[str, Any] | None = None,
                storage_options: dict[str, Any] | None = None
                ) -> LocalFile | RemoteFile | BytesFile:
    """A path, a ``file://`` or other fsspec URL (``storage_options`` go to fsspec), or
    bytes, opened for range reads."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return BytesFile(source)
    path = os.fspath(source)
    if is_url(path):
        return RemoteFile(path, info, storage_options)
    return LocalFile(path[len("file://"):] if path.startswith("file://") else path)


class Header:
    """What :func:`read_header` read: the dataset, the bytes fetched, whether that was the
    whole file, and the reader's warnings (as text)."""

    __slots__ = ("dataset", "bytes_read", "complete", "warnings", "damage")

    def __init__(self, dataset: Dataset, bytes_read: int, complete: bool,
                 warnings: list[str], damage: DicomError | None = None) -> None:
        self.dataset = dataset
        self.bytes_read = bytes_read
        self.complete = complete
        self.warnings = warnings
        self.damage = damage  # a text element whose length runs past its value, or None


def _reached_pixels(ds: Dataset, available: int) -> bool:
    """Whether the parse of a prefix got to Pixel Data with its element header inside it:
    everything before it was then read from whole bytes."""
    if _PIXEL_DATA not in ds or ds.transfer_syntax is None or ds.transfer_syntax.deflated:
        return False  # (a deflated stream's offsets are into the inflated data: read it whole)
    return ds[_PIXEL_DATA].offset <= available


def take_dicom_messages(caught: list[warnings.WarningMessage], start: int) -> list[str]:
    """The texts of the DicomWarnings caught since ``start`` in a capture that the caller
    holds over many files (one partition read in one thread: entering a capture per file
    cost 8% of indexing it), taken out of ``caught``; any other warning stays there, to be
    issued again once that capture ends (``warning_capture.dicom_messages``)."""
    texts, others = [], []
    for w in caught[start:]:
        if issubclass(w.category, DicomWarning):
            texts.append(str(w.message))
        else:
            others.append(w)
    caught[start:] = others
    return texts


def _parse(buf: bytes, tags: tuple[Any, ...]) -> tuple[Dataset | None, DicomError | None]:
    """(the dataset, None), or (None, the DicomError the bytes gave)."""
    try:
        return read(buf, tags=tags), None
    except DicomError as exc:
        return None, exc


def read_header(src: LocalFile | RemoteFile | BytesFile, tags: Iterable[Any],
                first: int = PREFIX, caught: list[warnings.WarningMessage] | None = None
                ) -> tuple[Header | None, int, DicomError | None]:
    """Read the header of ``src`` by prefixes: ``first`` bytes, then doubling.

    Returns ``(header, bytes_read, error)``: the header, or the DicomError the whole
    file gave (an error in a prefix may only be the prefix's end: the next range is read).
    The reader's warnings are captured per parse, or, with ``caught``, taken from the
    capture the caller holds (:func:`take_dicom_messages`).
    """
    tags = tuple(tags)
    buf = b""
    want = first
    while True:
        if src.size is not None:
            want = min(want, src.size)
        asked = want - len(buf)
        chunk = src.read(len(buf), asked)
        buf = buf + chunk if buf else chunk  # (the first prefix, the usual case: no copy)
        complete = len(chunk) < asked or (src.size is not None and len(buf) >= src.size)
        if caught is None:
            with captured_warnings() as mine:
                ds, error = _parse(buf, tags)
            messages = dicom_messages(mine)
        else:
            start = len(caught)
            ds, error = _parse(buf, tags)
            messages = take_dicom_messages(caught, start)
        if ds is None and complete:
            return None, len(buf), error
        reached = ds is not None and _reached_pixels(ds, len(buf))
        # (a length that swallowed the elements after it hides Pixel Data's header)
        damage = overrun_text_element(ds, buf) if ds is not None and not reached else None
        if ds is not None and (complete or damage is not None or reached):
            # In a prefix, Pixel Data's value is cut by the prefix, not by the file; a damaged
            # length would have the header read go on to the end of the file: it stops here.
            texts = [m for m in messages if complete or _PIXEL_TAG_TEXT not in m]
            return Header(ds, len(buf), complete, texts, damage), len(buf), None
        want = max(2 * len(buf), first)
