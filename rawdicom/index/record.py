"""One file -> one flat row of the index, whatever the file holds.

``record(source)`` is what every engine maps over the files: a pure function of the file
(no globals, picklable, the same row for the same bytes), which never raises because of a
file's content or availability. Its columns are those of :mod:`rawdicom.index.schema`;
values come from the model's instance record (``rawdicom.model.record.instance_record``),
so an index row and what ``rawdicom.scan`` gives for the same file agree.
"""

from __future__ import annotations

import functools
import os
import warnings
from typing import Any, Iterable

from .. import dictionary
from ..errors import (DicomError, MalformedElementError, NotDicomError, NotRegularFileError,
                      TruncatedError, UnsupportedTransferSyntaxError, format_tag)
from ..model.scan import MEDIA_STORAGE_DIRECTORY, TRUNCATION_MARKS, pixel_data_truncation
from ..model.instance import Instance
from ..model.record import FIELDS, IDENTIFIER_FIELDS, RECORD_TAGS, instance_record, snake_case
from ..model.header_values import finite_floats
from ..model.stacks import _HARD, HARD_KEY_INPUTS, _format, normal
from ..warning_capture import captured_warnings, dicom_messages
from .header import open_source, read_header, take_dicom_messages
from .schema import FRAME_COLUMNS, PHI, convert, extra_keywords, instance_columns

__all__ = ["record", "file_row", "status_of", "error_row"]

_MEDIA_STORAGE_SOP_CLASS = 0x00020002
# The default columns taken from the instance record: (name, kind).
_FROM_RECORD = frozenset(snake_case(k) for k in FIELDS if k not in PHI)
_KEEP = tuple((name, kind) for name, kind in instance_columns() if name in _FROM_RECORD)


@functools.lru_cache(maxsize=64)
def _layout(extra: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, str]]:
    """The column names and kinds of a row with the ``extra`` keywords (computed once)."""
    columns = instance_columns(extra)
    return tuple(n for n, _ in columns), dict(columns)


def status_of(exc: BaseException) -> str:
    """The status of a row whose file raised ``exc``."""
    if isinstance(exc, NotDicomError):
        return "not_dicom"
    if isinstance(exc, TruncatedError):
        return "truncated"
    if isinstance(exc, UnsupportedTransferSyntaxError):
        return "unsupported"
    if isinstance(exc, DicomError):
        return "malformed"
    if isinstance(exc, OSError):
        return "unreadable"
    return "error"  # not the file's fault: a defect of rawdicom, reported in the row


