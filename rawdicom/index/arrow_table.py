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


_NONE = type(None)


def _kinds(values: list[Any], kind: type) -> bool:
    """Whether any value is None; TypeError unless every other one is exactly of ``kind``
    (array() would take a bool as an int, an int as a float: pyarrow's conversion decides
    those)."""
    found = set(map(type, values))
    if not {kind, _NONE}.issuperset(found):
        raise TypeError(f"a column of {kind.__name__} holds a value of another type")
    return _NONE in found


def _validity(pa: Any, values: list[Any]) -> tuple[Any, int]:
    """(validity bitmap: bit i set when value i is not None, least significant bit first;
    null count)."""
    bits = "".join(["0" if v is None else "1" for v in reversed(values)])
    return (pa.py_buffer(int(bits, 2).to_bytes((len(values) + 7) // 8, "little")),
            bits.count("0"))


def _text(pa: Any, values: list[Any]) -> Any:
    validity, nulls = _validity(pa, values) if _kinds(values, str) else (None, 0)
    texts = [("" if v is None else v) for v in values] if nulls else values
    joined = "".join(texts)
    if joined.isascii():  # (the usual case: one encoding, lengths in bytes are in chars)
        data = joined.encode("ascii")
        lengths: Any = map(len, texts)
    else:
        encoded = [t.encode("utf-8") for t in texts]
        data = b"".join(encoded)
        lengths = map(len, encoded)
    offsets = array("i", accumulate(lengths, initial=0))
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(data)],
                                 null_count=nulls)


def _numbers(pa: Any, base: str, values: list[Any]) -> Any:
    integer = base == "int"
    validity, nulls = _validity(pa, values) if _kinds(values, int if integer else float) \
        else (None, 0)
    zero = 0 if integer else 0.0
    data = array("q" if integer else "d",
                 [zero if v is None else v for v in values] if nulls else values)
    return pa.Array.from_buffers(pa.int64() if integer else pa.float64(), len(values),
                                 [validity, pa.py_buffer(data)], null_count=nulls)


def _column(pa: Any, kind: str, values: list[Any]) -> Any:
    if (not values or values[0] is None) and values.count(None) == len(values):
        return pa.nulls(len(values), _TYPES[kind](pa))  # (many: other modalities' attributes)
    if kind == "text":
        return _text(pa, values)
    if not kind.startswith("list_"):
        return _numbers(pa, kind, values)
    validity, nulls = _validity(pa, values) if _kinds(values, list) else (None, 0)
    lists = [v for v in values if v is not None] if nulls else values
    items = list(chain.from_iterable(lists))
    child = _text(pa, items) if kind == "list_text" else _numbers(pa, kind[5:], items)
    lengths = [0 if v is None else len(v) for v in values] if nulls else map(len, values)
    offsets = array("i", accumulate(lengths, initial=0))
    return pa.Array.from_buffers(pa.list_(child.type), len(values),
                                 [validity, pa.py_buffer(offsets)], null_count=nulls,
                                 children=[child])


_TYPES = {"text": lambda pa: pa.string(), "int": lambda pa: pa.int64(),
          "float": lambda pa: pa.float64(), "list_text": lambda pa: pa.list_(pa.string()),
          "list_int": lambda pa: pa.list_(pa.int64()),
          "list_float": lambda pa: pa.list_(pa.float64())}


def arrow_table(pa: Any, schema: Any, columns: tuple[tuple[str, str], ...],
                arrays: dict[str, list[Any]]) -> Any:
    """The table of ``schema`` whose columns (``(name, kind)`` pairs) hold ``arrays``
    (name -> the column's values); raises as described in the module docstring."""
    return pa.Table.from_arrays([_column(pa, kind, arrays[name]) for name, kind in columns],
                                schema=schema)
