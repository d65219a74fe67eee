"""Differential tests of the modality and VOI transforms against pydicom 3.

Input arrays are pydicom's own ``pixel_array`` for both sides, so these tests
compare the transforms only, not the pixel decoders.  Every bundled pydicom
test file with pixel data and a rescale, window or LUT is compared; the
bundled data has no Modality or VOI LUT Sequence, so files with those are
written by pydicom here and read back by both.

Disagreements, each with the standard's reason:

1. Output type of a rescale: pydicom always returns float64; rawdicom returns
   the smallest integer type when slope and intercept are integers (the
   modality values of integer stored values are then integers, PS3.3
   C.11.1.1.2).  Values are compared exactly.
2. Enhanced multi-frame objects: pydicom's ``apply_modality_lut`` and
   ``apply_voi_lut`` read only top-level attributes; rawdicom applies each
   frame's Pixel Value Transformation (PS3.3 C.7.6.16.2.9) and Frame VOI LUT
   (C.7.6.16.2.10) from the functional groups.  Compared against pydicom run on
   one frame with that frame's attributes copied to the top level.
3. LUT entries of 9 to 15 bits in a Modality LUT: pydicom builds the dtype
   ``uint{bits}`` and fails for anything but 8 and 16; PS3.3 C.11.1.1.1 allows
   them, rawdicom returns uint16.
4. 8-bit LUT entries packed one per byte in OW LUT Data: pydicom unpacks 16-bit
   words and fails; rawdicom reads them (the LUT Descriptor's entry count
   decides which layout the data has).
5. VOI LUTs with 8-bit entries: pydicom computes the LUT index in the LUT's own
   dtype (uint8), so input values at or past first mapped + 256 wrap around
   modulo 256; PS3.3 C.11.2.1.1 maps every value above the last entry's input
   to the last entry, as rawdicom does.  Compared where the index fits in 8 bits;
   above, rawdicom's output is checked to be the last entry.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import pytest

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset as PdDataset, FileMetaDataset  # noqa: E402
from pydicom.pixels import apply_modality_lut, apply_voi_lut  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian  # noqa: E402

import rawdicom  # noqa: E402
from rawdicom.pixels.modality import modality_lut  # noqa: E402
from rawdicom.pixels.voi import apply_voi  # noqa: E402

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
RELEVANT = ("RescaleSlope", "RescaleIntercept", "ModalityLUTSequence", "WindowCenter",
            "WindowWidth", "VOILUTSequence")


def _bundled() -> list[Path]:
    """Bundled files with pixel data and at least one attribute these transforms use."""
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in sorted(TEST_FILES.rglob("*")):
            if not path.is_file():
                continue
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=False)
            except Exception:  # not DICOM, or broken on purpose: not this test's subject
                continue
            if "PixelData" in ds and any(k in ds for k in RELEVANT):
                found.append(path)
    return found


BUNDLED = _bundled()


def _pixels(path: Path) -> tuple[object, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pd = pydicom.dcmread(path)
        try:
            arr = pd.pixel_array
        except Exception as exc:  # pydicom cannot decode it (missing plugin, truncated file)
            pytest.skip(f"pydicom gives no pixel_array: {exc}")
    return pd, arr


def test_bundled_files_found() -> None:
    assert len(BUNDLED) >= 40  # CT, MR, CR with rescales and windows


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: str(p.relative_to(TEST_FILES)))
def test_bundled_modality_and_voi(path: Path) -> None:
    pd, arr = _pixels(path)
    ds = rawdicom.read(path)

    ours = modality_lut(ds, arr)
    theirs = apply_modality_lut(arr, pd)
    np.testing.assert_array_equal(ours.astype(np.float64), theirs)  # disagreement 1: the dtype
    if ours.dtype.kind == "f":
        assert ours.dtype == theirs.dtype

    center = ds.get("WindowCenter")
    for index in range(len(center) if isinstance(center, list) else int(center is not None)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = apply_voi_lut(theirs, pd, index=index)
        got = apply_voi(ds, ours, index)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


# ------------------------------------------------------------------ files written by pydicom

def _roundtrip(pd: PdDataset, syntax: str = ExplicitVRLittleEndian
               ) -> tuple[rawdicom.Dataset, PdDataset]:
    """pydicom writes a Part 10 file; both libraries read those same bytes back."""
    pd.file_meta = FileMetaDataset()
    pd.file_meta.TransferSyntaxUID = syntax
    pd.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    pd.file_meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    buffer = io.BytesIO()
    pd.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    return rawdicom.read(data), pydicom.dcmread(io.BytesIO(data))


def _image(bits_stored: int, signed: bool, shape: tuple[int, ...] = (16, 16)) -> tuple[PdDataset, np.ndarray]:
    rng = np.random.default_rng(bits_stored)
    lo, hi = (-(1 << (bits_stored - 1)), 1 << (bits_stored - 1)) if signed else (0, 1 << bits_stored)
    arr = rng.integers(lo, hi, shape).astype(np.int16 if signed else np.uint16)
    pd = PdDataset()
    pd.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    pd.PhotometricInterpretation = "MONOCHROME2"
    pd.SamplesPerPixel = 1
    pd.Rows, pd.Columns = shape[-2:]
    pd.BitsAllocated, pd.BitsStored, pd.HighBit = 16, bits_stored, bits_stored - 1
    pd.PixelRepresentation = int(signed)
    return pd, arr


def _lut(descriptor: list[int], data: list[int], ow: bool, big_endian: bool = False) -> PdDataset:
    """A LUT item; OW data as raw words in the file's byte order (pydicom writes OW bytes as given)."""
    item = PdDataset()
    item.LUTDescriptor = descriptor
    if ow:
        item.add_new(0x00283006, "OW", np.asarray(data, dtype=">u2" if big_endian else "<u2").tobytes())
    else:
        item.add_new(0x00283006, "US", data)
    return item


