"""Encapsulated pixel data: one decoder per transfer syntax, with cheap checks first.

Decoding is done by imagecodecs (libjpeg-turbo, CharLS, OpenJPEG, libjxl),
except DICOM RLE's segment layout (:mod:`.rle`) and Deflated Image Frame
Compression (the standard library's zlib).  A native codec fed a hostile
codestream may crash the process, where no ``except`` helps, so the headers
that are cheap to read are read here first (JPEG SOF, J2K SIZ, JPEG XL
SizeHeader, RLE header) and must agree with Rows, Columns and Samples per
Pixel: the codec then allocates what the dataset announced.  (The JPEG XL
component count lies in metadata not parsed here: it is checked on the
decoded array.)  Errors the codec raises are
wrapped in a PixelDataError naming the frame.

Signedness follows pydicom 3: JPEG 2000 output is re-signed when the
codestream's sign disagrees with Pixel Representation (using the
codestream's precision), JPEG-LS output is sign-extended from its precision,
and every other syntax is masked / sign-extended from Bits Stored.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..errors import PixelDataError, UnsupportedTransferSyntaxError
from .native import NativeLayout, frame_nbytes, stored_bits
from .rle import decode_rle_frame

if TYPE_CHECKING:
    from .image_pixel import Geometry

__all__ = ["frame_decoder", "jpeg_header", "j2k_header", "jpeg_xl_size", "FrameDecoder"]

FrameDecoder = Callable[[Any, int], tuple[np.ndarray, str]]

_P = "1.2.840.10008.1.2.4."
_JPEG = {_P + str(n) for n in range(50, 67)} | {_P + "70"}
_JPEG_LS = {_P + "80", _P + "81"}
_J2K = {_P + n for n in ("90", "91", "92", "93", "201", "202", "203")}
_JPEG_XL = {_P + n for n in ("110", "111", "112")}
_RLE = "1.2.840.10008.1.2.5"
_DEFLATE = "1.2.840.10008.1.2.8.1"
_UNCOMPRESSED = "1.2.840.10008.1.2.1.98"
_VIDEO = {_P + n for n in map(str, range(100, 109))}


def _imagecodecs() -> Any:
    try:
        import imagecodecs
    except ImportError as exc:
        raise ImportError("decoding compressed pixel data needs imagecodecs: "
                          "pip install rawdicom[codecs]") from exc
    return imagecodecs


def frame_decoder(uid: str, geom: "Geometry", pooled: bool = False) -> FrameDecoder:
    """The function that decodes one frame of ``uid``: ``(encoded, index) -> (array, PI)``.

    ``pooled``: frames will be decoded in a thread pool, so OpenJPEG's own
    threads are turned off (one level of parallelism, no oversubscription).

    The array is shaped (rows, cols[, samples]); PI is the Photometric
    Interpretation of the decoded values (a JPEG 2000 ICT/RCT image is RGB).
    """
    if uid in _VIDEO or uid.rsplit(".", 1)[0] in _VIDEO:  # ".1": the fragmentable variants
        raise UnsupportedTransferSyntaxError(
            f"{uid} is a video transfer syntax (MPEG-2 / MPEG-4 / HEVC): its frames are not "
            "decoded by rawdicom", tag=geom.tag)
    if geom.tag != 0x7FE00010:
        raise PixelDataError("float pixel data cannot be encapsulated", tag=geom.tag)
    if uid == _UNCOMPRESSED:
        return lambda data, index: (_native_frame(data, geom, index), geom.photometric)
    if uid == _DEFLATE:
        return lambda data, index: (_native_frame(_inflate(data, geom, index), geom, index),
                                    geom.photometric)
    ic = _imagecodecs()
    if uid == _RLE:
        return lambda data, index: (_rle(data, geom, index, ic.packbits_decode),
                                    geom.photometric)
    if uid in _JPEG:
        return lambda data, index: _jpeg(data, geom, index, ic.jpeg_decode)
    if uid in _JPEG_LS:
        return lambda data, index: _jpeg_ls(data, geom, index, ic.jpegls_decode)
    if uid in _J2K:
        threads = {"numthreads": 1} if pooled else {}
        return lambda data, index: _j2k(data, geom, index, ic.jpeg2k_decode, **threads)
    if uid in _JPEG_XL:
        return lambda data, index: _jpeg_xl(data, geom, index, ic.jpegxl_decode)
    raise UnsupportedTransferSyntaxError(f"transfer syntax {uid} is not decoded by rawdicom",
                                         tag=geom.tag)


def _fail(geom: "Geometry", index: int, message: str) -> PixelDataError:
    return PixelDataError(f"frame {index}: {message}", tag=geom.tag)


def _call(decode: Callable[..., np.ndarray], data: Any, geom: "Geometry", index: int,
          name: str, **kwargs: Any) -> np.ndarray:
    """Run a codec; its exceptions (any type: they come from C) become a PixelDataError."""
    try:
        return decode(data, **kwargs)
    except Exception as exc:
        raise _fail(geom, index, f"{name} decoding failed: {exc}") from exc


def _check_size(geom: "Geometry", index: int, name: str, cols: int, rows: int,
                samples: int, precision: int | None = None) -> None:
    """The codestream's header against the dataset: size, components, and precision.

    A precision above Bits Allocated would be cut silently by the cast to the
    dataset's dtype, so it is refused like a size that disagrees.
    """
    if (cols, rows, samples) != (geom.columns, geom.rows, geom.samples):
        raise _fail(geom, index, f"the {name} codestream is {cols} x {rows} with {samples} "
                                 f"component(s), the dataset says {geom.columns} x {geom.rows} "
                                 f"with {geom.samples}")
    if precision is not None and precision > geom.bits_allocated:
        raise _fail(geom, index, f"the {name} codestream has {precision}-bit samples, more "
                                 f"than the {geom.bits_allocated} bits of Bits Allocated")


def _box(data: Any, geom: "Geometry", index: int, name: str, wanted: tuple[bytes, ...]
         ) -> tuple[bytes, int, int]:
    """(type, content start, end) of the first box of a type in ``wanted`` (ISO BMFF boxes,
    as JP2 and the JPEG XL container use), walking the boxes from byte 0 with every length
    checked against the frame."""
    n = len(data)
    pos = 0
    while pos + 8 <= n:
        length, kind = struct.unpack_from(">I4s", data, pos)
        head = 8
        if length == 1:  # the length follows as 64 bits
            if pos + 16 > n:
                break
            length, head = struct.unpack_from(">Q", data, pos + 8)[0], 16
        elif length == 0:  # the last box: up to the end
            length = n - pos
        if length < head or pos + length > n:
            raise _fail(geom, index, f"{name} box {kind!r} at byte {pos} has length {length}, "
                                     f"outside the frame's {n} bytes")
        if kind in wanted:
            return kind, pos + head, pos + length
        pos += length
    raise _fail(geom, index, f"no {name} codestream box ({', '.join(map(repr, wanted))})")


def _shaped(arr: np.ndarray, geom: "Geometry", index: int) -> np.ndarray:
    if arr.shape != geom.frame_shape:
        if arr.size == geom.frame_values:
            return arr.reshape(geom.frame_shape)
        raise _fail(geom, index, f"decoded to shape {arr.shape}, expected {geom.frame_shape}")
    return arr


def _as_dtype(arr: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Reinterpret the decoder's integers as ``dtype`` (same bits when the size matches)."""
    if arr.dtype == dtype:
        return arr
    if arr.dtype.itemsize == dtype.itemsize:
        return arr.view(dtype)
    return arr.astype(dtype)


