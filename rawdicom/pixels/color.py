"""Color: YBR_FULL -> RGB, PALETTE COLOR lookup (plain and segmented), MONOCHROME1 inversion.

The YBR conversion is the one of PS3.3 C.7.6.3.1.2 computed exactly as
pydicom 3 does (float32, round half up), so that the arrays agree bit for
bit.  The palette code reads the LUT descriptor and data of PS3.3 C.7.6.3.1.5
/ C.7.9 and refuses descriptors that disagree with the data, since the
lookup indexes with them.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import numpy as np

from ..errors import PixelDataError, format_tag
from .image_pixel import stored_range

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["ybr_to_rgb", "apply_palette", "invert_monochrome1", "expand_segmented_lut"]

_YBR_TO_RGB = np.asarray([[1.000, 1.000, 1.000],
                          [0.000, -0.114 * 1.772 / 0.587, 1.772],
                          [1.402, -0.299 * 1.402 / 0.587, 0.000]], dtype=np.float32)


def ybr_to_rgb(arr: np.ndarray, bits: int = 8) -> np.ndarray:
    """YBR_FULL samples (last axis) -> RGB, for ``bits``-bit samples (chroma offset 2**(bits-1))."""
    out = arr.astype(np.float32)
    out -= [0, 1 << (bits - 1), 1 << (bits - 1)]
    np.matmul(out, _YBR_TO_RGB, out=out)
    out += 0.5
    np.floor(out, out=out)
    np.clip(out, 0, (1 << bits) - 1, out=out)
    return out.astype(arr.dtype)


def invert_monochrome1(ds: "Dataset", arr: np.ndarray) -> np.ndarray:
    """``arr`` mirrored in its value range when ``ds`` is MONOCHROME1 (else unchanged).

    MONOCHROME1 shows the minimum value as white; the pixel layer keeps the
    stored values (as pydicom does), and this makes "bigger is brighter" true.
    """
    if str(ds.get(0x00280004) or "").strip().upper() != "MONOCHROME1":
        return arr
    if arr.dtype.kind == "f":
        return arr.max() + arr.min() - arr
    if arr.dtype.kind == "i":
        return (-1 - arr).astype(arr.dtype)
    stored = stored_range(ds)
    top = stored[1] if stored is not None else (1 << arr.dtype.itemsize * 8) - 1
    return (top - arr.astype(np.int64)).clip(0, None).astype(arr.dtype)


_DESCRIPTORS = (0x00281101, 0x00281102, 0x00281103, 0x00281104)
_DATA = (0x00281201, 0x00281202, 0x00281203, 0x00281204)
_SEGMENTED = (0x00281221, 0x00281222, 0x00281223, 0x00281224)


def _descriptor(ds: "Dataset", tag: int) -> tuple[int, int, int]:
    """(entries, first value mapped, bits per entry) of a palette LUT descriptor, checked."""
    desc = ds.get(tag)
    name = format_tag(tag)
    if (not isinstance(desc, list) or len(desc) != 3
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in desc)):
        raise PixelDataError(f"palette color lookup table descriptor {name} must be 3 "
                             f"integers, found {desc!r}", tag=tag)
    entries, first_map, bits = desc
    if bits not in (8, 16):
        raise PixelDataError(f"palette LUT entries of {bits} bits (8 or 16 allowed)", tag=tag)
    return (entries & 0xFFFF) or 65536, first_map, bits


def apply_palette(ds: "Dataset", arr: np.ndarray) -> np.ndarray:
    """PALETTE COLOR indices -> RGB (or RGBA with an alpha LUT), shape ``arr.shape + (3,)``.

    Indices below the first mapped value take the first entry and those past
    the end the last (PS3.3 C.7.6.3.1.5), as pydicom does.  Red, green and
    blue are looked up with the red descriptor (the three are identical,
    C.7.6.3.1.5, and pydicom reads only the red one); an alpha LUT has its own
    descriptor (0028,1104), which must map the same indices.
    """
    entries, first_map, bits = _descriptor(ds, _DESCRIPTORS[0])
    little = ds.little_endian
    luts = []
    for k in range(4):
        if k == 3 and _DESCRIPTORS[3] in ds:
            alpha = _descriptor(ds, _DESCRIPTORS[3])
            if alpha[:2] != (entries, first_map):
                raise PixelDataError(f"the alpha LUT maps {alpha[0]} entries from {alpha[1]}, "
                                     f"the red LUT {entries} from {first_map}",
                                     tag=_DESCRIPTORS[3])
            bits = alpha[2]
        if _DATA[k] in ds:
            tag = _DATA[k]
            lut = _plain_lut(ds[tag].raw, entries, little, tag)
        elif _SEGMENTED[k] in ds:
            tag = _SEGMENTED[k]
            lut = expand_segmented_lut(ds[tag].raw, bits, entries, little, tag)
        elif k < 3:
            raise PixelDataError("palette color lookup table data is missing", tag=_DATA[k])
        else:
            break
        if len(lut) < entries:
            raise PixelDataError(f"palette LUT has {len(lut)} entries, its descriptor "
                                 f"{entries}", tag=tag)
        luts.append(lut)
    dtype = np.uint8 if all(lut.dtype == np.uint8 for lut in luts) else np.uint16
    index = np.clip(arr.astype(np.int64) - first_map, 0, entries - 1)
    out = np.empty(arr.shape + (len(luts),), dtype=dtype)
    for k, lut in enumerate(luts):
        out[..., k] = np.take(lut, index)
    return out


def _plain_lut(raw: bytes | memoryview, entries: int, little: bool, tag: int) -> np.ndarray:
    """LUT data stored one entry per 8 or 16 bits (the length tells which, as in pydicom)."""
    if len(raw) in (entries, entries + 1):
        return np.frombuffer(raw, np.uint8, entries)
    if len(raw) == 2 * entries:
        return np.frombuffer(raw, "<u2" if little else ">u2").astype(np.uint16)
    raise PixelDataError(f"{len(raw)} bytes of LUT data for {entries} entries in the "
                         "descriptor", tag=tag)


def expand_segmented_lut(raw: bytes | memoryview, bits: int, entries: int, little: bool,
                         tag: int) -> np.ndarray:
    """A segmented palette LUT (PS3.3 C.7.9.2) expanded to ``entries`` values.

    Segments: 0 discrete (n values), 1 linear (n values ending at y1),
    2 indirect (replay n segments from a 32-bit offset, counted in words as
    pydicom and DCMTK do).  Expansion stops with an error as soon as it would
    exceed ``entries``, so a lying descriptor cannot make it allocate more.

    Indirect segments can replay segments that add nothing (an empty discrete
    segment), so the values added do not bound the work; the segments
    executed, replayed ones included, are counted against a budget instead:
    one per data word (each segment read once) plus one per entry (each
    replayed segment that adds a value).  A table that needs more is refused.
    """
    if bits == 8:
        words = list(raw)  # one byte per value, in stored order (as pydicom reads it)
    else:
        n = len(raw) // 2
        words = list(struct.unpack(f"{'<' if little else '>'}{n}H", raw[:2 * n]))
    lut: list[int] = []
    budget = [len(words) + entries]

    def run(pos: int, max_segments: int | None, indirect_ok: bool) -> None:
        done = 0
        while pos + 1 < len(words) and (max_segments is None or done < max_segments):
            budget[0] -= 1
            if budget[0] < 0:
                raise PixelDataError(f"segmented LUT executes more than {len(words) + entries} "
                                     f"segments for {len(words)} words of data and {entries} "
                                     "entries (indirect segments replaying empty ones)",
                                     tag=tag)
            opcode, length = words[pos], words[pos + 1]
            pos += 2
            if opcode == 0:
                if pos + length > len(words):
                    raise PixelDataError(f"discrete segment at word {pos - 2} runs past the "
                                         "data", tag=tag)
                lut.extend(words[pos:pos + length])
                pos += length
            elif opcode == 1:
                if not lut or pos >= len(words):
                    raise PixelDataError(f"linear segment at word {pos - 2} has no start "
                                         "value or no end value", tag=tag)
                y0, y1 = lut[-1], words[pos]
                pos += 1
                step = (y1 - y0) / length if length else 0
                lut.extend(int(v) for v in np.around(np.linspace(y0 + step, y1, length)))
            elif opcode == 2 and indirect_ok:
                if not lut or pos + (4 if bits == 8 else 2) > len(words):
                    raise PixelDataError(f"indirect segment at word {pos - 2} is incomplete",
                                         tag=tag)
                if bits == 8:
                    b = words[pos:pos + 4]
                    if not little:  # the 32-bit offset was written as two big endian words
                        b = [b[1], b[0], b[3], b[2]]
                    offset = (b[3] << 24) | (b[2] << 16) | (b[1] << 8) | b[0]
                    pos += 4
                else:
                    offset = words[pos + 1] << 16 | words[pos]
                    pos += 2
                run(offset, length, False)
            else:
                raise PixelDataError(f"segment type {opcode} at word {pos - 2} is not allowed "
                                     "here", tag=tag)
            if len(lut) > entries:
                raise PixelDataError(f"segmented LUT expands past the {entries} entries of "
                                     f"its descriptor", tag=tag)
            done += 1

    run(0, None, True)
    return np.asarray(lut, dtype=np.uint8 if bits == 8 else np.uint16)
