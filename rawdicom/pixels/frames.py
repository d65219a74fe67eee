"""pixel_array and iter_frames: frame geometry, size checks, and the choice of decoder.

The Image Pixel attributes (Rows, Columns, Samples per Pixel, Bits
Allocated, ...) are read and checked once into a :class:`Geometry`; every
size is checked against it *before* anything is allocated, so a file that
claims 65535 x 65535 x 1000 frames with a kilobyte of data fails at once.
Native data goes to :mod:`.native` (zero-copy views where the bytes allow),
encapsulated data to :mod:`.codecs`, one frame at a time, optionally in a
thread pool.
"""

from __future__ import annotations

import functools
import sys
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from ..errors import DicomWarning, LimitExceededError, PixelDataError, format_tag
from . import codecs, native
from .color import ybr_to_rgb

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["Geometry", "geometry", "stored_range", "pixel_array", "iter_frames",
           "MAX_OUTPUT_BYTES"]

PIXEL_DATA = 0x7FE00010
FLOAT_PIXEL_DATA = 0x7FE00008
DOUBLE_FLOAT_PIXEL_DATA = 0x7FE00009

# The largest array pixel_array builds unless told otherwise: far above any
# real study, far below what a lying header could make a machine attempt.
MAX_OUTPUT_BYTES = 1 << 33

_ROWS, _COLUMNS, _SAMPLES = 0x00280010, 0x00280011, 0x00280002
_BITS_ALLOCATED, _BITS_STORED, _PIXEL_REP = 0x00280100, 0x00280101, 0x00280103
_PLANAR, _FRAMES, _PHOTOMETRIC = 0x00280006, 0x00280008, 0x00280004
_EXT_OFFSETS, _EXT_LENGTHS = 0x7FE00001, 0x7FE00002

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


class _Source:
    """One dataset's pixel data, prepared once, decoded frame by frame or whole."""

    def __init__(self, ds: "Dataset", convert_ybr: bool, max_bytes: int,
                 threads: int | None = None) -> None:
        self.geom = geometry(ds, max_bytes=max_bytes)
        self.convert_ybr = convert_ybr
        el = ds[self.geom.tag]
        if el.vr == "SQ":
            raise PixelDataError(f"{format_tag(self.geom.tag)} is a sequence (VR SQ), not pixel "
                                 "values", tag=self.geom.tag)
        syntax = ds.transfer_syntax
        self.encapsulated = el.encapsulated is not None
        if self.encapsulated and syntax is not None and not syntax.encapsulated:
            raise PixelDataError(f"encapsulated Pixel Data (undefined length, fragments) in a "
                                 f"native transfer syntax ({syntax.name})", tag=self.geom.tag)
        if not self.encapsulated:
            little = syntax.little_endian if syntax is not None else ds.little_endian
            self.native = native.NativeLayout(el.raw, self.geom, little, el.vr)
            return
        if syntax is None:
            raise PixelDataError("encapsulated pixel data without a transfer syntax",
                                 tag=self.geom.tag)
        self.decode: Callable[[Any, int], tuple[np.ndarray, str]] = codecs.frame_decoder(
            syntax.uid, self.geom, pooled=threads is not None and threads > 1)
        self.encoded = el.encapsulated.frames(self.geom.number_of_frames,
                                              _bytes_or_none(ds, _EXT_OFFSETS),
                                              _bytes_or_none(ds, _EXT_LENGTHS))

    def _color(self, arr: np.ndarray, photometric: str) -> np.ndarray:
        if self.convert_ybr and self.geom.samples == 3 and photometric in ("YBR_FULL",
                                                                           "YBR_FULL_422"):
            # No color is CB = CR = half full scale (PS3.3 C.7.6.3.1.2): 128 for 8 bits,
            # 2**(Bits Stored - 1) in general.  (pydicom 3 refuses to convert samples wider
            # than 8 bits; the standard defines the conversion for any width.)
            return ybr_to_rgb(arr, bits=self.geom.bits_stored)
        return arr

    def frame(self, index: int) -> np.ndarray:
        n = self.geom.number_of_frames
        if not 0 <= index < n:
            raise IndexError(f"frame {index} is out of range: the image has {n} frame(s)")
        if not self.encapsulated:
            return self._color(self.native.frames(index), self.native.photometric)
        arr, photometric = self.decode(self.encoded[index], index)
        return self._color(arr, photometric)

    def whole(self, threads: int | None) -> np.ndarray:
        if not self.encapsulated:
            return self._color(self.native.frames(None), self.native.photometric)
        n = self.geom.number_of_frames
        first, photometric = self.decode(self.encoded[0], 0)
        if n == 1:
            return self._color(first, photometric)
        out = np.empty((n, *first.shape), dtype=first.dtype)
        out[0] = first

        def fill(k: int) -> None:
            arr, _ = self.decode(self.encoded[k], k)
            if arr.shape != first.shape or arr.dtype != first.dtype:
                raise PixelDataError(f"frame {k} decodes to {arr.shape} {arr.dtype}, frame 0 "
                                     f"to {first.shape} {first.dtype}", tag=self.geom.tag)
            out[k] = arr

        _run(fill, range(1, n), threads)
        return self._color(out, photometric)


@functools.lru_cache(maxsize=1)
def _threads_available() -> bool:
    """Whether this interpreter can start a thread.

    WebAssembly builds (Pyodide) create a ThreadPoolExecutor without
    complaint and fail only when its first thread starts, so ask once with a
    real thread rather than trusting the constructor.
    """
    try:
        probe = threading.Thread(target=lambda: None)
        probe.start()
        probe.join()
    except RuntimeError:
        return False
    return True


def _run(fill: Callable[[int], None], indices: range, threads: int | None) -> None:
    """Call ``fill`` for each index, in a thread pool when asked and available."""
    if threads is not None and threads > 1 and len(indices) > 1 and _threads_available():
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for _ in pool.map(fill, indices):
                pass
        return
    for k in indices:
        fill(k)


def _bytes_or_none(ds: "Dataset", tag: int) -> bytes | None:
    if tag not in ds:
        return None
    return bytes(ds[tag].raw) or None


def pixel_array(ds: "Dataset", frame: int | None = None, *, convert_ybr: bool = True,
                threads: int | None = None, max_bytes: int = MAX_OUTPUT_BYTES) -> np.ndarray:
    """The pixel data of ``ds`` as a numpy array, shaped like pydicom's ``pixel_array``.

    Shapes: (rows, cols), (rows, cols, samples), (frames, rows, cols[, samples]);
    ``frame=k`` gives frame k alone.  Native data is returned as a read-only
    view on the file's bytes where no masking, byte swapping or unpacking is
    needed (``.copy()`` it to modify).  YBR_FULL and YBR_FULL_422 become RGB
    unless ``convert_ybr=False``.  ``threads`` decodes the frames of compressed
    multi-frame data in that many threads.
    """
    source = _Source(ds, convert_ybr, max_bytes, threads)
    if frame is not None:
        return source.frame(frame)
    return source.whole(threads)


def iter_frames(ds: "Dataset", *, convert_ybr: bool = True,
                max_bytes: int = MAX_OUTPUT_BYTES) -> Iterator[np.ndarray]:
    """Each frame in turn, each shaped (rows, cols[, samples]): one frame in memory at a time."""
    source = _Source(ds, convert_ybr, max_bytes)
    for k in range(source.geom.number_of_frames):
        yield source.frame(k)

