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

from .. import dictionary
from ..dataset import Dataset
from ..charset import AFFECTED_VRS
from ..errors import DicomError, ValueDecodeError, format_tag
from ..functional_groups import FRAME_ATTRIBUTES, PER_FRAME_GROUPS, FunctionalGroups
from ..values import decode_value
from ..vendor.fields import VENDOR_KEYS, VENDOR_TAGS, vendor_fields
from ..vendor.philips import frame_position

__all__ = ["IDENTIFIER_FIELDS", "FIELDS", "LIST_FIELDS", "FRAME_FIELDS", "RECORD_TAGS", "HEADER_TAGS", "snake_case",
           "instance_record", "plain_value", "frame_records", "record_fields"]

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

# Per-frame attributes of an enhanced multi-frame object (one record per frame), each read
# from the functional group macro the standard puts it in (rawdicom.functional_groups).
FRAME_FIELDS: tuple[str, ...] = tuple(dict.fromkeys(k for k, _, _ in FRAME_ATTRIBUTES))

# A file with none of these is not an instance of the information model (a scan fails it,
# the index marks it malformed): the keys the hierarchy is built on.
IDENTIFIER_FIELDS = ("sop_class_uid", "sop_instance_uid", "study_instance_uid",
                     "series_instance_uid")

_PIXEL_DATA = 0x7FE00010
_SPECIFIC_CHARACTER_SET = 0x00080005

# What scan asks the reader for: the record's attributes, the functional groups of
# enhanced objects, and the Pixel Data element (its offset, never its value).
RECORD_TAGS: tuple[Any, ...] = FIELDS + ("SharedFunctionalGroupsSequence",
                                         "PerFrameFunctionalGroupsSequence") + VENDOR_TAGS + (
                                         _PIXEL_DATA,)

# The same without the Pixel Data, for a header-only read whose Pixel Data's place comes
# from ``Dataset.stopped_at`` (scan asks for RECORD_TAGS with stop_before_pixels instead,
# which also walks past what lies between these and the Pixel Data in the same read).
HEADER_TAGS: tuple[Any, ...] = RECORD_TAGS[:-1]

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def snake_case(keyword: str) -> str:
    """``SOPInstanceUID`` -> ``sop_instance_uid``, ``ImagePositionPatient`` ->
    ``image_position_patient``: the attribute names of records and model objects."""
    return _CAMEL.sub("_", keyword).lower()


_KEYS = {keyword: snake_case(keyword) for keyword in FIELDS + FRAME_FIELDS}
# Values no two files share: never cached (a cache of them only churns).
_UNIQUE = frozenset(("SOPInstanceUID",))
# tag -> (record key, always a list, cache of decoded values) of each field: looked up
# once, not per file; one table per byte order (a cache holds what bytes decode to in
# it), and one without caches (values not sliced from bytes). The caches: see _CACHED_VRS.
_Fields = dict[int, tuple[str, bool, "dict[bytes, tuple[str, Any]] | None"]]
_FIELD_TAGS: dict[bool | None, _Fields] = {
    order: {dictionary.parse_tag(k): (_KEYS[k], k in LIST_FIELDS,
                                      None if k in _UNIQUE or order is None else {})
            for k in FIELDS}
    for order in (True, False, None)}
# A record before its values: every field None, in column order.
_EMPTY = dict.fromkeys(("path", *(_KEYS[k] for k in FIELDS), *VENDOR_KEYS))


# The counts the pixel and geometry code size things by: an integer each, or absent.
_COUNT_KEYS = tuple(_KEYS[k] for k in (
    "Rows", "Columns", "NumberOfFrames", "SamplesPerPixel", "BitsAllocated", "BitsStored",
    "HighBit", "PixelRepresentation", "PlanarConfiguration"))


# The identifiers the hierarchy groups by and prints: text each, or absent.
_TEXT_KEYS = tuple(_KEYS[k] for k in (
    "SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID",
    "FrameOfReferenceUID", "PatientID", "IssuerOfPatientID"))


def _plain(value: Any, as_list: bool) -> Any:
    """A decoded value as plain data: PersonName -> str, bytes kept, '' -> None."""
    kind = type(value)
    if kind is int or kind is float or kind is bytes:
        return [value] if as_list else value
    if value is None or value == "" or value == []:
        return None
    if kind is list:
        return [_plain(v, False) for v in value]
    if isinstance(value, (int, float, bytes)):
        return [value] if as_list else value
    text = str(value).strip()
    if not text:
        return None
    return [text] if as_list else text