LUT_CASES = [  # descriptor, signed pixels
    ([4096, 0, 16], False),
    ([256, 100, 8], False),
    ([0, 0, 16], False),                 # 0 entries: 65536
    ([2048, -1024, 16], True),           # first value mapped negative (SS, Pixel Representation 1)
]


@pytest.mark.parametrize("syntax", [ExplicitVRLittleEndian, ImplicitVRLittleEndian,
                                    ExplicitVRBigEndian])
@pytest.mark.parametrize("ow", [False, True], ids=["US", "OW"])
@pytest.mark.parametrize("descriptor, signed", LUT_CASES)
def test_written_modality_and_voi_lut_sequences(descriptor: list[int], signed: bool, ow: bool,
                                                syntax: str) -> None:
    entries = descriptor[0] or 65536
    if entries * 2 > 0xFFFF and not ow and syntax != ImplicitVRLittleEndian:
        pytest.skip("a 16-bit length cannot hold 65536 US values: pydicom writes them as UN")
    pd, arr = _image(12, signed)
    data = (np.arange(entries) * 7919 % (1 << descriptor[2])).tolist()
    big = syntax == ExplicitVRBigEndian
    pd.ModalityLUTSequence = Sequence([_lut(descriptor, data, ow, big)])
    pd.VOILUTSequence = Sequence([_lut(descriptor, data[::-1], ow, big)])
    pd.WindowCenter, pd.WindowWidth = 100, 200  # the LUT wins, as in pydicom's prefer_lut=True
    ds, pd = _roundtrip(pd, syntax)
    expected = apply_modality_lut(arr, pd)
    got = modality_lut(ds, arr)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(got, expected)
    got, expected = apply_voi(ds, arr), apply_voi_lut(arr, pd)
    assert got.dtype == expected.dtype
    first = descriptor[1]
    if descriptor[2] == 8:
        # Disagreement 5: pydicom's index wraps past 255 entries; the standard clamps
        inside = arr.astype(np.int64) - first < 256
        assert np.all(got[~inside] == data[::-1][-1])
        got, expected = got[inside], expected[inside]
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("function", ["LINEAR", "LINEAR_EXACT", "SIGMOID"])
@pytest.mark.parametrize("bits, signed, slope, intercept", [
    (12, False, 1, -1024), (16, True, 1, 0), (10, False, 0.5, -20.25), (8, False, 3, 7)])
