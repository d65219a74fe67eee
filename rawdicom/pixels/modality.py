"""Stage 1 of the grayscale pipeline: stored values to modality values, PS3.3 C.11.1.

:func:`modality_lut` and :func:`hounsfield` map stored values to modality
values (Hounsfield units for CT) through Rescale Slope/Intercept or a
Modality LUT Sequence; enhanced multi-frame objects carry these per frame in
their functional groups.  Stage 2, the VOI (windows), is :mod:`.voi`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Without numpy, importing this module fails earlier, in rawdicom/pixels/__init__.py, with
# the message naming the extra to install.
import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError
from .functional_groups import first_item, frame_source, numeric_value, per_frame
from .image_pixel import stored_range
from .tables import Lut, parse_lut

__all__ = ["modality_lut", "hounsfield"]

_PIXEL_REPRESENTATION = 0x00280103
_RESCALE_INTERCEPT = 0x00281052
_RESCALE_SLOPE = 0x00281053
_MODALITY_LUT_SEQUENCE = 0x00283000
_PIXEL_VALUE_TRANSFORMATION_SEQUENCE = 0x00289145


def _int_type_for(lo: int, hi: int) -> np.dtype | None:
    """The smallest signed integer type holding lo..hi (signed: modality values are differences).

    None when not even int64 holds them.
    """
    for dtype in (np.int8, np.int16, np.int32, np.int64):
        info = np.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return np.dtype(dtype)
    return None


@dataclass(frozen=True)
class Rescale:
    """Rescale Slope and Intercept: modality value = slope * stored value + intercept."""

    slope: float
    intercept: float


def modality_params(ds: Dataset, frame: int, cache: dict[int, Lut]) -> Rescale | Lut | None:
    """A frame's modality transform: its Modality LUT, else its rescale, None for identity.

    (:mod:`.voi` asks for it too: the window output range follows from it.)
    ``cache`` keeps each parsed LUT item by id, for the frames that share it.
    """
    src = frame_source(ds, _PIXEL_VALUE_TRANSFORMATION_SEQUENCE, frame,
                       (_RESCALE_SLOPE, _RESCALE_INTERCEPT, _MODALITY_LUT_SEQUENCE))
    item = first_item(src, _MODALITY_LUT_SEQUENCE)
    if item is not None:
        if id(item) not in cache:
            cache[id(item)] = parse_lut(item, ds.get(_PIXEL_REPRESENTATION))
        return cache[id(item)]
    if _RESCALE_SLOPE not in src and _RESCALE_INTERCEPT not in src:
        return None
    # Both are Type 1 together (C.11.1); a lone one keeps the other's identity value.
    slope = numeric_value(src, _RESCALE_SLOPE) if _RESCALE_SLOPE in src else 1.0
    intercept = numeric_value(src, _RESCALE_INTERCEPT) if _RESCALE_INTERCEPT in src else 0.0
    if slope == 1.0 and intercept == 0.0:
        return None
    return Rescale(slope, intercept)


def _rescale(ds: Dataset, arr: np.ndarray, params: Rescale | Lut | None) -> np.ndarray:
    if params is None:
        return arr
    if isinstance(params, Lut):
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
    cache: dict[int, Lut] = {}
    return per_frame(ds, arr, frame, lambda i: modality_params(ds, i, cache),
                     lambda a, p: _rescale(ds, a, p))


def hounsfield(ds: Dataset, frame: int | None = None) -> np.ndarray:
    """The image in modality units (HU for CT): ``modality_lut(ds, pixel_array(ds, frame), frame)``."""
    import rawdicom
    from .frames import as_dataset
    ds = as_dataset(ds)  # a path, bytes or a binary file too
    return modality_lut(ds, rawdicom.pixel_array(ds, frame=frame), frame)
