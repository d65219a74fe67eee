"""Write the example study shipped with rawdicom: a head phantom scanned three ways.

    python tools/make_example_study.py [OUT_DIR]   (default: rawdicom/examples/study/)

One patient, one study, three series, made from first principles (no third party's bytes,
no patient data), the same bytes on every run:

* series 1, a lateral localizer (scout): one projection image, the line integral of the
  phantom's attenuation along the patient's left-right axis; Implicit VR Little Endian,
  sequences of undefined length (the oldest encoding, for ``rawdicom explain``);
* series 2, the axial CT: 40 slices of 256 x 256, 3 mm apart, in a plane tilted 12 degrees
  about the patient's left-right axis (so that nothing about the grid is axis-aligned and
  only the geometry gets positions right); Deflated Explicit VR Little Endian;
* series 3, a second reconstruction of the same scan: 24 slices 5 mm apart, without noise
  (a smooth kernel), in RLE Lossless, encoded here with PackBits (PS3.5 Annex G).

The phantom is an analytic head in patient coordinates (LPS, millimetres) with the
tissues at their Hounsfield values: air -1000 (outside, frontal sinus), fat -100 (scalp,
orbits), water 0 (ventricles, CSF), vitreous 10, white matter 25, grey matter 40,
a hyperdense lesion 70, cancellous bone 400 and cortical bone 1200. Stored values are
HU + 1024 (unsigned, 12 bits stored, Rescale Intercept -1024). The noise of series 2 is a
hash of the voxel index (no random generator whose stream could change between versions).
Files get shuffled, extension-less names (a hash of their SOP Instance UID), as a
scanner's export has them.
"""

from __future__ import annotations

import hashlib
import math
import struct
import sys
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rawdicom  # noqa: E402
from rawdicom import Dataset, set_pixel_frames, write  # noqa: E402

NAMESPACE = uuid.UUID("6f0e2a52-4bd4-4a7c-9d1e-726177646963")  # fixed: UIDs never change
CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT_LE = "1.2.840.10008.1.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
RLE = "1.2.840.10008.1.2.5"
TILT_DEGREES = 12.0
SIZE = 256
PIXEL_SPACING = 0.9  # mm: a 230 mm field of view
INTERCEPT = -1024


def uid(name: str) -> str:
    """A UUID-derived UID (PS3.5 B.2) from a name: the same on every run."""
    return f"2.25.{uuid.uuid5(NAMESPACE, name).int}"


# -- the phantom --------------------------------------------------------------------------
def _ellipsoid(p: np.ndarray, centre: tuple[float, float, float],
               axes: tuple[float, float, float]) -> np.ndarray:
    """The normalised radius of points ``p`` (..., 3) in an axis-aligned ellipsoid (<1 inside)."""
    q = (p - np.asarray(centre)) / np.asarray(axes)
    return np.sqrt((q * q).sum(axis=-1))


def phantom_hu(p: np.ndarray) -> np.ndarray:
    """Hounsfield units at patient points ``p`` (..., 3), LPS millimetres."""
    head = _ellipsoid(p, (0, 0, 0), (72, 92, 100))
    hu = np.full(p.shape[:-1], -1000.0)
    hu[head < 1.0] = -100.0                                     # scalp fat
    hu[head < 0.965] = 1200.0                                   # outer table (cortical)
    hu[head < 0.945] = 400.0                                    # diploe (cancellous)
    hu[head < 0.91] = 1200.0                                    # inner table
    hu[head < 0.89] = 0.0                                       # CSF around the brain
    hu[head < 0.87] = 40.0                                      # grey matter
    hu[_ellipsoid(p, (0, 5, 10), (48, 62, 60)) < 1.0] = 25.0    # white matter
    for x in (-11.0, 11.0):                                     # lateral ventricles
        hu[_ellipsoid(p, (x, -2, 4), (7, 30, 14)) < 1.0] = 0.0
    hu[_ellipsoid(p, (30, 20, -4), (9, 9, 9)) < 1.0] = 70.0     # a small haemorrhage
    hu[_ellipsoid(p, (0, -82, 32), (16, 6, 12)) < 1.0] = -1000.0  # frontal sinus
    for x in (-32.0, 32.0):                                     # orbits: fat, then the globe
        hu[_ellipsoid(p, (x, -70, -30), (17, 17, 15)) < 1.0] = -100.0
        hu[_ellipsoid(p, (x, -74, -30), (12, 12, 12)) < 1.0] = 10.0
    return hu


