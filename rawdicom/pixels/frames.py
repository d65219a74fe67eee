"""pixel_array and iter_frames: the choice of decoder, frame by frame or whole.

The Image Pixel attributes are read and checked first (:mod:`.image_pixel`):
every size is checked against them *before* anything is allocated, so a file
that claims 65535 x 65535 x 1000 frames with a kilobyte of data fails at once.
Native data goes to :mod:`.native` (zero-copy views where the bytes allow),
encapsulated data to :mod:`.codecs`, one frame at a time, optionally in a
thread pool.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable, Iterator

import numpy as np

from ..errors import PixelDataError, format_tag
from . import codecs, native
from .color import ybr_to_rgb
from .image_pixel import MAX_OUTPUT_BYTES, geometry

if TYPE_CHECKING:
    from ..dataset import Dataset

__all__ = ["pixel_array", "iter_frames"]

_EXT_OFFSETS, _EXT_LENGTHS = 0x7FE00001, 0x7FE00002


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


def as_dataset(src: Any) -> "Dataset":
    """A Dataset as it is; a path, bytes or binary file read with ``rawdicom.read``."""
    from ..dataset import Dataset
    if isinstance(src, Dataset):
        return src
    from ..reader import read
    return read(src)


def pixel_array(ds: "Dataset", frame: int | None = None, *, convert_ybr: bool = True,
                threads: int | None = None, max_bytes: int = MAX_OUTPUT_BYTES) -> np.ndarray:
    """The pixel data of ``ds`` as a numpy array, shaped like pydicom's ``pixel_array``.

    Shapes: (rows, cols), (rows, cols, samples), (frames, rows, cols[, samples]);
    ``frame=k`` gives frame k alone.  Native data is returned as a read-only
    view on the file's bytes where no masking, byte swapping or unpacking is
    needed (``.copy()`` it to modify).  YBR_FULL and YBR_FULL_422 become RGB
    unless ``convert_ybr=False``.  ``threads`` decodes the frames of compressed
    multi-frame data in that many threads. ``ds`` may also be what ``rawdicom.read`` takes
    (a path, bytes, a binary file), as ``pydicom.pixels.pixel_array`` allows.
    """
    ds = as_dataset(ds)
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

