"""Unit tests of the grayscale pipeline (rawdicom.pixels.modality, .voi, .tables, .histogram):
PS3.3 C.11 formulas at their boundaries, LUT parsing, bad input.

Datasets are built in memory with ``Dataset.set`` so each test shows the
attributes it is about; pixel arrays are small synthetic ones.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rawdicom
from rawdicom import Dataset, PixelDataError
from rawdicom.pixels import voi
from rawdicom.pixels.histogram import format_histogram, histogram
from rawdicom.pixels.modality import hounsfield, modality_lut
from rawdicom.pixels.tables import via_table
from rawdicom.pixels.voi import CT_PRESETS, apply_voi, to_uint8, window, window_preset
from rawdicom.pixels.windowing import FUNCTIONS

F64 = np.float64


def make_ds(**attrs: object) -> Dataset:
    ds = Dataset()
    for keyword, value in attrs.items():
        ds.set(keyword, value)
    return ds


def lut_item(descriptor: list[int], data: object, vr: str | None = None) -> Dataset:
    item = Dataset()
    item.set("LUTDescriptor", descriptor)
    item.set("LUTData", data, vr=vr)
    return item


# ------------------------------------------------------------------ window: the formulas

def test_linear_boundaries_follow_c_11_2_1_2_1() -> None:
    # c=40, w=80: x <= 39.5 - 39.5 = 0 -> ymin; x > 39.5 + 39.5 = 79 -> ymax
    x = np.array([-5, 0, 1, 39, 40, 78, 79, 80], dtype=np.int16)
    y = window(x, 40, 80, dtype=F64)
    assert y[0] == 0 and y[1] == 0
    assert y[-1] == 255 and y[-2] == 255  # x = 79 is not above the window: the formula gives 255
    for xi, yi in zip(x[2:6], y[2:6]):
        assert yi == ((xi - 39.5) / 79 + 0.5) * 255
    assert list(window(x, 40, 80)) == [0, 0, 3, 126, 129, 252, 255, 255]


def test_linear_width_one_is_a_threshold() -> None:
    x = np.array([9, 9.5, 9.6, 10, 11])
    assert list(window(x, 10, 1)) == [0, 0, 255, 255, 255]


def test_linear_exact_boundaries_follow_c_11_2_1_3_2() -> None:
    x = np.array([-10.0, 0.0, 5.0, 10.0, 10.5])
    y = window(x, 5, 10, "LINEAR_EXACT", out_range=(0, 100), dtype=F64)
    assert list(y) == [0, 0, 50, 100, 100]
    # between the bounds: ((x - c) / w + 0.5) * (ymax - ymin) + ymin
    assert window(np.array([2.5]), 5, 10, "linear_exact", dtype=F64)[0] == 0.25 * 255


def test_sigmoid_follows_c_11_2_1_3_1() -> None:
    x = np.array([-1000.0, 40.0, 1000.0, 60.0])
    y = window(x, 40, 80, "SIGMOID", out_range=(-100, 100), dtype=F64)
    assert y[1] == 0
    assert y[0] == pytest.approx(-100) and y[2] == pytest.approx(100)
    assert y[3] == 200 / (1 + np.exp(-4 * 20 / 80)) - 100


def test_out_range_reversed_inverts() -> None:
    x = np.arange(0, 100, dtype=np.uint8)
    assert np.array_equal(window(x, 50, 100, out_range=(255, 0)), 255 - window(x, 50, 100))


@pytest.mark.parametrize("function, width", [("LINEAR", 0.99), ("LINEAR_EXACT", 0),
                                             ("SIGMOID", -1), ("LINEAR", float("nan"))])
def test_window_width_checked(function: str, width: float) -> None:
    with pytest.raises(ValueError, match="width"):
        window(np.zeros(3), 0, width, function)


def test_window_bad_arguments() -> None:
    with pytest.raises(ValueError, match="VOI LUT Function"):
        window(np.zeros(3), 0, 10, "GAMMA")
    with pytest.raises(ValueError, match="does not fit"):
        window(np.zeros(3), 0, 10, out_range=(0, 1000))


def test_window_output_types() -> None:
    x = np.arange(-2000, 2000, dtype=np.int16)
    assert window(x, 0, 100).dtype == np.uint8
    out = window(x, 0, 100, out_range=(0, 4095), dtype=np.uint16)
    assert out.dtype == np.uint16 and out.max() == 4095


# ------------------------------------------------------------------ window: table == formula

INT_TYPES = st.sampled_from([np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), dtype=INT_TYPES, function=st.sampled_from(FUNCTIONS),
       center=st.floats(-70000, 70000, allow_nan=False),
       width=st.floats(1, 140000, allow_nan=False),
       out=st.sampled_from([((0, 255), np.uint8), ((255, 0), np.uint8), ((0, 4095), np.uint16),
                            ((-1024.5, 3071.25), F64), ((-128, 127), np.int8)]),
       big=st.booleans())
def test_table_path_equals_formula(data: st.DataObject, dtype: type, function: str,
                                   center: float, width: float, out: tuple, big: bool) -> None:
    """Integer input goes through a table of the formula's values: the result must be identical."""
    arr = data.draw(hnp.arrays(dtype, hnp.array_shapes(max_dims=3, max_side=12)))
    if big:  # large enough for the whole-dtype table (8- and 16-bit) or the min..max table
        arr = np.resize(arr, (300, 220)) if arr.size else arr
    out_range, out_type = out
    fn = voi._window_function(center, width, function, *out_range, np.dtype(out_type))
    expected = fn(arr)  # the formula on every pixel
    got = window(arr, center, width, function, out_range=out_range, dtype=out_type)
    assert got.dtype == expected.dtype and got.shape == arr.shape
    np.testing.assert_array_equal(got, expected, strict=True)