# -- native bytes in frames -------------------------------------------------------------
def _native_frame(data: Any, geom: "Geometry", index: int) -> np.ndarray:
    try:
        return NativeLayout(data, replace(geom, number_of_frames=1), True, "OB").frames(0)
    except PixelDataError as exc:
        raise _fail(geom, index, exc.reason) from None


def _inflate(data: Any, geom: "Geometry", index: int) -> bytes:
    """Raw deflate (RFC 1951, as PS3.5 8.2.16 uses), inflated no further than one frame."""
    expected = frame_nbytes(geom)  # the native layout's size: YBR_FULL_422 keeps 2 samples
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, expected)
    except zlib.error as exc:
        raise _fail(geom, index, f"deflate decoding failed: {exc}") from exc
    if len(out) != expected:
        raise _fail(geom, index, f"inflates to {len(out)} bytes, the frame needs {expected}")
    if not inflater.eof and inflater.decompress(inflater.unconsumed_tail, 1):
        raise _fail(geom, index, f"inflates to more than the {expected} bytes of a frame")
    return out


# -- RLE ------------------------------------------------------------------------------
def _rle(data: Any, geom: "Geometry", index: int, packbits: Any) -> np.ndarray:
    arr = decode_rle_frame(data, geom, index, packbits)
    return stored_bits(_as_dtype(arr, geom.dtype), geom)


# -- JPEG (ISO 10918) and JPEG-LS (ISO 14495) -------------------------------------------
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF, 0xF7}