def _noise(shape: tuple[int, ...], seed: int, sigma: float) -> np.ndarray:
    """Zero-mean noise of about ``sigma`` HU from an integer hash of each voxel's index."""
    index = np.arange(math.prod(shape), dtype=np.uint64).reshape(shape)
    total = np.zeros(shape)
    for round_ in range(3):  # the sum of three uniforms: close enough to a bell
        h = (index * np.uint64(0x9E3779B1) + np.uint64(seed * 7919 + round_ * 104729)) \
            & np.uint64(0xFFFFFFFF)
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(0x2C1B3C6D)) & np.uint64(0xFFFFFFFF)
        h ^= h >> np.uint64(12)
        h = (h * np.uint64(0x297A2D39)) & np.uint64(0xFFFFFFFF)
        h ^= h >> np.uint64(15)
        total += h.astype(np.float64) / 2.0**32
    return (total - 1.5) * sigma * 2.0  # var of 3 uniforms is 1/4: sd 0.5 -> sigma


# -- the axial geometry -------------------------------------------------------------------
def axial_frame() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row direction, column direction and slice normal of the tilted axial plane."""
    t = math.radians(TILT_DEGREES)
    row = np.array([1.0, 0.0, 0.0])                    # along a row: towards the patient's left
    column = np.array([0.0, math.cos(t), -math.sin(t)])  # down a column: posterior, tilted
    return row, column, np.cross(row, column)


def slice_points(k: int, count: int, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Image Position (Patient) of slice ``k`` of ``count`` and the points of its pixels."""
    row, column, normal = axial_frame()
    half = (SIZE - 1) / 2 * PIXEL_SPACING
    position = -half * row - half * column + (k - (count - 1) / 2) * spacing * normal
    r = np.arange(SIZE) * PIXEL_SPACING
    points = (position + r[:, None, None] * column + r[None, :, None] * row)
    return position, points


def stored(hu: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(hu) - INTERCEPT, 0, 4095).astype("<u2")


# -- RLE Lossless (PS3.5 Annex G) ------------------------------------------------------------
def packbits(row: bytes) -> bytes:
    """PackBits of one row (G.3.1: each row encoded on its own): runs of 3+ as replicates."""
    out = bytearray()
    i, n = 0, len(row)
    literal = bytearray()

    def flush() -> None:
        while literal:
            chunk = literal[:128]
            out.append(len(chunk) - 1)
            out.extend(chunk)
            del literal[:128]

    while i < n:
        j = i
        while j < n and j - i < 128 and row[j] == row[i]:
            j += 1
        if j - i >= 3:
            flush()
            out.append(257 - (j - i))
            out.append(row[i])
            i = j
        else:
            literal.append(row[i])
            i += 1
    flush()
    return bytes(out)


def rle_frame(pixels: np.ndarray) -> bytes:
    """One 16-bit frame: two segments (most significant byte first), the 64-byte header."""
    big = pixels.astype(">u2").view(np.uint8).reshape(pixels.shape[0], pixels.shape[1], 2)
    segments = [b"".join(packbits(big[r, :, byte].tobytes()) for r in range(pixels.shape[0]))
                for byte in (0, 1)]
    segments = [s + b"\0" if len(s) % 2 else s for s in segments]
    offsets = [64, 64 + len(segments[0])]
    header = struct.pack("<16I", len(segments), *offsets, *([0] * 13))
    return header + b"".join(segments)


# -- the datasets ---------------------------------------------------------------------------
def common(series: int, description: str, instance: int) -> Dataset:
    """What every file of the study shares, plus its series and instance."""
    ds = Dataset()
    sop = uid(f"series {series} instance {instance}")
    request = Dataset()
    request.set("RequestedProcedureID", "RP-0001")
    request.set("ScheduledProcedureStepID", "SPS-0001")
    values = [
        ("SpecificCharacterSet", "ISO_IR 100"),
        ("SOPClassUID", CT_IMAGE), ("SOPInstanceUID", sop),
        ("StudyDate", "20260101"), ("SeriesDate", "20260101"), ("StudyTime", "093000"),
        ("SeriesTime", f"0930{series:02d}"), ("AccessionNumber", "ACC-0001"),
        ("Modality", "CT"), ("Manufacturer", "rawdicom synthetic phantom"),
        ("InstitutionName", "rawdicom"), ("StudyDescription", "CT HEAD WITHOUT CONTRAST"),
        ("SeriesDescription", description),
        ("PatientName", "Phantom^Jörg"), ("PatientID", "PHANTOM-001"),
        ("PatientBirthDate", "19700101"), ("PatientSex", "O"), ("PatientAge", "056Y"),
        ("BodyPartExamined", "HEAD"), ("KVP", 120), ("PatientPosition", "HFS"),
        ("StudyInstanceUID", uid("study")), ("SeriesInstanceUID", uid(f"series {series}")),
        ("StudyID", "1"), ("SeriesNumber", series), ("InstanceNumber", instance),
        ("FrameOfReferenceUID", uid("frame of reference")),
        ("PositionReferenceIndicator", ""),
        ("SamplesPerPixel", 1), ("PhotometricInterpretation", "MONOCHROME2"),
        ("Rows", SIZE), ("Columns", SIZE),
        ("BitsAllocated", 16), ("BitsStored", 12), ("HighBit", 11), ("PixelRepresentation", 0),
        ("RescaleIntercept", INTERCEPT), ("RescaleSlope", 1), ("RescaleType", "HU"),
        ("RequestAttributesSequence", [request]),
    ]
    for keyword, value in values:
        ds.set(keyword, value)
    ds.set("AcquisitionNumber", 1)
    return ds