# Decoded values by their bytes, per field and per process: a series repeats most of its
# values (UIDs, names, dates, spacing, orientation, rows) in every file. Only what decodes
# the same whatever the context and never warns: ASCII text (no ESC: no charset switch) of
# the text VRs below; DS only when it parsed as numbers (a DS that does not parse warns,
# and must warn each time); IS only when it parsed and holds no more than digits, signs,
# spaces and backslashes ("1.0" parses, with a warning); binary numbers of a whole number
# of values.
_CACHED_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())
_IS_BYTES = b"0123456789+- \\"
_NUMBER_SIZES = {"US": 2, "SS": 2, "UL": 4, "SL": 4, "FL": 4, "FD": 8}
_CACHE_SIZE = 256  # values per field


def _cacheable(vr: str, raw: bytes, value: Any) -> bool:
    """Whether the value decoded from ``raw`` is what ``raw`` gives in any file, silently."""
    if vr in _CACHED_VRS:
        if not raw.isascii() or 27 in raw:
            return False
        if vr == "IS" and raw.translate(None, _IS_BYTES):
            return False
        return (vr != "DS" and vr != "IS") or not (isinstance(value, str) or (
            type(value) is list and any(isinstance(v, str) for v in value)))
    size = _NUMBER_SIZES.get(vr)
    return size is not None and len(raw) % size == 0


def plain_value(ds: Dataset, keyword: Any, problems: list[str], as_list: bool | None = None
                ) -> Any:
    """One attribute of ``ds`` (keyword or tag) as plain data; a value that does not decode
    is None plus a note."""
    try:
        value = ds.get(keyword)
    except DicomError as exc:
        name = keyword if isinstance(keyword, str) else \
            dictionary.keyword_for(keyword) or format_tag(keyword)
        problems.append(f"{name}: {exc}")
        return None
    if as_list is None:
        as_list = (keyword if isinstance(keyword, str) else dictionary.keyword_for(keyword)) \
            in LIST_FIELDS
    value = _plain(value, as_list)
    if type(value) is list and not as_list:
        return _single(keyword if isinstance(keyword, str) else
                       dictionary.keyword_for(keyword) or format_tag(keyword), value, problems)
    return value


def _single(name: str, values: list[Any], problems: list[str]) -> Any:
    """A single-valued attribute the file wrote with several values: text joined again as
    written (``T1\\T2``: one description with a backslash); numbers, where one drives a
    computation (Rows [8, 8], Bits Stored [16, 12]), absent, with a note."""
    if all(type(v) is str for v in values):
        return "\\".join(values)
    problems.append(f"{name}: {len(values)} values where one is expected; left out")
    return None


