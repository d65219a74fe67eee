"""Differential test: every element of every file in pydicom's bundled test data.

For each file pydicom 3 reads, rawdicom must read it too, and every element
(recursively into sequences, file meta group included) must have the same
tag, VR, VM and value after this normalisation:

- empty values (None, "", b"", []) are None;
- text is compared after stripping the padding both libraries strip
  (trailing spaces and NULs); PN as its text;
- numbers as numbers (pydicom's DSfloat/IS -> float/int), VM > 1 as lists;
- bytes as bytes (both keep OB/OW/UN as stored);
- a sequence as the list of its items, each compared the same way.

Where the two disagree, the DICOM standard decides: each remaining
disagreement is listed in KNOWN_DISAGREEMENTS with the reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

pydicom = pytest.importorskip("pydicom")

import rawdicom  # noqa: E402
from rawdicom.errors import format_tag  # noqa: E402

DATA = Path(pydicom.__file__).parent / "data"
FILES = sorted(p for folder in ("test_files", "charset_files") for p in (DATA / folder).rglob("*")
               if p.is_file() and "__pycache__" not in p.parts)

# file name -> {tag path: reason}. A tag path is "(gggg,eeee)" or nested "(a)/1/(b)".
KNOWN_DISAGREEMENTS: dict[str, dict[str, str]] = {
    "test_files/MR_truncated.dcm": {
        "(7FE0,0010)": "the file ends 62 bytes into the 8192 bytes Pixel Data announces: "
                       "rawdicom keeps the header and raises TruncatedError when the value is "
                       "used (issue 3: 'truncated in pixel data: the header is returned; pixel "
                       "access raises'); pydicom returns the 8130 bytes that are there",
    },
    "test_files/rtplan_truncated.dcm": {
        "(300A,00B0)/1/(300A,0111)/1/(300A,012C)": (
            "the file ends 29 bytes into this 50-byte DS value: rawdicom raises TruncatedError "
            "when it is used (a cut value is not the value the file announces: here the third "
            "coordinate of Isocenter Position is missing); pydicom returns the two numbers that "
            "are there. Every item and element before the cut is read by both, equal"),
    },
}

# Not DICOM: pydicom.dcmread(force=True) turns any bytes into garbage elements;
# rawdicom raises NotDicomError, as it must for what is not DICOM (issue 3, framing).
NOT_DICOM = {
    "charset_files/FileInfo.txt": "a text file",
    "test_files/README.txt": "a text file",
    "test_files/dicomdirtests/README.txt": "a text file",
    "test_files/dicomdirtests/TINY_ALPHA/README": "a text file",
    "test_files/rtplan.dump": "a text dump of rtplan.dcm",
    "test_files/rtstruct.dump": "a text dump of rtstruct.dcm",
    "test_files/test1.json": "DICOM JSON, not Part 10",
    "test_files/test_PN.json": "DICOM JSON, not Part 10",
    "test_files/crayons.icc": "an ICC colour profile",
    "test_files/zipMR.gz": "a gzip file (of a DICOM file): rawdicom does not gunzip",
    "test_files/no_meta.dcm": "one stray byte (0x20) precedes the first element (0008,0005), so "
                              "no element parses at offset 0; pydicom's force=True yields one "
                              "garbage element (0820,0500) UN of 38863 bytes",
}

# Files pydicom 3 cannot read, and what rawdicom does with them (asserted below).
PYDICOM_FAILS: dict[str, str] = {}


def _norm(value: Any) -> Any:
    """The normalised form of a value from either library (see module docstring)."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value) or None
    if type(value).__name__ == "PersonName":
        # Trailing empty component groups may be omitted (PS3.5 6.2.1.2): pydicom omits them.
        text = str(value).rstrip(" \0").rstrip("=")
        return text or None
    if isinstance(value, str):  # str, UID
        text = str(value).rstrip(" \0")
        return text or None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        items = [_norm(v) for v in value]
        if not items:
            return None
        return items
    return value


def _compare(ours: "rawdicom.Dataset", theirs: Any, path: str, diffs: dict[str, str]) -> None:
    our_tags = set(ours.keys())
    their_tags = {int(el.tag) for el in theirs}
    for tag in sorted(our_tags ^ their_tags):
        where = f"{path}{format_tag(tag)}"
        diffs[where] = "only in rawdicom" if tag in our_tags else "only in pydicom"
    for their in theirs:
        tag = int(their.tag)
        if tag not in our_tags:
            continue
        where = f"{path}{format_tag(tag)}"
        our = ours[tag]
        if our.vr != their.VR:
            diffs[where] = f"VR {our.vr} != {their.VR}"
            continue
        if their.VR == "SQ":
            try:
                our_items = our.value or []
            except rawdicom.DicomError as exc:
                diffs[where] = f"rawdicom raises {type(exc).__name__}"
                continue
            their_items = list(their.value)
            if len(our_items) != len(their_items):
                diffs[where] = f"{len(our_items)} items != {len(their_items)}"
                continue
            for k, (a, b) in enumerate(zip(our_items, their_items), 1):
                _compare(a, b, f"{where}/{k}/", diffs)
            continue
        try:
            a = _norm(our.value)
        except rawdicom.DicomError as exc:
            diffs[where] = f"rawdicom raises {type(exc).__name__}"
            continue
        b = _norm(their.value)
        if a != b:
            diffs[where] = f"value {str(a)[:80]!r} != {str(b)[:80]!r}"
        elif our.vm != their.VM and not (a is None and b is None):
            diffs[where] = f"VM {our.vm} != {their.VM}"


def _pydicom_read(path: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path, force=True)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_same_elements_as_pydicom(path: Path) -> None:
    name = str(path.relative_to(DATA))
    try:
        theirs = _pydicom_read(path)
        their_error = None
        list(theirs.iterall())  # pydicom parses lazily too: make it fail now if it will
    except Exception as exc:  # noqa: BLE001 - the oracle's failure is data here
        theirs, their_error = None, exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ours = rawdicom.read(path)
            our_error = None
        except rawdicom.DicomError as exc:
            ours, our_error = None, exc
    if name in NOT_DICOM:
        assert isinstance(our_error, rawdicom.NotDicomError), f"{name}: {NOT_DICOM[name]}"
        return
    if theirs is None or (len(theirs) == 0 and not getattr(theirs, "file_meta", None)):
        # pydicom could not read it (or, with force=True, read nothing from it).
        expected = PYDICOM_FAILS.get(name)
        assert expected is not None or our_error is not None, (
            f"pydicom fails ({their_error!r}) but rawdicom reads {name}: list it in PYDICOM_FAILS")
        return
    assert our_error is None, f"pydicom reads {name}, rawdicom raises {our_error!r}"
    diffs: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if getattr(theirs, "file_meta", None) is not None and len(theirs.file_meta):
            _compare(ours.file_meta, theirs.file_meta, "meta:", diffs)
        _compare(ours, theirs, "", diffs)
    known = KNOWN_DISAGREEMENTS.get(name, {})
    unexplained = {k: v for k, v in diffs.items() if k not in known}
    assert not unexplained, f"{name}: {len(unexplained)} disagreements:\n" + "\n".join(
        f"  {k}: {v}" for k, v in list(unexplained.items())[:40])
