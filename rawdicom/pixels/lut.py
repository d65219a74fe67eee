"""From stored pixel values to meaningful and displayable ones: modality LUT, VOI LUT, windows.

DICOM describes the grayscale pipeline in stages (PS3.3 C.11, PS3.4 N.2.1.1):

1. **Modality LUT** (:func:`modality_lut`, :func:`hounsfield`): stored values to
   modality values (Hounsfield units for CT) through Rescale Slope/Intercept or
   a Modality LUT Sequence; enhanced multi-frame objects carry these per frame
   in their functional groups.
2. **VOI LUT** (:func:`apply_voi`, :func:`window`): modality values to the
   values of interest, through a window (center/width and a function) or a
   VOI LUT Sequence.
3. Presentation: MONOCHROME1 images are displayed inverted.  That is the
   display's job, not the VOI's: the helper lives in ``rawdicom.pixels.color``.
   (``window(..., out_range=(255, 0))`` gives the inverted 8-bit image directly.)

Two VOI entry points, because callers want two different things:

* :func:`apply_voi` returns what the standard calls the VOI output, in the same
  convention as pydicom's ``apply_voi_lut`` (windows give float64 spanning the
  range of the input's possible values, VOI LUTs give their own entries), so
  results can be compared and fed to further processing;
* :func:`to_uint8` runs the whole pipeline from stored values to an 8-bit image
  ready to save as PNG or to show.

Integer images have few distinct values compared with their pixel count, so
every per-pixel transform here evaluates its formula once per possible input
value and maps the image through that table with one indexing operation;
the result is the same, bit for bit, as evaluating the formula per pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Hashable

# Without numpy, importing this module fails earlier, in rawdicom/pixels/__init__.py, with
# the message naming the extra to install.
import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError, format_tag
from .frames import stored_range

__all__ = [
    "modality_lut", "hounsfield", "window", "apply_voi", "to_uint8",
    "CT_PRESETS", "window_preset", "histogram", "format_histogram",
]

_PHOTOMETRIC = 0x00280004
_NUMBER_OF_FRAMES = 0x00280008
_BITS_STORED = 0x00280101
_PIXEL_REPRESENTATION = 0x00280103
_WINDOW_CENTER = 0x00281050
_WINDOW_WIDTH = 0x00281051
_RESCALE_INTERCEPT = 0x00281052
_RESCALE_SLOPE = 0x00281053
_VOI_LUT_FUNCTION = 0x00281056
_MODALITY_LUT_SEQUENCE = 0x00283000
_LUT_DESCRIPTOR = 0x00283002
_LUT_DATA = 0x00283006
_VOI_LUT_SEQUENCE = 0x00283010
_FRAME_VOI_LUT_SEQUENCE = 0x00289132
_PIXEL_VALUE_TRANSFORMATION_SEQUENCE = 0x00289145
_SHARED_GROUPS = 0x52009229
_PER_FRAME_GROUPS = 0x52009230

# Mapping through a table pays off when the table is small next to the image.
_MAX_TABLE = 1 << 17

_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


# ----------------------------------------------------------------------- tables

def _via_table(arr: np.ndarray, fn: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
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
    """``_via_table`` for 8- and 16-bit integers: a table indexed by the values' bit patterns.

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


def _int_type_for(lo: int, hi: int) -> np.dtype | None:
    """The smallest signed integer type holding lo..hi (signed: modality values are differences).

    None when not even int64 holds them.
    """
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return None


# ---------------------------------------------------------------- the dataset

def _items(src: Dataset, tag: int) -> list[Dataset]:
    """The items of sequence ``tag`` in ``src`` ([] when absent or empty).

    A value that is not a sequence (the element written with another VR) is
    the file's fault: PixelDataError naming the tag, not an AttributeError later.
    """
    value = src.get(tag)
    if value is None or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Dataset) for item in value):
        raise PixelDataError(f"{format_tag(tag)} should be a sequence of items, found a value "
                             f"of VR {src[tag].vr}", tag=tag)
    return value


def _first_item(src: Dataset, tag: int) -> Dataset | None:
    items = _items(src, tag)
    return items[0] if items else None


