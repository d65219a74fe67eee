"""Synthetic series for the model tests (scan, hierarchy, stacks, volumes, organize).

Every file is written with rawdicom's own writer from a Dataset built here, so each test
states the geometry and the identifiers it is about:

    paths = write_series(tmp_path, positions=axial_positions(5, spacing=2.5),
                         spacing=(0.5, 0.7), names="shuffled", seed=1)
    ds = ct_slice(position=(0, 0, 10), orientation=(1, 0, 0, 0, 1, 0))

Pixel values are a pure function of (slice, row, column) by default (``default_pixel``),
unique per voxel in a small image, so a test can check a voxel fetched through an affine
against the value it must hold. numpy is not needed (pixels go through ``array``); a numpy
array given as ``pixels`` is taken as it is (its ``tobytes()``, int16 or uint16).

UIDs are deterministic (``make_uid(*parts)``, a 2.25 UUID-form UID from a hash of the parts):
the same call writes the same bytes on every run.
"""

from __future__ import annotations

import array
import hashlib
import random
import sys
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from rawdicom import Dataset, write

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_IMAGE = "1.2.840.10008.5.1.4.1.1.4"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
CORONAL = (1.0, 0.0, 0.0, 0.0, 0.0, -1.0)
SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)

PixelFn = Callable[[int, int, int], int]


def make_uid(*parts: Any) -> str:
    """A deterministic UID (2.25.<decimal of 128 bits>) for the given parts."""
    digest = hashlib.sha256(repr(parts).encode()).digest()[:16]
    return "2.25." + str(int.from_bytes(digest, "big"))


def default_pixel(k: int, r: int, c: int) -> int:
    """The stored value of voxel (slice k, row r, column c): unique in small images."""
    return (k * 997 + r * 31 + c) % 32000


def axial_positions(n: int, *, spacing: float = 2.0, origin: Sequence[float] = (0.0, 0.0, 0.0),
                    normal: Sequence[float] = (0.0, 0.0, 1.0)) -> list[tuple[float, float, float]]:
    """``n`` Image Position (Patient) values ``spacing`` mm apart along ``normal``."""
    return [tuple(o + i * spacing * d for o, d in zip(origin, normal))  # type: ignore[misc]
            for i in range(n)]


def normal_of(orientation: Sequence[float]) -> tuple[float, float, float]:
    """The slice normal (row cosines x column cosines) of an Image Orientation (Patient)."""
    r, c = orientation[:3], orientation[3:]
    return (r[1] * c[2] - r[2] * c[1], r[2] * c[0] - r[0] * c[2], r[0] * c[1] - r[1] * c[0])


def pixel_bytes(rows: int, columns: int, k: int = 0, pixels: Any = None,
                signed: bool = True) -> bytes:
    """Little endian 16-bit pixel data: ``pixels`` (a function of (k, r, c), a numpy array or
    bytes) or ``default_pixel``."""
    if pixels is None or callable(pixels):
        fn = pixels or default_pixel
        values = array.array("h" if signed else "H",
                             (fn(k, r, c) for r in range(rows) for c in range(columns)))
        if sys.byteorder == "big":
            values.byteswap()
        return values.tobytes()
    if hasattr(pixels, "tobytes"):
        return pixels.astype(pixels.dtype.newbyteorder("<")).tobytes() \
            if hasattr(pixels, "dtype") else pixels.tobytes()
    return bytes(pixels)


