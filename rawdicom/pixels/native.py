"""Native (uncompressed) pixel data: views on the stored bytes, copies only where needed.

A multi-frame file of 500 MB should not be copied just to be looked at:
``np.frombuffer`` over the element's memoryview gives the array without
copying.  A copy is made only where the stored bytes are not the values:
big endian data (byte swap), 8-bit data stored as OW in big endian (pair
swap, PS3.5 A.2), bit-packed 1-bit data, YBR_FULL_422 (chroma upsampling),
and Bits Stored < Bits Allocated when some stored value actually has its
unused high bits set (PS3.5 8.1.1 says they cannot be assumed to be zero).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import PixelDataError

if TYPE_CHECKING:
    from .image_pixel import Geometry

__all__ = ["NativeLayout", "frame_nbytes", "stored_bits", "expand_ybr422"]


def _subsampled(geom: "Geometry") -> bool:
    return geom.samples == 3 and geom.photometric == "YBR_FULL_422"


def _stored_values(geom: "Geometry") -> int:
    """Samples stored per frame: YBR_FULL_422 keeps 2 per pixel (PS3.3 C.7.6.3.1.2)."""
    return geom.rows * geom.columns * (2 if _subsampled(geom) else geom.samples)


def frame_nbytes(geom: "Geometry") -> int:
    """Bytes of one stored frame, as alone in a fragment (1-bit data rounded up to a byte)."""
    if geom.bits_allocated == 1:
        return -(-geom.frame_values // 8)
    return _stored_values(geom) * geom.bits_allocated // 8


class NativeLayout:
    """Where each frame of native pixel data lies in ``raw``, checked against its length."""

    def __init__(self, raw: bytes | memoryview, geom: "Geometry", little_endian: bool,
                 vr: str) -> None:
        self.raw = raw
        self.geom = geom
        self.little_endian = little_endian
        self.subsampled = _subsampled(geom)
        if self.subsampled and geom.columns % 2:
            # Stored as Y1 Y2 Cb Cr per pair of pixels of a row (PS3.3 C.7.6.3.1.2, PS3.5
            # 8.2.1): an odd row has no layout.  (A JPEG codestream may be 4:2:2 at any width:
            # this is the native layout's rule, not the photometric interpretation's.)
            raise PixelDataError(f"YBR_FULL_422 native pixel data needs an even number of "
                                 f"columns, not {geom.columns}", tag=geom.tag)
        # The upsampled array is YBR_FULL (PS3.3 C.7.6.3.1.2), as pydicom reports it.
        self.photometric = "YBR_FULL" if self.subsampled else geom.photometric
        n = geom.number_of_frames
        if geom.bits_allocated == 1:
            self.frame_bits = geom.frame_values
            need = -(-self.frame_bits * n // 8)
        else:
            self.values = _stored_values(geom)
            self.frame_bytes = self.values * geom.bits_allocated // 8
            need = self.frame_bytes * n
        if len(raw) < need:
            raise PixelDataError(
                f"{len(raw)} bytes of pixel data, but {n} frame(s) of {geom.rows} x "
                f"{geom.columns} x {geom.samples} samples of {geom.bits_allocated} bits need "
                f"{need}", tag=geom.tag)
        self.swap_pairs = not little_endian and geom.bits_allocated == 8 and vr == "OW"

    def frames(self, index: int | None) -> np.ndarray:
        """Frame ``index``, or all frames (shaped like pydicom's pixel_array) for None."""
        geom = self.geom
        first, count = (0, geom.number_of_frames) if index is None else (index, 1)
        if geom.bits_allocated == 1:
            arr = self._bits(first, count)
        else:
            arr = stored_bits(self._words(first, count), geom)
            if self.subsampled:
                arr = expand_ybr422(arr)
        rows, cols, samples = geom.rows, geom.columns, geom.samples
        if samples == 1:
            arr = arr.reshape(count, rows, cols)
        elif geom.planar_configuration == 0 or self.subsampled:
            arr = arr.reshape(count, rows, cols, samples)
        else:
            arr = arr.reshape(count, samples, rows, cols).transpose(0, 2, 3, 1)
        return arr[0] if count == 1 else arr

    def _words(self, first: int, count: int) -> np.ndarray:
        start = first * self.frame_bytes
        size = count * self.frame_bytes
        if self.swap_pairs:
            lo = start & ~1
            chunk = bytes(self.raw[lo:start + size + 1 + (start & 1)])
            if len(chunk) % 2:
                chunk += b"\0"
            swapped = np.frombuffer(chunk, "<u2").byteswap().view(np.uint8)
            return swapped[start - lo:start - lo + size]
        dtype = self.geom.dtype
        if not self.little_endian and dtype.itemsize > 1:
            stored = np.frombuffer(self.raw, dtype.newbyteorder(">"), count * self.values, start)
            return stored.astype(dtype)
        return np.frombuffer(self.raw, dtype, count * self.values, start)

    def _bits(self, first: int, count: int) -> np.ndarray:
        """Bit-packed pixels, least significant bit first; frames start mid-byte (PS3.5 8.1.1)."""
        bit0 = first * self.frame_bits
        total = count * self.frame_bits
        skip = bit0 % 8
        chunk = np.frombuffer(self.raw, np.uint8, -(-(skip + total) // 8), bit0 // 8)
        return np.unpackbits(chunk, bitorder="little")[skip:skip + total]


def stored_bits(arr: np.ndarray, geom: "Geometry") -> np.ndarray:
    """Values with the bits above Bits Stored cleared, or sign-extended when signed.

    When every value already lies in the Bits Stored range the array is
    returned as is (a view stays a view): a min/max pass is much cheaper than
    a copy, and real files almost always keep their unused bits clear.

    ``arr`` has Bits Allocated bits per value (``geom.dtype``).  Float pixel
    data never gets here with work to do: geometry() gives it Bits Stored =
    Bits Allocated.
    """
    if geom.bits_stored >= geom.bits_allocated or arr.size == 0:
        return arr
    shift = arr.dtype.itemsize * 8 - geom.bits_stored
    bits = geom.bits_stored
    if arr.dtype.kind == "i":
        if arr.min() >= -(1 << (bits - 1)) and arr.max() < (1 << (bits - 1)):
            return arr
    elif arr.max() < (1 << bits):
        return arr
    out = np.left_shift(arr, shift)
    np.right_shift(out, shift, out=out)
    return out


def expand_ybr422(arr: np.ndarray) -> np.ndarray:
    """YBR_FULL_422 samples Y1 Y2 Cb Cr -> Y1 Cb Cr Y2 Cb Cr (PS3.3 C.7.6.3.1.2)."""
    out = np.empty(arr.shape[0] // 2 * 3, dtype=arr.dtype)
    out[0::6] = arr[0::4]
    out[3::6] = arr[1::4]
    out[1::6] = out[4::6] = arr[2::4]
    out[2::6] = out[5::6] = arr[3::4]
    return out