def _source(ds: Dataset, macro: int, frame: int, own: tuple[int, ...]) -> Dataset:
    """The dataset holding a frame's attributes: its functional group item, else ``ds`` itself.

    PS3.3 C.7.6.16: a Per-frame Functional Groups item overrides the Shared
    one; classic objects keep the attributes at the top level.  ``own`` are
    the attributes that make an item count (an item without them is ignored).
    """
    per_frame = _items(ds, _PER_FRAME_GROUPS)
    if 0 <= frame < len(per_frame):
        item = _first_item(per_frame[frame], macro)
        if item is not None and any(tag in item for tag in own):
            return item
    shared = _first_item(ds, _SHARED_GROUPS)
    if shared is not None:
        item = _first_item(shared, macro)
        if item is not None and any(tag in item for tag in own):
            return item
    return ds


def _number(src: Dataset, tag: int, index: int = 0) -> float:
    """A numeric attribute (DS/IS/binary) as float; a value that is not a number is the file's fault."""
    value = src.get(tag)
    values = value if isinstance(value, list) else [value]
    if index >= len(values):
        raise IndexError(f"{format_tag(tag)} has {len(values)} value(s), index {index} asked for")
    number = values[index]
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise PixelDataError(f"value {number!r} is not a number", tag=tag)
    try:
        value = float(number)  # an IS of 400 digits does not fit a float
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        text = str(number)
        text = text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"
        raise PixelDataError(f"value {text} is not a finite number", tag=tag)
    return value


@dataclass(frozen=True, eq=False)
class _Lut:
    """A parsed LUT: input ``first`` maps to ``table[0]``; entries have ``bits`` bits (PS3.3 C.11.1.1.1)."""
    first: int
    bits: int
    table: np.ndarray

    def apply(self, arr: np.ndarray) -> np.ndarray:
        if arr.dtype.kind not in "iub":
            raise TypeError(f"a LUT maps integer values, not {arr.dtype}")
        last = len(self.table) - 1
        first, table = self.first, self.table
        return _via_table(arr, lambda v: table[np.clip(v.astype(np.int64) - first, 0, last)])


def _parse_lut(item: Dataset, pixel_representation: Any) -> _Lut:
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
    return _Lut(first, bits, table.astype(np.uint8 if bits <= 8 else np.uint16))


# ---------------------------------------------------------------- per frame

def _frames(ds: Dataset, arr: np.ndarray, frame: int | None) -> list[int] | None:
    """Frame indices when ``arr`` holds all frames of a multi-frame image, else None."""
    if frame is not None:
        return None
    count = ds.get(_NUMBER_OF_FRAMES)
    if isinstance(count, int) and count > 1 and arr.ndim >= 3 and arr.shape[0] == count:
        return list(range(count))
    return None


def _per_frame(ds: Dataset, arr: np.ndarray, frame: int | None,
               resolve: Callable[[int], Hashable],
               apply: Callable[[np.ndarray, Any], np.ndarray]) -> np.ndarray:
    """``apply`` each frame's parameters to it, once per distinct set of parameters."""
    frames = _frames(ds, arr, frame)
    if frames is None:
        return apply(arr, resolve(frame or 0))
    groups: dict[Hashable, list[int]] = {}
    for i in frames:
        groups.setdefault(resolve(i), []).append(i)
    if len(groups) == 1:
        return apply(arr, next(iter(groups)))
    parts = [(idx, apply(arr[idx], params)) for params, idx in groups.items()]
    out = np.empty(arr.shape[:1] + parts[0][1].shape[1:],
                   dtype=np.result_type(*(part for _, part in parts)))
    for idx, part in parts:
        out[idx] = part
    return out


# ---------------------------------------------------------------- modality LUT

@dataclass(frozen=True)
class _Rescale:
    slope: float
    intercept: float


def _modality_params(ds: Dataset, frame: int, cache: dict[int, _Lut]) -> _Rescale | _Lut | None:
    src = _source(ds, _PIXEL_VALUE_TRANSFORMATION_SEQUENCE, frame,
                  (_RESCALE_SLOPE, _RESCALE_INTERCEPT, _MODALITY_LUT_SEQUENCE))
    item = _first_item(src, _MODALITY_LUT_SEQUENCE)
    if item is not None:
        if id(item) not in cache:
            cache[id(item)] = _parse_lut(item, ds.get(_PIXEL_REPRESENTATION))
        return cache[id(item)]
    if _RESCALE_SLOPE not in src and _RESCALE_INTERCEPT not in src:
        return None
    # Both are Type 1 together (C.11.1); a lone one keeps the other's identity value.
    slope = _number(src, _RESCALE_SLOPE) if _RESCALE_SLOPE in src else 1.0
    intercept = _number(src, _RESCALE_INTERCEPT) if _RESCALE_INTERCEPT in src else 0.0
    if slope == 1.0 and intercept == 0.0:
        return None
    return _Rescale(slope, intercept)


