"""Folders shaped like the ones a new user meets first (issue 24): a 4-D fMRI run, an RGB
series, a 1-bit segmentation, images without geometry, a series with a missing slice, an
ultrasound file whose Accession Number has two values, studies on the same day.

Each builder writes into a folder and returns it; the files are written with rawdicom's
writer from ``series_builders.ct_slice``, with the attributes that make them what they are.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mr_builders import write_4d
from series_builders import axial_positions, ct_slice, make_uid, write_series

from rawdicom import write

US_IMAGE = "1.2.840.10008.5.1.4.1.1.6.1"
SEGMENTATION = "1.2.840.10008.5.1.4.1.1.66.4"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"

__all__ = ["fmri", "rgb_series", "rgb_file", "segmentation_series", "no_geometry",
           "missing_slice", "ultrasound_accession", "same_day_studies", "mr_series",
           "report_series"]


def fmri(folder: Path, *, volumes: int = 3, slices: int = 4) -> Path:
    """An fMRI run: ``volumes`` x ``slices`` MR images, RepetitionTime 3000 ms."""
    write_4d(folder, slices=slices, volumes=volumes, series_description="fMRI BOLD",
             extra={"RepetitionTime": 3000.0})
    return folder


def _rgb_pixels(rows: int, columns: int, k: int, planar: int) -> bytes:
    values = [[(k * 40 + r * 10 + c * 3 + s * 70) % 256 for s in range(3)]
              for r in range(rows) for c in range(columns)]
    if planar:
        return bytes(v[s] for s in range(3) for v in values)
    return bytes(x for v in values for x in v)


def _rgb_extra(planar: int) -> dict[str, Any]:
    return {"SamplesPerPixel": 3, "PhotometricInterpretation": "RGB", "PlanarConfiguration":
            planar, "BitsAllocated": 8, "BitsStored": 8, "HighBit": 7,
            "PixelRepresentation": 0}


def rgb_file(path: Path, *, planar: int = 1, rows: int = 6, columns: int = 10) -> Path:
    """An ultrasound-like RGB image, by default colour-by-plane (Planar Configuration 1)."""
    ds = ct_slice(modality="US", sop_class_uid=US_IMAGE, position=None, orientation=None,
                  spacing=None, slope=None, intercept=None, rows=rows, columns=columns,
                  pixels=_rgb_pixels(rows, columns, 0, planar), extra=_rgb_extra(planar))
    path.parent.mkdir(parents=True, exist_ok=True)
    write(ds, path)
    return path


def rgb_series(folder: Path, *, n: int = 4) -> Path:
    """A series of RGB images with geometry (a secondary capture of a rendered volume)."""
    write_series(folder, axial_positions(n), modality="OT", sop_class_uid=SECONDARY_CAPTURE,
                 slope=None, intercept=None, series_description="RGB render",
                 pixels=lambda k, r, c: 0, per_slice=lambda k: {
                     "pixels": _rgb_pixels(8, 8, k, 0), "extra": _rgb_extra(0)})
    return folder


def segmentation_series(folder: Path, *, n: int = 4) -> Path:
    """A 1-bit segmentation, one binary image per slice (Bits Allocated 1)."""
    def per_slice(k: int) -> dict[str, Any]:
        return {"pixels": bytes([0b10101010 if k % 2 else 0b11110000]) * 8, "extra": {
            "BitsAllocated": 1, "BitsStored": 1, "HighBit": 0, "PixelRepresentation": 0}}
    write_series(folder, axial_positions(n), modality="SEG", sop_class_uid=SEGMENTATION,
                 slope=None, intercept=None, series_description="Liver segmentation",
                 per_slice=per_slice)
    return folder


def no_geometry(folder: Path, *, n: int = 3) -> Path:
    """Secondary captures without Image Position, Orientation or Pixel Spacing."""
    write_series(folder, [None] * n, modality="OT", sop_class_uid=SECONDARY_CAPTURE,
                 orientation=None, spacing=None, series_description="Screenshots")
    return folder


def missing_slice(folder: Path, *, n: int = 6, gap: int = 3, **kw: Any) -> Path:
    """A CT series 2 mm apart with slice ``gap`` missing (irregular spacing)."""
    positions = [p for k, p in enumerate(axial_positions(n)) if k != gap]
    write_series(folder, positions, series_description="Gap", **kw)
    return folder


def mr_series(folder: Path, *, n: int = 4, rescale_type: str | None = None) -> Path:
    """An MR series (no Modality LUT giving HU), with a Rescale Type when given."""
    extra = {"RescaleSlope": 1.0, "RescaleIntercept": 0.0, "RescaleType": rescale_type} \
        if rescale_type else {}
    write_series(folder, axial_positions(n), modality="MR",
                 series_description="T1/SE axial", extra=extra,
                 pixels=lambda k, r, c: 100 + k * 10 + r + c)
    return folder


def ultrasound_accession(folder: Path) -> Path:
    """A CT study and an ultrasound study (one file) whose Accession Number is multi-valued (PR\\US)."""
    write_series(folder / "ct", n=3)
    rgb_file(folder / "us" / "US0001", planar=0)
    from rawdicom import read
    ds = read(folder / "us" / "US0001")
    ds.set("AccessionNumber", ["PR", "US"], "SH")
    ds.set("StudyInstanceUID", make_uid("ultrasound study"))
    ds.set("SeriesDescription", ["Abdomen", "Liver"], "LO")
    write(ds, folder / "us" / "US0001")
    return folder


def same_day_studies(folder: Path, *, studies: int = 3) -> Path:
    """``studies`` studies of one patient on the same date, each with series 1 and 2."""
    for s in range(studies):
        study_uid = make_uid("same-day", s)
        for number in (1, 2):
            write_series(folder / f"s{s}" / f"{number}", n=2, study_instance_uid=study_uid,
                         study_description="CT CHEST", series_number=number,
                         series_instance_uid=make_uid("same-day", s, number),
                         extra={"StudyTime": f"{9 + s:02d}1500"}, seed=s * 10 + number)
    return folder


def report_series(folder: Path, *, n: int = 2) -> Path:
    """Structured reports (no Rows, Columns or Pixel Data), as scanners add to a study."""
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(n):
        ds = ct_slice(modality="SR", sop_class_uid="1.2.840.10008.5.1.4.1.1.88.11", k=k,
                      series_number=99, series_description="PhoenixZIPReport", position=None,
                      orientation=None, spacing=None, slope=None, intercept=None)
        for keyword in ("PixelData", "Rows", "Columns", "BitsAllocated", "BitsStored",
                        "HighBit", "PixelRepresentation", "SamplesPerPixel",
                        "PhotometricInterpretation", "ImageType"):
            if keyword in ds:
                del ds[keyword]
        write(ds, folder / f"SR{k:04d}")
    return folder