def test_table_path_is_taken_for_ct_images() -> None:
    calls: list[int] = []
    fn = voi._window_function(40, 400, "LINEAR", 0, 255, np.dtype(np.uint8))

    def counting(v: np.ndarray) -> np.ndarray:
        calls.append(v.size)
        return fn(v)

    image = np.random.default_rng(0).integers(-1024, 3072, (512, 512), dtype=np.int16)
    assert np.array_equal(via_table(image, counting), fn(image))
    assert calls == [4096]  # the formula ran once per value in min..max, not once per pixel


# ------------------------------------------------------------------ presets

def test_presets() -> None:
    hu = np.arange(-1100, 2000, dtype=np.int16)
    assert np.array_equal(window_preset(hu, "Lung"), window(hu, -600, 1500))
    assert set(CT_PRESETS) >= {"brain", "subdural", "stroke", "bone", "lung", "mediastinum",
                               "abdomen", "liver"}
    assert all(width >= 1 for _, width in CT_PRESETS.values())
    with pytest.raises(KeyError, match="brain"):
        window_preset(hu, "elbow")


# ------------------------------------------------------------------ modality LUT: rescale

def test_rescale_12_bit_ct_gives_int16() -> None:
    ds = make_ds(BitsStored=12, PixelRepresentation=0, RescaleSlope=1.0, RescaleIntercept=-1024.0)
    arr = np.array([[0, 1024], [4095, 2000]], dtype=np.uint16)
    hu = modality_lut(ds, arr)
    assert hu.dtype == np.int16
    assert hu.tolist() == [[-1024, 0], [3071, 976]]


def test_rescale_16_bit_signed_needs_int32() -> None:
    ds = make_ds(BitsStored=16, PixelRepresentation=1, RescaleSlope=2.0, RescaleIntercept=-1024.0)
    arr = np.array([-32768, 0, 32767], dtype=np.int16)
    hu = modality_lut(ds, arr)
    assert hu.dtype == np.int32 and hu.tolist() == [-66560, -1024, 64510]


def test_rescale_value_outside_bits_stored_still_exact() -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0, RescaleSlope=1.0, RescaleIntercept=100.0)
    hu = modality_lut(ds, np.array([0, 255, 60000], dtype=np.uint16))
    assert hu.tolist() == [100, 355, 60100]


def test_rescale_float_matches_formula() -> None:
    ds = make_ds(BitsStored=12, PixelRepresentation=0, RescaleSlope=0.684, RescaleIntercept=200.0)
    arr = np.arange(4096, dtype=np.uint16).reshape(64, 64)
    out = modality_lut(ds, arr)
    assert out.dtype == F64
    assert np.array_equal(out, arr.astype(F64) * 0.684 + 200.0)


def test_identity_returns_input() -> None:
    arr = np.arange(6, dtype=np.uint16)
    assert modality_lut(make_ds(BitsStored=16), arr) is arr
    assert modality_lut(make_ds(RescaleSlope=1.0, RescaleIntercept=0.0), arr) is arr