def _rescale(ds: Dataset, arr: np.ndarray, params: _Rescale | _Lut | None) -> np.ndarray:
    if params is None:
        return arr
    if isinstance(params, _Lut):
        return params.apply(arr)
    slope, intercept = params.slope, params.intercept
    if arr.dtype.kind in "iub" and slope.is_integer() and intercept.is_integer():
        s, b = int(slope), int(intercept)
        lo, hi = (int(arr.min()), int(arr.max())) if arr.size else (0, 0)
        nominal = stored_range(ds)
        if nominal is not None:
            lo, hi = min(lo, nominal[0]), max(hi, nominal[1])
        ends = (lo * s + b, hi * s + b)
        out_type = _int_type_for(min(ends), max(ends))
        # wide enough for the input, the products and the results: exact in-place arithmetic
        work = _int_type_for(min(lo, lo * s, hi * s, *ends), max(hi, lo * s, hi * s, *ends))
        if out_type is not None and work is not None:
            out = arr.astype(work)
            if s != 1:
                out *= s
            if b:
                out += b
            return out.astype(out_type, copy=False)
        # past int64 (a slope of 1e300 is an integer too): float64, as for any other rescale
    if arr.dtype.kind in "iub" and arr.size:
        ends = [float(v) * slope + intercept for v in (arr.min(), arr.max())]
        if not all(map(math.isfinite, ends)):
            raise PixelDataError(f"Rescale Slope {slope} and Intercept {intercept} take stored "
                                 "values past the largest float", tag=_RESCALE_SLOPE)
    # pydicom's order of operations, so float results agree bit for bit
    out = arr.astype(np.float64) * slope
    out += intercept
    return out


def modality_lut(ds: Dataset, arr: np.ndarray, frame: int | None = None) -> np.ndarray:
    """Stored values -> modality values (Hounsfield units for CT), PS3.3 C.11.1.

    ``arr`` holds stored values: one frame (then ``frame`` says which, for the
    functional groups of enhanced objects) or, with ``frame=None``, all frames
    of a multi-frame image, each mapped with its own Pixel Value
    Transformation.  The Modality LUT Sequence wins over Rescale
    Slope/Intercept, as in pydicom.

    The output holds every value exactly: integer slope and intercept on
    integer input give the smallest signed integer type that holds every value
    Bits Stored allows (int16 for 12-bit CT with intercept -1024); other
    rescales give float64; a Modality LUT gives uint8 or uint16 per its
    entries' bits.  Without a transformation (or slope 1, intercept 0) ``arr``
    itself is returned.
    """
    cache: dict[int, _Lut] = {}
    return _per_frame(ds, arr, frame, lambda i: _modality_params(ds, i, cache),
                      lambda a, p: _rescale(ds, a, p))


def hounsfield(ds: Dataset, frame: int | None = None) -> np.ndarray:
    """The image in modality units (HU for CT): ``modality_lut(ds, pixel_array(ds, frame), frame)``."""
    import rawdicom
    return modality_lut(ds, rawdicom.pixel_array(ds, frame=frame), frame)


# ---------------------------------------------------------------- windows