def test_written_windows(function: str, bits: int, signed: bool, slope: float, intercept: float) -> None:
    pd, arr = _image(bits, signed)
    pd.RescaleSlope, pd.RescaleIntercept = slope, intercept
    pd.WindowCenter, pd.WindowWidth = [40, 300.5], [400, 1.5]
    pd.VOILUTFunction = function
    ds, pd = _roundtrip(pd)
    theirs = apply_modality_lut(arr, pd)
    ours = modality_lut(ds, arr)
    np.testing.assert_array_equal(ours.astype(np.float64), theirs)
    for index in (0, 1):
        np.testing.assert_array_equal(apply_voi(ds, ours, index), apply_voi_lut(theirs, pd, index))


def test_enhanced_per_frame_against_pydicom_on_each_frame() -> None:
    """Disagreement 2: pydicom ignores functional groups; per frame, the two agree."""
    pd, arr = _image(12, False, (3, 8, 8))
    pd.NumberOfFrames = 3
    shared = PdDataset()
    voi = PdDataset()
    voi.WindowCenter, voi.WindowWidth = 50, 350
    shared.FrameVOILUTSequence = Sequence([voi])
    frames = []
    for intercept in (-1024, -1000, 0.5):
        group = PdDataset()
        pvt = PdDataset()
        pvt.RescaleSlope, pvt.RescaleIntercept, pvt.RescaleType = 1, intercept, "HU"
        group.PixelValueTransformationSequence = Sequence([pvt])
        frames.append(group)
    pd.SharedFunctionalGroupsSequence = Sequence([shared])
    pd.PerFrameFunctionalGroupsSequence = Sequence(frames)
    ds, pd = _roundtrip(pd)
    hu = modality_lut(ds, arr)
    voi_out = apply_voi(ds, hu)
    for i, group in enumerate(frames):
        flat = PdDataset()
        for keyword in ("PhotometricInterpretation", "BitsStored", "PixelRepresentation"):
            setattr(flat, keyword, pd[keyword].value)
        flat.RescaleSlope = group.PixelValueTransformationSequence[0].RescaleSlope
        flat.RescaleIntercept = group.PixelValueTransformationSequence[0].RescaleIntercept
        flat.WindowCenter, flat.WindowWidth = voi.WindowCenter, voi.WindowWidth
        expected_hu = apply_modality_lut(arr[i], flat)
        np.testing.assert_array_equal(hu[i], expected_hu)
        np.testing.assert_array_equal(voi_out[i], apply_voi_lut(expected_hu, flat))
    assert np.array_equal(apply_modality_lut(arr, pd), arr)  # what pydicom itself does


def test_lut_bit_depths_pydicom_rejects() -> None:
    """Disagreements 3 and 4: 12-bit Modality LUT entries; 8-bit entries packed in bytes."""
    pd, arr = _image(8, False)
    pd.ModalityLUTSequence = Sequence([_lut([256, 0, 12], list(range(0, 4096, 16)), False)])
    ds, pd = _roundtrip(pd)
    with pytest.raises(TypeError):
        apply_modality_lut(arr, pd)
    assert np.array_equal(modality_lut(ds, arr), arr * 16)

    packed = PdDataset()
    packed.LUTDescriptor = [256, 0, 8]
    packed.add_new(0x00283006, "OW", bytes(255 - np.arange(256, dtype=np.uint8)))
    pd.ModalityLUTSequence = Sequence([packed])
    ds, pd = _roundtrip(pd)
    with pytest.raises(Exception):
        apply_modality_lut(arr, pd)
    assert np.array_equal(modality_lut(ds, arr), 255 - arr)


@pytest.mark.parametrize("name", ["CT_small.dcm", "dicomdirtests/77654033/CR1/6154"])
def test_hounsfield_and_to_uint8_with_rawdicoms_own_pixels(name: str) -> None:
    """The whole pipeline on rawdicom's own pixel_array (the tests above use pydicom's)."""
    path = TEST_FILES / name
    if not path.exists():
        pytest.skip(f"{name} not bundled with this pydicom")
    pd, arr = _pixels(path)
    ds = rawdicom.read(path)
    expected = apply_modality_lut(arr, pd)
    np.testing.assert_array_equal(rawdicom.hounsfield(ds).astype(np.float64), expected)
    image = rawdicom.to_uint8(ds)
    assert image.dtype == np.uint8 and image.shape == arr.shape
