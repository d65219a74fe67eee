"""Vendor MR fields of an instance record: mosaic count, slice normal, b-value, gradient.

Private elements have no fixed tag: (gggg,xxee) lives in whichever block ``xx`` the
dataset's own creator element (gggg,00xx) reserved for its creator. A header-only read
(``read(tags=...)``) keeps only the tags it is asked for, so :data:`VENDOR_TAGS` asks for
the creator elements of the groups below and for each candidate element under each of the
blocks 10-1F (:data:`BLOCKS`; 336 tags); :func:`vendor_fields` then keeps the elements
whose block belongs to the expected creator. The CSA image header is
parsed only for mosaics (its slice normal and count are what mosaics need; classic Siemens
files carry the b-value and gradient in group 0019). Anonymisers and old PACS often drop
the creator (0029,0010) "SIEMENS CSA HEADER" and keep (0029,1010): an element in the CSA's
place whose block has no creator at all is taken when its bytes are a CSA header
(:func:`rawdicom.vendor.siemens.looks_like_csa`), and ``csa_without_creator`` says so.

A number that does not fit a float (an IS of 400 digits) or is not finite counts as absent
and the record's ``problems`` say so: these values drive geometry, never an exception.

Record keys (None when absent), added to every record:

``mosaic_images``
    Siemens NumberOfImagesInMosaic: (0019,xx0A) under ``SIEMENS MR HEADER``, else the
    CSA image header's ``NumberOfImagesInMosaic``.
``csa_slice_normal``
    Siemens CSA image header ``SliceNormalVector`` [x, y, z] (LPS), mosaics only.
``vendor_b_value``
    s/mm²: Siemens (0019,xx0C) (else CSA ``B_value`` for mosaics), GE (0043,xx39) first
    value with the 10^9 offset of some software versions removed (:func:`ge_b_value`),
    Philips (2001,xx03).
``vendor_gradient``
    [x, y, z] unit vector: Siemens (0019,xx0E) (else CSA ``DiffusionGradientDirection``)
    and Philips (2005,xxB0/B1/B2) in patient LPS; GE (0019,xxBB/BC/BD) in the GE logical
    frame (frequency, phase, slice; ``rawdicom.model.diffusion`` maps it to LPS). ``vendor_gradient_frame`` says which: ``"patient"``
    or ``"ge_logical"``.
``in_plane_phase_encoding_direction``
    (0018,1312) ROW/COL: GE's logical frame depends on it.
``vendor_image_kind``
    GE (0043,xx2F) image type: ``M``, ``P``, ``R``, ``I`` (magnitude, phase, real,
    imaginary); a key that splits stacks.
``coil``
    Siemens (0051,xx0F) coil element string (uncombined coil images): splits stacks.
``patient_position``
    (0018,5100) HFS, FFS...: GE's gradient frame is known only for HFS.
``csa_without_creator``
    The tag, as ``(0029,1010)``, of a CSA image header read without its private creator.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import DicomError
from ..values import decode_value
from .siemens import looks_like_csa, parse_csa

__all__ = ["VENDOR_TAGS", "VENDOR_KEYS", "vendor_fields", "ge_b_value"]

SIEMENS_MR = "SIEMENS MR HEADER"
SIEMENS_CSA = "SIEMENS CSA HEADER"
GE_ACQU = "GEMS_ACQU_01"
GE_PARM = "GEMS_PARM_01"
PHILIPS_IMAGING = "Philips Imaging DD 001"
PHILIPS_MR = "Philips MR Imaging DD 001"

# (group, element byte, creator, record key, VR used when the file's VR is UN/unknown).
_CANDIDATES: tuple[tuple[int, int, str, str, str], ...] = (
    (0x0019, 0x0A, SIEMENS_MR, "siemens_mosaic", "US"),
    (0x0019, 0x0C, SIEMENS_MR, "siemens_b", "IS"),
    (0x0019, 0x0E, SIEMENS_MR, "siemens_gradient", "FD"),
    (0x0019, 0xBB, GE_ACQU, "ge_gx", "DS"),
    (0x0019, 0xBC, GE_ACQU, "ge_gy", "DS"),
    (0x0019, 0xBD, GE_ACQU, "ge_gz", "DS"),
    (0x0029, 0x10, SIEMENS_CSA, "csa_image", "OB"),
    (0x0043, 0x39, GE_PARM, "ge_b", "IS"),
    (0x0043, 0x2F, GE_PARM, "ge_kind", "SS"),
    (0x0051, 0x0F, SIEMENS_MR, "siemens_coil", "LO"),
    (0x2001, 0x03, PHILIPS_IMAGING, "philips_b", "FL"),
    (0x2005, 0xB0, PHILIPS_MR, "philips_gx", "FL"),
    (0x2005, 0xB1, PHILIPS_MR, "philips_gy", "FL"),
    (0x2005, 0xB2, PHILIPS_MR, "philips_gz", "FL"),
)
_GROUPS = frozenset(g for g, *_ in _CANDIDATES)
_BY_GROUP_ELEMENT = {(g, e): (creator, name, vr) for g, e, creator, name, vr in _CANDIDATES}
_PHASE_ENCODING = 0x00181312
_PATIENT_POSITION = 0x00185100

#: Private blocks searched: (gggg,0010)-(gggg,001F). Scanners put these creators in the
#: first blocks (0x10, 0x11 when a second creator shares the group); asking for all 240
#: blocks would make every header-only read keep a set of 5,000 tags (2x slower scans).
BLOCKS = range(0x10, 0x20)
#: Tags a header-only read must keep for :func:`vendor_fields` (creators and candidates).
VENDOR_TAGS: tuple[int, ...] = tuple(sorted(
    {g << 16 | block for g in _GROUPS for block in BLOCKS}
    | {g << 16 | block << 8 | e for g, e, *_ in _CANDIDATES for block in BLOCKS}
    | {_PHASE_ENCODING, _PATIENT_POSITION}))

VENDOR_KEYS: tuple[str, ...] = (
    "mosaic_images", "csa_slice_normal", "vendor_b_value", "vendor_gradient",
    "vendor_gradient_frame", "in_plane_phase_encoding_direction", "vendor_image_kind", "coil",
    "patient_position", "csa_without_creator")

_GE_KINDS = {0: "M", 1: "P", 2: "R", 3: "I"}


def ge_b_value(value: float) -> float:
    """GE (0043,xx39)'s first value as a b-value: some software versions add 10^9 (and
    multiples of it) to it; what is left below 10^9 is the b-value (dcm2niix does the same:
    tested in tests/test_mr_dcm2niix.py)."""
    return math.fmod(value, 1e9) if value >= 1e9 else value


def _text(raw: bytes) -> str:
    return raw.decode("latin-1").strip(" \0")


def _decode(ds: Any, tag: int, vr_default: str, problems: list[str]) -> Any:
    """The value of a private element: by its own VR, or the expected one when the file
    gives none (implicit VR without a private dictionary entry, UN)."""
    element = ds[tag]
    try:
        if vr_default == "OB":  # the CSA header: little endian bytes whatever the VR says
            return bytes(element.raw)
        vr = element.vr
        if vr in ("UN", "OB", "??") or not vr:
            return decode_value(vr_default, bytes(element.raw), ds._ctx.little_endian, ())
        return element.value
    except (DicomError, ValueError) as exc:
        problems.append(f"({tag >> 16:04X},{tag & 0xFFFF:04X}): {exc}")
        return None


def _numbers(value: Any, n: int | None = None, problems: list[str] | None = None,
             name: str = "") -> list[float] | None:
    """``value`` as ``n`` (or any number of) finite floats, else None; a value too large for
    a float or not finite is noted in ``problems``."""
    if value is None:
        return None
    values = value if isinstance(value, (list, tuple)) else [value]
    try:
        out = [float(v) for v in values]
    except (TypeError, ValueError):
        return None
    except OverflowError:  # an int of hundreds of digits (IS, CSA text)
        out = [math.inf]
    if out and not all(math.isfinite(v) for v in out):
        if problems is not None:
            problems.append(f"{name}: a value that is no finite float (too large, infinite or "
                            "NaN); taken as absent")
        return None
    if not out or (n is not None and len(out) < n):
        return None
    return out[:n] if n is not None else out


def vendor_fields(ds: Any, image_type: Any, problems: list[str]) -> dict[str, Any]:
    """The :data:`VENDOR_KEYS` of one header-only dataset (see the module docstring)."""
    out: dict[str, Any] = dict.fromkeys(VENDOR_KEYS)
    elements = ds._elements
    for tag, key in ((_PHASE_ENCODING, "in_plane_phase_encoding_direction"),
                     (_PATIENT_POSITION, "patient_position")):
        if tag in elements:
            value = _decode(ds, tag, "CS", problems)
            out[key] = (str(value).strip() or None) if value else None
    creators: dict[tuple[int, int], str] = {}
    candidates = []
    for tag in elements:  # one pass: creators, and elements whose low byte is a candidate's
        group = tag >> 16
        if group not in _GROUPS:
            continue
        element = tag & 0xFFFF
        if 0x10 <= element <= 0xFF:
            creator = ds._creator(tag)  # from its bytes, no Element built (one per file)
            if creator is not None:
                creators[group, element] = creator
        elif element >= 0x1000 and (group, element & 0xFF) in _BY_GROUP_ELEMENT:
            candidates.append(tag)
    if not candidates:
        return out
    mosaic_type = "MOSAIC" in [str(t).upper() for t in (image_type or [])]
    found: dict[str, Any] = {}
    for tag in candidates:
        group, element = tag >> 16, tag & 0xFFFF
        creator, name, vr = _BY_GROUP_ELEMENT[group, element & 0xFF]
        if name == "csa_image" and not mosaic_type:
            continue  # read for mosaics only (kilobytes that every Siemens file carries)
        block_creator = creators.get((group, element >> 8))
        if block_creator == creator:
            found[name] = _decode(ds, tag, vr, problems)
        elif name == "csa_image" and block_creator is None and "csa_image" not in found:
            raw = _decode(ds, tag, "OB", problems)
            if isinstance(raw, bytes) and looks_like_csa(raw):
                found[name] = raw
                out["csa_without_creator"] = f"({group:04X},{element:04X})"
    mosaic = _numbers(found.get("siemens_mosaic"), 1, problems, "(0019,xx0A)")
    out["mosaic_images"] = int(mosaic[0]) if mosaic and mosaic[0] >= 1 else None
    if mosaic_type and found.get("csa_image"):
        _csa(found["csa_image"], out, found, problems)
    siemens_b = _numbers(found.get("siemens_b"), 1, problems, "Siemens b-value")
    siemens_g = _numbers(found.get("siemens_gradient"), 3, problems, "Siemens gradient")
    if siemens_b is not None:
        out["vendor_b_value"] = siemens_b[0]
    if siemens_g is not None:
        out["vendor_gradient"], out["vendor_gradient_frame"] = siemens_g, "patient"
    ge_b = _numbers(found.get("ge_b"), 1, problems, "GE b-value (0043,xx39)")
    if ge_b is not None and out["vendor_b_value"] is None:
        out["vendor_b_value"] = ge_b_value(ge_b[0])
    ge_g = [_numbers(found.get(k), 1, problems, f"GE gradient (0019,xx{e})")
            for k, e in (("ge_gx", "BB"), ("ge_gy", "BC"), ("ge_gz", "BD"))]
    if all(g is not None for g in ge_g) and out["vendor_gradient"] is None:
        out["vendor_gradient"] = [g[0] for g in ge_g]  # type: ignore[index]
        out["vendor_gradient_frame"] = "ge_logical"
    kind = _numbers(found.get("ge_kind"), 1, problems, "GE image type (0043,xx2F)")
    if kind is not None:
        out["vendor_image_kind"] = _GE_KINDS.get(int(kind[0]))
    philips_b = _numbers(found.get("philips_b"), 1, problems, "Philips b-value (2001,xx03)")
    if philips_b is not None and out["vendor_b_value"] is None:
        out["vendor_b_value"] = philips_b[0]
    philips_g = [_numbers(found.get(k), 1, problems, f"Philips gradient (2005,xx{e})")
                 for k, e in (("philips_gx", "B0"), ("philips_gy", "B1"), ("philips_gz", "B2"))]
    if all(g is not None for g in philips_g) and out["vendor_gradient"] is None:
        out["vendor_gradient"] = [g[0] for g in philips_g]  # type: ignore[index]
        out["vendor_gradient_frame"] = "patient"
    coil = found.get("siemens_coil")
    if isinstance(coil, (str, bytes)):
        out["coil"] = (_text(coil) if isinstance(coil, bytes) else coil.strip()) or None
    return out


#: The CSA image header elements a record takes (the header's accessors read them).
_CSA_NAMES = frozenset(("NumberOfImagesInMosaic", "SliceNormalVector", "B_value",
                        "DiffusionGradientDirection"))


def _csa(raw: bytes, out: dict[str, Any], found: dict[str, Any], problems: list[str]) -> None:
    """Mosaic fields from the CSA image header (only where group 0019 did not give them)."""
    try:
        header = parse_csa(raw, names=_CSA_NAMES)
        count = header.number_of_images_in_mosaic
        normal = header.slice_normal_vector
        b_value = header.b_value
        gradient = header.diffusion_gradient_direction
    except DicomError as exc:
        problems.append(f"CSA image header: {exc}")
        return
    if out["mosaic_images"] is None and count:
        out["mosaic_images"] = count
    out["csa_slice_normal"] = list(normal) if normal else None
    if found.get("siemens_b") is None and b_value is not None:
        found["siemens_b"] = b_value
    if found.get("siemens_gradient") is None and gradient is not None:
        found["siemens_gradient"] = list(gradient)
