"""Sidecar fields about how the slices were acquired: PhaseEncodingDirection and
SliceTiming, in the NIfTI voxel frame rawdicom writes (``i``: the DICOM column index,
``j``: the row index, ``k``: the slice axis, slices in the order of the file). Each is
written only where the headers state it, else left out with the reason (returned, for the
manifest's notes), never guessed.

PhaseEncodingDirection (BIDS: the axis, ``-`` when phase is encoded from the highest index
to the lowest): the axis from In-plane Phase Encoding Direction (ROW: ``i``, COL/COLUMN:
``j``); the polarity from Siemens' PhaseEncodingDirectionPositive (1: towards increasing
index): the CSA image header of classic and mosaic files, the per-frame ``SIEMENS MR SDI
02`` item (0021,xx1C) of XA enhanced files. dcm2niix flips the row axis, so where it writes
``j-`` rawdicom writes ``j``: the same direction in the patient. As dcm2niix, nothing for a
3-D acquisition that is not echo-planar (two phase-encoded axes). Other vendors state no
polarity: PhaseEncodingAxis alone.

SliceTiming (seconds from the first slice of a volume, one per NIfTI slice), Siemens only:

* mosaics: the CSA image header's MosaicRefAcqTimes (ms, one per tile);
* one image per slice (classic files, XA enhanced frames): each image's own acquisition
  time (Acquisition Time; Frame Acquisition DateTime for frames) less the volume's first.

Checked before written: every slice has a time, the times are not all equal, their range is
under the Repetition Time. Where a 4-D stack has more than one volume the first two are
compared: Siemens multiband runs (XA, and CMRR's sequences) report single-band timing for
the first volume, so where the second differs and is itself sound, the second's is written
(dcm2niix does the same) and the notes say so. A single XA volume cannot be checked: left
out, with the reason.
"""

from __future__ import annotations

import datetime
import math
from typing import Any, Sequence

__all__ = ["phase_encoding", "slice_timing"]

_SDI = "SIEMENS MR SDI 02"
_SDI_ITEM = 0x002111FE  # (0021,11FE): the SDI sequence of a per-frame item (block 0x11)
_AXIS = {"ROW": "i", "COL": "j", "COLUMN": "j"}
_EPOCH = datetime.date(2000, 1, 1).toordinal()


def _private(item: Any, group: int, creator: str, element: int) -> Any:
    """The value of (group,xxee) in the block ``creator`` reserved in ``item``; None."""
    for block in range(0x10, 0x100):
        tag = group << 16 | block
        if tag not in item:
            continue
        try:
            found = str(item[tag].value).strip()
        except Exception:  # noqa: BLE001 - a creator that does not decode names nothing
            continue
        if found == creator:
            target = group << 16 | block << 8 | element
            return item[target].value if target in item else None
    return None


def _value(ds: Any, keyword: str) -> Any:
    """``ds.get(keyword)``, None where the dataset is absent or the value does not decode:
    a damaged optional field leaves a sidecar field out, never fails the stack."""
    from ..errors import DicomError
    if ds is None:
        return None
    try:
        return ds.get(keyword)
    except (DicomError, ValueError, TypeError):
        return None


def _first_item(ds: Any, keyword: str) -> Any:
    try:
        items = _value(ds, keyword)
        return items[0] if items else None
    except Exception:  # noqa: BLE001 - an undecodable sequence gives nothing
        return None


def _in_plane_direction(first: Any, header: Any) -> str | None:
    value = first.get("in_plane_phase_encoding_direction")
    if value is None and header is not None:  # enhanced: in MR FOV/Geometry, shared or per frame
        for groups in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
            group = _first_item(header, groups)
            fov = _first_item(group, "MRFOVGeometrySequence") if group is not None else None
            if fov is not None and _value(fov, "InPlanePhaseEncodingDirection"):
                value = _value(fov, "InPlanePhaseEncodingDirection")
                break
    return str(value).strip().upper() if value is not None else None


