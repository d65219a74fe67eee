"""Index rows -> an Arrow table, each column built straight from its buffers.

``pyarrow.array(list)`` converts Python values in C, but its first call in a process
imports pandas (pyarrow asks whether the list is a pandas object): about 0.3 s of CPU,
paid again by every worker process of a build, more than indexing a thousand files
costs. The columns of the index have five fixed kinds (:mod:`rawdicom.index.schema`),
whose values are already plain ``str``, ``int``, ``float`` or lists of them, so each
column is laid out here as Arrow defines it — a validity bitmap, int32 offsets and UTF-8
bytes for text, 64-bit values for numbers, offsets and a child array for lists — and
handed to ``pyarrow.Array.from_buffers``: no conversion, no pandas.

A value that does not fit this layout (text that is not UTF-8 raises
``UnicodeEncodeError``, as ``pyarrow.table`` does; anything else raises ``TypeError``
or ``ValueError``) is left to the caller, which falls back on ``pyarrow.table``.
"""

from __future__ import annotations

from array import array
from itertools import accumulate, chain
from typing import Any

__all__ = ["arrow_table"]


def _validity(pa: Any, values: list[Any]) -> tuple[Any, int]:
    """(validity bitmap or None when no value is null, null count): bit i set when value
    i is not None (least significant bit first)."""
    nulls = values.count(None)
    if not nulls:
        return None, 0
    bits = "".join("0" if v is None else "1" for v in reversed(values))
    return pa.py_buffer(int(bits, 2).to_bytes((len(values) + 7) // 8, "little")), nulls


def _text(pa: Any, values: list[Any]) -> Any:
    if any(type(v) is not str for v in values if v is not None):
        raise TypeError("a text column holds a value that is not text")
    data = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = array("i", accumulate(map(len, data), initial=0))
    validity, nulls = _validity(pa, values)
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(data))],
                                 null_count=nulls)


def _numbers(pa: Any, base: str, values: list[Any]) -> Any:
    exact = int if base == "int" else float  # (array() would take a bool, an int as float)
    if any(type(v) is not exact for v in values if v is not None):
        raise TypeError(f"a {base} column holds a value of another type")
    data = array("q" if base == "int" else "d",
                 [(0 if base == "int" else 0.0) if v is None else v for v in values])
    validity, nulls = _validity(pa, values)
    kind = pa.int64() if base == "int" else pa.float64()
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(data)],
                                 null_count=nulls)


def _column(pa: Any, kind: str, values: list[Any]) -> Any:
    if kind == "text":
        return _text(pa, values)
    if not kind.startswith("list_"):
        return _numbers(pa, kind, values)
    base = kind[5:]
    if any(type(v) is not list for v in values if v is not None):
        raise TypeError("a list column holds a value that is not a list")
    items = list(chain.from_iterable(v for v in values if v is not None))
    child = _text(pa, items) if base == "text" else _numbers(pa, base, items)
    offsets = array("i", accumulate((0 if v is None else len(v) for v in values), initial=0))
    validity, nulls = _validity(pa, values)
    return pa.Array.from_buffers(pa.list_(child.type), len(values),
                                 [validity, pa.py_buffer(offsets)], null_count=nulls,
                                 children=[child])


def arrow_table(pa: Any, schema: Any, columns: tuple[tuple[str, str], ...],
                arrays: dict[str, list[Any]]) -> Any:
    """The table of ``schema`` whose columns (``(name, kind)`` pairs) hold ``arrays``
    (name -> the column's values); raises as described in the module docstring."""
    return pa.Table.from_arrays([_column(pa, kind, arrays[name]) for name, kind in columns],
                                schema=schema)
