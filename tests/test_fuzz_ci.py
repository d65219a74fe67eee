"""A bounded run of tools/fuzz.py in CI, over seed files this test writes itself.

The seeds cover what the reader must survive: sequences (defined and
undefined length, private, nested), ISO 2022 text, the four uncompressed
encodings, native pixel data (8/16 bit, RGB, a LUT), encapsulated fragments
with offset tables, RLE, Siemens CSA headers (CSA2 explicit, CSA1 implicit)
with an ASCCONV protocol.  The run uses real worker processes with the
fuzzer's time and memory limits; every outcome but ok and DicomError fails,
and the reproducers it saved are named in the failure.
"""

from __future__ import annotations

import struct
import sys
from collections import Counter
from pathlib import Path

import pytest

from csa_builders import siemens_dataset, typical_image, typical_series
from rawdicom import Dataset, MalformedElementError
from rawdicom.writer import set_pixel_frames, to_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import fuzz  # noqa: E402

COUNT = 40_000  # about 20-60 s with two workers


def _image(rows: int, cols: int, bits: int, samples: int = 1, frames: int = 1) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.SamplesPerPixel = samples
    ds.PhotometricInterpretation = "RGB" if samples == 3 else "MONOCHROME2"
    if samples == 3:
        ds.PlanarConfiguration = 0
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = bits, bits, bits - 1
    ds.PixelRepresentation = 0
    return ds


def _rle_frame(data: bytes) -> bytes:
    """One-segment RLE Lossless frame of literal runs (PS3.5 G.3)."""
    body = b"".join(bytes([len(data[i:i + 128]) - 1]) + data[i:i + 128]
                    for i in range(0, len(data), 128))
    header = struct.pack("<16I", 1, 64, *[0] * 14)
    return header + body


def _jpeg_frames() -> list[bytes]:
    """Two real 8x8 JPEG frames when imagecodecs is there, else codestream-shaped bytes."""
    try:
        import imagecodecs
        import numpy as np
    except ImportError:
        return [b"\xff\xd8\xff\xdb\x00\x43" + bytes(70), b"\xff\xd8\xff\xc0\x00\x11"
                + bytes(20) + b"\xff\xd9"]
    ramp = np.arange(64, dtype=np.uint8).reshape(8, 8)
    return [bytes(imagecodecs.jpeg8_encode(ramp)), bytes(imagecodecs.jpeg8_encode(ramp[::-1]))]


def seeds(folder: Path) -> list[Path]:
    files: dict[str, bytes] = {}
    rich = _image(4, 4, 16)
    rich.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
    rich.PatientName = "Yamada^Tarou=山田^太郎"
    rich.PixelSpacing = [0.5, 0.5]
    rich.WindowCenter, rich.WindowWidth = 40, 400
    rich.RescaleIntercept, rich.RescaleSlope = -1024, 1
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator = "121", "DCM"
    nested = Dataset()
    nested.set(0x00081032, [item], "SQ")
    rich.set(0x00081032, [item, nested], "SQ")
    rich.set(0x00090010, "ACME")
    rich.set(0x00091001, [item], "SQ")
    rich.set(0x00091002, b"\1\2\3\4", "OB")
    rich.PixelData = bytes(range(32))
    files["explicit-le.dcm"] = to_bytes(rich)
    files["explicit-le-undefined.dcm"] = to_bytes(rich, undefined_length_sequences=True)
    files["implicit-le.dcm"] = to_bytes(rich, "1.2.840.10008.1.2")
    files["explicit-be.dcm"] = to_bytes(rich, "1.2.840.10008.1.2.2")
    files["deflated.dcm"] = to_bytes(rich, "1.2.840.10008.1.2.1.99")
    lut = _image(3, 3, 8)
    lut.set(0x00283010, [Dataset()], "SQ")
    lut_item = lut.VOILUTSequence[0]
    lut_item.set(0x00283002, [4, 0, 16], "US")
    lut_item.set(0x00283006, [0, 100, 200, 300], "US")
    lut.PixelData = bytes(range(9)) + b"\0"
    files["lut.dcm"] = to_bytes(lut, "1.2.840.10008.1.2")
    rgb = _image(2, 3, 8, samples=3, frames=2)
    rgb.PixelData = bytes(range(36))
    files["rgb-be.dcm"] = to_bytes(rgb, "1.2.840.10008.1.2.2")
    jpeg = _image(8, 8, 8, frames=2)
    set_pixel_frames(jpeg, _jpeg_frames())
    files["jpeg-frames.dcm"] = to_bytes(jpeg, "1.2.840.10008.1.2.4.50")
    rle = _image(4, 4, 8)
    set_pixel_frames(rle, [_rle_frame(bytes(range(16)))], extended_offset_table=True)
    files["rle-extended.dcm"] = to_bytes(rle, "1.2.840.10008.1.2.5")
    siemens = siemens_dataset(typical_image(), typical_series(), block=0x11)
    files["siemens-csa2.dcm"] = to_bytes(siemens)
    files["siemens-csa1-implicit.dcm"] = to_bytes(
        siemens_dataset(typical_image("CSA1"), typical_series("CSA1")), "1.2.840.10008.1.2")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        paths.append(path)
    return paths


def test_csa_headers_are_exercised():
    """The fuzzer's target parses the CSA headers: a broken one is an error of the 'use' stage."""
    good = to_bytes(siemens_dataset(typical_image(), typical_series()))
    fuzz.exercise_rawdicom(good)
    bad = good.replace(b"NumberOfImagesInMosaic", b"\x01umberOfImagesInMosaic")
    with pytest.raises(MalformedElementError, match="not a name") as info:
        fuzz.exercise_rawdicom(bad)
    assert info.value.fuzz_stage == "use"


def _rerun_timeouts(paths: list[Path], summary: dict, out: Path) -> Counter[str]:
    """The outcome counts, each timed-out input run again alone with ten times the time.

    On a shared two-core machine a worker can stall past 2 s on an input that
    takes a millisecond; an input that times out again is a real hang.
    """
    counts: Counter[str] = Counter(summary["counts"]["rawdicom"])
    for saved in summary["saved"]:
        _, index, outcome = Path(saved).stem.split("-")
        if outcome == "timeout":
            again = fuzz.run(paths, count=1, start=int(index), seed=summary["seed"], workers=1,
                             timeout=20.0, memory=1 << 30, out=out)
            counts["timeout"] -= 1
            counts.update(again["counts"]["rawdicom"])
    return +counts


def test_bounded_fuzz_run(tmp_path):
    paths = seeds(tmp_path / "seeds")
    summary = fuzz.run(paths, count=COUNT, seed=2024, workers=2,
                       timeout=2.0, memory=1 << 30, out=tmp_path / "out")
    print(summary)
    assert sum(summary["counts"]["rawdicom"].values()) == COUNT
    counts = _rerun_timeouts(paths, summary, tmp_path / "rerun")
    assert set(counts) <= {"ok", "DicomError", "ImportError"}, (counts, summary["saved"])
    assert counts.get("ok", 0) > COUNT // 20  # the seeds stay readable often enough to matter