def test_rescale_not_a_number() -> None:
    ds = make_ds(RescaleSlope=1.0)
    ds.set("RescaleIntercept", "-1024 HU", vr="LO")  # what a DS that does not parse decodes to
    with pytest.raises(PixelDataError, match=r"\(0028,1052\)"):
        modality_lut(ds, np.zeros(3, dtype=np.int16))


def enhanced(intercepts: list[float | None], shared: float | None = None) -> Dataset:
    """An enhanced multi-frame dataset with a Pixel Value Transformation per frame and/or shared."""
    def group(intercept: float | None) -> Dataset:
        item = Dataset()
        if intercept is not None:
            item.set("PixelValueTransformationSequence",
                     [make_ds(RescaleSlope=1.0, RescaleIntercept=intercept, RescaleType="HU")])
        return item
    ds = make_ds(NumberOfFrames=len(intercepts), BitsStored=12, PixelRepresentation=0)
    ds.set("PerFrameFunctionalGroupsSequence", [group(i) for i in intercepts])
    ds.set("SharedFunctionalGroupsSequence", [group(shared)])
    return ds


def test_rescale_per_frame_from_functional_groups() -> None:
    ds = enhanced([-1024.0, None, -1000.0], shared=-10.0)
    arr = np.full((3, 2, 2), 1000, dtype=np.uint16)
    hu = modality_lut(ds, arr)
    assert hu.dtype == np.int16
    assert hu[:, 0, 0].tolist() == [-24, 990, 0]
    # one frame at a time
    assert modality_lut(ds, arr[2], frame=2).tolist() == [[0, 0], [0, 0]]
    assert modality_lut(ds, arr[1], frame=1)[0, 0] == 990


def test_rescale_per_frame_mixed_identity_and_float() -> None:
    ds = enhanced([0.0, 0.5])
    arr = np.ones((2, 1, 1), dtype=np.uint16)
    out = modality_lut(ds, arr)
    assert out.dtype == F64 and out.ravel().tolist() == [1.0, 1.5]


# ------------------------------------------------------------------ modality LUT: the sequence

def test_modality_lut_sequence_clips_below_and_above() -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0)
    ds.set("ModalityLUTSequence", [lut_item([4, 10, 16], [100, 200, 300, 400])])
    out = modality_lut(ds, np.array([0, 9, 10, 11, 13, 14, 255], dtype=np.uint8))
    assert out.dtype == np.uint16
    assert out.tolist() == [100, 100, 100, 200, 400, 400, 400]


def test_modality_lut_zero_entries_means_65536_and_ow_data() -> None:
    table = (np.arange(65536, dtype=np.uint32) // 2).astype("<u2")
    ds = make_ds(BitsStored=16, PixelRepresentation=0)
    ds.set("ModalityLUTSequence", [lut_item([0, 0, 16], table.tobytes(), vr="OW")])
    arr = np.array([0, 1, 2, 65535], dtype=np.uint16)
    assert modality_lut(ds, arr).tolist() == [0, 0, 1, 32767]


def test_modality_lut_first_mapped_signed_per_pixel_representation() -> None:
    ds = make_ds(BitsStored=16, PixelRepresentation=1)
    ds.set("ModalityLUTSequence", [lut_item([3, 0xFFFE, 8], [5, 6, 7])])  # first value -2 as US
    out = modality_lut(ds, np.array([-3, -2, -1, 0, 1], dtype=np.int16))
    assert out.dtype == np.uint8 and out.tolist() == [5, 5, 6, 7, 7]


def test_modality_lut_packed_8_bit_data() -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0)
    ds.set("ModalityLUTSequence", [lut_item([3, 0, 8], bytes([9, 8, 7, 0]), vr="OW")])
    assert modality_lut(ds, np.array([0, 1, 2, 3], dtype=np.uint8)).tolist() == [9, 8, 7, 7]


def test_modality_lut_rejects_float_input() -> None:
    ds = make_ds()
    ds.set("ModalityLUTSequence", [lut_item([2, 0, 8], [1, 2])])
    with pytest.raises(TypeError):
        modality_lut(ds, np.zeros(2))


