"""Stage 2 of the grayscale pipeline: modality values to values of interest, PS3.3 C.11.2.

The VOI maps modality values (:mod:`.modality`) through a window (center,
width and a function) or a VOI LUT Sequence.  Then comes presentation:
MONOCHROME1 images are displayed inverted, which is the display's job, not
the VOI's (``rawdicom.pixels.color.invert_monochrome1``;
``window(..., out_range=(255, 0))`` gives the inverted 8-bit image directly).

Two VOI entry points, because callers want two different things:

* :func:`apply_voi` returns what the standard calls the VOI output, in the same
  convention as pydicom's ``apply_voi_lut`` (windows give float64 spanning the
  range of the input's possible values, VOI LUTs give their own entries), so
  results can be compared and fed to further processing;
* :func:`to_uint8` runs the whole pipeline from stored values to an 8-bit image
  ready to save as PNG or to show.

Windows on integer images go through a table of the formula's values
(:mod:`.tables`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError
from .functional_groups import frame_source, numeric_value, per_frame, sequence_items
from .image_pixel import stored_range
from .modality import modality_lut, modality_params
from .tables import Lut, parse_lut, via_table

__all__ = ["window", "window_preset", "CT_PRESETS", "apply_voi", "to_uint8"]

_PHOTOMETRIC = 0x00280004
_BITS_STORED = 0x00280101
_PIXEL_REPRESENTATION = 0x00280103
_WINDOW_CENTER = 0x00281050
_WINDOW_WIDTH = 0x00281051
_RESCALE_SLOPE = 0x00281053
_VOI_LUT_FUNCTION = 0x00281056
_LUT_DESCRIPTOR = 0x00283002
_LUT_DATA = 0x00283006
_VOI_LUT_SEQUENCE = 0x00283010
_FRAME_VOI_LUT_SEQUENCE = 0x00289132

_FUNCTIONS = ("LINEAR", "LINEAR_EXACT", "SIGMOID")


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
    return via_table(arr, fn)


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


@dataclass(frozen=True)
class _Window:
    center: float
    width: float
    function: str


def _voi_params(ds: Dataset, frame: int, index: int, cache: dict[int, Lut]) -> _Window | Lut | None:
    """The frame's VOI: VOI LUT Sequence first (pydicom's prefer_lut=True), else its window."""
    src = frame_source(ds, _FRAME_VOI_LUT_SEQUENCE, frame,
                       (_WINDOW_CENTER, _WINDOW_WIDTH, _VOI_LUT_SEQUENCE))
    items = sequence_items(src, _VOI_LUT_SEQUENCE)
    if items:
        if index >= len(items):
            raise IndexError(f"VOI LUT Sequence has {len(items)} item(s), index {index} asked for")
        item = items[index]
        if _LUT_DESCRIPTOR in item and _LUT_DATA in item:
            if id(item) not in cache:
                cache[id(item)] = parse_lut(item, ds.get(_PIXEL_REPRESENTATION))
            return cache[id(item)]
    if src.get(_WINDOW_CENTER) is None or src.get(_WINDOW_WIDTH) is None:
        return None
    center, width = numeric_value(src, _WINDOW_CENTER, index), numeric_value(src, _WINDOW_WIDTH, index)
    function = src.get(_VOI_LUT_FUNCTION) or ds.get(_VOI_LUT_FUNCTION) or "LINEAR"
    if not isinstance(function, str):
        raise PixelDataError(f"VOI LUT Function {function!r} is not text", tag=_VOI_LUT_FUNCTION)
    return _Window(center, width, function)


def _natural_range(ds: Dataset, frame: int) -> tuple[float, float]:
    """The range of modality values, the window output range pydicom uses (PS3.3 C.11.2.1.2)."""
    modality = modality_params(ds, frame, {})
    if isinstance(modality, Lut):
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


def _apply_voi(ds: Dataset, arr: np.ndarray, params: _Window | Lut | None,
               out_range: tuple[float, float] | None, dtype: np.dtype) -> np.ndarray:
    """One VOI onto ``out_range``; for a LUT, ``out_range=None`` keeps its entries as they are."""
    if params is None:
        return arr
    _check_grayscale(ds)
    if isinstance(params, Lut):
        if out_range is None:
            return params.apply(arr)
        scale = (out_range[1] - out_range[0]) / ((1 << params.bits) - 1)
        scaled = params.table * scale + out_range[0]
        table = np.rint(scaled).astype(dtype) if dtype.kind in "iu" else scaled.astype(dtype)
        return Lut(params.first, params.bits, table).apply(arr)
    try:
        fn = _window_function(params.center, params.width, params.function,
                              out_range[0], out_range[1], dtype)
    except ValueError as exc:
        tag = _VOI_LUT_FUNCTION if "Function" in str(exc) else _WINDOW_WIDTH
        raise PixelDataError(str(exc), tag=tag) from None
    return via_table(arr, fn)


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
    cache: dict[int, Lut] = {}

    def resolve(i: int) -> tuple[_Window | Lut | None, tuple[float, float] | None]:
        params = _voi_params(ds, i, index, cache)
        return params, _natural_range(ds, i) if isinstance(params, _Window) else None

    return per_frame(ds, arr, frame, resolve,
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
    cache: dict[int, Lut] = {}
    u8 = np.dtype(np.uint8)

    def apply(a: np.ndarray, params: _Window | Lut | None) -> np.ndarray:
        if params is None:
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            params = _Window((lo + hi) / 2, hi - lo, "LINEAR_EXACT") if hi > lo else None
            if params is None:
                return np.zeros(a.shape, dtype=u8)
        return _apply_voi(ds, a, params, (0, 255), u8)

    return per_frame(ds, values, frame, lambda i: _voi_params(ds, i, index, cache), apply)