def axial(series: int, count: int, spacing: float, description: str, kernel: str,
          noise: float) -> list[Dataset]:
    """The slices of one tilted axial reconstruction."""
    row, column, _ = axial_frame()
    out = []
    for k in range(count):
        position, points = slice_points(k, count, spacing)
        hu = phantom_hu(points)
        if noise:
            hu += _noise(hu.shape, seed=series * 1000 + k, sigma=noise) * (hu > -900)
        ds = common(series, description, instance=k + 1)
        ds.set("ImageType", ["ORIGINAL", "PRIMARY", "AXIAL"])
        ds.set("ConvolutionKernel", kernel)
        ds.set("SliceThickness", spacing)
        ds.set("GantryDetectorTilt", 0)
        ds.set("ImagePositionPatient", [round(float(v), 6) for v in position])
        ds.set("ImageOrientationPatient", [round(float(v), 8) for v in (*row, *column)])
        ds.set("SliceLocation", round(float(position @ axial_frame()[2]), 6))
        ds.set("PixelSpacing", [PIXEL_SPACING, PIXEL_SPACING])
        ds.set("WindowCenter", [40, 400])
        ds.set("WindowWidth", [80, 1800])
        ds.set("WindowCenterWidthExplanation", ["BRAIN", "BONE"])
        ds.set("PixelData", stored(hu).tobytes(), "OW")
        out.append(ds)
    return out


def localizer() -> Dataset:
    """A lateral scout: exp(-integral of attenuation) through the head, as a detector sees it."""
    ds = common(1, "Scout lateral", instance=1)
    y = (np.arange(SIZE) - (SIZE - 1) / 2) * 1.0
    z = -(np.arange(SIZE) - (SIZE - 1) / 2) * 1.0   # rows run inferior
    x = np.arange(-80.0, 80.0, 0.5)
    image = np.zeros((SIZE, SIZE))
    for r in range(SIZE):
        points = np.stack(np.broadcast_arrays(x[None, :], y[:, None], z[r]), axis=-1)
        mu = 0.0192 * (1 + phantom_hu(points) / 1000.0)  # water: 0.0192 / mm at ~70 keV
        image[r] = mu.sum(axis=1) * 0.5                   # 0.5 mm steps
    pixels = np.clip(np.rint(image / image.max() * 4000), 0, 4095).astype("<u2")
    ds.set("ImageType", ["ORIGINAL", "PRIMARY", "LOCALIZER"])
    ds.set("ImagePositionPatient", [0.0, float(y[0]), float(z[0])])
    ds.set("ImageOrientationPatient", [0.0, 1.0, 0.0, 0.0, 0.0, -1.0])
    ds.set("PixelSpacing", [1.0, 1.0])
    ds.set("SliceThickness", 1.0)
    ds.set("RescaleIntercept", 0)
    ds.set("RescaleType", "US")
    ds.set("WindowCenter", 2000)
    ds.set("WindowWidth", 4000)
    ds.set("PixelData", pixels.tobytes(), "OW")
    return ds


def file_name(ds: Dataset) -> str:
    """Eight hex digits of the SOP Instance UID's hash: no order, no extension."""
    return hashlib.sha256(ds.SOPInstanceUID.encode()).hexdigest()[:8].upper()


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "rawdicom" / "examples" / "study"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    files: list[tuple[Dataset, str, bool]] = [(localizer(), IMPLICIT_LE, True)]
    files += [(ds, DEFLATED, False) for ds in
              axial(2, 40, 3.0, "Head 3.0 tilted", "H40s", noise=3.0)]
    for ds in axial(3, 24, 5.0, "Head 5.0 soft", "H20s", noise=0.0):
        set_pixel_frames(ds, [rle_frame(np.frombuffer(ds.get("PixelData"), "<u2")
                                        .reshape(SIZE, SIZE))])
        files.append((ds, RLE, False))
    total = 0
    for ds, syntax, undefined in files:
        path = out / file_name(ds)
        write(ds, path, transfer_syntax=syntax, undefined_length_sequences=undefined)
        total += path.stat().st_size
    print(f"wrote {len(files)} files, {total} bytes, to {out} (rawdicom {rawdicom.__version__})")


if __name__ == "__main__":
    main()
