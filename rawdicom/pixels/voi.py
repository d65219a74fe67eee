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

The window itself (``window``, its formula, the CT presets) is :mod:`.windowing`, which
works without numpy too; this module applies it to a file's VOI.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..dataset import Dataset
from ..errors import PixelDataError
from .functional_groups import frame_source, numeric_value, per_frame, sequence_items
from .image_pixel import stored_range
from .modality import modality_lut, modality_params
from .tables import Lut, parse_lut, via_table
from .windowing import CT_PRESETS, WindowMap, window, window_preset

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

def _window_function(center: float, width: float, function: str, y_min: float, y_max: float,
                     dtype: np.dtype) -> Callable[[np.ndarray], np.ndarray]:
    """The PS3.3 C.11.2.1.2/C.11.2.1.3 window as an elementwise function; checks its arguments.

    Raises ValueError: the caller turns it into a PixelDataError when the
    numbers came from a file.
    """
    return WindowMap(center, width, function, y_min, y_max).array_function(np, dtype)


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