def jpeg_header(data: Any, geom: "Geometry", index: int
                ) -> tuple[int, int, int, int, list[int], bool]:
    """(precision, rows, cols, components, component ids, JFIF seen) from the SOF segment.

    Walks the marker segments from SOI, checking each length against the
    data; stops at the first SOF (or fails at SOS or the end).
    """
    n = len(data)
    jfif = False
    if n < 4 or data[0] != 0xFF or data[1] != 0xD8:
        raise _fail(geom, index, "the JPEG codestream does not start with SOI (FF D8)")
    pos = 2
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            raise _fail(geom, index, f"no JPEG marker at byte {pos} of the frame")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            pos += 2
            continue
        length = data[pos + 2] << 8 | data[pos + 3]
        if length < 2 or pos + 2 + length > n:
            raise _fail(geom, index, f"JPEG marker FF{marker:02X} at byte {pos} has length "
                                     f"{length}, past the frame's {n} bytes")
        if marker in _SOF:
            if length < 8:
                raise _fail(geom, index, f"JPEG SOF segment of length {length} is too short")
            precision, rows, cols, comps = struct.unpack_from(">BHHB", data, pos + 4)
            if length < 8 + 3 * comps:
                raise _fail(geom, index, f"JPEG SOF segment too short for {comps} components")
            ids = [data[pos + 10 + 3 * c] for c in range(comps)]
            return precision, rows, cols, comps, ids, jfif
        if marker == 0xE0 and bytes(data[pos + 4:pos + 8]) == b"JFIF":
            jfif = True
        if marker == 0xDA:
            break
        pos += 2 + length
    raise _fail(geom, index, "the JPEG codestream has no SOF marker before its scan")


def _jpeg(data: Any, geom: "Geometry", index: int, decode: Any) -> tuple[np.ndarray, str]:
    """JPEG decoded with no color transform: the dataset's PI says what the components are.

    As pydicom 3 does, RGB component ids ('R','G','B') make the image RGB and a
    JFIF marker makes it YBR, whatever the Photometric Interpretation says;
    the YBR -> RGB conversion is then pydicom's, done by the caller.
    """
    precision, rows, cols, comps, ids, jfif = jpeg_header(data, geom, index)
    _check_size(geom, index, "JPEG", cols, rows, comps, precision)
    photometric = geom.photometric
    kwargs = {}
    if comps == 3:
        if ids in ([82, 71, 66], [114, 103, 98]):
            photometric = "RGB"
        elif jfif and "YBR" not in photometric:
            photometric = "YBR_FULL_422" if geom.bits_stored <= 8 else "YBR_FULL"
        kwargs = {"colorspace": "RGB", "outcolorspace": "RGB"}  # i.e. no conversion
    arr = _shaped(_call(decode, data, geom, index, "JPEG", **kwargs), geom, index)
    return stored_bits(_as_dtype(arr, geom.dtype), geom), photometric


def _jpeg_ls(data: Any, geom: "Geometry", index: int, decode: Any) -> tuple[np.ndarray, str]:
    precision, rows, cols, comps, _, _ = jpeg_header(data, geom, index)
    _check_size(geom, index, "JPEG-LS", cols, rows, comps, precision)
    arr = _shaped(_call(decode, data, geom, index, "JPEG-LS"), geom, index)
    dtype = np.dtype(f"{'ui'[geom.pixel_representation]}{1 if precision <= 8 else 2}")
    arr = _as_dtype(arr, dtype)
    shift = dtype.itemsize * 8 - precision
    if geom.pixel_representation and shift > 0:
        # JPEG-LS has no sign: signed data was coded as its bit pattern (pydicom 3 does this).
        arr = np.right_shift(np.left_shift(arr, shift), shift)
    return arr, geom.photometric


# -- JPEG 2000 and HTJ2K (ISO 15444-1 / -15) -----------------------------------------------
_SOC_SIZ = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def j2k_header(data: Any, geom: "Geometry", index: int) -> tuple[int, int, int, int, bool]:
    """(cols, rows, components, precision, signed) from the SIZ marker segment.

    SOC SIZ must open a raw codestream, or the contiguous codestream box
    ('jp2c') of a JP2 file, found by walking the boxes: the same bytes
    anywhere else (an 'xml ' box) are not the header the codec will read.
    """
    if bytes(data[:4]) == _SOC_SIZ:
        pos = 0
    elif bytes(data[:12]) == _JP2_SIGNATURE:
        _, pos, _ = _box(data, geom, index, "JP2", (b"jp2c",))
        if bytes(data[pos:pos + 4]) != _SOC_SIZ:
            raise _fail(geom, index, "the JP2 'jp2c' box does not start with the JPEG 2000 "
                                     "SOC and SIZ markers (FF4F FF51)")
    else:
        raise _fail(geom, index, "neither a JPEG 2000 codestream (SOC SIZ: FF4F FF51) nor a "
                                 "JP2 file")
    siz = bytes(data[pos + 4:pos + 4 + 41])
    if len(siz) < 41:
        raise _fail(geom, index, "the JPEG 2000 SIZ segment is truncated")
    (_length, _caps, xsiz, ysiz, xo, yo, _xt, _yt, _xto, _yto,
     comps) = struct.unpack_from(">HHIIIIIIIIH", siz)
    ssiz = siz[38]
    if xsiz <= xo or ysiz <= yo or comps == 0:
        raise _fail(geom, index, f"JPEG 2000 SIZ has an empty image ({xsiz - xo} x "
                                 f"{ysiz - yo}, {comps} components)")
    return xsiz - xo, ysiz - yo, comps, (ssiz & 0x7F) + 1, bool(ssiz & 0x80)