def _polarity(header: Any, frame: int | None) -> int | None:
    """Siemens PhaseEncodingDirectionPositive (0 or 1) of the image, else None."""
    from ..vendor.siemens import csa_header
    if header is None:
        return None
    try:
        csa = csa_header(header)
    except Exception:  # noqa: BLE001 - a damaged CSA header states nothing
        csa = None
    values = csa.get("PhaseEncodingDirectionPositive") if csa else None
    if values is None:
        try:
            items = header.get("PerFrameFunctionalGroupsSequence") or []
            item = items[frame or 0] if len(items) > (frame or 0) else None
            sdi = item[_SDI_ITEM].value[0] if item is not None and _SDI_ITEM in item else None
            values = [_private(sdi, 0x0021, _SDI, 0x1C)] if sdi is not None else None
        except Exception:  # noqa: BLE001 - a damaged private item states nothing
            values = None
    try:
        value = int(str(values[0]).strip()) if values else None
    except ValueError:
        return None
    return value if value in (0, 1) else None


def phase_encoding(first: Any, header: Any) -> tuple[dict[str, str], str | None]:
    """The sidecar's PhaseEncodingDirection (or PhaseEncodingAxis alone), and why the
    polarity is not given where it is not."""
    axis = _AXIS.get(_in_plane_direction(first, header) or "")
    if axis is None:
        return {}, None
    acquisition = str(first.get("mr_acquisition_type") or
                      _value(header, "MRAcquisitionType") or "")
    train = _value(header, "EchoTrainLength")
    if acquisition.strip().upper() == "3D" and not (isinstance(train, int) and train > 1):
        return {"PhaseEncodingAxis": axis}, None  # dcm2niix: no direction for 3-D non-EPI
    positive = _polarity(header, getattr(first, "frame", None))
    if positive is None:
        return {"PhaseEncodingAxis": axis}, None
    return {"PhaseEncodingDirection": axis + ("" if positive else "-")}, None


def _seconds(value: Any, frame: bool) -> float | None:
    """A TM (classic) or a DT (a frame's), as seconds; None when it is not one."""
    from .sidecar import tm_seconds
    if value is None:
        return None
    text = str(value).strip()
    if not frame:
        return tm_seconds(text)
    for sign in "+-":
        text = text.split(sign)[0]  # a UTC offset
    if len(text) < 14 or not text[:8].isdigit():
        return None
    try:
        day = datetime.date(int(text[:4]), int(text[4:6]), int(text[6:8])).toordinal()
    except ValueError:
        return None
    seconds = tm_seconds(text[8:])
    return None if seconds is None else (day - _EPOCH) * 86400.0 + seconds  # 0.1 us steps


def _relative(times: Sequence[float | None], tr: float | None) -> tuple[list[float] | None, str]:
    """Times less their minimum, in seconds; or None and why they are not sound."""
    if any(t is None or not math.isfinite(t) for t in times):
        return None, "a slice has no acquisition time"
    low = min(times)  # type: ignore[type-var]
    out = [round(t - low, 6) for t in times]  # type: ignore[operator]
    if max(out) == 0:
        return None, "every slice has the same acquisition time"
    if tr is not None and max(out) >= tr:
        return None, f"the times span {max(out):g} s, not under the Repetition Time {tr:g} s"
    return out, ""


def _image_times(images: Sequence[Any], slots: Sequence[int], count: int,
                 headers: dict[str, Any]) -> list[float | None]:
    """Classic files: Acquisition Time; frames of enhanced files: the per-frame SDI item's
    TimeAfterStart (0021,xx04; seconds, what dcm2niix reads), else Frame Acquisition
    DateTime (a few ms apart from it on XA60)."""
    out: list[float | None] = [None] * count
    for inst, slot in zip(images, slots):
        frame = getattr(inst, "frame", None)
        if out[slot] is not None:
            continue
        if frame is None:
            out[slot] = _seconds(inst.get("acquisition_time"), False)
            continue
        after = _time_after_start(headers, str(inst.get("path")), frame)
        out[slot] = after if after is not None else \
            _seconds(inst.get("frame_acquisition_date_time"), True)
    return out


