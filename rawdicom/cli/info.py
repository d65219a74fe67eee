"""``rawdicom info``: one screen about a file (or a folder: its patients, studies, series)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from .. import dictionary
from ..errors import DicomError
from ..reader import read
from . import common
from .orientation import plane_of


def add(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = commands.add_parser(
        "info", help="one screen: patient, study, series, image, geometry, HU range",
        description="One screen about a DICOM file: patient, study, series, modality, size, "
                    "transfer syntax, geometry and the pixel range (in HU for CT); for a "
                    "folder, its series and the geometry of each.")
    parser.add_argument("paths", nargs="*", metavar="FILE|DIR")
    common.add_example(parser, "the whole study (a folder)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> int:
    status = 0
    paths = common.inputs(args, folder=True)
    for number, path in enumerate(paths):
        if number:
            print()
        if os.path.isdir(path):
            from .folder_info import folder_info
            status = max(status, folder_info(path))
        else:
            status = max(status, common.catch(path, lambda: _one(path)))
    return status


def _text(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, list):
        return "\\".join(_text(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _numbers(values: Any, digits: int = 2) -> str:
    if not isinstance(values, list):
        return _text(values)
    return "(" + ", ".join(_number(v, digits) for v in values if v is not None) + ")"


def _number(value: Any, digits: int) -> str:
    """A value with ``digits`` decimals, or as its text where it is no float: a DS that did
    not parse stays the reader's text (with its warning), a 400-digit IS its digits."""
    try:
        return f"{float(value):.{digits}f}"
    except (TypeError, ValueError, OverflowError):
        return _text(value)


def _one(path: str) -> int:
    ds = read(path)
    size = os.path.getsize(path)
    lines = [("File", f"{path} ({size:,} bytes, {ds.transfer_syntax.name})")]
    meta = ds.file_meta
    if meta is not None and meta.get("MediaStorageSOPClassUID") == _DICOMDIR:
        print("\n".join(f"{k:<9} {v}" for k, v in lines + _dicomdir(ds, path)))
        return 0
    lines.append(("Patient", f"{_text(ds.get('PatientName'))}  id {_text(ds.get('PatientID'))}"
                             f"  sex {_text(ds.get('PatientSex'))}  born "
                             f"{_text(ds.get('PatientBirthDate'))}"))
    lines.append(("Study", f"{_text(ds.get('StudyDate'))} {_text(ds.get('StudyTime'))}  "
                           f"{_text(ds.get('StudyDescription'))}  accession "
                           f"{_text(ds.get('AccessionNumber'))}"))
    lines.append(("", f"{_text(ds.get('StudyInstanceUID'))}"))
    lines.append(("Series", f"{_text(ds.get('SeriesNumber'))}  {_text(ds.get('Modality'))}  "
                            f"{_text(ds.get('SeriesDescription'))}"))
    lines.append(("", f"{_text(ds.get('SeriesInstanceUID'))}"))
    sop = dictionary.uid(str(ds.get("SOPClassUID") or ""))
    lines.append(("Instance", f"{_text(ds.get('InstanceNumber'))}  "
                              f"{sop.name if sop else _text(ds.get('SOPClassUID'))}"))
    if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
        frames = common.integer(ds.get("NumberOfFrames"), 1)
        sign = "signed" if ds.get("PixelRepresentation") == 1 else "unsigned"
        lines.append(("Image", f"{_text(ds.get('Columns'))} x {_text(ds.get('Rows'))}, "
                               f"{frames} frame{'s' if frames != 1 else ''}, "
                               f"{_text(ds.get('BitsStored'))} of "
                               f"{_text(ds.get('BitsAllocated'))} bits {sign}, "
                               f"{_text(ds.get('PhotometricInterpretation'))}"))
    orientation = ds.get("ImageOrientationPatient")
    if orientation is not None or ds.get("ImagePositionPatient") is not None:
        plane = plane_of(orientation) or "-"
        lines.append(("Geometry", f"{plane}; position {_numbers(ds.get('ImagePositionPatient'))}"
                                  f" mm"))
        if isinstance(orientation, list):
            lines.append(("", f"row direction {_numbers(orientation[:3], 3)}, column direction "
                              f"{_numbers(orientation[3:], 3)}"))
        spacing = ds.get("PixelSpacing")
        spacing = " x ".join(map(_text, spacing)) if isinstance(spacing, list) else _text(spacing)
        lines.append(("", f"pixel spacing {spacing} mm (between rows, between columns), "
                          f"slice thickness {_text(ds.get('SliceThickness'))} mm"))
    error = None
    try:
        lines += _pixels(ds)
    except DicomError as exc:  # the header is shown; the pixels' defect is the file's error
        lines.append(("Pixels", "cannot be decoded"))
        error = exc
    width = max(len(k) for k, _ in lines)
    print("\n".join(f"{k:<{width}}  {v}".rstrip() for k, v in lines))
    return common.report(path, error) if error is not None else 0


