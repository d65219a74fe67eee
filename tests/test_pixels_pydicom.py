"""Differential test: rawdicom.pixel_array against pydicom 3's pixel_array.

Every file with pixel data in pydicom's bundled test data (never the
downloadable set: no network) is decoded by both.  Shapes, dtype kinds and
sizes must agree; values exactly for lossless transfer syntaxes, within
``LOSSY_TOLERANCE`` for lossy ones.  Files where the two disagree on
whether the data can be decoded are listed in ``DISAGREEMENTS`` with the
reason, and their rawdicom behaviour is pinned.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import rawdicom

pydicom = pytest.importorskip("pydicom")

ROOT = Path(pydicom.__file__).parent / "data" / "test_files"

# Lossy JPEG (ISO 10918-1 processes 1, 2/4): the IDCT is not bit-exact between
# implementations (pydicom uses Thomas Richter's libjpeg, rawdicom libjpeg-turbo);
# ISO 10918-2 accepts +-1 per sample, and YBR -> RGB conversion can add one or two.
LOSSY_TOLERANCE = {
    "1.2.840.10008.1.2.4.50": 3,
    "1.2.840.10008.1.2.4.51": 1,
}

# file -> (what rawdicom does, the reason).  "error:<Class>" means rawdicom raises
# that DicomError subclass; "decodes" means rawdicom returns an array.
DISAGREEMENTS = {
    "JPEG-lossy.dcm": (
        "decodes",
        "pydicom's libjpeg rejects this 12-bit process 4 codestream; libjpeg-turbo decodes "
        "it to the 1024 x 256 image the header describes (GDCM and DCMTK read it too)."),
    "JPEG2000-embedded-sequence-delimiter.dcm": (
        "error:PixelDataError",
        "the fragment holds a sequence delimiter tag inside the codestream; the SIZ marker "
        "then gives a width of 3722445056, which rawdicom refuses before the codec sees it "
        "(pydicom's openjpeg also fails on it)."),
    "MR_truncated.dcm": (
        "error:TruncatedError",
        "Pixel Data is 8130 bytes where 8192 are declared (PS3.5 7.1.1): both refuse; "
        "rawdicom's error names the offset."),
    "badVR.dcm": (
        "error:PixelDataError",
        "Number of Frames is '1A', not an IS value (PS3.5 6.2): both refuse."),
    "meta_missing_tsyntax.dcm": (
        "error:PixelDataError",
        "no Rows / Columns / Bits Allocated (PS3.3 C.7.6.3 Type 1): pydicom refuses for the "
        "missing transfer syntax, rawdicom for the missing Type 1 attributes."),
    "nested_priv_SQ.dcm": (
        "error:PixelDataError",
        "no Rows / Columns / Bits Allocated (PS3.3 C.7.6.3 Type 1): both refuse."),
}

_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)


def _files() -> list[Path]:
    found = []
    for path in sorted(ROOT.rglob("*")):
        if not path.is_file():
            continue
        try:
            ds = pydicom.dcmread(path, force=True, stop_before_pixels=False)
        except Exception:
            continue
        if any(tag in ds for tag in _PIXEL_TAGS):
            found.append(path)
    return found


FILES = _files()


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_corpus_is_there() -> None:
    assert len(FILES) > 80


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_pixel_array_matches_pydicom(path: Path) -> None:
    name = _name(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pds = pydicom.dcmread(path, force=True)
        ds = rawdicom.read(path)
    if name in DISAGREEMENTS:
        expected, _reason = DISAGREEMENTS[name]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(Exception):
                pds.pixel_array
            if expected == "decodes":
                arr = rawdicom.pixel_array(ds)
                assert arr.size > 0
            else:
                with pytest.raises(rawdicom.DicomError) as info:
                    rawdicom.pixel_array(ds)
                assert type(info.value).__name__ == expected.split(":")[1]
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pds.pixel_array
        arr = rawdicom.pixel_array(ds)
    assert arr.shape == ref.shape
    assert (arr.dtype.kind, arr.dtype.itemsize) == (ref.dtype.kind, ref.dtype.itemsize)
    tolerance = LOSSY_TOLERANCE.get(str(pds.file_meta.TransferSyntaxUID), 0)
    diff = np.abs(arr.astype(np.float64) - ref.astype(np.float64))
    assert diff.max(initial=0) <= tolerance, f"max difference {diff.max()}"


MULTI_FRAME = [p for p in FILES if _name(p) in (
    "SC_rgb_rle_2frame.dcm", "SC_rgb_rle_16bit_2frame.dcm", "SC_rgb_rle_32bit_2frame.dcm",
    "rtdose.dcm", "rtdose_expb.dcm", "rtdose_rle.dcm", "examples_ybr_color.dcm")]


@pytest.mark.parametrize("path", MULTI_FRAME, ids=_name)
def test_single_frames_and_threads_match_the_whole(path: Path) -> None:
    ds = rawdicom.read(path)
    whole = rawdicom.pixel_array(ds)
    assert np.array_equal(rawdicom.pixel_array(ds, threads=2), whole)
    frames = list(rawdicom.iter_frames(ds))
    assert len(frames) == whole.shape[0]
    for k, frame in enumerate(frames):
        assert np.array_equal(frame, whole[k])
        assert np.array_equal(rawdicom.pixel_array(ds, k), whole[k])