def _window_function(center: float, width: float, function: str, y_min: float, y_max: float,
                     dtype: np.dtype) -> Callable[[np.ndarray], np.ndarray]:
    """The PS3.3 C.11.2.1.2/C.11.2.1.3 window as an elementwise function; checks its arguments.

    Raises ValueError: the caller turns it into a PixelDataError when the
    numbers came from a file.
    """
    name = function.strip().upper()
    if name not in _FUNCTIONS:
        raise ValueError(f"VOI LUT Function {function!r}: one of {', '.join(_FUNCTIONS)} expected")
    if not (math.isfinite(center) and math.isfinite(width)):
        raise ValueError(f"window center {center} and width {width} must be finite")
    if name == "LINEAR" and width < 1:
        raise ValueError(f"window width {width} < 1: LINEAR needs a width of at least 1")
    if name != "LINEAR" and width <= 0:
        raise ValueError(f"window width {width} <= 0: {name} needs a positive width")
    y_range = y_max - y_min
    integral = dtype.kind in "iu"
    if integral:
        info = np.iinfo(dtype)
        if not info.min <= min(y_min, y_max) <= max(y_min, y_max) <= info.max:
            raise ValueError(f"output range {y_min}..{y_max} does not fit in {dtype}")

    if name == "SIGMOID":  # C.11.2.1.3.1
        def fn(v: np.ndarray) -> np.ndarray:
            with np.errstate(over="ignore"):  # exp -> inf far below the center: y_min, as it should
                y = y_range / (1 + np.exp(-4 * (v.astype(np.float64) - center) / width)) + y_min
            return np.rint(y).astype(dtype) if integral else y.astype(dtype, copy=False)
        return fn

    # C.11.2.1.2.1 (LINEAR: c - 0.5, w - 1) and C.11.2.1.3.2 (LINEAR_EXACT: c, w)
    c, w = (center - 0.5, width - 1.0) if name == "LINEAR" else (center, width)
    lower, upper = c - w / 2, c + w / 2

    def fn(v: np.ndarray) -> np.ndarray:
        x = v.astype(np.float64)
        below, above = x <= lower, x > upper
        if w:  # w == 0 (LINEAR, width 1): no value lies between the two bounds
            x -= c
            x /= w
            x += 0.5
            x *= y_range
            x += y_min
        x[below] = y_min
        x[above] = y_max
        return np.rint(x).astype(dtype) if integral else x.astype(dtype, copy=False)
    return fn


def window(arr: np.ndarray, center: float, width: float, function: str = "LINEAR", *,
           out_range: tuple[float, float] = (0, 255), dtype: Any = None) -> np.ndarray:
    """Map ``arr`` through a window: uint8 0..255 by default, PS3.3 C.11.2.1.2.

    ``function`` is LINEAR (the default: C.11.2.1.2.1, width >= 1, values
    ``<= c - 0.5 - (w-1)/2`` give the lowest output, ``> c - 0.5 + (w-1)/2``
    the highest, linear between), LINEAR_EXACT (C.11.2.1.3.2, the same with
    ``c`` and ``w`` unadjusted, width > 0) or SIGMOID (C.11.2.1.3.1, width > 0).
    ``out_range`` is (y_min, y_max); ``(255, 0)`` gives the inverted image a
    MONOCHROME1 display wants.  Integer output types are rounded to nearest
    (ties to even); ``dtype=np.float64`` gives the unrounded values.

    Integer input goes through a table of the formula's values (see the
    module docstring): same result, several times faster than per-pixel math.
    """
    arr = np.asarray(arr)
    out_type = np.dtype(np.uint8 if dtype is None else dtype)
    fn = _window_function(float(center), float(width), function, float(out_range[0]),
                          float(out_range[1]), out_type)
    return _via_table(arr, fn)


#: Published CT windows, name -> (center, width) in HU.  From Radiopaedia,
#: "Windowing (CT)" (https://radiopaedia.org/articles/windowing-ct): head
#: brain W:80 L:40, subdural W:130-300 L:50-100 (the middle of both ranges
#: here), stroke W:8 L:32 or W:40 L:40 (the latter here, the wider and more
#: common one; the narrow one is the subject of Radiopaedia case 19148),
#: chest lungs W:1500 L:-600 and mediastinum W:350 L:50, abdomen soft tissues
#: W:400 L:50, liver W:150 L:30, spine bone W:1800 L:400.
CT_PRESETS: dict[str, tuple[float, float]] = {
    "brain": (40, 80),
    "subdural": (75, 215),
    "stroke": (40, 40),
    "bone": (400, 1800),
    "lung": (-600, 1500),
    "mediastinum": (50, 350),
    "abdomen": (50, 400),
    "liver": (30, 150),
}


def window_preset(arr: np.ndarray, name: str, **kwargs: Any) -> np.ndarray:
    """``window(arr, *CT_PRESETS[name])``; ``arr`` in HU (see :func:`hounsfield`)."""
    try:
        center, width = CT_PRESETS[name.lower()]
    except KeyError:
        raise KeyError(f"no CT preset {name!r}; known: {', '.join(CT_PRESETS)}") from None
    return window(arr, center, width, **kwargs)


# ---------------------------------------------------------------- VOI from the file

@dataclass(frozen=True)
class _Window:
    center: float
    width: float
    function: str


