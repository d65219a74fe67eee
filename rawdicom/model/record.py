"""One file's header as a flat record: the seam between the format layer and the model.

Scan, the index and DICOMDIR all turn what they read into these plain dicts (keys are the
snake_case of DICOM keywords, values plain Python: str, int, float, lists of them, None), and
everything above (hierarchy, stacks, geometry) works from records alone, so no file is read
twice to decide where a slice goes. A record pickles cheaply, which is what crosses the
boundary of a worker process.

Values are normalised to one shape per field whatever the file wrote: a multi-valued
attribute is always a list (``image_type`` with one value too), numbers are numbers, text is
stripped text, a missing or empty attribute is None.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from ..dataset import Dataset
from ..errors import DicomError, format_tag

__all__ = ["FIELDS", "LIST_FIELDS", "FRAME_FIELDS", "RECORD_TAGS", "snake_case", "instance_record",
           "frame_records", "record_fields"]

# The attributes every instance record carries, by keyword. Order is the column order.
FIELDS: tuple[str, ...] = (
    "SOPClassUID", "SOPInstanceUID", "SpecificCharacterSet",
    "PatientID", "IssuerOfPatientID", "PatientName", "PatientBirthDate", "PatientSex",
    "StudyInstanceUID", "StudyID", "StudyDate", "StudyTime", "AccessionNumber", "StudyDescription",
    "SeriesInstanceUID", "SeriesNumber", "SeriesDescription", "Modality", "BodyPartExamined",
    "Manufacturer", "ManufacturerModelName", "ProtocolName", "SeriesDate", "SeriesTime",
    "FrameOfReferenceUID", "ImageType", "InstanceNumber", "AcquisitionNumber",
    "AcquisitionDate", "AcquisitionTime", "ContentDate", "ContentTime",
    "TemporalPositionIdentifier", "NumberOfTemporalPositions", "TriggerTime", "EchoNumbers",
    "EchoTime", "RepetitionTime", "InversionTime", "FlipAngle", "ScanningSequence",
    "SequenceVariant", "MRAcquisitionType", "DiffusionBValue", "DiffusionGradientOrientation",
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "SliceLocation", "GantryDetectorTilt", "StackID",
    "InStackPositionNumber", "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel",
    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation", "PhotometricInterpretation",
    "PlanarConfiguration", "RescaleSlope", "RescaleIntercept", "RescaleType", "WindowCenter",
    "WindowWidth", "ReferencedFileID",
)

# Attributes whose value is always a list in a record (whatever their VM in the file).
LIST_FIELDS = frozenset((
    "ImageType", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
    "EchoNumbers", "ScanningSequence", "SequenceVariant", "DiffusionGradientOrientation",
    "WindowCenter", "WindowWidth", "SpecificCharacterSet", "ReferencedFileID",
    "DimensionIndexValues", "FrameType",
))

# Per-frame attributes of an enhanced multi-frame object (one record per frame).
FRAME_FIELDS: tuple[str, ...] = (
    "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
    "SpacingBetweenSlices", "DimensionIndexValues", "StackID", "InStackPositionNumber",
    "TemporalPositionIndex", "FrameAcquisitionNumber", "FrameAcquisitionDateTime",
    "FrameReferenceDateTime", "TriggerDelayTime", "RescaleSlope", "RescaleIntercept",
    "RescaleType", "WindowCenter", "WindowWidth", "DiffusionBValue",
    "DiffusionGradientOrientation", "EffectiveEchoTime", "FrameType",
)

_PIXEL_DATA = 0x7FE00010
_SHARED_GROUPS = 0x52009229
_PER_FRAME_GROUPS = 0x52009230

# What scan asks the reader for: the record's attributes, the functional groups of
# enhanced objects, and the Pixel Data element (its offset, never its value).
RECORD_TAGS: tuple[Any, ...] = FIELDS + ("SharedFunctionalGroupsSequence",
                                         "PerFrameFunctionalGroupsSequence", _PIXEL_DATA)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(keyword: str) -> str:
    """``SOPInstanceUID`` -> ``sop_instance_uid``, ``ImagePositionPatient`` ->
    ``image_position_patient``: the attribute names of records and model objects."""
    return _CAMEL.sub("_", keyword).lower()


_KEYS = {keyword: snake_case(keyword) for keyword in FIELDS + FRAME_FIELDS}


def _plain(value: Any, as_list: bool) -> Any:
    """A decoded value as plain data: PersonName -> str, bytes kept, '' -> None."""
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, list):
        items = [_plain(v, False) for v in value]
        return items
    if isinstance(value, (int, float, bytes)):
        return [value] if as_list else value
    text = str(value).strip()
    if not text:
        return None
    return [text] if as_list else text


def _value(ds: Dataset, keyword: str, problems: list[str]) -> Any:
    """One attribute of ``ds`` as plain data; a value that does not decode is None plus a note."""
    try:
        value = ds.get(keyword)
    except DicomError as exc:
        problems.append(f"{keyword}: {exc}")
        return None
    return _plain(value, keyword in LIST_FIELDS)


def instance_record(ds: Dataset, path: str | None = None) -> dict[str, Any]:
    """The record of one instance, from its (header-only) dataset.

    Besides the FIELDS (snake_case keys): ``path``, ``transfer_syntax_uid``,
    ``pixel_data_offset`` / ``pixel_data_length`` (byte offset of the Pixel Data value in
    the file and its length; None without pixel data; the offset is into the inflated
    stream for a deflated transfer syntax), ``frames`` (per-frame records of an enhanced
    multi-frame object, else None), and ``problems`` (values that did not decode).
    """
    problems: list[str] = []
    record: dict[str, Any] = {"path": path}
    for keyword in FIELDS:
        record[_KEYS[keyword]] = _value(ds, keyword, problems)
    record["transfer_syntax_uid"] = ds.transfer_syntax.uid if ds.transfer_syntax else None
    pixel = ds[_PIXEL_DATA] if _PIXEL_DATA in ds else None
    record["pixel_data_offset"] = pixel.offset if pixel is not None and pixel.offset >= 0 else None
    record["pixel_data_length"] = pixel.length if pixel is not None else None
    record["frames"] = frame_records(ds, problems) if _PER_FRAME_GROUPS in ds else None
    record["problems"] = problems
    return record


def _group_values(group: Dataset, out: dict[str, Any], problems: list[str], depth: int = 2) -> None:
    """Collect the FRAME_FIELDS found in one functional-group item: in its macros' items
    (Plane Position Sequence > Image Position (Patient)) and one level below them (MR
    Diffusion Sequence > Diffusion Gradient Direction Sequence > its orientation)."""
    for macro in group:
        if macro.vr != "SQ":
            continue
        try:
            items = macro.value or []
        except DicomError as exc:
            problems.append(f"{format_tag(macro.tag)}: {exc}")
            continue
        for item in items[:1]:  # each functional-group macro holds exactly one item
            for keyword in FRAME_FIELDS:
                if keyword in item:
                    out[_KEYS[keyword]] = _value(item, keyword, problems)
            if depth > 1:
                _group_values(item, out, problems, depth - 1)


def frame_records(ds: Dataset, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """One record per frame of an enhanced multi-frame object: the Shared Functional Groups
    overridden by each frame's Per-Frame Functional Groups (PS3.3 C.7.6.16)."""
    problems = [] if problems is None else problems
    shared: dict[str, Any] = {}
    for group in _items(ds, _SHARED_GROUPS, problems)[:1]:
        _group_values(group, shared, problems)
    frames = []
    for index, group in enumerate(_items(ds, _PER_FRAME_GROUPS, problems)):
        frame = {_KEYS[k]: None for k in FRAME_FIELDS}
        frame.update(shared)
        _group_values(group, frame, problems)
        frame["frame_index"] = index
        frames.append(frame)
    return frames


def _items(ds: Dataset, tag: int, problems: list[str]) -> list[Dataset]:
    if tag not in ds:
        return []
    try:
        return list(ds[tag].value or [])
    except DicomError as exc:
        problems.append(f"{format_tag(tag)}: {exc}")
        return []


def record_fields() -> Iterable[str]:
    """Every key of an instance record, in column order."""
    return ("path", *(_KEYS[k] for k in FIELDS), "transfer_syntax_uid", "pixel_data_offset",
            "pixel_data_length", "frames", "problems")