@pytest.mark.parametrize("descriptor, data, vr, tag", [
    ([5, 0, 16], [1, 2, 3, 4], None, "(0028,3006)"),             # fewer entries than promised
    ([2, 0, 16], b"\x01\x00\x02\x00\x03\x00", "OW", "(0028,3006)"),  # more bytes than promised
    ([4, 0, 20], [1, 2, 3, 4], None, "(0028,3002)"),             # 20 bits per entry
    ([4, 0, 4], [1, 2, 3, 4], None, "(0028,3002)"),              # 4 bits per entry
    ([4, 0, 8], [1, 2, 3, 300], None, "(0028,3002)"),            # entry wider than 8 bits
    ([4, 0], [1, 2, 3, 4], None, "(0028,3002)"),                 # two values
])
def test_modality_lut_descriptor_that_lies(descriptor: list[int], data: object, vr: str | None,
                                           tag: str) -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0)
    ds.set("ModalityLUTSequence", [lut_item(descriptor, data, vr)])
    with pytest.raises(PixelDataError, match=tag.replace("(", r"\(").replace(")", r"\)")):
        modality_lut(ds, np.zeros(4, dtype=np.uint8))


def test_modality_lut_data_missing() -> None:
    item = Dataset()
    item.set("LUTDescriptor", [2, 0, 8])
    ds = make_ds()
    ds.set("ModalityLUTSequence", [item])
    with pytest.raises(PixelDataError, match="LUT Data missing"):
        modality_lut(ds, np.zeros(2, dtype=np.uint8))


# ------------------------------------------------------------------ apply_voi

def test_apply_voi_window_in_the_natural_range() -> None:
    ds = make_ds(PhotometricInterpretation="MONOCHROME2", BitsStored=12, PixelRepresentation=0,
                 RescaleSlope=1.0, RescaleIntercept=-1024.0, WindowCenter=[40.0, -600.0],
                 WindowWidth=[400.0, 1500.0])
    hu = np.array([-2000, -600, 40, 3000], dtype=np.int16)
    out = apply_voi(ds, hu)
    assert out.dtype == F64
    assert out[0] == -1024 and out[-1] == 3071  # y range: stored 0..4095 rescaled
    assert np.array_equal(out, window(hu, 40, 400, out_range=(-1024, 3071), dtype=F64))
    assert np.array_equal(apply_voi(ds, hu, 1), window(hu, -600, 1500, out_range=(-1024, 3071),
                                                       dtype=F64))
    with pytest.raises(IndexError):
        apply_voi(ds, hu, 2)


def test_apply_voi_function_from_file() -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0, WindowCenter=100.0, WindowWidth=50.0,
                 VOILUTFunction="SIGMOID")
    x = np.arange(256, dtype=np.uint8)
    assert np.array_equal(apply_voi(ds, x), window(x, 100, 50, "SIGMOID", out_range=(0, 255),
                                                   dtype=F64))


def test_apply_voi_prefers_the_lut_sequence() -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0, WindowCenter=100.0, WindowWidth=50.0)
    ds.set("VOILUTSequence", [lut_item([3, 1, 12], [0, 2048, 4095]),
                              lut_item([2, 0, 8], [7, 9])])
    x = np.array([0, 1, 2, 3, 200], dtype=np.uint8)
    assert apply_voi(ds, x).tolist() == [0, 0, 2048, 4095, 4095]
    assert apply_voi(ds, x, 1).tolist() == [7, 9, 9, 9, 9]
    assert to_uint8(ds, x).tolist() == [0, 0, 128, 255, 255]  # 12-bit output scaled to 8 bits


def test_apply_voi_per_frame_from_frame_voi_lut_sequence() -> None:
    ds = make_ds(NumberOfFrames=2, BitsStored=8, PixelRepresentation=0)
    ds.set("PerFrameFunctionalGroupsSequence", [
        make_ds(FrameVOILUTSequence=[make_ds(WindowCenter=10.0, WindowWidth=1.0)]),
        make_ds(FrameVOILUTSequence=[make_ds(WindowCenter=20.0, WindowWidth=1.0)]),
    ])
    arr = np.full((2, 1, 2), 15, dtype=np.uint8)
    assert apply_voi(ds, arr).ravel().tolist() == [255, 255, 0, 0]
    assert apply_voi(ds, arr[1], frame=1).ravel().tolist() == [0, 0]


def test_apply_voi_without_voi_returns_input() -> None:
    arr = np.arange(4, dtype=np.uint8)
    assert apply_voi(make_ds(BitsStored=8, PhotometricInterpretation="RGB"), arr) is arr


@pytest.mark.parametrize("attrs, tag", [
    ({"WindowCenter": 40.0, "WindowWidth": 0.5}, "(0028,1051)"),
    ({"WindowCenter": 40.0, "WindowWidth": 10.0, "VOILUTFunction": "CUBIC"}, "(0028,1056)"),
    ({"WindowCenter": 40.0, "WindowWidth": 10.0, "PhotometricInterpretation": "RGB"},
     "(0028,0004)"),
])
def test_apply_voi_bad_file_values(attrs: dict, tag: str) -> None:
    ds = make_ds(BitsStored=8, PixelRepresentation=0, **attrs)
    with pytest.raises(PixelDataError, match=tag.replace("(", r"\(").replace(")", r"\)")):
        apply_voi(ds, np.zeros(3, dtype=np.uint8))


