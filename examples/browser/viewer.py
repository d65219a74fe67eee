"""What the browser page shows of DICOM files: their tree, an image windowed, a file's summary
and its bytes explained.

Runs inside Pyodide, in the page's Web Worker (``worker.js`` writes this file into Pyodide's
file system and imports it); the files the user opened are mounted read-only under a folder
(WORKERFS: read when Python asks, never copied whole).  Every function returns plain JSON
text; a ``rawdicom.DicomError`` is reported as its one line, never raised.  The same module
runs under CPython in the tests, which compare what the page shows with it.  (``image``,
``windowed`` and ``space_bytes`` also return bytes: the image's, and a window of a file's
bytes.)

Pyodide's npm package carries no numpy, and nothing here needs it: the tree's geometry
checks are rawdicom's plain-Python analysis, and the grey images are windowed by
``rawdicom.window`` itself, which works on ``array.array`` values without numpy; the page
only puts the bytes it returns on the canvas.
"""

from __future__ import annotations

import json
import os
import warnings
from array import array
from typing import Any

import rawdicom
from rawdicom import dictionary
from rawdicom.cli.tree import lines as tree_lines
from rawdicom.explain import explain
from rawdicom.pixels.windowing import WindowMap

MAX_VALUE = 96  # characters of a value shown in the summary
MAX_ENTRIES = 20_000  # explain entries listed for one file (the rest are counted)
PIXEL_DATA = 0x7FE00010
#: Transfer syntaxes whose frames the browser decodes itself (createImageBitmap).
BROWSER_DECODES = {"1.2.840.10008.1.2.4.50": "image/jpeg"}  # JPEG Baseline (Process 1)


def _text(value: Any) -> str:
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


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


# -- the tree -----------------------------------------------------------------------------------
def _image_json(inst: Any) -> dict[str, Any]:
    return {"path": inst.path, "frame": inst.frame,
            "position": inst.get("image_position_patient"),
            "orientation": inst.get("image_orientation_patient"),
            "instance_number": inst.get("instance_number")}


