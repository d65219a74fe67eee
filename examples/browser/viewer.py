"""What the browser page shows of a DICOM file: its element listing and a summary.

Runs inside Pyodide in the page (``app.js`` writes this file into Pyodide's file system and
imports it).  ``describe(data, name)`` returns a JSON string the page renders as text only.
"""

from __future__ import annotations

import json
import warnings

import rawdicom

MAX_VALUE = 96  # characters of a value shown in the listing


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, list):
        return "\\".join(_text(v) for v in value)
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def _rows(ds, depth, rows):
    for el in ds:
        tag = f"({el.tag >> 16:04X},{el.tag & 0xFFFF:04X})"
        try:
            vr = el.vr
            value = el.value
        except rawdicom.DicomError as exc:
            rows.append({"depth": depth, "tag": tag, "vr": "", "name": el.name,
                         "value": f"{type(exc).__name__}: {exc}", "error": True})
            continue
        if vr == "SQ":
            items = value or []
            rows.append({"depth": depth, "tag": tag, "vr": vr, "name": el.name,
                         "value": f"{len(items)} item{'s' if len(items) != 1 else ''}"})
            for n, item in enumerate(items, 1):
                rows.append({"depth": depth + 1, "tag": "(FFFE,E000)", "vr": "",
                             "name": f"Item {n}", "value": ""})
                _rows(item, depth + 2, rows)
        else:
            rows.append({"depth": depth, "tag": tag, "vr": vr, "name": el.name,
                         "value": _text(value)})


def _get(ds, keyword):
    try:
        return _text(ds.get(keyword))
    except rawdicom.DicomError:
        return "(unreadable)"


def describe(data: bytes, name: str = "") -> str:
    """The listing and summary of one file, as JSON; a DicomError is reported, not raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            ds = rawdicom.read(data)
        except rawdicom.DicomError as exc:
            return json.dumps({"name": name, "size": len(data),
                               "error": f"{type(exc).__name__}: {exc}"})
        rows = []
        if ds.file_meta is not None:
            _rows(ds.file_meta, 0, rows)
        _rows(ds, 0, rows)
        g = lambda k: _get(ds, k)  # noqa: E731
        rows_cols = f"{g('Rows')} × {g('Columns')}" if g("Rows") else ""
        frames = g("NumberOfFrames")
        summary = {
            "Patient": " ".join(p for p in (g("PatientName"), f"({g('PatientID')})"
                                            if g("PatientID") else "") if p),
            "Study": " ".join(p for p in (g("StudyDescription"), g("StudyDate"),
                                          g("StudyInstanceUID")) if p),
            "Series": " ".join(p for p in (f"#{g('SeriesNumber')}" if g("SeriesNumber") else "",
                                           g("SeriesDescription"), g("SeriesInstanceUID")) if p),
            "Modality": g("Modality"),
            "Transfer syntax": ds.transfer_syntax.name if ds.transfer_syntax else "",
            "Size": f"{len(data):,} bytes"
                    + (f", image {rows_cols}" if rows_cols else "")
                    + (f" × {frames} frames" if frames and frames != "1" else ""),
        }
    return json.dumps({"name": name, "size": len(data), "summary": summary, "rows": rows,
                       "elements": len(rows), "rawdicom": rawdicom.__version__,
                       "warnings": [str(w.message) for w in caught][:20]})
