"""The Image Pixel attributes (PS3.3 C.7.6.3) that say how to read the pixel bytes, checked.

Rows, Columns, Samples per Pixel, Bits Allocated, ... are read and checked
once into a :class:`Geometry`, which every stage of the pixel layer reads:
the frame walk, the native layout, the codecs' header checks, the colour
conversions, the modality LUT.  So it lives at the bottom of ``pixels/``,
importing none of them.  (The name says what it describes: the geometry of
one image's pixel data, not the patient-space geometry of a volume.)
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DicomWarning, LimitExceededError, PixelDataError, format_tag
from ..limits import DEFAULT_LIMITS

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["Geometry", "geometry", "stored_range", "MAX_OUTPUT_BYTES"]

PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009

# The largest array pixel_array builds unless told otherwise (Limits.max_pixel_bytes).
MAX_OUTPUT_BYTES = DEFAULT_LIMITS.max_pixel_bytes

_ROWS, _COLUMNS, _SAMPLES = 0x00280010, 0x00280011, 0x00280002
_BITS_ALLOCATED, _BITS_STORED, _PIXEL_REP = 0x00280100, 0x00280101, 0x00280103
_PLANAR, _FRAMES, _PHOTOMETRIC = 0x00280006, 0x00280008, 0x00280004

_REQUIRED: Any = object()


@dataclass(frozen=True)
class Geometry:
    """The Image Pixel attributes that say how to read the pixel bytes, checked."""

    tag: int
    rows: int
    columns: int
    samples: int
    bits_allocated: int
    bits_stored: int
    pixel_representation: int
    planar_configuration: int
    number_of_frames: int
    photometric: str

    @property
    def dtype(self) -> np.dtype:
        """The output dtype before codec adjustments (pydicom's choice: uint8 for 1 bit)."""
        if self.tag == FLOAT_PIXEL_DATA:
            return np.dtype(np.float32)
        if self.tag == DOUBLE_FLOAT_PIXEL_DATA:
            return np.dtype(np.float64)
        if self.bits_allocated == 1:
            return np.dtype(np.uint8)
        return np.dtype(f"{'ui'[self.pixel_representation]}{self.bits_allocated // 8}")

    @property
    def frame_shape(self) -> tuple[int, ...]:
        if self.samples == 1:
            return (self.rows, self.columns)
        return (self.rows, self.columns, self.samples)

    @property
    def frame_values(self) -> int:
        """Samples in one decoded frame."""
        return self.rows * self.columns * self.samples

    def output_shape(self, frames: int) -> tuple[int, ...]:
        return self.frame_shape if frames == 1 else (frames, *self.frame_shape)


def _int(ds: "Dataset", tag: int, name: str, default: Any = _REQUIRED) -> int:
    value = ds.get(tag)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        if default is _REQUIRED:
            raise PixelDataError(f"{name} {format_tag(tag)} is missing or empty", tag=PIXEL_DATA)
        return int(default)
    if not isinstance(value, int) or isinstance(value, bool):
        raise PixelDataError(f"{name} {format_tag(tag)} is not an integer: {value!r}",
                             tag=PIXEL_DATA)
    return value


def geometry(ds: "Dataset", *, max_bytes: int = MAX_OUTPUT_BYTES) -> Geometry:
    """Read and check the Image Pixel attributes of ``ds``.

    Raises PixelDataError for a missing, zero or impossible attribute and
    LimitExceededError when the decoded array would exceed ``max_bytes``.
    """
    tag = next((t for t in (PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA) if t in ds),
               None)
    if tag is None:
        raise PixelDataError("the dataset has no Pixel Data, Float Pixel Data or Double Float "
                             "Pixel Data element")
    rows = _int(ds, _ROWS, "Rows")
    columns = _int(ds, _COLUMNS, "Columns")
    bits_allocated = _int(ds, _BITS_ALLOCATED, "Bits Allocated")
    samples = _int(ds, _SAMPLES, "Samples per Pixel", 1)
    frames = _int(ds, _FRAMES, "Number of Frames", 1)
    if rows < 1 or columns < 1:
        raise PixelDataError(f"the image is {rows} rows by {columns} columns", tag=tag)
    if samples not in (1, 3):
        raise PixelDataError(f"Samples per Pixel is {samples}; only 1 and 3 are decoded", tag=tag)
    allowed = {PIXEL_DATA: (1, 8, 16, 32, 64), FLOAT_PIXEL_DATA: (32,),
               DOUBLE_FLOAT_PIXEL_DATA: (64,)}[tag]
    if bits_allocated not in allowed:
        raise PixelDataError(f"Bits Allocated is {bits_allocated}; {format_tag(tag)} allows "
                             f"{', '.join(map(str, allowed))}", tag=tag)
    if frames < 1:
        warnings.warn(f"Number of Frames is {frames}; reading one frame", DicomWarning,
                      stacklevel=3)
        frames = 1
    if tag == PIXEL_DATA:
        bits_stored = _int(ds, _BITS_STORED, "Bits Stored", bits_allocated)
        pixel_rep = _int(ds, _PIXEL_REP, "Pixel Representation", 0)
    else:
        bits_stored, pixel_rep = bits_allocated, 0
    if not 1 <= bits_stored <= bits_allocated:
        raise PixelDataError(f"Bits Stored {bits_stored} is outside 1..{bits_allocated} "
                             "(Bits Allocated)", tag=tag)
    if pixel_rep not in (0, 1):
        raise PixelDataError(f"Pixel Representation is {pixel_rep}", tag=tag)
    planar = _int(ds, _PLANAR, "Planar Configuration", 0) if samples > 1 else 0
    if planar not in (0, 1):
        raise PixelDataError(f"Planar Configuration is {planar}", tag=tag)
    photometric = ds.get(_PHOTOMETRIC)
    photometric = (photometric[0] if isinstance(photometric, list) else photometric) or ""
    geom = Geometry(tag, rows, columns, samples, bits_allocated, bits_stored, pixel_rep,
                    planar, frames, str(photometric).strip().upper())
    total = frames * geom.frame_values * max(bits_allocated // 8, 1)
    if total > max_bytes:
        raise LimitExceededError(f"{frames} frames of {rows} x {columns} x {samples} samples "
                                 f"would need {total} bytes (limit {max_bytes})", tag=tag)
    return geom


def stored_range(ds: "Dataset") -> tuple[int, int] | None:
    """The stored values Bits Stored and Pixel Representation allow, as :func:`geometry` reads them.

    With pixel data the whole geometry is checked (PixelDataError for bad
    attributes); float pixel data has no such range (None).  A dataset without
    pixel data (a header read alone, a dataset built by hand) gets the same
    checks on these two attributes, and None when Bits Stored is absent.
    """
    if any(tag in ds for tag in (PIXEL_DATA, FLOAT_PIXEL_DATA, DOUBLE_FLOAT_PIXEL_DATA)):
        geom = geometry(ds, max_bytes=sys.maxsize)
        if geom.tag != PIXEL_DATA:
            return None
        bits, signed = geom.bits_stored, geom.pixel_representation
    else:
        if ds.get(_BITS_STORED) is None:
            return None
        bits = _int(ds, _BITS_STORED, "Bits Stored")
        signed = _int(ds, _PIXEL_REP, "Pixel Representation", 0)
        if not 1 <= bits <= 64 or signed not in (0, 1):
            raise PixelDataError(f"Bits Stored {bits} (1 to 64 allowed) or Pixel "
                                 f"Representation {signed} (0 or 1) is impossible",
                                 tag=_BITS_STORED)
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1
