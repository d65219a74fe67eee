"""Images mapped through tables: a formula evaluated once per possible value, and the LUTs
a file encodes (LUT Descriptor + LUT Data, PS3.3 C.11.1.1.1).

Integer images have few distinct values compared with their pixel count, so
every per-pixel transform of the grayscale stages (:mod:`.modality`,
:mod:`.voi`) evaluates its formula once per possible input value and maps the
image through that table with one indexing operation; the result is the same,
bit for bit, as evaluating the formula per pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError

__all__ = ["via_table", "Lut", "parse_lut"]

_LUT_DESCRIPTOR = 0x00283002
_LUT_DATA = 0x00283006

# Mapping through a table pays off when the table is small next to the image.
_MAX_TABLE = 1 << 17


def via_table(arr: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``fn(arr)`` for an elementwise ``fn``, evaluated once per value in min..max when that is cheaper.

    Integer images whose range of values is small next to their size (a CT
    slice: 4096 values, 262144 pixels) get a table of ``fn`` over that range
    and one ``np.take``.  ``fn`` receives values of ``arr``'s dtype either way,
    so each table entry is computed exactly as the per-pixel result would be.
    """
    if arr.dtype.kind not in "iu" or arr.size == 0:
        return fn(arr)
    if arr.dtype.itemsize <= 2:
        return _via_bit_pattern_table(arr, fn)
    lo, hi = int(arr.min()), int(arr.max())
    count = hi - lo + 1
    if count > _MAX_TABLE or count > arr.size:
        return fn(arr)
    table = fn(np.arange(lo, hi + 1, dtype=np.int64).astype(arr.dtype))
    index = arr - arr.dtype.type(lo)  # hi - lo < 2**17: fits the 32/64-bit types
    if table.dtype.itemsize > 2:  # measured: np.take gathers wide items fastest with intp indices
        index = index.astype(np.intp)
    return np.take(table, index, mode="clip")  # in range by construction: skip the bounds check


def _via_bit_pattern_table(arr: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]
                           ) -> np.ndarray:
    """``via_table`` for 8- and 16-bit integers: a table indexed by the values' bit patterns.

    Reading the image as unsigned gives the index directly, so the pass that
    subtracts the minimum is saved; only the entries of values in min..max
    are computed (all 256 for 8-bit data), the rest are never read.
    """
    unsigned = arr.view(f"u{arr.dtype.itemsize}")
    if arr.dtype.itemsize == 1:
        table = fn(np.arange(256, dtype=np.uint8).view(arr.dtype))
        return np.take(table, unsigned, mode="clip")
    lo, hi = int(arr.min()), int(arr.max())
    if hi - lo + 1 > arr.size:
        return fn(arr)
    values = np.arange(lo, hi + 1, dtype=np.int64).astype(arr.dtype)
    part = fn(values)
    table = np.empty(1 << 16, dtype=part.dtype)
    table[values.view(np.uint16)] = part
    return np.take(table, unsigned, mode="clip")  # every index is a value in min..max


@dataclass(frozen=True, eq=False)
class Lut:
    """A parsed LUT: input ``first`` maps to ``table[0]``; entries have ``bits`` bits (PS3.3 C.11.1.1.1)."""
    first: int
    bits: int
    table: np.ndarray

    def apply(self, arr: np.ndarray) -> np.ndarray:
        if arr.dtype.kind not in "iub":
            raise TypeError(f"a LUT maps integer values, not {arr.dtype}")
        last = len(self.table) - 1
        first, table = self.first, self.table
        return via_table(arr, lambda v: table[np.clip(v.astype(np.int64) - first, 0, last)])


def parse_lut(item: Dataset, pixel_representation: Any) -> Lut:
    """LUT Descriptor + LUT Data of one Modality or VOI LUT item, checked against each other.

    Descriptor: number of entries (0 means 65536), first input value mapped
    (signed when the pixel values are: US or SS per Pixel Representation),
    bits per entry (8 to 16).  LUT Data: one 16-bit word per entry (US or OW);
    8-bit entries packed one per byte are accepted too, as written by some
    implementations.  Anything the two disagree on raises PixelDataError.
    """
    if _LUT_DESCRIPTOR not in item:
        raise PixelDataError("LUT Descriptor missing from the LUT item", tag=_LUT_DESCRIPTOR)
    desc = item.get(_LUT_DESCRIPTOR)
    if (not isinstance(desc, list) or len(desc) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in desc)):
        raise PixelDataError(f"LUT Descriptor must be 3 integers, found {desc!r}", tag=_LUT_DESCRIPTOR)
    entries = (desc[0] & 0xFFFF) or 0x10000
    first = desc[1]
    if item[_LUT_DESCRIPTOR].vr == "US" and pixel_representation == 1 and first >= 0x8000:
        first -= 0x10000
    bits = desc[2] & 0xFFFF
    if not 8 <= bits <= 16:
        raise PixelDataError(f"LUT Descriptor gives {bits} bits per entry, 8 to 16 allowed",
                             tag=_LUT_DESCRIPTOR)
    if _LUT_DATA not in item:
        raise PixelDataError("LUT Data missing from the LUT item", tag=_LUT_DATA)
    data = item.get(_LUT_DATA)
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) == 2 * entries:
            table = np.frombuffer(raw, dtype="<u2" if item.little_endian else ">u2")
        elif bits <= 8 and len(raw) in (entries, entries + 1):
            table = np.frombuffer(raw, dtype=np.uint8, count=entries)
        else:
            raise PixelDataError(f"LUT Data holds {len(raw)} bytes; the LUT Descriptor promises "
                                 f"{entries} entries", tag=_LUT_DATA)
    else:
        values = data if isinstance(data, list) else [data]
        if len(values) != entries or not all(isinstance(v, int) for v in values):
            raise PixelDataError(f"LUT Data holds {len(values)} values; the LUT Descriptor "
                                 f"promises {entries} entries", tag=_LUT_DATA)
        top = max(values)
        if top >= 1 << bits or min(values) < 0:  # checked before numpy sees them (UV: 2**64)
            raise PixelDataError(f"LUT Data holds {top}, more than the {bits} bits per entry "
                                 "the LUT Descriptor declares", tag=_LUT_DESCRIPTOR)
        table = np.array(values, dtype=np.int64)
    top = int(table.max())
    if top >= 1 << bits or int(table.min()) < 0:
        raise PixelDataError(f"LUT Data holds {top}, more than the {bits} bits per entry the "
                             "LUT Descriptor declares", tag=_LUT_DESCRIPTOR)
    return Lut(first, bits, table.astype(np.uint8 if bits <= 8 else np.uint16))