def instance_record(ds: Dataset, path: str | None = None) -> dict[str, Any]:
    """The record of one instance, from its (header-only) dataset.

    Besides the FIELDS (snake_case keys): ``path``, ``transfer_syntax_uid``,
    ``pixel_data_offset`` / ``pixel_data_length`` (byte offset of the Pixel Data value in
    the file and its length; None without pixel data; the offset is into the inflated
    stream for a deflated transfer syntax), ``frames`` (per-frame records of an enhanced
    multi-frame object, else None), and ``problems`` (values that did not decode).
    """
    problems: list[str] = []
    record: dict[str, Any] = _EMPTY.copy()
    record["path"] = path
    ctx = ds._ctx
    buf, little, charset = ctx.buf, ctx.little_endian, None
    base = getattr(buf, "obj", None)
    if type(base) is bytes and len(base) == len(buf):
        buf = base  # slices of the bytes themselves: one copy less per value
    fields = _FIELD_TAGS[little if type(buf) is bytes else None]
    others = []
    if _SPECIFIC_CHARACTER_SET in ds._elements:  # first, whatever the caches spare below:
        charset = ctx.charset  # its warnings (an unknown term...) in every file, first
    # Only the elements present (a file has a few dozen of the fields), in one pass.
    for tag, entry in ds._elements.items():
        field = fields.get(tag)
        if field is None:
            continue
        key, as_list, cache = field
        if type(entry) is tuple:
            # A plain element as the scanner left it, (vr, length, offset): decoded as
            # Element.value would, without building the Element (this loop runs per file).
            vr, length, offset = entry
            raw = buf[offset:offset + length]
            if cache is not None:  # (never holds an ambiguous VR, "US or SS": see below)
                known = cache.get(raw)
                if known is not None and known[0] == vr:
                    value = known[1]
                    record[key] = value[:] if type(value) is list else value
                    continue
        if type(entry) is not tuple or " or " in vr:
            others.append((tag, key, as_list))  # after the loop: this may change _elements
            continue
        if not length:
            continue
        if vr in AFFECTED_VRS:
            if charset is None:
                charset = ctx.charset
            chars = charset
        else:
            chars = ()
        try:
            value = decode_value(vr, raw, little, chars)
        except ValueDecodeError as exc:
            problems.append(f"{dictionary.keyword_for(tag)}: "
                            f"{ValueDecodeError(exc.reason, offset=offset, tag=tag)}")
            continue
        kind = type(value)
        if kind is str:  # the common case, inlined
            value = value.strip()
            value = ([value] if as_list else value) if value else None
        elif kind is float or kind is int:
            value = [value] if as_list else value
        else:
            value = _plain(value, as_list)
            if type(value) is list and not as_list:
                value = _single(dictionary.keyword_for(tag) or key, value, problems)
        record[key] = value
        if cache is not None and value is not None and _cacheable(vr, raw, value):
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            cache[raw] = (vr, value[:] if type(value) is list else value)
    for tag, key, as_list in others:
        record[key] = plain_value(ds, tag, problems, as_list)
    for key in _COUNT_KEYS:  # a count must be an integer: Rows "8" (written as UT) is none
        value = record[key]
        if value is not None and type(value) is not int:
            problems.append(f"{key}: {str(value)[:40]!r} is not an integer; left out")
            record[key] = None
    for key in _TEXT_KEYS:  # an identifier is text: a UID written as FD 1.5 is none
        value = record[key]
        if value is not None and type(value) is not str:
            problems.append(f"{key}: {str(value)[:40]!r} is not text; left out")
            record[key] = None
    record.update(vendor_fields(ds, record["image_type"], problems))  # see vendor/fields.py
    record["transfer_syntax_uid"] = ds.transfer_syntax.uid if ds.transfer_syntax else None
    pixel = ds[_PIXEL_DATA] if _PIXEL_DATA in ds else None
    stopped = ds.__dict__.get("stopped_at")
    if pixel is not None:
        record["pixel_data_offset"] = pixel.offset if pixel.offset >= 0 else None
        record["pixel_data_length"] = pixel.length
    elif stopped is not None and stopped[0] == _PIXEL_DATA:  # a header-only read stopped there
        record["pixel_data_offset"], record["pixel_data_length"] = stopped[3], stopped[2]
    else:
        record["pixel_data_offset"] = record["pixel_data_length"] = None
    record["frames"] = frame_records(ds, problems) if PER_FRAME_GROUPS in ds else None
    record["problems"] = problems
    return record


def frame_records(ds: Dataset, problems: list[str] | None = None) -> list[dict[str, Any]]:
    """One record per frame of an enhanced multi-frame object: each of the FRAME_FIELDS
    from its functional group macro, the frame's own overriding the shared one (PS3.3
    C.7.6.16; ``rawdicom.functional_groups``), never from a private item. A vendor's own
    per-frame position, where it keeps one, is kept apart as
    ``vendor_image_position_patient`` (the geometry reports where it disagrees)."""
    problems = [] if problems is None else problems
    try:
        groups = FunctionalGroups(ds)
    except DicomError as exc:
        problems.append(str(exc))
        return []
    empty = {_KEYS[k]: None for k in FRAME_FIELDS}
    frames = []
    for index, item in enumerate(groups.per_frame):
        frame = empty.copy()
        for keyword, holder in groups.frame_attributes(index, problems):
            frame[_KEYS[keyword]] = plain_value(holder, keyword, problems)
        vendor = frame_position(item, problems)
        if vendor is not None:
            frame["vendor_image_position_patient"] = vendor
        frame["frame_index"] = index
        frames.append(frame)
    return frames


def record_fields() -> Iterable[str]:
    """Every key of an instance record, in column order."""
    return ("path", *(_KEYS[k] for k in FIELDS), *VENDOR_KEYS, "transfer_syntax_uid", "pixel_data_offset",
            "pixel_data_length", "frames", "problems")
