"""DICOM RLE Lossless (PS3.5 Annex G): the segment layout around PackBits.

A frame is a 64-byte header (the number of segments, then 15 segment
offsets) followed by the segments.  Each segment holds one byte plane of one
sample: for 16-bit samples the most significant bytes first, then the least
significant, sample after sample.  Each segment is PackBits-compressed and
decodes to Rows x Columns bytes.  The header is checked before any segment
is decoded: the count must match Samples x Bits Allocated / 8, offsets must
rise and stay inside the frame.  PackBits expands up to 64:1 (2 bytes, 128
values), so the frame's size does not bound the output: each segment is
decoded into a buffer of at most 2 x Rows x Columns + 256 bytes, and one
that needs more is refused.  The slack admits the trailing padding some
encoders leave (pydicom accepts it with a warning); the values past Rows x
Columns are ignored.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable

import numpy as np

from ..errors import PixelDataError

if TYPE_CHECKING:
    from .image_pixel import Geometry

__all__ = ["rle_header", "decode_rle_frame"]


def rle_header(frame: bytes | memoryview, geom: "Geometry", index: int) -> list[int]:
    """The segment offsets of an RLE frame, with their end: checked, before any decoding."""
    tag = geom.tag
    if len(frame) < 64:
        raise PixelDataError(f"frame {index}: RLE header needs 64 bytes, the frame has "
                             f"{len(frame)}", tag=tag)
    count, *offsets = struct.unpack_from("<16I", frame, 0)
    if geom.bits_allocated % 8:
        raise PixelDataError(f"frame {index}: RLE cannot hold {geom.bits_allocated}-bit "
                             "samples", tag=tag)
    expected = geom.samples * geom.bits_allocated // 8
    if not 1 <= count <= 15:
        raise PixelDataError(f"frame {index}: RLE header declares {count} segments "
                             "(1 to 15 allowed)", tag=tag)
    if count != expected:
        raise PixelDataError(f"frame {index}: RLE header declares {count} segments, "
                             f"{geom.samples} samples of {geom.bits_allocated} bits need "
                             f"{expected}", tag=tag)
    starts = offsets[:count] + [len(frame)]
    for k in range(count):
        if not 64 <= starts[k] < starts[k + 1]:  # the last start is the frame's end
            raise PixelDataError(f"frame {index}: RLE segment {k} offset {starts[k]} is not "
                                 f"between 64 and the next offset / the frame's end "
                                 f"({len(frame)})", tag=tag)
    return starts


def decode_rle_frame(frame: bytes | memoryview, geom: "Geometry", index: int,
                     packbits: Callable[..., bytes]) -> np.ndarray:
    """One RLE frame -> array (rows, cols[, samples]) of unsigned integers of Bits Allocated.

    ``packbits(data, out=limit)`` decodes one segment into at most ``limit``
    bytes and raises past it (imagecodecs.packbits_decode does).
    """
    starts = rle_header(frame, geom, index)
    nbytes = geom.bits_allocated // 8
    pixels = geom.rows * geom.columns
    limit = 2 * pixels + 256
    # Planes land in little endian byte order, so the result is a view as '<uN'.
    planes = np.empty((geom.samples, pixels, nbytes), dtype=np.uint8)
    for k in range(len(starts) - 1):
        try:
            plane = packbits(frame[starts[k]:starts[k + 1]], out=limit)
        except Exception as exc:  # the codec's own error: name the frame and segment
            raise PixelDataError(f"frame {index}: RLE segment {k} does not decode into "
                                 f"{limit} bytes ({geom.rows} x {geom.columns} need "
                                 f"{pixels}): {exc}", tag=geom.tag) from exc
        if len(plane) < pixels:
            raise PixelDataError(f"frame {index}: RLE segment {k} decodes to {len(plane)} "
                                 f"bytes, {geom.rows} x {geom.columns} needs {pixels}",
                                 tag=geom.tag)
        sample, byte = divmod(k, nbytes)
        planes[sample, :, nbytes - 1 - byte] = np.frombuffer(plane, np.uint8, pixels)
    arr = planes.view(f"<u{nbytes}").reshape(geom.samples, geom.rows, geom.columns)
    arr = arr.astype(f"=u{nbytes}", copy=False)
    return arr[0] if geom.samples == 1 else arr.transpose(1, 2, 0)