def _time_after_start(headers: dict[str, Any], path: str, frame: int) -> float | None:
    from .sidecar import read_header
    if path not in headers:
        headers[path] = read_header(path)
    try:
        items = headers[path].get("PerFrameFunctionalGroupsSequence") or []
        item = items[frame] if frame < len(items) else None
        sdi = item[_SDI_ITEM].value[0] if item is not None and _SDI_ITEM in item else None
        value = _private(sdi, 0x0021, _SDI, 0x04) if sdi is not None else None
        value = float(value[0] if isinstance(value, (list, tuple)) else value)
    except Exception:  # noqa: BLE001 - absent or damaged: the public time instead
        return None
    return value if math.isfinite(value) else None


def _mosaic_times(images: Sequence[Any], slots: Sequence[int], count: int,
                  headers: dict[str, Any]) -> list[float | None]:
    from ..vendor.siemens import csa_header
    from .sidecar import read_header
    out: list[float | None] = [None] * count
    path = str(images[0].get("path"))
    try:
        if path not in headers:
            headers[path] = read_header(path)
        times = csa_header(headers[path]).mosaic_ref_acq_times  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - no readable CSA times: no slice timing
        return out
    if not times:
        raise _NoTimes("the CSA header gives no MosaicRefAcqTimes (syngo before B15: "
                       "dcm2niix derives times from the protocol's slice order; rawdicom "
                       "does not)")
    for inst, slot in zip(images, slots):
        tile = inst.get("mosaic_tile")
        if times and isinstance(tile, int) and 0 <= tile < len(times) and out[slot] is None:
            out[slot] = times[tile] / 1000.0
    return out


class _NoTimes(Exception):
    """The headers give no times at all: the reason."""


def slice_timing(stack: Any, geometry: Any, header: Any) -> tuple[list[float] | None, str]:
    """The SliceTiming of a stack (one value per NIfTI slice), or None and why not (an
    empty reason where the headers are not a vendor's that states it)."""
    from ..model import mosaic
    first = stack.instances[0]
    maker = str(first.get("manufacturer") or "").upper()
    if "SIEMENS" not in maker or str(first.get("modality") or "").upper() != "MR":
        return None, ""
    volumes = getattr(stack, "volumes", None) or [stack.instances]
    slots, count = list(geometry.slice_index), int(geometry.shape[0])
    tr = first.get("repetition_time")
    tr = float(tr) / 1000.0 if isinstance(tr, (int, float)) and tr > 0 else None
    mosaics = isinstance(volumes[0][0], mosaic.MosaicSlice)
    times_of = _mosaic_times if mosaics else _image_times
    headers = {str(first.get("path")): header}  # each file's header read once
    try:
        own, why = _relative(times_of(volumes[0], slots, count, headers), tr)
    except _NoTimes as exc:
        return None, f"SliceTiming left out: {exc}"
    if len(volumes) < 2 or len(volumes[1]) != len(volumes[0]):
        software = str(_value(header, "SoftwareVersions") or "")
        if own is not None and not mosaics and "XA" in software.upper():
            return None, ("SliceTiming left out: one volume of Siemens XA, whose first "
                          "volume may report single-band times for a multiband run")
        return own, "" if own is not None else f"SliceTiming left out: {why}"
    try:
        second, why2 = _relative(times_of(volumes[1], slots, count, headers), tr)
    except _NoTimes as exc:
        second, why2 = None, str(exc)
    if own is not None and second is not None and \
            all(abs(a - b) < 5e-4 for a, b in zip(own, second)):
        return own, ""
    if second is not None:
        return second, ("SliceTiming from the second volume: the first volume's times differ "
                        "(Siemens multiband runs report single-band times for the first)")
    return None, f"SliceTiming left out: {why2 or why}"
