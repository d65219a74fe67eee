"""The JSON sidecar of a converted stack: BIDS names for the acquisition fields, rawdicom's
own for where the data came from and what is irregular about it.

Values are the stack's first image's (in slice order), checked before they are written: a
number must be a finite number, a time a DICOM TM. BIDS units: EchoTime, RepetitionTime and
InversionTime in seconds (DICOM gives milliseconds). A field the headers do not give is
left out, never guessed: PhaseEncodingDirection (or PhaseEncodingAxis alone, where no
polarity is stated) and SliceTiming come from :mod:`.acquisition`, which says why where it
leaves them out.
"""

from __future__ import annotations

from typing import Any, Sequence

from ..model.header_values import finite_number

__all__ = ["EXTRA_TAGS", "read_header", "sidecar", "source_files", "tm_seconds"]

#: Attributes the sidecar needs beyond the record's: read from the header of each stack's
#: first file (:func:`read_header`), not by the scan from every file.
EXTRA_TAGS = ("MagneticFieldStrength", "ConvolutionKernel", "KVP", "Exposure",
              "ImagingFrequency", "SoftwareVersions")

# (BIDS name, record key, kind): kind "text", "number", "ms" (milliseconds -> seconds),
# "int", "list" (of text).
_FIELDS = (
    ("Modality", "modality", "text"),
    ("MagneticFieldStrength", "magnetic_field_strength", "number"),
    ("ImagingFrequency", "imaging_frequency", "number"),
    ("Manufacturer", "manufacturer", "text"),
    ("ManufacturersModelName", "manufacturer_model_name", "text"),
    ("SoftwareVersions", "software_versions", "text"),
    ("SeriesDescription", "series_description", "text"),
    ("ProtocolName", "protocol_name", "text"),
    ("ImageType", "image_type", "list"),
    ("SeriesNumber", "series_number", "int"),
    ("AcquisitionNumber", "acquisition_number", "int"),
    ("SliceThickness", "slice_thickness", "number"),
    ("SpacingBetweenSlices", "spacing_between_slices", "number"),
    ("EchoTime", "echo_time", "ms"),
    ("RepetitionTime", "repetition_time", "ms"),
    ("InversionTime", "inversion_time", "ms"),
    ("FlipAngle", "flip_angle", "number"),
    ("ConvolutionKernel", "convolution_kernel", "text"),
    ("KVP", "kvp", "number"),
    ("XRayExposure", "exposure", "number"),  # Exposure (0018,1152), mAs: dcm2niix's name
)


def _number(value: Any) -> float | None:
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    return finite_number(value)


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = "\\".join(str(v) for v in value if v is not None)
    if value is None or isinstance(value, bytes):
        return None
    text = str(value).strip()
    return text or None


def tm_seconds(value: Any) -> float | None:
    """A DICOM TM (``HHMMSS.FFFFFF``, also ``HH:MM:SS``) as seconds since midnight."""
    text = _text(value)
    if text is None:
        return None
    text = text.replace(":", "")
    head, _, fraction = text.partition(".")
    if not head.isdigit() or len(head) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return None
    parts = [int(head[i:i + 2]) for i in range(0, len(head), 2)] + [0, 0]
    hours, minutes, seconds = parts[:3]
    if hours > 23 or minutes > 59 or seconds > 60:
        return None
    return hours * 3600 + minutes * 60 + seconds + (float("0." + fraction) if fraction else 0.0)


def _bids_time(seconds: float) -> str:
    """Seconds since midnight as BIDS/dcm2niix write AcquisitionTime (``10:33:45.672500``)."""
    whole = int(seconds)
    return (f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}."
            f"{round((seconds - whole) * 1e6):06d}")


def _value(record: Any, key: str, kind: str) -> Any:
    raw = record.get(key)
    if kind == "text":
        return _text(raw)
    if kind == "list":
        values = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
        out = [str(v).strip() for v in values if v is not None and str(v).strip()]
        return out or None
    number = _number(raw)
    if number is None:
        return None
    if kind == "int":
        return int(number) if number.is_integer() else None
    if kind == "ms":
        return round(number / 1000.0, 9)
    return int(number) if number.is_integer() and key == "kvp" else number


def read_header(path: str) -> Any:
    """The header (up to Pixel Data) of a stack's first file, or None where it cannot be
    read (reading its pixels then fails, with the reason)."""
    from ..errors import DicomError
    from ..reader import read
    try:
        return read(path, stop_before_pixels=True)
    except (DicomError, OSError):
        return None


def _extra(header: Any) -> dict[str, Any]:
    """The :data:`EXTRA_TAGS` of a header, under their snake_case keys, as the records'."""
    from ..model.record import plain_value, snake_case
    if header is None:
        return {}
    problems: list[str] = []
    return {snake_case(k): plain_value(header, k, problems) for k in EXTRA_TAGS if k in header}


def sidecar(stack: Any, *, series_instance_uid: str | None, reason: str,
            diagnostics: Sequence[dict[str, Any]], notes: Sequence[str] = (),
            version: str = "", header: Any = None,
            acquired: dict[str, Any] | None = None) -> dict[str, Any]:
    """The sidecar of one stack (a :class:`~rawdicom.model.stacks.Stack`, or an MRStack);
    ``header``: the dataset of its first file (:func:`read_header`), for :data:`EXTRA_TAGS`;
    ``acquired``: PhaseEncodingDirection, SliceTiming... (:mod:`.acquisition`)."""
    acquired = acquired or {}
    first = stack.instances[0]
    extra = _extra(header)
    out: dict[str, Any] = {}
    for name, key, kind in _FIELDS:
        value = _value(extra if key in extra else first, key, kind)
        if value is None and key == "echo_time":
            value = _value(first, "effective_echo_time", kind)
        if value is not None:
            out[name] = value
    echo = first.get("echo_numbers")
    echo = echo[0] if isinstance(echo, list) and len(echo) == 1 else echo
    if isinstance(echo, int) and not isinstance(echo, bool):
        out["EchoNumber"] = echo
    seconds = tm_seconds(first.get("acquisition_time"))
    if seconds is not None:
        out["AcquisitionTime"] = _bids_time(seconds)
    out.update(acquired)
    out["ConversionSoftware"] = "rawdicom"
    if version:
        out["ConversionSoftwareVersion"] = version
    out["SeriesInstanceUID"] = series_instance_uid
    out["RawdicomStack"] = {"reason": reason, "images": len(stack.instances),
                            "diagnostics": list(diagnostics), "notes": list(notes)}
    out["SourceFiles"] = source_files(stack)
    return out


def source_files(stack: Any) -> list[str]:
    """The stack's files, sorted, each once: read once per file's record, not once per
    image (a mosaic's slices and a multi-frame file's frames share their file's record)."""
    records = {id(i.record): i.record for i in stack.instances}
    return sorted({str(r.get("path")) for r in records.values()})
