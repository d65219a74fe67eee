"""Native pixel data from synthetic files: every Bits Allocated / Pixel Representation /
Samples / Planar Configuration / endianness combination, bit packing, masking, and bad input."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

import rawdicom
from rawdicom.pixels import apply_palette, invert_monochrome1

from pixel_builders import EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, dicom, element, native_bytes, us

rng = np.random.default_rng(1234)


def _values(dtype: np.dtype, bits: int, shape: tuple[int, ...]) -> np.ndarray:
    if dtype.kind == "i":
        return rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), shape, dtype=np.int64).astype(dtype)
    return rng.integers(0, (1 << bits) - 1, shape, dtype=np.uint64, endpoint=True).astype(dtype)


COMBOS = [c for c in itertools.product((8, 16, 32, 64), (0, 1), (1, 3), (0, 1), (1, 3),
                                       (EXPLICIT_LE, EXPLICIT_BE))
          if c[2] == 3 or c[3] == 0]  # Planar Configuration applies to 3 samples only


@pytest.mark.parametrize("bits,rep,samples,planar,frames,syntax", COMBOS)
def test_every_combination_round_trips(bits: int, rep: int, samples: int, planar: int,
                                       frames: int, syntax: str) -> None:
    dtype = np.dtype(f"{'ui'[rep]}{bits // 8}")
    shape = (frames, 5, 7) + ((samples,) if samples > 1 else ())
    arr = _values(dtype, bits, shape)
    data = native_bytes(arr, planar=planar, little=syntax == EXPLICIT_LE)
    ds = rawdicom.read(dicom(rows=5, columns=7, bits_allocated=bits, pixel_representation=rep,
                             samples=samples, planar=planar if samples > 1 else None,
                             frames=frames, pixels=data, syntax=syntax))
    out = rawdicom.pixel_array(ds)
    expected = arr if frames > 1 else arr[0]
    assert out.dtype == dtype and out.shape == expected.shape
    assert np.array_equal(out, expected)
    for k in range(frames):
        assert np.array_equal(rawdicom.pixel_array(ds, k), arr[k])


@pytest.mark.parametrize("bits,stored", [(8, 6), (16, 12), (16, 1), (32, 20), (64, 40)])
@pytest.mark.parametrize("rep", [0, 1])
def test_bits_stored_masks_and_sign_extends(bits: int, stored: int, rep: int) -> None:
    udt = np.dtype(f"u{bits // 8}")
    values = _values(np.dtype(f"{'ui'[rep]}{bits // 8}"), stored, (4, 6))
    # Fill the unused high bits with garbage: the stored value must ignore them.
    garbage = rng.integers(0, 2, (4, 6), dtype=np.uint64).astype(udt) << np.array(stored, udt)
    raw = (values.view(udt) & udt.type((1 << stored) - 1)) | garbage
    ds = rawdicom.read(dicom(rows=4, columns=6, bits_allocated=bits, bits_stored=stored,
                             pixel_representation=rep, pixels=raw.astype("<" + udt.str[1:])
                             .tobytes()))
    assert np.array_equal(rawdicom.pixel_array(ds), values)


def test_plain_little_endian_is_a_zero_copy_view() -> None:
    arr = _values(np.dtype(np.int16), 12, (3, 64, 64))
    data = bytearray(dicom(rows=64, columns=64, bits_allocated=16, bits_stored=12,
                           pixel_representation=1, frames=3, pixels=native_bytes(arr)))
    ds = rawdicom.read(bytes(data))
    out = rawdicom.pixel_array(ds)
    assert np.array_equal(out, arr)
    assert not out.flags.owndata and not out.flags.writeable  # a view on the file's bytes
    planar = _values(np.dtype(np.uint8), 8, (4, 5, 3))
    ds = rawdicom.read(dicom(rows=4, columns=5, bits_allocated=8, samples=3, planar=1,
                             pixels=native_bytes(planar, planar=1)))
    out = rawdicom.pixel_array(ds)
    assert np.array_equal(out, planar) and not out.flags.owndata


@pytest.mark.parametrize("rows,cols,frames", [(3, 5, 3), (8, 8, 2), (1, 1, 9), (7, 3, 1)])
def test_one_bit_frames_are_not_byte_aligned(rows: int, cols: int, frames: int) -> None:
    bits = rng.integers(0, 2, (frames, rows, cols), dtype=np.uint8)
    data = np.packbits(bits.ravel(), bitorder="little").tobytes()
    ds = rawdicom.read(dicom(rows=rows, columns=cols, bits_allocated=1, frames=frames,
                             pixels=data))
    out = rawdicom.pixel_array(ds)
    assert out.dtype == np.uint8
    assert np.array_equal(out, bits if frames > 1 else bits[0])
    for k in range(frames):
        assert np.array_equal(rawdicom.pixel_array(ds, k), bits[k])


@pytest.mark.parametrize("tag,dtype", [(0x7FE00008, np.float32), (0x7FE00009, np.float64)])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, EXPLICIT_BE])
def test_float_and_double_float_pixel_data(tag: int, dtype: type, syntax: str) -> None:
    arr = rng.normal(size=(2, 3, 4)).astype(dtype)
    ds = rawdicom.read(dicom(rows=3, columns=4, bits_allocated=np.dtype(dtype).itemsize * 8,
                             frames=2, pixel_tag=tag, syntax=syntax,
                             pixels=native_bytes(arr, little=syntax == EXPLICIT_LE)))
    out = rawdicom.pixel_array(ds)
    assert out.dtype == dtype and np.array_equal(out, arr)


def test_odd_length_8_bit_data_is_padded_and_read() -> None:
    arr = _values(np.dtype(np.uint8), 8, (3, 3))
    ds = rawdicom.read(dicom(rows=3, columns=3, bits_allocated=8, pixels=arr.tobytes()))
    assert len(ds[0x7FE00010].raw) == 10
    assert np.array_equal(rawdicom.pixel_array(ds), arr)


def test_big_endian_8_bit_ow_is_pair_swapped() -> None:
    arr = _values(np.dtype(np.uint8), 8, (2, 3, 3, 3))  # odd frame length: 27 bytes
    swapped = np.frombuffer(arr.tobytes(), "<u2").byteswap().tobytes()
    ds = rawdicom.read(dicom(rows=3, columns=3, bits_allocated=8, samples=3, planar=0, frames=2,
                             pixels=swapped, syntax=EXPLICIT_BE, pixel_vr="OW"))
    assert np.array_equal(rawdicom.pixel_array(ds), arr)
    assert np.array_equal(rawdicom.pixel_array(ds, 1), arr[1])


def test_implicit_vr_little_endian() -> None:
    arr = _values(np.dtype(np.uint16), 16, (4, 4))
    meta = element(0x00020010, "UI", IMPLICIT_LE.encode())
    body = b""
    for tag, value in ((0x00280002, us(1)), (0x00280004, b"MONOCHROME2 "), (0x00280010, us(4)),
                       (0x00280011, us(4)), (0x00280100, us(16)), (0x00280101, us(16)),
                       (0x00280103, us(0)), (0x7FE00010, arr.tobytes())):
        body += tag.to_bytes(4, "little")[2:] + tag.to_bytes(4, "little")[:2]
        body += len(value).to_bytes(4, "little") + value
    ds = rawdicom.read(b"\0" * 128 + b"DICM" + meta + body)
    assert np.array_equal(rawdicom.pixel_array(ds), arr)


def test_ybr_full_422_is_upsampled_and_converted() -> None:
    # Two pixels Y1 Y2 Cb Cr: grey (Cb = Cr = 128) must come out as Y in R, G and B.
    raw = bytes([10, 200, 128, 128, 50, 60, 128, 128])
    ds = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, samples=3, planar=0,
                             photometric="YBR_FULL_422", pixels=raw))
    ybr = rawdicom.pixel_array(ds, convert_ybr=False)
    assert ybr.tolist() == [[[10, 128, 128], [200, 128, 128]], [[50, 128, 128], [60, 128, 128]]]
    rgb = rawdicom.pixel_array(ds)
    assert rgb[..., 0].tolist() == rgb[..., 2].tolist() == [[10, 200], [50, 60]]


@pytest.mark.parametrize("bits, stored", [(16, 16), (16, 12)])
def test_wide_ybr_full_centres_chroma_on_half_full_scale(bits: int, stored: int) -> None:
    # PS3.3 C.7.6.3.1.2: no color is CB = CR = half full scale, 2**(Bits Stored - 1)
    # (128 only for 8 bits); the 8-bit constants turned 16-bit grey into red/black.
    half = 1 << (stored - 1)
    ybr = np.array([[[100, half, half], [(1 << stored) - 1, half, half]]], np.uint16)
    ds = rawdicom.read(dicom(rows=1, columns=2, bits_allocated=bits, bits_stored=stored,
                             samples=3, planar=0, photometric="YBR_FULL",
                             pixels=native_bytes(ybr)))
    rgb = rawdicom.pixel_array(ds)
    assert rgb.dtype == np.uint16
    assert rgb.tolist() == [[[100] * 3, [(1 << stored) - 1] * 3]]


@pytest.mark.parametrize("columns", [1, 3])
def test_ybr_full_422_with_odd_columns_is_refused(columns: int) -> None:
    # Y1 Y2 Cb Cr per pair of pixels: an odd row has no native layout (was a ValueError)
    ds = rawdicom.read(dicom(rows=1, columns=columns, bits_allocated=8, samples=3,
                             photometric="YBR_FULL_422", pixels=bytes(2 * columns + 2)))
    with pytest.raises(rawdicom.PixelDataError, match="even number of columns"):
        rawdicom.pixel_array(ds)


def test_palette_color_plain_and_segmented() -> None:
    red = np.arange(256, dtype="<u2") * 256
    green = np.full(256, 0x1234, "<u2")
    # segmented blue: discrete [0], linear to 255 over 255 entries
    seg = np.array([0, 1, 0, 1, 255, 65535], "<u2")
    extra = [(0x00281101, "US", us(256, 0, 16)), (0x00281102, "US", us(256, 0, 16)),
             (0x00281103, "US", us(256, 0, 16)), (0x00281201, "OW", red.tobytes()),
             (0x00281202, "OW", green.tobytes()), (0x00281223, "OW", seg.tobytes())]
    idx = np.array([[0, 1], [128, 255]], np.uint8)
    ds = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, photometric="PALETTE COLOR",
                             pixels=idx.tobytes(), extra=extra))
    rgb = apply_palette(ds, rawdicom.pixel_array(ds))
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint16
    assert rgb[..., 0].tolist() == (idx.astype(int) * 256).tolist()
    assert (rgb[..., 1] == 0x1234).all()
    blue = np.concatenate([[0], np.around(np.linspace(257, 65535, 255))]).astype(int)
    assert rgb[..., 2].tolist() == blue[idx].tolist()


def test_palette_descriptor_that_lies() -> None:
    extra = [(0x00281101, "US", us(4096, 0, 16))] + [
        (t, "OW", np.zeros(256, "<u2").tobytes()) for t in (0x00281201, 0x00281202, 0x00281203)]
    ds = rawdicom.read(dicom(rows=1, columns=2, bits_allocated=8, photometric="PALETTE COLOR",
                             pixels=b"\0\1", extra=extra))
    with pytest.raises(rawdicom.PixelDataError, match="4096"):
        apply_palette(ds, rawdicom.pixel_array(ds))
    seg = np.array([0, 3, 1, 2, 3, 1, 60000, 9], "<u2")  # linear run past 4 entries
    extra = [(0x00281101, "US", us(4, 0, 16))] + [
        (t, "OW", seg.tobytes()) for t in (0x00281221, 0x00281222, 0x00281223)]
    ds = rawdicom.read(dicom(rows=1, columns=2, bits_allocated=8, photometric="PALETTE COLOR",
                             pixels=b"\0\1", extra=extra))
    with pytest.raises(rawdicom.PixelDataError, match="expands past"):
        apply_palette(ds, rawdicom.pixel_array(ds))


def _palette_ds(extra: list) -> rawdicom.Dataset:
    return rawdicom.read(dicom(rows=1, columns=2, bits_allocated=8, photometric="PALETTE COLOR",
                               pixels=b"\0\1", extra=extra))


def test_segmented_palette_indirect_replays_are_bounded() -> None:
    # One value, then M empty discrete segments, then K indirect segments each replaying
    # the M empty ones: K x M segments of work for 2M + 4K words (quadratic without a bound).
    m, k = 16000, 1600
    words = [0, 1, 100] + [0, 0] * m + [2, m, 3, 0] * k
    seg = np.array(words, "<u2").tobytes()
    extra = [(t, "US", us(256, 0, 16)) for t in (0x00281101, 0x00281102, 0x00281103)] + [
        (t, "OW", seg) for t in (0x00281221, 0x00281222, 0x00281223)]
    ds = _palette_ds(extra)
    start = time.perf_counter()
    with pytest.raises(rawdicom.PixelDataError, match=r"\(0028,1221\).*executes more than"):
        apply_palette(ds, rawdicom.pixel_array(ds))
    assert time.perf_counter() - start < 0.5


def test_segmented_palette_indirect_replay_that_adds_values_is_expanded() -> None:
    # discrete [5, 6], indirect: replay 1 segment from word 0 -> [5, 6, 5, 6]
    seg = np.array([0, 2, 5, 6, 2, 1, 0, 0], "<u2").tobytes()
    extra = [(t, "US", us(4, 0, 16)) for t in (0x00281101, 0x00281102, 0x00281103)] + [
        (t, "OW", seg) for t in (0x00281221, 0x00281222, 0x00281223)]
    ds = rawdicom.read(dicom(rows=1, columns=4, bits_allocated=8, photometric="PALETTE COLOR",
                             pixels=bytes(range(4)), extra=extra))
    assert apply_palette(ds, rawdicom.pixel_array(ds))[..., 0].tolist() == [[5, 6, 5, 6]]


@pytest.mark.parametrize("vr,value,match", [
    ("DS", b"256\\0\\8", "3 integers"),        # numbers, but not integers
    ("US", us(256, 8), "3 integers"),            # two values
    ("US", us(256, 0, 12), "12 bits"),
])
def test_palette_descriptor_must_be_three_integers(vr: str, value: bytes, match: str) -> None:
    lut = bytes(256)
    ds = _palette_ds([(0x00281101, vr, value)] + [
        (t, "OW", lut) for t in (0x00281201, 0x00281202, 0x00281203)])
    with pytest.raises(rawdicom.PixelDataError, match=r"\(0028,1101\).*" + match):
        apply_palette(ds, rawdicom.pixel_array(ds))


def test_palette_errors_name_the_segmented_data_and_the_alpha_descriptor() -> None:
    short = np.array([0, 2, 7, 8], "<u2").tobytes()  # 2 entries of 4
    desc = [(t, "US", us(4, 0, 16)) for t in (0x00281101, 0x00281102, 0x00281103)]
    ds = _palette_ds(desc + [(t, "OW", short) for t in (0x00281221, 0x00281222, 0x00281223)])
    with pytest.raises(rawdicom.PixelDataError, match=r"\(0028,1221\).*2 entries"):
        apply_palette(ds, rawdicom.pixel_array(ds))
    # the alpha LUT is read with its own descriptor (0028,1104): 8-bit entries here
    plain = np.array([1, 2, 3, 4], "<u2").tobytes()
    alpha_seg = bytes([0, 4, 9, 8, 7, 6])
    base = desc + [(t, "OW", plain) for t in (0x00281201, 0x00281202, 0x00281203)]
    ds = _palette_ds(base + [(0x00281104, "US", us(4, 0, 8)), (0x00281224, "OW", alpha_seg)])
    rgba = apply_palette(ds, rawdicom.pixel_array(ds))
    assert rgba.shape == (1, 2, 4) and rgba[..., 3].tolist() == [[9, 8]]
    ds = _palette_ds(base + [(0x00281104, "US", us(8, 0, 8)), (0x00281224, "OW", alpha_seg)])
    with pytest.raises(rawdicom.PixelDataError, match=r"\(0028,1104\)"):
        apply_palette(ds, rawdicom.pixel_array(ds))


def test_invert_monochrome1() -> None:
    arr = np.array([[0, 4095]], np.uint16)
    ds = rawdicom.read(dicom(rows=1, columns=2, bits_allocated=16, bits_stored=12,
                             photometric="MONOCHROME1", pixels=arr.tobytes()))
    assert invert_monochrome1(ds, rawdicom.pixel_array(ds)).tolist() == [[4095, 0]]


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize("missing", ["rows", "columns", "bits_allocated"])
def test_missing_attribute(missing: str) -> None:
    kwargs = {"rows": 2, "columns": 2, "bits_allocated": 8, missing: None}
    ds = rawdicom.read(dicom(pixels=b"\0" * 4, **kwargs))
    with pytest.raises(rawdicom.PixelDataError, match="missing"):
        rawdicom.pixel_array(ds)


@pytest.mark.parametrize("kwargs,match", [
    ({"rows": 0}, "0 rows"), ({"columns": 0}, "0 columns"), ({"bits_allocated": 0}, "Bits Allocated"),
    ({"bits_allocated": 12}, "Bits Allocated"), ({"samples": 2}, "Samples per Pixel"),
    ({"bits_stored": 9}, "Bits Stored"), ({"pixel_representation": 2}, "Pixel Representation")])
def test_impossible_attribute(kwargs: dict, match: str) -> None:
    args = {"rows": 2, "columns": 2, "bits_allocated": 8, **kwargs}
    ds = rawdicom.read(dicom(pixels=b"\0" * 8, **args))
    with pytest.raises(rawdicom.PixelDataError, match=match):
        rawdicom.pixel_array(ds)


@pytest.mark.parametrize("bits,frames", [(16, 1), (8, 3), (1, 2)])
def test_data_shorter_than_the_attributes_promise(bits: int, frames: int) -> None:
    ds = rawdicom.read(dicom(rows=8, columns=8, bits_allocated=bits, frames=frames,
                             pixels=b"\0" * 6))
    with pytest.raises(rawdicom.PixelDataError, match=r"\(7FE0,0010\).*need"):
        rawdicom.pixel_array(ds)


def test_frame_index_out_of_range() -> None:
    ds = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, frames=2, pixels=b"\0" * 8))
    for bad in (2, -1):
        with pytest.raises(IndexError, match="frame"):
            rawdicom.pixel_array(ds, bad)


def test_huge_claimed_dimensions_fail_before_allocating() -> None:
    ds = rawdicom.read(dicom(rows=65535, columns=65535, bits_allocated=16, frames=1000,
                             pixels=b"\0" * 1024))
    start = time.perf_counter()
    with pytest.raises(rawdicom.DicomError):
        rawdicom.pixel_array(ds)
    with pytest.raises(rawdicom.DicomError):
        next(rawdicom.iter_frames(ds))
    assert time.perf_counter() - start < 0.5


def test_truncated_file_raises_at_pixel_access() -> None:
    data = dicom(rows=16, columns=16, bits_allocated=16, pixels=b"\1" * 512)[:-100]
    with pytest.warns(rawdicom.DicomWarning):
        ds = rawdicom.read(data)
    assert ds.get("Rows") == 16
    with pytest.raises(rawdicom.DicomError, match=r"7FE0,0010"):
        rawdicom.pixel_array(ds)


@pytest.mark.parametrize("undefined", [False, True])
def test_pixel_data_that_is_a_sequence_or_fragments_in_a_native_syntax(undefined: bool) -> None:
    import struct

    from builders import element as el, sequence
    head = dicom(rows=2, columns=2, bits_allocated=8, pixels=b"")
    head = head[:head.index(struct.pack("<HH", 0x7FE0, 0x0010))]
    ds = rawdicom.read(head + sequence(0x7FE00010, [el(0x00100010, "PN", b"AB")],
                                       undefined=undefined))
    match = "native transfer syntax" if undefined else "sequence"
    with pytest.raises(rawdicom.PixelDataError, match=match):
        rawdicom.pixel_array(ds)


def test_no_pixel_data() -> None:
    ds = rawdicom.read(dicom(rows=2, columns=2, bits_allocated=8, pixels=b"\0" * 4),
                       stop_before_pixels=True)
    with pytest.raises(rawdicom.PixelDataError, match="no Pixel Data"):
        rawdicom.pixel_array(ds)


def test_import_needs_no_numpy_and_names_the_extra() -> None:
    import subprocess
    import sys
    code = ("import sys; sys.modules['numpy'] = None\n"
            "import rawdicom\n"
            "try:\n    rawdicom.pixel_array\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install rawdicom[pixels]" in out.stdout