def ct_slice(*, position: Sequence[float] = (0.0, 0.0, 0.0),
             orientation: Sequence[float] = AXIAL, spacing: Sequence[float] = (0.5, 0.5),
             rows: int = 8, columns: int = 8, k: int = 0, pixels: Any = None,
             slope: float | None | str = "default", intercept: float | None | str = "default",
             modality: str = "CT", sop_class_uid: str | None = None,
             sop_instance_uid: str | None = None, series_instance_uid: str | None = None,
             study_instance_uid: str | None = None, frame_of_reference_uid: str | None = None,
             patient_id: str | None = "PAT-1", issuer: str | None = None,
             patient_name: str | None = "Test^Patient", study_id: str | None = "1",
             study_date: str | None = "20260101", study_description: str | None = "Study",
             accession_number: str | None = "ACC1", series_number: int | None = 1,
             series_description: str | None = "Series", instance_number: int | None = None,
             image_type: Sequence[str] | None = ("ORIGINAL", "PRIMARY", "AXIAL"),
             slice_thickness: float | None = None, echo_number: int | None = None,
             extra: dict[str, Any] | None = None) -> Dataset:
    """One CT (or, with ``modality="MR"``, MR) image as a Dataset.

    ``slope``/``intercept``: Rescale Slope/Intercept (CT default 1 / -1024, MR none).
    UIDs not given are made from the patient/study/series names, so slices built with the
    same arguments but another ``k`` fall in the same series. A value of None leaves the
    attribute out (for files missing a UID); ``extra`` sets any other attribute by keyword
    (a ``(vr, value)`` tuple forces the VR, e.g. for private elements by tag).
    """
    study_instance_uid = study_instance_uid or make_uid("study", patient_id, issuer, study_id)
    series_instance_uid = series_instance_uid or make_uid("series", study_instance_uid,
                                                          series_number, modality)
    frame_of_reference_uid = frame_of_reference_uid or make_uid("for", study_instance_uid)
    if sop_class_uid is None:
        sop_class_uid = MR_IMAGE if modality == "MR" else CT_IMAGE
    if slope == "default":  # CT stores HU + 1024; MR has no rescale by default
        slope = 1.0 if modality == "CT" else None
    if intercept == "default":
        intercept = -1024.0 if modality == "CT" else None
    if sop_instance_uid is None:
        sop_instance_uid = make_uid("sop", series_instance_uid, k,
                                    tuple(position) if position is not None else None)
    ds = Dataset()
    values: dict[str, Any] = {
        "SpecificCharacterSet": "ISO_IR 100",
        "ImageType": list(image_type) if image_type else None,
        "SOPClassUID": sop_class_uid, "SOPInstanceUID": sop_instance_uid,
        "StudyDate": study_date, "StudyTime": "120000", "AccessionNumber": accession_number,
        "Modality": modality, "Manufacturer": "rawdicom tests",
        "StudyDescription": study_description, "SeriesDescription": series_description,
        "PatientName": patient_name, "PatientID": patient_id, "IssuerOfPatientID": issuer,
        "SliceThickness": slice_thickness, "EchoNumbers": echo_number,
        "StudyInstanceUID": study_instance_uid, "SeriesInstanceUID": series_instance_uid,
        "StudyID": study_id, "SeriesNumber": series_number,
        "InstanceNumber": k + 1 if instance_number is None else instance_number,
        "ImagePositionPatient": [float(v) for v in position] if position is not None else None,
        "ImageOrientationPatient": [float(v) for v in orientation]
        if orientation is not None else None,
        "FrameOfReferenceUID": frame_of_reference_uid,
        "SamplesPerPixel": 1, "PhotometricInterpretation": "MONOCHROME2",
        "Rows": rows, "Columns": columns,
        "PixelSpacing": [float(v) for v in spacing] if spacing is not None else None,
        "BitsAllocated": 16, "BitsStored": 16, "HighBit": 15, "PixelRepresentation": 1,
        "RescaleIntercept": intercept, "RescaleSlope": slope,
    }
    for keyword, value in values.items():
        if value is not None:
            ds.set(keyword, value)
    for key, value in (extra or {}).items():
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            ds.set(key, value[1], value[0])
        elif value is None:
            if key in ds:
                del ds[key]
        else:
            ds.set(key, value)
    ds.set("PixelData", pixel_bytes(rows, columns, k, pixels), "OW")
    return ds


def file_names(n: int, names: str | Iterable[str] = "shuffled", seed: int = 0) -> list[str]:
    """File names for ``n`` files: ``"shuffled"`` (random 8-hex-digit names, no extension,
    in no relation to the slice order), ``"dcm"`` (IM-0001.dcm ...), or the names given."""
    if names == "shuffled":
        rng = random.Random(seed)
        chosen: set[str] = set()
        while len(chosen) < n:
            chosen.add(f"{rng.getrandbits(32):08X}")
        out = sorted(chosen)
        rng.shuffle(out)
        return out
    if names == "dcm":
        return [f"IM-{i + 1:04d}.dcm" for i in range(n)]
    out = list(names)  # type: ignore[arg-type]
    assert len(out) == n, "one name per file"
    return out