def _images_json(inst: Any) -> list[dict[str, Any]]:
    """The images of an instance: its frames, when a multi-frame file is not split into
    frames by the model (a cine loop, no per-frame positions), else itself.

    Number of Frames is believed only as far as the file's size allows (every frame needs
    its bytes, or at least an item header of 8 when encapsulated): a header claiming 2**31
    frames lists no more frames than the file can hold.
    """
    frames = inst.get("number_of_frames")
    if inst.frame is not None or not isinstance(frames, int) or frames <= 1:
        return [_image_json(inst)]
    syntax = dictionary.transfer_syntax(inst.get("transfer_syntax_uid") or "")
    native = 1
    if syntax is None or not syntax.encapsulated:
        for key in ("rows", "columns", "samples_per_pixel", "bits_allocated"):
            value = inst.get(key)
            native *= value if isinstance(value, int) and value > 0 else 1
    try:
        size = os.path.getsize(inst.path)
    except OSError:
        size = 0
    frames = min(frames, max(1, size // max(8, native // 8)))
    return [{**_image_json(inst), "frame": index} for index in range(frames)]


def open_folder(root: str, label: str) -> str:
    """Scan ``root`` (one process): the tree as ``rawdicom tree`` prints it, and every
    series' stacks with their images in slice order (what the page scrolls through)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        collection = rawdicom.scan(root, workers=1)
    shown = lambda p: os.path.relpath(p, root)  # noqa: E731  (paths as the user named them)
    failed = [f"{shown(path)}: {error}" for path, error in collection.failed]
    if not collection.instances:
        # One file that is not DICOM: the reader's own one-line error says why.
        errors = failed or [f"{shown(p)}: {_read_error(p)}" for p in collection.skipped[:20]]
        return json.dumps({"label": label, "error": errors[0] if len(errors) == 1 else
                           f"no DICOM file in {label}", "failed": errors})
    series = []
    for s in collection.series:
        stacks = []
        for index, stack in enumerate(s.stacks(), 1):
            stacks.append({"reason": stack.reason, "index": index,
                           "images": [image for inst in stack.instances
                                      for image in _images_json(inst)]})
        series.append({"number": s.series_number, "modality": s.modality,
                       "description": s.series_description, "instances": len(s),
                       "stacks": stacks})
    lines = tree_lines(label, collection)
    return json.dumps({"label": label, "tree": lines, "series": series, "failed": failed,
                       "skipped": [shown(p) for p in collection.skipped]})


def _read_error(path: str) -> str:
    try:
        rawdicom.read(path, stop_before_pixels=True)
    except rawdicom.DicomError as exc:
        return _error(exc)
    except OSError as exc:
        return exc.strerror or str(exc)
    return "not read as DICOM"


def warm_up() -> None:
    """Import what the first folder and the first file will need, while the page loads (the
    first file then opens as fast as the next)."""
    import tempfile
    with tempfile.TemporaryDirectory() as empty:
        open_folder(empty, "")
    explain(b"")


# -- one image ------------------------------------------------------------------------------
def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _number(ds: Any, keyword: str) -> Any:
    try:
        value = _first(ds.get(keyword))
    except rawdicom.DicomError:
        return None
    return value if isinstance(value, (int, float)) else None


def image(path: str, frame: int | None = None, window: str | None = None
          ) -> tuple[str, list[bytes]]:
    """One frame of ``path``: (JSON of what the page shows of it, its bytes).

    Grey images (native): the bytes are the frame windowed by ``rawdicom.window`` (the
    ``window`` asked for, as JSON ``{center, width, function}``, else the file's own, else
    the range of its values, as ``rawdicom.to_uint8``), then its stored values and its
    modality values (for the value under the cursor: arrays of the typecodes in
    ``value_types``, in the machine's byte order). Colour images: the frame's
    bytes as stored. JPEG Baseline: the compressed frame, for the browser to decode. An
    image this page cannot draw gets a ``no_image`` line saying why (the transfer syntax,
    the photometric interpretation) and no bytes; a DicomError an ``error`` line.
    """
    name = os.path.basename(path)
    try:
        ds = rawdicom.read(path)
        meta, data = _image(ds, frame)
    except rawdicom.DicomError as exc:
        return json.dumps({"error": f"{name}: {_error(exc)}"}), []
    meta["summary"] = summary(ds, os.path.getsize(path))
    if data is None or meta["encoding"] != "native" or meta["samples"] != 1:
        _SHOWN.clear()
        return json.dumps(meta), [] if data is None else [data]
    stored = _stored_values(data, meta)
    values = _modality_values(stored, meta)
    meta["own_window"] = own = _own_window(meta, values)
    chosen = json.loads(window) if window else own
    out_range = (255, 0) if meta["photometric"] == "MONOCHROME1" else (0, 255)
    _SHOWN.clear()
    _SHOWN.update(key=(path, frame or 0), values=values, out_range=out_range)
    meta["window"] = chosen
    meta["value_types"] = [stored.typecode, values.typecode]  # of the two arrays that follow
    return json.dumps(meta), [_window(values, chosen, out_range), stored.tobytes(),
                              values.tobytes()]


_SHOWN: dict[str, Any] = {}  # the grey image shown last: its modality values, for windowed


def windowed(path: str, frame: int | None, center: float, width: float, function: str
             ) -> bytes | None:
    """The grey image shown last (``path``, ``frame``) in another window, as ``image`` gives
    it; None when another image was shown since."""
    if _SHOWN.get("key") != (path, frame or 0):
        return None
    return _window(_SHOWN["values"], {"center": center, "width": width, "function": function},
                   _SHOWN["out_range"])


def _window(values: Any, window: dict[str, Any], out_range: tuple[int, int]) -> bytes:
    return rawdicom.window(values, window["center"], window["width"], window["function"],
                           out_range=out_range).tobytes()


# Array typecodes of stored values: (Bits Allocated, Pixel Representation) -> code.
_CODES = {(8, 0): "B", (8, 1): "b", (16, 0): "H", (16, 1): "h", (32, 0): "I", (32, 1): "i"}


def _stored_values(data: bytes, meta: dict[str, Any]) -> array:
    """The frame's stored values, as rawdicom's pixel layer gives them: Bits Allocated words
    in the dataset's byte order, the bits above Bits Stored cleared (unsigned) or the sign
    extended from Bits Stored (signed)."""
    allocated, signed = meta["bits_allocated"], meta["pixel_representation"] == 1
    values = array(_CODES[allocated, int(signed)])
    assert values.itemsize * 8 == allocated
    values.frombytes(data)
    if not meta["little_endian"] and allocated > 8:
        values.byteswap()
    stored = min(meta["bits_stored"] or allocated, allocated)
    if stored < allocated and values:
        lo, hi = (-(1 << (stored - 1)), (1 << (stored - 1)) - 1) if signed else (0, (1 << stored) - 1)
        if not lo <= min(values) <= max(values) <= hi:  # bits above Bits Stored are set
            mask, sign = (1 << stored) - 1, 1 << (stored - 1)
            values = array(values.typecode,
                           [((v & mask) ^ sign) - sign if signed else v & mask for v in values])
    return values


def _modality_values(stored: array, meta: dict[str, Any]) -> array:
    """Modality values (HU for CT) as ``rawdicom.modality_lut`` computes them from Rescale
    Slope and Intercept: exact integers when both are integral (32-bit when they fit),
    else float64 ``stored * slope + intercept``; the stored values themselves without a
    rescale."""
    slope, intercept = meta.get("slope", 1.0), meta.get("intercept", 0.0)
    if slope == 1.0 and intercept == 0.0 or not stored:
        return stored
    if slope.is_integer() and intercept.is_integer():
        s, b = int(slope), int(intercept)
        bits = 8 * stored.itemsize  # the ends of the stored type (no pass over the values)
        lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if stored.typecode.islower() \
            else (0, (1 << bits) - 1)
        ends = (lo * s + b, hi * s + b)
        if -(1 << 31) <= min(ends) and max(ends) < 1 << 31:
            return array("i", [v * s + b for v in stored])
    # int * float is float(int) * float: numpy's astype(float64) * slope, then + intercept
    return array("d", [v * slope + intercept for v in stored])


def _own_window(meta: dict[str, Any], values: array) -> dict[str, Any]:
    """The file's window, else (none, or one the standard does not allow) the range of the
    values, as ``rawdicom.to_uint8`` shows an image without a window."""
    if "center" in meta and "width" in meta:
        own = {"center": meta["center"], "width": meta["width"],
               "function": meta.get("function", "LINEAR"),
               "name": meta["window_explanation"] or "the file's window"}
        try:
            WindowMap(own["center"], own["width"], own["function"])
            return own
        except ValueError as exc:
            meta["note"] = f"the file's window is not shown: {exc}"
    lo, hi = (float(min(values)), float(max(values))) if values else (0.0, 0.0)
    if hi > lo:
        return {"center": (lo + hi) / 2, "width": hi - lo, "function": "LINEAR_EXACT",
                "name": "min..max"}
    # one value: every pixel the lowest output, as to_uint8 gives it
    return {"center": lo + 0.5, "width": 1.0, "function": "LINEAR_EXACT", "name": "flat image"}


def _image(ds: Any, frame: int | None) -> tuple[dict[str, Any], bytes | None]:
    syntax = ds.transfer_syntax
    index = frame or 0
    meta: dict[str, Any] = {
        "rows": _number(ds, "Rows"), "columns": _number(ds, "Columns"),
        "bits_allocated": _number(ds, "BitsAllocated"), "bits_stored": _number(ds, "BitsStored"),
        "pixel_representation": _number(ds, "PixelRepresentation") or 0,
        "samples": _number(ds, "SamplesPerPixel") or 1,
        "planar": _number(ds, "PlanarConfiguration") or 0,
        "photometric": _text(ds.get("PhotometricInterpretation")),
        "frames": _number(ds, "NumberOfFrames") or 1, "frame": index,
        "little_endian": syntax.little_endian if syntax else True,
        "syntax": syntax.name if syntax else "",
        "rescale_type": _text(ds.get("RescaleType")), "units": _text(ds.get("Units")),
        "window_explanation": _text(_first(ds.get("WindowCenterWidthExplanation"))),
    }
    meta.update(_pixel_values(ds, index))
    meta["no_image"] = _cannot_show(ds, meta)
    if meta["no_image"]:
        return meta, None
    element = ds[PIXEL_DATA]
    if element.encapsulated is not None:
        frames = element.encapsulated.frames(meta["frames"])
        if index >= len(frames):
            raise rawdicom.PixelDataError(f"frame {index} asked for, {len(frames)} found",
                                          tag=PIXEL_DATA)
        meta["encoding"] = BROWSER_DECODES[syntax.uid]
        encoded = bytes(frames[index])
        if meta["photometric"] == "RGB":
            encoded = _untransformed(encoded)
        return meta, encoded
    size = meta["rows"] * meta["columns"] * meta["samples"] * meta["bits_allocated"] // 8
    raw = element.raw
    if (index + 1) * size > len(raw):
        raise rawdicom.PixelDataError(
            f"frame {index} needs bytes {index * size}..{(index + 1) * size} of Pixel Data, "
            f"which holds {len(raw)}", tag=PIXEL_DATA, offset=element.offset)
    meta["encoding"] = "native"
    return meta, bytes(raw[index * size:(index + 1) * size])


# An Adobe APP14 segment saying "no colour transform" (transform 0): the samples are RGB.
_ADOBE_RGB = b"\xff\xee\x00\x0eAdobe\x00\x64\x00\x00\x00\x00\x00"


def _untransformed(jpeg: bytes) -> bytes:
    """A JPEG whose Photometric Interpretation is RGB, marked so that the browser keeps it RGB.

    Without a JFIF or Adobe marker a decoder takes three components for YCbCr and converts
    them (libjpeg's rule), where DICOM's RGB says they were never transformed (PS3.5
    8.2.1). An Adobe marker with transform 0 after SOI says so to the browser's decoder; a
    stream that already has a JFIF or an Adobe marker is left as it is.
    """
    pos = 2
    while jpeg[:2] == b"\xff\xd8" and pos + 4 <= len(jpeg) and jpeg[pos] == 0xFF:
        marker = jpeg[pos + 1]
        if not 0xE0 <= marker <= 0xEF and marker != 0xFE:  # past the APPn and COM segments
            break
        if marker in (0xE0, 0xEE):  # JFIF (APP0) or Adobe (APP14): the stream says itself
            return jpeg
        pos += 2 + int.from_bytes(jpeg[pos + 2:pos + 4], "big")
    return jpeg[:2] + _ADOBE_RGB + jpeg[2:] if jpeg[:2] == b"\xff\xd8" else jpeg


def _pixel_values(ds: Any, index: int) -> dict[str, Any]:
    """Rescale and window: the frame's own (enhanced objects' functional groups), else the
    file's, as rawdicom's pixel layer takes them."""
    values: dict[str, Any] = {}
    sources = [ds]
    for keyword in ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence"):
        try:
            items = ds.get(keyword) or []
        except rawdicom.DicomError:
            items = []
        item = items[0] if keyword.startswith("Shared") and items else (
            items[index] if index < len(items) else None)
        if item is not None:
            for macro in ("PixelValueTransformationSequence", "FrameVOILUTSequence"):
                inner = item.get(macro) or []
                if inner:
                    sources.append(inner[0])
    for src in sources:  # later sources (the frame's own) win
        for keyword, key in (("RescaleSlope", "slope"), ("RescaleIntercept", "intercept"),
                             ("WindowCenter", "center"), ("WindowWidth", "width")):
            number = _number(src, keyword)
            if number is not None:
                values[key] = float(number)
        function = src.get("VOILUTFunction")
        if isinstance(function, str) and function:
            values["function"] = function.strip().upper()
        rescale_type = src.get("RescaleType")
        if isinstance(rescale_type, str) and rescale_type:
            values["rescale_type"] = rescale_type
    return values


def _cannot_show(ds: Any, meta: dict[str, Any]) -> str | None:
    """Why this page cannot draw the image (one line), or None."""
    if PIXEL_DATA not in ds:
        return "no Pixel Data: nothing to show"
    syntax = ds.transfer_syntax
    cli = "the command line shows it (rawdicom png FILE)"
    if syntax is not None and syntax.encapsulated and syntax.uid not in BROWSER_DECODES:
        return (f"{syntax.name} ({syntax.uid}) cannot be decoded in the browser (it needs "
                f"imagecodecs); {cli}")
    for key in ("rows", "columns", "bits_allocated"):
        if not meta[key]:
            return f"{key.replace('_', ' ').title()} missing: no image to show"
    photometric = meta["photometric"]
    if syntax is not None and syntax.uid in BROWSER_DECODES:
        return None
    if meta["bits_allocated"] not in (8, 16, 32) or meta["samples"] not in (1, 3):
        return (f"Bits Allocated {meta['bits_allocated']} with {meta['samples']} sample(s) "
                f"per pixel is not shown in the browser; {cli}")
    if meta["samples"] == 1 and photometric not in ("MONOCHROME1", "MONOCHROME2"):
        what = photometric or "no Photometric Interpretation"
        return f"{what} is not shown in the browser; {cli}"
    if meta["samples"] == 3 and (meta["bits_allocated"] != 8
                                 or photometric != "RGB"):
        return (f"{photometric} with {meta['bits_allocated']} bits is not shown in the "
                f"browser; {cli}")
    for sequence in ("ModalityLUTSequence", "VOILUTSequence"):
        if sequence in ds:
            meta["note"] = f"{sequence} not applied in the browser (rescale and window only)"
    return None


# -- one file's header ---------------------------------------------------------------------
def summary(ds: Any, size: int) -> dict[str, str]:
    def g(keyword: str) -> str:
        try:
            return _text(ds.get(keyword))
        except rawdicom.DicomError:
            return "(unreadable)"

    rows_cols = f"{g('Rows')} × {g('Columns')}" if g("Rows") else ""
    frames = g("NumberOfFrames")
    return {
        "Patient": " ".join(p for p in (g("PatientName"), f"({g('PatientID')})"
                                        if g("PatientID") else "") if p),
        "Study": " ".join(p for p in (g("StudyDescription"), g("StudyDate"),
                                      g("StudyInstanceUID")) if p),
        "Series": " ".join(p for p in (f"#{g('SeriesNumber')}" if g("SeriesNumber") else "",
                                       g("SeriesDescription"), g("SeriesInstanceUID")) if p),
        "Modality": g("Modality"),
        "Transfer syntax": ds.transfer_syntax.name if ds.transfer_syntax else "",
        "Size": f"{size:,} bytes" + (f", image {rows_cols}" if rows_cols else "")
                + (f" × {frames} frames" if frames and frames != "1" else ""),
    }


def explained(path: str) -> str:
    """``rawdicom.explain`` of the file: every entry with its parts' offsets, roles and
    meanings (the first MAX_ENTRIES entries), and the problem that ended the walk."""
    with open(path, "rb") as f:
        data = f.read()
    explanation = explain(data)
    _SPACES.clear()
    _SPACES.update(explanation.data)
    entries = []
    for entry in explanation.entries[:MAX_ENTRIES]:
        entries.append({"kind": entry.kind, "depth": entry.depth, "title": entry.title,
                        "tag": None if entry.tag is None else f"{entry.tag:08X}",
                        "parts": [[p.start, p.end, p.role, p.meaning, p.space]
                                  for p in entry.parts]})
    syntax = dictionary.transfer_syntax(_meta_syntax(explanation))
    return json.dumps({"name": os.path.basename(path), "size": len(data), "entries": entries,
                       "syntax": syntax.name if syntax else None,
                       "total": len(explanation.entries), "problem": explanation.problem,
                       "spaces": sorted(explanation.data)})


def _meta_syntax(explanation: Any) -> str:
    """The Transfer Syntax UID the meta group gives ("" when it gives none)."""
    for entry in explanation.entries:
        if entry.tag == 0x00020010 and entry.parts[-1].role == "value":
            value = entry.parts[-1]
            return explanation.data[value.space][value.start:value.end].decode(
                "ascii", "replace").strip("\0 ")
    return ""


_SPACES: dict[str, bytes] = {}  # the byte spaces of the file explained last


def space_bytes(space: str, start: int, end: int) -> bytes:
    """Bytes start:end of a byte space of the file explained last (``file``, or
    ``inflated``: its deflated dataset inflated)."""
    return bytes(_SPACES.get(space, b"")[start:end])