def test_apply_voi_needs_bits_stored_for_its_range() -> None:
    ds = make_ds(WindowCenter=40.0, WindowWidth=10.0)
    with pytest.raises(PixelDataError, match="Bits Stored"):
        apply_voi(ds, np.zeros(3, dtype=np.uint8))
    assert to_uint8(ds, np.array([0, 40, 80], dtype=np.uint8)).tolist() == [0, 142, 255]


# ------------------------------------------------------------------ to_uint8, hounsfield

def test_to_uint8_runs_the_whole_pipeline() -> None:
    ds = make_ds(BitsStored=12, PixelRepresentation=0, RescaleSlope=1.0, RescaleIntercept=-1024.0,
                 WindowCenter=40.0, WindowWidth=400.0)
    stored = np.array([[0, 1064], [1500, 4095]], dtype=np.uint16)
    assert np.array_equal(to_uint8(ds, stored), window(stored.astype(np.int32) - 1024, 40, 400))


def test_to_uint8_without_voi_stretches_min_to_max() -> None:
    ds = make_ds(BitsStored=16, PixelRepresentation=0)
    assert to_uint8(ds, np.array([100, 150, 200], dtype=np.uint16)).tolist() == [0, 128, 255]
    assert to_uint8(ds, np.full(4, 7, dtype=np.uint16)).tolist() == [0, 0, 0, 0]


def test_hounsfield_uses_pixel_array(monkeypatch: pytest.MonkeyPatch) -> None:
    ds = make_ds(BitsStored=12, PixelRepresentation=0, RescaleSlope=1.0, RescaleIntercept=-1024.0)
    stored = np.array([[0, 2048]], dtype=np.uint16)
    monkeypatch.setattr(rawdicom, "pixel_array", lambda d, frame=None: stored, raising=False)
    assert hounsfield(ds).tolist() == [[-1024, 1024]]
    edges, counts = histogram(ds, bins=2)
    assert edges.tolist() == [-1024, 1, 1026] and counts.tolist() == [1, 1]


# ------------------------------------------------------------------ histogram

def test_histogram_integer_bins_are_aligned() -> None:
    arr = np.array([-1024, -1024, -1000, 0, 1, 40, 3071], dtype=np.int16)
    edges, counts = histogram(arr, bins=8)
    assert len(edges) == len(counts) + 1
    assert edges[0] == -1024 and edges[-1] > 3071
    assert np.all(np.diff(edges) == 512)
    assert counts.sum() == arr.size and counts[0] == 3


def test_histogram_integer_range_is_inclusive() -> None:
    arr = np.arange(-5, 15, dtype=np.int32)
    edges, counts = histogram(arr, bins=10, range=(0, 9))
    assert edges.tolist() == list(range(11)) and counts.tolist() == [1] * 10


def test_histogram_float_ignores_non_finite() -> None:
    arr = np.array([0.0, 0.5, 1.0, np.nan, np.inf])
    edges, counts = histogram(arr, bins=2)
    assert edges.tolist() == [0.0, 0.5, 1.0] and counts.tolist() == [1, 2]


def test_histogram_bad_input() -> None:
    with pytest.raises(ValueError):
        histogram(np.array([], dtype=np.int16))
    with pytest.raises(ValueError):
        histogram(np.arange(3), bins=0)
    with pytest.raises(ValueError):
        format_histogram(np.arange(3), np.arange(3))


def test_format_histogram() -> None:
    text = format_histogram(np.array([-1024, 0, 1024]), np.array([10, 1]), width=20)
    lines = text.splitlines()
    assert lines[0].startswith("[-1024, 0)") and lines[0].count("#") == 20
    assert lines[1].count("#") == 2 and lines[1].endswith(" 1")
    assert "[0.5, 1.25)" in format_histogram(np.array([0.5, 1.25]), np.array([0]))


# ------------------------------------------------------------------ file values no number type holds