def _j2k(data: Any, geom: "Geometry", index: int, decode: Any, **kwargs: Any
         ) -> tuple[np.ndarray, str]:
    cols, rows, comps, precision, signed = j2k_header(data, geom, index)
    _check_size(geom, index, "JPEG 2000", cols, rows, comps, precision)
    if precision > 16:
        raise _fail(geom, index, f"JPEG 2000 precision {precision} above 16 bits is not "
                                 "decoded")
    arr = _shaped(_call(decode, data, geom, index, "JPEG 2000", **kwargs), geom, index)
    dtype = np.dtype(f"{'ui'[geom.pixel_representation]}{1 if precision <= 8 else 2}")
    arr = _as_dtype(arr, dtype)
    shift = dtype.itemsize * 8 - precision
    if shift and signed != bool(geom.pixel_representation):
        arr = np.right_shift(np.left_shift(arr, shift), shift)
    photometric = geom.photometric
    if photometric in ("YBR_ICT", "YBR_RCT"):  # the codec undoes the component transform
        photometric = "RGB"
    return arr, photometric


# -- JPEG XL (ISO 18181) --------------------------------------------------------------------
_JXL_SIGNATURE = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
# xsize from ysize for SizeHeader.ratio 1..7 (ISO/IEC 18181-1, SizeHeader): num, den
_JXL_RATIOS = ((1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1))


def jpeg_xl_size(data: Any, geom: "Geometry", index: int) -> tuple[int, int]:
    """(cols, rows) from the SizeHeader that follows the FF0A signature of the codestream.

    The codestream is the frame itself or, in the container, the content of
    the 'jxlc' box or of the first 'jxlp' box (after its 4-byte index).  The
    SizeHeader (ISO/IEC 18181-1), read least significant bit first: ``small``
    (1 bit); ysize as 5 bits (``(v + 1) * 8``) when small, else a 2-bit
    selector of 9, 13, 18 or 30 bits (``v + 1``); ``ratio`` (3 bits); xsize
    coded like ysize when ratio is 0, else ``ysize * num // den``.  A header
    that cannot be read whole is refused: the decoder would allocate whatever
    it says.
    """
    if bytes(data[:2]) == b"\xff\x0a":
        start, end = 0, len(data)
    elif bytes(data[:12]) == _JXL_SIGNATURE:
        kind, start, end = _box(data, geom, index, "JPEG XL", (b"jxlc", b"jxlp"))
        if kind == b"jxlp":
            start += 4
        if bytes(data[start:start + 2]) != b"\xff\x0a":
            raise _fail(geom, index, f"the JPEG XL {kind.decode()} box does not start with the "
                                     "codestream signature FF0A")
    else:
        raise _fail(geom, index, "not a JPEG XL codestream or container (no FF0A signature)")
    header = bytes(data[start + 2:min(end, start + 2 + 9)])  # a SizeHeader has <= 68 bits
    value, available, used = int.from_bytes(header, "little"), 8 * len(header), 0

    def bits(count: int) -> int:
        nonlocal used
        if used + count > available:
            raise _fail(geom, index, "the JPEG XL SizeHeader is cut short: the image size "
                                     "cannot be checked")
        out = (value >> used) & ((1 << count) - 1)
        used += count
        return out

    def dimension(small: int) -> int:
        if small:
            return (bits(5) + 1) * 8
        return bits((9, 13, 18, 30)[bits(2)]) + 1

    small = bits(1)
    rows = dimension(small)
    ratio = bits(3)
    if ratio == 0:
        cols = dimension(small)
    else:
        num, den = _JXL_RATIOS[ratio - 1]
        cols = rows * num // den
    return cols, rows


def _jpeg_xl(data: Any, geom: "Geometry", index: int, decode: Any) -> tuple[np.ndarray, str]:
    cols, rows = jpeg_xl_size(data, geom, index)
    if (cols, rows) != (geom.columns, geom.rows):
        # The component count is in the ImageMetadata that follows; it and the
        # orientation are checked on the decoded array (_shaped).
        raise _fail(geom, index, f"the JPEG XL codestream is {cols} x {rows} (SizeHeader), the "
                                 f"dataset says {geom.columns} x {geom.rows}")
    arr = _shaped(_call(decode, data, geom, index, "JPEG XL"), geom, index)
    return stored_bits(_as_dtype(arr, geom.dtype), geom), geom.photometric