def write_series(folder: str | Path, positions: Sequence[Sequence[float]] | None = None, *,
                 n: int | None = None, names: str | Iterable[str] = "shuffled", seed: int = 0,
                 per_slice: Callable[[int], dict[str, Any]] | None = None,
                 **kw: Any) -> list[Path]:
    """Write one series into ``folder`` (created), one file per position; return the paths in
    slice order (the order of ``positions``).

    ``kw`` goes to :func:`ct_slice` for every slice; ``per_slice(k)`` may return overrides
    for slice ``k`` (another orientation, echo, image type...). Without positions: ``n``
    axial slices 2 mm apart.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if positions is None:
        positions = axial_positions(n or 4)
    paths = []
    for k, (position, name) in enumerate(zip(positions, file_names(len(positions), names,
                                                                   seed))):
        args = dict(kw)
        args.update(per_slice(k) if per_slice else {})
        args.setdefault("position", position)
        path = folder / name
        write(ct_slice(k=k, **args), path)
        paths.append(path)
    return paths


def write_collection(root: str | Path, *, seed: int = 0) -> dict[str, Any]:
    """A small mixed folder tree: three patients (PAT-1 under two issuers), three studies,
    five series of 3 to 4 slices, names shuffled across two sub-folders. Returns what was
    written: ``{"paths": [...], "series": {series_instance_uid: [paths in slice order]}}``."""
    root = Path(root)
    plan = [
        # (patient_id, issuer, study_id, series_number, modality, n, folder)
        ("PAT-1", "HOSP-A", "1", 1, "CT", 4, "a"),
        ("PAT-1", "HOSP-A", "1", 2, "CT", 3, "b"),
        ("PAT-1", "HOSP-B", "7", 1, "MR", 3, "a"),
        ("PAT-2", None, "2", 1, "CT", 4, "b"),
        ("PAT-2", None, "3", 5, "MR", 3, "a/deep"),
    ]
    out: dict[str, Any] = {"paths": [], "series": {}}
    for index, (pid, issuer, study, number, modality, n, sub) in enumerate(plan):
        kw = dict(patient_id=pid, issuer=issuer, study_id=study, series_number=number,
                  modality=modality, patient_name=f"Name^{pid}",
                  series_description=f"{modality} series {number}",
                  study_description=f"Study {study}")
        paths = write_series(root / sub, axial_positions(n, spacing=2.5), seed=seed * 100 + index,
                             **kw)
        uid = ct_slice(**kw).SeriesInstanceUID
        out["series"][uid] = paths
        out["paths"] += paths
    return out


def enhanced_ct(path: str | Path, positions: Sequence[Sequence[float]], *,
                orientation: Sequence[float] = AXIAL, spacing: Sequence[float] = (0.5, 0.5),
                rows: int = 8, columns: int = 8, pixels: Any = None,
                slopes: Sequence[float] | None = None, intercept: float = -1024.0,
                stack_ids: Sequence[str] | None = None, per_frame_orientation: bool = False,
                **kw: Any) -> Path:
    """Write an Enhanced CT Image Storage file: one frame per position, per-frame Plane
    Position and Frame Content (Dimension Index Values, Stack ID, In-Stack Position), shared
    Pixel Measures and Plane Orientation (per frame with ``per_frame_orientation``), Pixel
    Value Transformation shared, or per frame when ``slopes`` are given."""
    n = len(positions)
    kw.setdefault("series_number", 9)
    base = ct_slice(sop_class_uid=ENHANCED_CT, rows=rows, columns=columns, position=None,
                    orientation=None, spacing=None, slope=None, intercept=None,
                    image_type=("ORIGINAL", "PRIMARY", "VOLUME", "NONE"), **kw)
    base.set("NumberOfFrames", n)

    def item(**values: Any) -> Dataset:
        ds = Dataset()
        for keyword, value in values.items():
            ds.set(keyword, value)
        return ds

    shared = Dataset()
    shared.set("PixelMeasuresSequence", [item(PixelSpacing=[float(v) for v in spacing],
                                              SliceThickness=1.0)])
    if not per_frame_orientation:
        shared.set("PlaneOrientationSequence",
                   [item(ImageOrientationPatient=[float(v) for v in orientation])])
    if slopes is None:
        shared.set("PixelValueTransformationSequence",
                   [item(RescaleIntercept=intercept, RescaleSlope=1.0, RescaleType="HU")])
    frames = []
    for k, position in enumerate(positions):
        frame = Dataset()
        content = item(DimensionIndexValues=[1, k + 1],
                       StackID=stack_ids[k] if stack_ids else "1", InStackPositionNumber=k + 1)
        frame.set("FrameContentSequence", [content])
        frame.set("PlanePositionSequence",
                  [item(ImagePositionPatient=[float(v) for v in position])])
        if per_frame_orientation:
            frame.set("PlaneOrientationSequence",
                      [item(ImageOrientationPatient=[float(v) for v in orientation])])
        if slopes is not None:
            frame.set("PixelValueTransformationSequence",
                      [item(RescaleIntercept=intercept, RescaleSlope=float(slopes[k]),
                            RescaleType="HU")])
        frames.append(frame)
    base.set("SharedFunctionalGroupsSequence", [shared])
    base.set("PerFrameFunctionalGroupsSequence", frames)
    if pixels is not None and hasattr(pixels, "tobytes"):
        data = pixel_bytes(rows, columns, 0, pixels)
    else:
        data = b"".join(pixel_bytes(rows, columns, k, pixels) for k in range(n))
    base.set("PixelData", data, "OW")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write(base, path)
    return path