_DICOMDIR = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage


def _dicomdir(ds: Any, path: str) -> list[tuple[str, str]]:
    """A DICOMDIR holds no patient of its own: what its records list, and where to look."""
    from collections import Counter
    kinds = Counter(str(item.get("DirectoryRecordType") or "?").strip().lower()
                    for item in ds.get("DirectoryRecordSequence") or [])
    listed = ", ".join(f"{n} {kind}" for kind, n in kinds.most_common()) or "no records"
    folder = os.path.dirname(path) or "."
    return [("DICOMDIR", f"a media directory: {listed}"),
            ("", f"rawdicom tree {folder} shows what it lists (rawdicom.read_dicomdir)")]


def _pixels(ds: Any) -> list[tuple[str, str]]:
    """The range of modality values (HU for CT) and the file's windows."""
    out = []
    centres, widths = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centres is not None and widths is not None:
        centres = centres if isinstance(centres, list) else [centres]
        widths = widths if isinstance(widths, list) else [widths]
        names = ds.get("WindowCenterWidthExplanation") or []
        names = names if isinstance(names, list) else [names]
        out.append(("Windows", ", ".join(
            f"{_text(c)}/{_text(w)}" + (f" {names[i]}" if i < len(names) else "")
            for i, (c, w) in enumerate(zip(centres, widths)))))
    if "PixelData" not in ds:
        return out
    try:
        import numpy  # noqa: F401
    except ImportError:
        return out + [("Pixels", "(install rawdicom[pixels] for the pixel range)")]
    import rawdicom
    if str(ds.get("PhotometricInterpretation") or "").startswith("MONOCHROME"):
        values = rawdicom.modality_lut(ds, rawdicom.pixel_array(ds))
        unit = modality_unit(ds.get)
        out.append(("Pixels", f"{_text(float(values.min()))} .. {_text(float(values.max()))} "
                              f"{unit}, mean {float(values.mean()):.1f}".rstrip()))
    return out


def modality_unit(get: Any) -> str:
    """What modality values are, in words, from an image's ``get`` by keyword (a Dataset's
    ``get``; for a scanned instance, see ``folder.series_values``).

    HU only where the modality LUT gives HU: a Rescale Type of HU, or CT without a Rescale
    Type (PS3.3 C.11.1.1.2: CT's rescaled values are HU). Otherwise the Rescale Type itself
    ("US" is "unspecified"), "rescaled value" when a slope or intercept is there without a
    type, and "stored value" when there is no rescale at all (MR, most US and XA).
    """
    rescale_type = str(get("RescaleType") or "").strip().upper()
    modality = str(get("Modality") or "").strip().upper()
    rescaled = get("RescaleSlope") is not None or get("RescaleIntercept") is not None \
        or get("ModalityLUTSequence") is not None \
        or get("SharedFunctionalGroupsSequence") is not None  # enhanced: per frame
    if rescale_type == "HU" or (modality == "CT" and not rescale_type and rescaled):
        return "HU"
    if rescale_type == "US":
        return "rescaled value (Rescale Type US, unspecified)"
    if rescale_type:
        return f"rescaled value ({rescale_type})"
    return "rescaled value" if rescaled else "stored value"