def _failed(row: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    row["status"] = status_of(exc)
    row["error_class"] = type(exc).__name__
    row["error_message"] = str(exc)
    row["error_offset"] = getattr(exc, "offset", None)
    tag = getattr(exc, "tag", None)
    row["error_tag"] = format_tag(tag) if isinstance(tag, int) else None
    return row


def error_row(path: str | None, exc: BaseException, tags: Iterable[str] | None = None
              ) -> dict[str, Any]:
    """The row of a file whose indexing failed with ``exc`` outside :func:`record`'s own
    handling (a defect of rawdicom): the job goes on, and the row says what happened."""
    row: dict[str, Any] = dict.fromkeys(n for n, _ in instance_columns(extra_keywords(tags)))
    row.update(path=path, frames=None, problems=[], warnings=[])
    return _failed(row, exc)


# Memos of pure functions of header values that a series repeats in every file (the
# orientation, the stack key's inputs): the same result as computing it, per process,
# bounded. They make no row depend on what was indexed before it.
_MEMO_SIZE = 4096
_NORMALS: dict[Any, tuple[float, float, float] | None] = {}
_STACK_KEYS: dict[tuple[Any, ...], str] = {}
_STACK_KEY_INPUTS = tuple(k for k in HARD_KEY_INPUTS if k != "image_position_patient") + (
    "pixel_spacing",)


def _memo(memo: dict[Any, Any], key: Any, value: Any) -> Any:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value
    return value


def _frozen(value: Any) -> Any:
    """A row value as a dict key (a row's lists hold plain scalars)."""
    return tuple(value) if type(value) is list else value


def _normal(orientation: Any) -> tuple[float, float, float] | None:
    """The unit slice normal (row cosines x column cosines) of an orientation, as the model
    orders a stack (``rawdicom.model.stacks.normal``); None without a usable orientation."""
    key = _frozen(orientation)
    try:
        return _NORMALS[key]
    except KeyError:
        pass
    except TypeError:  # not hashable: not a value of a row
        return None
    cosines = finite_floats(orientation, 6)
    n = None
    if cosines is not None:
        n = tuple(v + 0.0 for v in normal(cosines))  # no -0.0: keys and rows compare as text
        if not any(n):
            n = None
    return _memo(_NORMALS, key, n)


def _derived(orientation: Any, position: Any) -> tuple[Any, ...]:
    """(normal_x, normal_y, normal_z, slice_position): the unit slice normal and Image
    Position (Patient) projected on it."""
    n = _normal(orientation)
    if n is None:
        return None, None, None, None
    p = finite_floats(position, 3)
    along = p[0] * n[0] + p[1] * n[1] + p[2] * n[2] if p is not None else None
    return (*n, along)


def _rounded(values: Any, digits: int) -> str:
    values = finite_floats(values, len(values)) if isinstance(values, list) else None
    return ",".join(f"{v + 0.0:.{digits}f}" for v in values) if values else ""


def stack_key(row: dict[str, Any]) -> str:
    """The keys the model splits a series on (``rawdicom.model.stacks``: frame of reference,
    matrix, image type, echo, temporal position, Stack ID, diffusion, ...) as one text, with
    orientation and pixel spacing rounded (to 3 and 4 decimals) where the model compares
    them within a tolerance. Rows with one key are candidates for one stack in SQL
    (``GROUP BY series_instance_uid, stack_key``); :func:`rawdicom.index.check_series`
    gives the model's exact split.

    A function of ``HARD_KEY_INPUTS`` alone (the position only as present or not), so it
    is computed once per distinct set of those values: once per stack, not per file.
    """
    try:
        memo = (finite_floats(row.get("image_position_patient"), 3) is not None,
                *[_frozen(row.get(k)) for k in _STACK_KEY_INPUTS])
        return _STACK_KEYS[memo]
    except KeyError:
        pass
    except TypeError:  # a value no dict can hold: computed, not memoized
        memo = None
    inst = Instance(row)
    parts = [_format(value(inst)) for _, value in _HARD]
    parts.append(_rounded(row.get("pixel_spacing"), 4))
    parts.append(_rounded(row.get("image_orientation_patient"), 3))
    key = "|".join(parts)
    return key if memo is None else _memo(_STACK_KEYS, memo, key)


def _frame_rows(file_row: dict[str, Any], frames: list[dict[str, Any]],
                problems: list[str]) -> list[dict[str, Any]]:
    """The frames table's rows of a multi-frame file: per-frame values, the file's
    orientation where a frame names none."""
    rows = []
    for frame in frames:
        row: dict[str, Any] = {"path": file_row["path"],
                               "sop_instance_uid": file_row["sop_instance_uid"],
                               "frame_index": frame["frame_index"]}
        for name, kind in FRAME_COLUMNS[3:-5]:
            row[name] = convert(name, kind, frame.get(name), problems)
        orientation = row["image_orientation_patient"] or file_row["image_orientation_patient"]
        row["normal_x"], row["normal_y"], row["normal_z"], row["slice_position"] = _derived(
            orientation, row["image_position_patient"])
        key_row = {**file_row, **{k: v for k, v in row.items() if v is not None}}
        row["stack_key"] = stack_key(key_row)
        rows.append(row)
    return rows


def record(source: Any, *, tags: Iterable[str] | None = None,
           info: dict[str, Any] | None = None,
           storage_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index row of one file: a path, an fsspec URL (``s3://``, ``https://``,
    ``file://``) or the bytes of a file.

    Every column of :data:`rawdicom.index.INSTANCE_COLUMNS` is a key (None when absent),
    plus ``frames``: the frames table's rows of an enhanced multi-frame file, else None.
    ``status`` says what became of the file (see :data:`rawdicom.index.STATUSES`); for
    anything but ``ok`` the ``error_*`` columns say why and where. ``tags=`` adds columns:
    any DICOM keywords, e.g. ``tags=rawdicom.index.PHI`` for the patient's name, birth date
    and the other attributes left out by default. ``info`` is what a listing already knows
    of the file (fsspec info: size, ETag), saving a request; ``storage_options`` go to
    fsspec for a URL (credentials, ``endpoint_url``, ...).
    """
    return file_row(source, extra_keywords(tags), info, storage_options)


def file_row(source: Any, extra: tuple[str, ...], info: dict[str, Any] | None = None,
             storage_options: dict[str, Any] | None = None,
             caught: list[warnings.WarningMessage] | None = None) -> dict[str, Any]:
    """:func:`record` with the ``tags=`` keywords already checked (``extra_keywords``).
    ``caught``: a capture of warnings that the caller holds over many files (a partition
    read in one thread), from which this file's are taken
    (:func:`rawdicom.index.header.take_dicom_messages`); without it each step of the read
    captures its own."""
    names, kinds = _layout(extra)
    row: dict[str, Any] = dict.fromkeys(names)
    row["frames"] = None
    row["path"] = None if isinstance(source, (bytes, bytearray, memoryview)) else os.fspath(source)
    problems: list[str] = []
    row["problems"], row["warnings"] = problems, []
    try:
        src = open_source(source, info, storage_options)
    except (OSError, NotRegularFileError) as exc:  # (a FIFO, socket or device: not_dicom)
        return _failed(row, exc)
    try:
        row["size"], row["mtime"], row["etag"] = src.size, src.mtime, src.etag
        header, row["header_bytes"], error = read_header(src, RECORD_TAGS + extra,
                                                         caught=caught)
    except OSError as exc:
        return _failed(row, exc)
    finally:
        src.close()
    if header is None:
        return _failed(row, error)
    ds = header.dataset
    if caught is None:
        with captured_warnings() as mine:  # (values decoded here may warn too)
            rec, extras = _values(ds, row["path"], extra, problems)
        row["warnings"] = header.warnings + dicom_messages(mine)
    else:
        start = len(caught)
        rec, extras = _values(ds, row["path"], extra, problems)
        row["warnings"] = header.warnings + take_dicom_messages(caught, start)
    problems.extend(rec["problems"])
    for key, kind in _KEEP:
        value = rec[key]
        if value is not None:  # (text, most of them, needs no conversion)
            row[key] = value if kind == "text" and type(value) is str else \
                convert(key, kind, value, problems)
    for key, value in extras.items():
        if value is not None:
            row[key] = convert(key, kinds[key], value, problems)
    row["transfer_syntax_uid"] = rec["transfer_syntax_uid"]
    row["pixel_data_offset"] = rec["pixel_data_offset"]
    row["pixel_data_length"] = rec["pixel_data_length"]
    row["normal_x"], row["normal_y"], row["normal_z"], row["slice_position"] = _derived(
        row["image_orientation_patient"], row["image_position_patient"])
    row["stack_key"] = stack_key(row)
    if rec["frames"]:
        row["frames"] = _frame_rows(row, rec["frames"], problems)
        row["number_of_frame_rows"] = len(row["frames"])
    row["status"] = _status(row, header.complete)
    if header.damage is not None:  # (the values read before it are kept)
        _failed(row, header.damage)
    elif row["status"] == "truncated":
        row["error_class"] = "TruncatedError"
        row["error_message"] = "the file ends before what its header announces"
    elif not any(rec[key] for key in IDENTIFIER_FIELDS) and not _is_dicomdir(ds):
        # As scan decides: a dataset with none of the model's identifiers is no instance;
        # without preamble or meta group it most likely never was DICOM at all.
        if ds.preamble is None and not ds.file_meta:
            return _failed(row, NotDicomError("no preamble, meta group or identifier"))
        return _failed(row, MalformedElementError(
            "no SOP Class, SOP Instance, Study or Series Instance UID: not an instance"))
    return row


def _values(ds: Any, path: str | None, extra: tuple[str, ...], problems: list[str]
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The instance record of ``ds`` and the values of the ``extra`` keywords."""
    rec = instance_record(ds, path)
    extras = {}
    for keyword in extra:
        key = snake_case(keyword)
        try:
            extras[key] = rec[key] if key in rec else ds.get(keyword)
        except DicomError as exc:
            problems.append(f"{keyword}: {exc}")
    return rec, extras


def _is_dicomdir(ds: Any) -> bool:
    """A Media Storage Directory (DICOMDIR): a DICOM file, though not an instance."""
    meta = ds.file_meta
    return bool(meta) and meta.get(_MEDIA_STORAGE_SOP_CLASS) == MEDIA_STORAGE_DIRECTORY


def _status(row: dict[str, Any], complete: bool) -> str:
    """``truncated`` when the file ends before what its header announces, else ``ok``."""
    if complete and any(word in text for text in row["warnings"] for word in TRUNCATION_MARKS):
        return "truncated"
    syntax = dictionary.transfer_syntax(row["transfer_syntax_uid"] or "")
    if syntax is not None and syntax.deflated:  # (offsets into the inflated data)
        return "ok"
    # The size is the listing's or HEAD's for a URL, as a stat's for a local file.
    cut = pixel_data_truncation(row["pixel_data_offset"], row["pixel_data_length"], row["size"])
    return "ok" if cut is None else "truncated"