def _voi_params(ds: Dataset, frame: int, index: int, cache: dict[int, _Lut]) -> _Window | _Lut | None:
    """The frame's VOI: VOI LUT Sequence first (pydicom's prefer_lut=True), else its window."""
    src = _source(ds, _FRAME_VOI_LUT_SEQUENCE, frame,
                  (_WINDOW_CENTER, _WINDOW_WIDTH, _VOI_LUT_SEQUENCE))
    items = _items(src, _VOI_LUT_SEQUENCE)
    if items:
        if index >= len(items):
            raise IndexError(f"VOI LUT Sequence has {len(items)} item(s), index {index} asked for")
        item = items[index]
        if _LUT_DESCRIPTOR in item and _LUT_DATA in item:
            if id(item) not in cache:
                cache[id(item)] = _parse_lut(item, ds.get(_PIXEL_REPRESENTATION))
            return cache[id(item)]
    if src.get(_WINDOW_CENTER) is None or src.get(_WINDOW_WIDTH) is None:
        return None
    center, width = _number(src, _WINDOW_CENTER, index), _number(src, _WINDOW_WIDTH, index)
    function = src.get(_VOI_LUT_FUNCTION) or ds.get(_VOI_LUT_FUNCTION) or "LINEAR"
    if not isinstance(function, str):
        raise PixelDataError(f"VOI LUT Function {function!r} is not text", tag=_VOI_LUT_FUNCTION)
    return _Window(center, width, function)


def _natural_range(ds: Dataset, frame: int) -> tuple[float, float]:
    """The range of modality values, the window output range pydicom uses (PS3.3 C.11.2.1.2)."""
    modality = _modality_params(ds, frame, {})
    if isinstance(modality, _Lut):
        return 0, (1 << modality.bits) - 1
    stored = stored_range(ds)
    if stored is None:
        raise PixelDataError("Bits Stored missing: the window output range is unknown",
                             tag=_BITS_STORED)
    if modality is None:
        return stored
    ends = (stored[0] * modality.slope + modality.intercept,
            stored[1] * modality.slope + modality.intercept)
    if not all(map(math.isfinite, ends)):
        raise PixelDataError(f"Rescale Slope {modality.slope} and Intercept "
                             f"{modality.intercept} take stored values past the largest float",
                             tag=_RESCALE_SLOPE)
    return ends


def _apply_voi(ds: Dataset, arr: np.ndarray, params: _Window | _Lut | None,
               out_range: tuple[float, float] | None, dtype: np.dtype) -> np.ndarray:
    """One VOI onto ``out_range``; for a LUT, ``out_range=None`` keeps its entries as they are."""
    if params is None:
        return arr
    _check_grayscale(ds)
    if isinstance(params, _Lut):
        if out_range is None:
            return params.apply(arr)
        scale = (out_range[1] - out_range[0]) / ((1 << params.bits) - 1)
        scaled = params.table * scale + out_range[0]
        table = np.rint(scaled).astype(dtype) if dtype.kind in "iu" else scaled.astype(dtype)
        return _Lut(params.first, params.bits, table).apply(arr)
    try:
        fn = _window_function(params.center, params.width, params.function,
                              out_range[0], out_range[1], dtype)
    except ValueError as exc:
        tag = _VOI_LUT_FUNCTION if "Function" in str(exc) else _WINDOW_WIDTH
        raise PixelDataError(str(exc), tag=tag) from None
    return _via_table(arr, fn)


def _check_grayscale(ds: Dataset) -> None:
    photometric = ds.get(_PHOTOMETRIC)
    if photometric is not None and photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise PixelDataError(f"VOI transforms apply to MONOCHROME1/2 images, not {photometric}",
                             tag=_PHOTOMETRIC)


def apply_voi(ds: Dataset, arr: np.ndarray, index: int = 0, *,
              frame: int | None = None) -> np.ndarray:
    """The file's own VOI transform of modality values ``arr``, as pydicom's ``apply_voi_lut``.

    ``arr`` must already be in modality units (:func:`modality_lut`).  The VOI
    LUT Sequence (item ``index``) wins over Window Center/Width (value
    ``index``) with the VOI LUT Function; enhanced objects take them per frame
    from the Frame VOI LUT Sequence of their functional groups.

    Returns, like pydicom: a VOI LUT's entries (uint8/uint16); for a window,
    float64 values spanning the range of possible modality values (from Bits
    Stored, Pixel Representation and the rescale, or the Modality LUT's bits);
    ``arr`` itself when the file has no VOI.  For an 8-bit image use
    :func:`to_uint8`.
    """
    cache: dict[int, _Lut] = {}

    def resolve(i: int) -> tuple[_Window | _Lut | None, tuple[float, float] | None]:
        params = _voi_params(ds, i, index, cache)
        return params, _natural_range(ds, i) if isinstance(params, _Window) else None

    return _per_frame(ds, arr, frame, resolve,
                      lambda a, p: _apply_voi(ds, a, p[0], p[1], np.dtype(np.float64)))


