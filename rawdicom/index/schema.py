"""The columns of the index: names, kinds, and the conversion of record values into them.

Every sink (SQLite, Parquet, DuckDB over Parquet) stores the same columns with the same
types, decided here once from the DICOM dictionary, so that partitions written by
different workers never disagree on a schema and the SQLite and Parquet outputs hold
identical rows. A column has one of five kinds: ``text``, ``int``, ``float``, or a list of
text / numbers (``list_text``, ``list_float``, ``list_int``). A value that does not fit
its column's kind (DS "1.5 mm" in a float column) is stored as None and named in the row's
``problems``: a column never changes type because of one file.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Iterable

from .. import dictionary
from ..model.record import FIELDS, FRAME_FIELDS, LIST_FIELDS, snake_case

__all__ = ["PHI", "STATUSES", "INSTANCE_COLUMNS", "FRAME_COLUMNS", "instance_columns",
           "extra_keywords", "convert", "kind_for"]

# Attributes that identify or describe the patient beyond the pseudonymous PatientID:
# left out of the index unless asked for with ``tags=`` (``tags=rawdicom.index.PHI`` for all).
PHI: tuple[str, ...] = (
    "PatientName", "PatientBirthDate", "PatientSex", "PatientAge", "PatientWeight", "PatientSize",
    "PatientAddress", "OtherPatientIDs", "OtherPatientNames", "PatientMotherBirthName",
    "PatientTelephoneNumbers", "ReferringPhysicianName", "PerformingPhysicianName",
    "OperatorsName", "InstitutionName", "InstitutionAddress",
)

# What happened to a file: one of these in every row.
STATUSES = ("ok", "not_dicom", "truncated", "malformed", "unsupported", "unreadable", "error")

_TEXT_VRS = frozenset(("AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC",
                       "UI", "UR", "UT"))
_INT_VRS = frozenset(("IS", "SL", "SS", "SV", "UL", "US", "UV", "AT", "US or SS"))
_FLOAT_VRS = frozenset(("DS", "FL", "FD"))
# What an int column holds: a signed 64-bit integer (SQLite's INTEGER, Arrow's int64).
_INT64_LOW, _INT64_END = -2**63, 2**63

# The file columns: where the file is and what became of it.
_FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("path", "text"), ("size", "int"), ("mtime", "float"), ("etag", "text"),
    ("status", "text"), ("error_class", "text"), ("error_message", "text"),
    ("error_offset", "int"), ("error_tag", "text"), ("header_bytes", "int"),
    ("transfer_syntax_uid", "text"),
)
# Derived from the header: the slice normal (row cosines x column cosines), the position
# along it (what stacks are ordered by), and the key the model splits a series on.
_DERIVED_COLUMNS: tuple[tuple[str, str], ...] = (
    ("normal_x", "float"), ("normal_y", "float"), ("normal_z", "float"),
    ("slice_position", "float"), ("stack_key", "text"),
)
_TAIL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("pixel_data_offset", "int"), ("pixel_data_length", "int"), ("number_of_frame_rows", "int"),
    ("problems", "list_text"), ("warnings", "list_text"),
)


@functools.lru_cache(maxsize=None)
def kind_for(keyword: str) -> str:
    """The column kind of an attribute: from its VR, a list when its VM allows several values
    (or the record always makes it one); text for VRs that hold bytes or sequences."""
    tag = dictionary.tag_for(keyword)
    entry = dictionary.lookup(tag) if tag is not None else None
    vr = entry.vr if entry is not None else "UN"
    base = "int" if vr in _INT_VRS else "float" if vr in _FLOAT_VRS else "text"
    many = keyword in LIST_FIELDS or (entry is not None and entry.vm not in ("1", ""))
    return f"list_{base}" if many else base


def extra_keywords(tags: Iterable[str] | None) -> tuple[str, ...]:
    """The keywords asked for with ``tags=``, checked against the dictionary, in the
    order given, without duplicates and without those already in the default columns."""
    if tags is None:
        return ()
    if isinstance(tags, str):
        tags = (tags,)
    base = set(FIELDS) - set(PHI)
    out: list[str] = []
    for keyword in tags:
        if not isinstance(keyword, str) or dictionary.tag_for(keyword) is None:
            raise ValueError(f"tags=: {keyword!r} is not a DICOM keyword")
        if keyword not in base and keyword not in out:
            out.append(keyword)
    return tuple(out)


@functools.lru_cache(maxsize=64)
def instance_columns(extra: tuple[str, ...] = ()) -> tuple[tuple[str, str], ...]:
    """(name, kind) of every column of the instances table, in order; ``extra`` are the
    keywords added with ``tags=`` (see :func:`extra_keywords`)."""
    fields = tuple(k for k in FIELDS if k not in PHI) + extra
    return (_FILE_COLUMNS + tuple((snake_case(k), kind_for(k)) for k in fields)
            + _DERIVED_COLUMNS + _TAIL_COLUMNS)


INSTANCE_COLUMNS = instance_columns()

FRAME_COLUMNS: tuple[tuple[str, str], ...] = (
    (("path", "text"), ("sop_instance_uid", "text"), ("frame_index", "int"))
    + tuple((snake_case(k), kind_for(k)) for k in FRAME_FIELDS)
    + _DERIVED_COLUMNS
)


def _scalar(value: Any, base: str) -> Any:
    """One value as the column's base kind, or raise ValueError."""
    if base == "text":
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value).hex()
        return str(value)
    if isinstance(value, bool) or isinstance(value, (bytes, bytearray)):
        raise ValueError(value)
    if base == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        number = int(value)
        if not _INT64_LOW <= number < _INT64_END:
            raise ValueError(value)  # past a 64-bit column
        return number
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(value)  # NaN never equals itself: rows would not compare
    return number


_TEXT_ONLY, _FLOAT_ONLY, _INT_ONLY = frozenset((str,)), frozenset((float,)), frozenset((int,))


def _fits(kind: str, value: Any) -> bool:
    """Whether ``value`` is already what column ``kind`` holds: no conversion needed (the
    common case: a record's values are plain already)."""
    kind_of = type(value)
    if kind_of is str:
        return kind == "text"
    if kind_of is float:
        return kind == "float" and math.isfinite(value)
    if kind_of is int:
        return kind == "int" and _INT64_LOW <= value < _INT64_END
    if kind_of is list:
        types = set(map(type, value))
        if kind == "list_text":
            return types <= _TEXT_ONLY
        if kind == "list_float":  # (a finite sum: every value finite; an overflowing sum
            return types <= _FLOAT_ONLY and math.isfinite(sum(value))  # is converted)
        if kind == "list_int":
            return types <= _INT_ONLY and (not value or (
                _INT64_LOW <= min(value) and max(value) < _INT64_END))
    return False


def convert(name: str, kind: str, value: Any, problems: list[str]) -> Any:
    """``value`` as column ``name`` of ``kind``; None (and a note in ``problems``) when it
    does not fit. Several values in a single-valued text column are joined with a
    backslash, as DICOM writes them; in a numeric one, the first is kept."""
    if value is None or _fits(kind, value):
        return value
    try:
        if kind.startswith("list_"):
            base = kind[5:]
            items = value if isinstance(value, list) else [value]
            return [None if v is None else _scalar(v, base) for v in items]
        if isinstance(value, list):
            if kind == "text":
                return "\\".join(str(v) for v in value)
            problems.append(f"{name}: {len(value)} values in a single-valued column; "
                            "the first is kept")
            value = value[0] if value else None
            return None if value is None else _scalar(value, kind)
        return _scalar(value, kind)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{name}: {value!r} is not a {kind} value; stored as null")
        return None
