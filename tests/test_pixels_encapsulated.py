"""Encapsulated pixel data from synthetic files: RLE round trips through the test's own
encoder, imagecodecs-encoded JPEG family / JPEG 2000 / JPEG XL frames, deflate and
encapsulated uncompressed frames, threads, and hostile codestreams."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

import rawdicom

from pixel_builders import RLE, dicom, rle_frame

imagecodecs = pytest.importorskip("imagecodecs")
rng = np.random.default_rng(99)
P = "1.2.840.10008.1.2.4."


def _image(dtype: str, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    dt = np.dtype(dtype)
    if dt.kind == "i":
        return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shape).astype(dt)
    return rng.integers(0, 1 << bits, shape, dtype=np.uint64).astype(dt)


def _file(arr: np.ndarray, frames: list[bytes], syntax: str, *, bits: int, stored: int,
          rep: int = 0, photometric: str | None = None, offsets: list[int] | None = None,
          extra: list = ()) -> rawdicom.Dataset:
    multi = len(frames) > 1
    rows, cols = arr.shape[1:3] if multi else arr.shape[:2]
    samples = arr.shape[-1] if arr.ndim == (4 if multi else 3) else 1
    return rawdicom.read(dicom(rows=rows, columns=cols, bits_allocated=bits, bits_stored=stored,
                               pixel_representation=rep, samples=samples,
                               planar=0 if samples > 1 else None, frames=len(frames),
                               photometric=photometric, fragments=frames, offsets=offsets,
                               syntax=syntax, extra=list(extra)))


# -- RLE -------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,bits", [("u1", 8), ("i1", 8), ("u2", 16), ("i2", 16),
                                        ("u4", 32), ("i4", 32)])
@pytest.mark.parametrize("samples", [1, 3])
@pytest.mark.parametrize("frames", [1, 3])
def test_rle_round_trip(dtype: str, bits: int, samples: int, frames: int) -> None:
    shape = (frames, 9, 11) + ((samples,) if samples > 1 else ())
    arr = _image(dtype, bits, shape)
    arr[:, :4] = arr[:, :1]  # some runs as well as literals
    ds = _file(arr if frames > 1 else arr[0], [rle_frame(f) for f in arr], RLE, bits=bits,
               stored=bits, rep=np.dtype(dtype).kind == "i")
    out = rawdicom.pixel_array(ds)
    assert out.dtype == np.dtype(dtype)
    assert np.array_equal(out, arr if frames > 1 else arr[0])
    assert np.array_equal(rawdicom.pixel_array(ds, threads=2), out)


def test_rle_signed_12_bit_is_sign_extended() -> None:
    arr = _image("i2", 12, (6, 6))
    stored = (arr.view(np.uint16) & 0x0FFF).astype(np.uint16)  # high bits clear in the file
    ds = _file(arr, [rle_frame(stored)], RLE, bits=16, stored=12, rep=1)
    assert np.array_equal(rawdicom.pixel_array(ds), arr)


def _rle_with_header(count: int, offsets: list[int], body: bytes = b"\0" * 64) -> bytes:
    return struct.pack("<16I", count, *(offsets + [0] * (15 - len(offsets)))) + body


@pytest.mark.parametrize("frame,match", [
    (_rle_with_header(16, [64] * 15), "16 segments"),
    (_rle_with_header(0, []), "0 segments"),
    (_rle_with_header(2, [64, 64]), "2 segments"),
    (_rle_with_header(1, [4096]), "offset 4096"),
    (_rle_with_header(1, [10]), "offset 10"),
    (b"\0" * 30, "64 bytes"),
    (_rle_with_header(1, [64], b"\xfd\x07"), "decodes to 4 bytes"),
    (_rle_with_header(1, [64], b"\x05\x01"), "does not decode"),
])
def test_rle_bad_header(frame: bytes, match: str) -> None:
    ds = _file(np.zeros((4, 4), np.uint8), [frame], RLE, bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match=rf"frame 0: .*{match}"):
        rawdicom.pixel_array(ds)


def test_rle_segment_output_is_bounded_by_the_image() -> None:
    # 2 bytes of PackBits make 128 values: 128 KiB of runs decoded to 8 MiB for a 1 x 1 image
    import tracemalloc
    frame = _rle_with_header(1, [64], bytes([0x81, 0x00]) * (1 << 16))
    ds = _file(np.zeros((1, 1), np.uint8), [frame], RLE, bits=8, stored=8)
    tracemalloc.start()
    try:
        with pytest.raises(rawdicom.PixelDataError, match="segment 0 does not decode into 258"):
            rawdicom.pixel_array(ds)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    # a segment padded past Rows x Columns (as some encoders do) still decodes
    padded = _rle_with_header(1, [64], bytes([0xFD, 7, 0xFD, 0]))  # 4 x 7, then 4 x 0
    ds = _file(np.zeros((2, 2), np.uint8), [padded], RLE, bits=8, stored=8)
    assert rawdicom.pixel_array(ds).tolist() == [[7, 7], [7, 7]]


# -- imagecodecs-encoded codestreams ---------------------------------------------------------
def _lossless_cases() -> list[tuple[str, str, int, int, int, tuple[int, ...], object]]:
    return [
        (P + "70", "u1", 8, 8, 0, (16, 12), lambda a: imagecodecs.ljpeg_encode(a)),
        (P + "57", "u2", 16, 12, 0, (16, 12), lambda a: imagecodecs.ljpeg_encode(a, bitspersample=12)),
        (P + "80", "u2", 16, 16, 0, (16, 12), imagecodecs.jpegls_encode),
        (P + "80", "u1", 8, 8, 0, (16, 12, 3), imagecodecs.jpegls_encode),
        (P + "90", "u2", 16, 16, 0, (16, 12), lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K")),
        (P + "90", "i2", 16, 16, 1, (16, 12), lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K")),
        (P + "90", "u1", 8, 8, 0, (16, 12, 3), lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K")),
        (P + "201", "u2", 16, 16, 0, (16, 12), lambda a: imagecodecs.jpeg2k_encode(a, level=0, codecformat="J2K")),
        (P + "110", "u1", 8, 8, 0, (16, 12), lambda a: imagecodecs.jpegxl_encode(a, lossless=True)),
        (P + "110", "u2", 16, 16, 0, (16, 12, 3), lambda a: imagecodecs.jpegxl_encode(a, lossless=True)),
    ]


@pytest.mark.parametrize("syntax,dtype,bits,stored,rep,shape,encode", _lossless_cases(),
                         ids=lambda v: v if isinstance(v, str) else None)
def test_lossless_codecs_round_trip(syntax, dtype, bits, stored, rep, shape, encode) -> None:
    arr = np.stack([_image(dtype, stored, shape) for _ in range(2)])
    frames = [bytes(encode(f)) for f in arr]
    ds = _file(arr, frames, syntax, bits=bits, stored=stored, rep=rep)
    out = rawdicom.pixel_array(ds)
    assert out.shape == arr.shape and out.dtype.kind == arr.dtype.kind
    assert np.array_equal(out, arr)
    assert np.array_equal(rawdicom.pixel_array(ds, threads=2), arr)


def test_jpeg_baseline_ybr_is_converted_to_rgb() -> None:
    rgb = np.zeros((16, 16, 3), np.uint8)
    rgb[..., 0] = 200
    frame = bytes(imagecodecs.jpeg8_encode(rgb, level=95))  # stored as YCbCr (JFIF)
    ds = _file(rgb, [frame], P + "50", bits=8, stored=8, photometric="YBR_FULL_422")
    out = rawdicom.pixel_array(ds)
    assert np.abs(out.astype(int) - rgb).max() <= 3
    ybr = rawdicom.pixel_array(ds, convert_ybr=False)
    assert abs(int(ybr[..., 0].mean()) - 60) <= 2  # Y of pure red 200: 0.299 * 200


def test_deflate_and_encapsulated_uncompressed_frames() -> None:
    arr = _image("u2", 16, (3, 5, 7))
    raw = [zlib.compress(f.astype("<u2").tobytes())[2:-4] for f in arr]  # raw deflate
    ds = _file(arr, raw, "1.2.840.10008.1.2.8.1", bits=16, stored=16)
    assert np.array_equal(rawdicom.pixel_array(ds), arr)
    ds = _file(arr, [f.astype("<u2").tobytes() for f in arr], "1.2.840.10008.1.2.1.98",
               bits=16, stored=16)
    assert np.array_equal(rawdicom.pixel_array(ds), arr)


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.8.1", "1.2.840.10008.1.2.1.98"])
def test_ybr_full_422_frames_have_the_native_size(syntax: str) -> None:
    # YBR_FULL_422 stores Y1 Y2 Cb Cr: 2 samples per pixel; the deflated frame was expected
    # to inflate to 3 per pixel
    stored = bytes([10, 200, 30, 220]) * 2  # 2 x 2 pixels
    frame = zlib.compress(stored)[2:-4] if syntax.endswith("8.1") else stored
    ds = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, samples=3,
                             photometric="YBR_FULL_422", fragments=[frame], syntax=syntax))
    native = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, samples=3,
                                 photometric="YBR_FULL_422", pixels=stored))
    assert np.array_equal(rawdicom.pixel_array(ds), rawdicom.pixel_array(native))
    assert rawdicom.pixel_array(ds, convert_ybr=False)[0, 0].tolist() == [10, 30, 220]


def test_deflate_bomb_is_bounded_by_the_frame_size() -> None:
    bomb = zlib.compress(b"\0" * 10_000_000)[2:-4]
    ds = _file(np.zeros((4, 4), np.uint8), [bomb], "1.2.840.10008.1.2.8.1", bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="frame 0"):
        rawdicom.pixel_array(ds)


def test_extended_offset_table() -> None:
    arr = _image("u1", 8, (2, 4, 4))
    frames = [rle_frame(f) for f in arr]
    offsets = struct.pack("<2Q", 0, 8 + len(frames[0]))
    lengths = struct.pack("<2Q", len(frames[0]), len(frames[1]))
    ds = _file(arr, frames, RLE, bits=8, stored=8,
               extra=[(0x7FE00001, "OV", offsets), (0x7FE00002, "OV", lengths)])
    assert np.array_equal(rawdicom.pixel_array(ds), arr)
    outside = struct.pack("<2Q", 0, 1 << 40)
    ds = _file(arr, frames, RLE, bits=8, stored=8,
               extra=[(0x7FE00001, "OV", outside), (0x7FE00002, "OV", lengths)])
    with pytest.raises(rawdicom.PixelDataError, match="outside"):
        rawdicom.pixel_array(ds)


@pytest.mark.parametrize("offsets", [[0, 0], "reversed"])
def test_extended_offset_table_entries_must_rise(offsets) -> None:
    # Every entry pointing at one fragment made a 35 KB file decode to 2000 frames (524 MB).
    arr = _image("u1", 8, (2, 4, 4))
    frames = [rle_frame(f) for f in arr]
    second = 8 + len(frames[0])
    starts = [second, 0] if offsets == "reversed" else offsets
    lengths = [len(frames[1]), len(frames[0])] if offsets == "reversed" else [len(frames[0])] * 2
    ds = _file(arr, frames, RLE, bits=8, stored=8,
               extra=[(0x7FE00001, "OV", struct.pack("<2Q", *starts)),
                      (0x7FE00002, "OV", struct.pack("<2Q", *lengths))])
    with pytest.raises(rawdicom.PixelDataError, match=r"\(7FE0,0001\).*entry 1 .*does not follow"):
        rawdicom.pixel_array(ds)


# -- hostile codestreams -----------------------------------------------------------------
def _jpeg_ls() -> bytes:
    return bytes(imagecodecs.jpegls_encode(_image("u1", 8, (16, 16))))


def _j2k() -> bytes:
    return bytes(imagecodecs.jpeg2k_encode(_image("u1", 8, (16, 16)), codecformat="J2K"))


def _baseline() -> bytes:
    return bytes(imagecodecs.jpeg8_encode(_image("u1", 8, (16, 16))))


def _bogus_huffman(b: bytes) -> bytes:
    i = b.find(b"\xff\xc4")
    return b[:i + 5] + b"\xff" * 16 + b[i + 21:]


@pytest.mark.parametrize("syntax,make,mutate,match", [
    (P + "50", _baseline, _bogus_huffman, "JPEG decoding failed"),
    (P + "50", _baseline, lambda b: b"\0\0" + b[2:], "SOI"),
    (P + "50", _baseline, lambda b: b[:2] + b"\xff\xe0\xff\xff" + b[6:], "past the frame"),
    (P + "80", _jpeg_ls, lambda b: b[:40] + b"\x00" * (len(b) - 40), "no JPEG marker"),
    (P + "80", _jpeg_ls, lambda b: b[:-30] + b"\xff\x00" * 15, "JPEG-LS decoding failed"),
    (P + "90", _j2k, lambda b: b[:60] + bytes(range(200)), "JPEG 2000 decoding failed"),
    (P + "90", _j2k, lambda b: b"\0" * 16 + b[16:], "SOC"),
])
def test_corrupt_codestream_names_the_frame(syntax, make, mutate, match) -> None:
    good = make()
    bad = mutate(good)
    arr = np.zeros((2, 16, 16), np.uint8)
    ds = _file(arr, [good, bad], syntax, bits=8, stored=8)
    assert rawdicom.pixel_array(ds, 0).shape == (16, 16)
    with pytest.raises(rawdicom.PixelDataError, match=rf"\(7FE0,0010\): frame 1: .*{match}"):
        rawdicom.pixel_array(ds)


def test_not_a_jpeg_xl_codestream() -> None:
    ds = _file(np.zeros((16, 16), np.uint8), [_baseline()], P + "110", bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="frame 0: not a JPEG XL"):
        rawdicom.pixel_array(ds)


def _jxl() -> bytes:
    return bytes(imagecodecs.jpegxl_encode(_image("u1", 8, (16, 16)), lossless=True))


def _jxl_container() -> bytes:
    return bytes(imagecodecs.jpegxl_encode(_image("u1", 8, (16, 16)), lossless=True,
                                           usecontainer=True))


def _jp2() -> bytes:
    return bytes(imagecodecs.jpeg2k_encode(_image("u1", 8, (16, 16)), codecformat="JP2"))


@pytest.mark.parametrize("syntax,make", [(P + "50", _baseline), (P + "80", _jpeg_ls),
                                         (P + "90", _j2k), (P + "90", _jp2), (P + "110", _jxl),
                                         (P + "110", _jxl_container)])
def test_codestream_dimensions_must_match_the_dataset(syntax, make) -> None:
    ds = _file(np.zeros((16, 17), np.uint8), [make()], syntax, bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="frame 0: the .* 16 x 16 .* says 17 x 16"):
        rawdicom.pixel_array(ds)


def test_jp2_header_is_the_one_in_the_codestream_box() -> None:
    # A SOC SIZ for a 1 x 1 image inside an 'xml ' box placed before the real 'jp2c' box
    # (64 x 64) used to pass the size check: the codec then allocated the real size.
    jp2 = bytes(imagecodecs.jpeg2k_encode(np.zeros((64, 64), np.uint8), codecformat="JP2"))
    cut = 12 + struct.unpack(">I", jp2[12:16])[0]  # after the signature and 'ftyp' boxes
    siz = struct.pack(">HHIIIIIIIIH", 41, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1) + bytes([7, 1, 1])
    decoy = b"\xff\x4f\xff\x51" + siz
    hostile = jp2[:cut] + struct.pack(">I", 8 + len(decoy)) + b"xml " + decoy + jp2[cut:]
    ds = _file(np.zeros((1, 1), np.uint8), [hostile], P + "90", bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="64 x 64 .* says 1 x 1"):
        rawdicom.pixel_array(ds)
    # box lengths are checked while walking to 'jp2c'
    bad = jp2[:cut] + struct.pack(">I", 1 << 20) + jp2[cut + 4:]
    ds = _file(np.zeros((64, 64), np.uint8), [bad], P + "90", bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="box .* has length 1048576"):
        rawdicom.pixel_array(ds)


@pytest.mark.parametrize("rows,cols", [(8, 8), (256, 16), (1, 1), (3, 7), (480, 640), (720, 1280),
                                       (600, 1), (9000, 3), (300, 400), (400, 500)])
def test_jpeg_xl_size_header(rows: int, cols: int) -> None:
    # small / large sizes, the 2-bit selector's four widths and the fixed ratios (4:3, 16:9 ...)
    from rawdicom.pixels.codecs import jpeg_xl_size
    from rawdicom.pixels.image_pixel import Geometry
    geom = Geometry(0x7FE00010, rows, cols, 1, 8, 8, 0, 0, 1, "MONOCHROME2")
    for container in (False, True):
        frame = imagecodecs.jpegxl_encode(np.zeros((rows, cols), np.uint8), lossless=True,
                                          usecontainer=container)
        assert jpeg_xl_size(frame, geom, 0) == (cols, rows)


def test_jpeg_xl_size_header_that_cannot_be_read_is_refused() -> None:
    box = lambda kind, body: struct.pack(">I", 8 + len(body)) + kind + body  # noqa: E731
    signature = b"\x00\x00\x00\x0cJXL \r\n\x87\n"
    for frame, match in ((b"\xff\x0a", "cut short"),
                         (signature + box(b"jxlp", b"\0\0\0\0\xff\x0a\x00"), "cut short"),
                         (signature + box(b"jxlc", b"\xff\xd8"), "FF0A"),
                         (signature + box(b"ftyp", b"jxl "), "no JPEG XL codestream box")):
        ds = _file(np.zeros((16, 16), np.uint8), [frame], P + "110", bits=8, stored=8)
        with pytest.raises(rawdicom.PixelDataError, match=match):
            rawdicom.pixel_array(ds)


@pytest.mark.parametrize("syntax,encode", [
    (P + "70", lambda a: imagecodecs.ljpeg_encode(a, bitspersample=12)),
    (P + "80", lambda a: imagecodecs.jpegls_encode(a)),  # CharLS codes uint16 as 16 bits
    (P + "90", lambda a: imagecodecs.jpeg2k_encode(a, level=0, bitspersample=12,
                                                   codecformat="J2K")),
])
def test_codestream_precision_above_bits_allocated_is_refused(syntax, encode) -> None:
    # 12-bit samples in an 8-bit Bits Allocated were cut by the cast to uint8
    frame = bytes(encode(np.array([[0, 300], [4095, 1000]], np.uint16)))
    ds = _file(np.zeros((2, 2), np.uint8), [frame], syntax, bits=8, stored=8)
    with pytest.raises(rawdicom.PixelDataError, match="1[26]-bit samples, more than the 8 bits"):
        rawdicom.pixel_array(ds)


def test_video_is_not_decoded() -> None:
    ds = _file(np.zeros((4, 4), np.uint8), [b"\0\0\1\xb3"], P + "102", bits=8, stored=8)
    with pytest.raises(rawdicom.UnsupportedTransferSyntaxError, match="video"):
        rawdicom.pixel_array(ds)


def test_huge_encapsulated_claim_fails_before_decoding() -> None:
    ds = rawdicom.read(dicom(rows=65535, columns=65535, bits_allocated=16, frames=1000,
                             fragments=[b"\0" * 1024], syntax=P + "90"))
    with pytest.raises(rawdicom.LimitExceededError):
        rawdicom.pixel_array(ds)