def to_uint8(ds: Dataset, arr: np.ndarray | None = None, index: int = 0, *,
             frame: int | None = None) -> np.ndarray:
    """Stored values -> an 8-bit grayscale image: modality LUT, then the file's VOI onto 0..255.

    ``arr`` holds stored values (``pixel_array(ds, frame)`` when omitted).  A
    VOI LUT's output is scaled from its own bit depth; a window maps onto
    0..255; without either, the image's own min..max is stretched linearly.
    MONOCHROME1 stays as stored (0 = white): invert on display.
    """
    _check_grayscale(ds)
    if arr is None:
        import rawdicom
        arr = rawdicom.pixel_array(ds, frame=frame)
    values = modality_lut(ds, arr, frame)
    cache: dict[int, _Lut] = {}
    u8 = np.dtype(np.uint8)

    def apply(a: np.ndarray, params: _Window | _Lut | None) -> np.ndarray:
        if params is None:
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            params = _Window((lo + hi) / 2, hi - lo, "LINEAR_EXACT") if hi > lo else None
            if params is None:
                return np.zeros(a.shape, dtype=u8)
        return _apply_voi(ds, a, params, (0, 255), u8)

    return _per_frame(ds, values, frame, lambda i: _voi_params(ds, i, index, cache), apply)


# ---------------------------------------------------------------- histogram

def histogram(data: Dataset | np.ndarray, bins: int = 64,
              range: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bin_edges, counts) of an image's values, HU for a CT Dataset (via :func:`hounsfield`).

    Integer values get integer-aligned bins of equal width (no bin collects
    more distinct values than its neighbours, which plain ``np.histogram``
    does not guarantee), with ``range`` the (lowest, highest) value counted,
    both included.  Float values use ``np.histogram`` over the finite values.
    ``len(edges) == len(counts) + 1``, ready for ``plt.stairs(counts, edges)``
    or :func:`format_histogram`.
    """
    arr = hounsfield(data) if isinstance(data, Dataset) else np.asarray(data)
    if bins < 1:
        raise ValueError(f"bins must be >= 1, not {bins}")
    if arr.dtype.kind == "b":
        arr = arr.astype(np.uint8)
    if arr.dtype.kind not in "iu":
        finite = arr[np.isfinite(arr)]
        if range is None and finite.size == 0:
            raise ValueError("no finite values to make a histogram of")
        counts, edges = np.histogram(finite, bins=bins, range=range)
        return edges, counts
    if range is None:
        if arr.size == 0:
            raise ValueError("no values to make a histogram of")
        lo, hi = int(arr.min()), int(arr.max())
    else:
        lo, hi = math.floor(range[0]), math.ceil(range[1])
        if hi < lo:
            raise ValueError(f"empty range {range}")
    step = -(-(hi - lo + 1) // bins)
    count = -(-(hi - lo + 1) // step)
    values = arr.ravel()
    if range is not None:
        values = values[(values >= lo) & (values <= hi)]
    counts = np.bincount((values.astype(np.int64) - lo) // step, minlength=count)
    edges = lo + step * np.arange(count + 1, dtype=np.int64)
    return edges, counts


def format_histogram(edges: np.ndarray, counts: np.ndarray, width: int = 50) -> str:
    """A histogram as text bars, one line per bin: ``[lo, hi)  ####  count``, for terminals."""
    if len(edges) != len(counts) + 1:
        raise ValueError(f"{len(edges)} edges for {len(counts)} counts: one more edge expected")

    def text(x: Any) -> str:
        x = float(x)
        return str(int(x)) if x.is_integer() else f"{x:.4g}"

    labels = [f"[{text(lo)}, {text(hi)})" for lo, hi in zip(edges[:-1], edges[1:])]
    label_width = max(map(len, labels), default=0)
    top = max((int(c) for c in counts), default=0)
    lines = []
    for label, c in zip(labels, counts):
        c = int(c)
        bar = max(1, round(c * width / top)) if c else 0
        lines.append(f"{label:<{label_width}} {'#' * bar:<{width}} {c}")
    return "\n".join(lines)