def _pixels_file(extra: list, bits: int = 16, prefix: bytes = b"") -> Dataset:
    """A 2 x 2 image of zeros with ``extra`` elements (and ``prefix`` bytes before Pixel Data)."""
    import struct

    from pixel_builders import dicom
    raw = dicom(rows=2, columns=2, bits_allocated=bits, pixels=bytes(bits // 2), extra=extra)
    cut = raw.index(struct.pack("<HH", 0x7FE0, 0x0010))
    return rawdicom.read(raw[:cut] + prefix + raw[cut:])


@pytest.mark.parametrize("slope, bits", [(b"1e300", 16), (b"4294967296", 32)])
def test_integer_rescale_past_int64_falls_back_to_float64(slope: bytes, bits: int) -> None:
    # was OverflowError: an integral slope whose products do not fit int64
    ds = _pixels_file([(0x00281053, "DS", slope), (0x00281052, "DS", b"0")], bits)
    hu = hounsfield(ds)
    assert hu.dtype == F64 and hu.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert to_uint8(ds).dtype == np.uint8


def test_rescale_past_the_largest_float_is_a_pixel_data_error() -> None:
    ds = _pixels_file([(0x00281053, "DS", b"1e306"), (0x00281050, "DS", b"0"),
                       (0x00281051, "DS", b"10")])
    arr = np.array([[0, 65535], [1, 2]], np.uint16)
    with pytest.raises(PixelDataError, match=r"\(0028,1053\).*largest float"):
        modality_lut(ds, arr)
    with pytest.raises(PixelDataError, match=r"\(0028,1053\).*largest float"):
        apply_voi(ds, np.zeros((2, 2)))


@pytest.mark.parametrize("tag", [0x00281053, 0x00281050])
def test_integer_string_too_long_for_a_float(tag: int) -> None:
    # IS of 400 digits: was OverflowError from math.isfinite
    ds = _pixels_file([(tag, "IS", b"9" * 400), (0x00281051, "DS", b"10")])
    with pytest.raises(PixelDataError, match=rf"\(0028,{tag & 0xFFFF:04X}\).*finite"):
        apply_voi(ds, hounsfield(ds))


@pytest.mark.parametrize("tag", [0x52009230, 0x52009229, 0x00283010, 0x00283000])
def test_sequence_written_with_another_vr_is_a_pixel_data_error(tag: int) -> None:
    # (5200,9230) / (0028,3010) ... as US: was AttributeError / TypeError
    from pixel_builders import us
    ds = _pixels_file([(tag, "US", us(1, 2)), (0x00281053, "DS", b"2"),
                       (0x00281050, "DS", b"0"), (0x00281051, "DS", b"10")])
    name = rf"\({tag >> 16:04X},{tag & 0xFFFF:04X}\).*sequence"
    with pytest.raises(PixelDataError, match=name):
        to_uint8(ds)


def test_modality_lut_data_as_uv_past_int64() -> None:
    import struct

    from builders import element, sequence
    from pixel_builders import us
    item = (element(0x00283002, "US", us(2, 0, 16))
            + element(0x00283006, "UV", struct.pack("<2Q", 1, 2**63 + 5)))
    ds = _pixels_file([], prefix=sequence(0x00283000, [item]))
    with pytest.raises(PixelDataError, match=r"\(0028,3002\).*16 bits"):
        hounsfield(ds)


@pytest.mark.parametrize("vr, value, ok", [("US", b"\x0c\x00\x0d\x00", True), ("DS", b"12", False)])
def test_bits_stored_is_read_as_geometry_reads_it(vr: str, value: bytes, ok: bool) -> None:
    # Bits Stored with VM 2 or as DS: was TypeError in the stored range (and invert_monochrome1)
    import struct

    from pixel_builders import dicom, element
    from rawdicom.pixels import invert_monochrome1
    raw = dicom(rows=1, columns=2, bits_allocated=16, bits_stored=16, photometric="MONOCHROME1",
                pixels=struct.pack("<2H", 0, 4095), extra=[(0x00281053, "DS", b"2")])
    bits_stored = element(0x00280101, "US", struct.pack("<H", 16))
    assert raw.count(bits_stored) == 1
    ds = rawdicom.read(raw.replace(bits_stored, element(0x00280101, vr, value)))
    stored = np.array([[0, 4095]], np.uint16)
    for call in (lambda: invert_monochrome1(ds, stored), lambda: hounsfield(ds),
                 lambda: apply_voi(ds, hounsfield(ds))):
        if ok:
            call()
        else:
            with pytest.raises(PixelDataError, match="Bits Stored"):
                call()
    if ok:
        assert invert_monochrome1(ds, stored).tolist() == [[4095, 0]]
