"""Differential test of private elements: rawdicom's private dictionary (GDCM's) against pydicom's.

pydicom's test files are all explicit VR, where the file states every private VR. So each file
with private data elements is read three ways, each copy written by pydicom (not by rawdicom):

- as it is;
- as implicit VR little endian, where the VR of a private element comes from a private dictionary;
- as explicit VR little endian with every private data element written as UN (pydicom reads the
  implicit copy with its private dictionary emptied, so those values are UN bytes, and writes it).

In every copy, every private data element whose creator both dictionaries know must have the same
VR and the same value in both libraries (values normalised as in test_read_pydicom.py).

pydicom's private dictionary is generated from GDCM's too, an older copy:
test_the_two_private_dictionaries_differ_only_as_listed lists, with the reason, every entry where
the two differ.
"""

from __future__ import annotations

import copy
import io
import warnings
from pathlib import Path
from typing import Any

import pytest

pydicom = pytest.importorskip("pydicom")
import pydicom.datadict  # noqa: E402

import rawdicom  # noqa: E402
from rawdicom import dictionary  # noqa: E402
from rawdicom.errors import format_tag  # noqa: E402

from test_read_pydicom import DATA, FILES, NOT_DICOM, _norm  # noqa: E402



def _our_creators() -> set[str]:
    dictionary.lookup_private(0x00091000, "")  # loads the table
    assert dictionary._private is not None
    return {creator for creator, _ in dictionary._private}


def _has_private(ds: Any) -> bool:
    return any(el.tag.is_private and not el.tag.is_private_creator for el in ds.iterall())


def _implicit_copy(ds: Any) -> bytes:
    """``ds`` written by pydicom as implicit VR little endian (pixel data left out: it is never
    private, and compressed pixel data cannot be written implicit)."""
    ds = copy.deepcopy(ds)
    for tag in (0x7FE00008, 0x7FE00009, 0x7FE00010):
        if tag in ds:
            del ds[tag]
    ds.file_meta = getattr(ds, "file_meta", None) or pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ImplicitVRLittleEndian
    out = io.BytesIO()
    ds.save_as(out, implicit_vr=True, little_endian=True)
    return out.getvalue()


def _un_copy(implicit: bytes) -> bytes:
    """The implicit copy rewritten by pydicom as explicit VR little endian, private values as UN."""
    saved = dict(pydicom.datadict.private_dictionaries)
    pydicom.datadict.private_dictionaries.clear()
    try:
        ds = pydicom.dcmread(io.BytesIO(implicit), force=True)
        list(ds.iterall())  # convert every element while the private dictionary is empty
    finally:
        pydicom.datadict.private_dictionaries.update(saved)
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    out = io.BytesIO()
    ds.save_as(out, implicit_vr=False, little_endian=True)
    return out.getvalue()


def _compare(ours: rawdicom.Dataset, theirs: Any, path: str, creators: set[str],
             diffs: dict[str, str], counts: dict[str, int]) -> None:
    for their in theirs:
        tag = int(their.tag)
        if tag not in ours:
            continue  # test_read_pydicom.py compares which elements there are
        our = ours[tag]
        where = f"{path}{format_tag(tag)}"
        if their.VR == "SQ" and our.vr == "SQ":
            try:
                items = our.value or []
            except rawdicom.DicomError:
                continue
            for k, (a, b) in enumerate(zip(items, their.value), 1):
                _compare(a, b, f"{where}/{k}/", creators, diffs, counts)
        creator = our.private_creator
        if dictionary.creator_tag(tag) is None or creator is None:
            continue
        if creator not in creators or creator not in pydicom.datadict.private_dictionaries:
            continue
        counts["compared"] += 1
        if our.vr != their.VR:
            diffs[where] = f"VR {our.vr} != {their.VR} under {creator!r}"
            continue
        if our.vr == "SQ":
            continue
        counts["typed"] += our.vr != "UN"
        a, b = _norm(our.value), _norm(their.value)
        if a != b:
            diffs[where] = f"value {str(a)[:60]!r} != {str(b)[:60]!r} under {creator!r}"


def _read_both(data: bytes) -> tuple[rawdicom.Dataset, Any]:
    theirs = pydicom.dcmread(io.BytesIO(data), force=True)
    list(theirs.iterall())
    return rawdicom.read(data), theirs


def _private_files() -> list[Path]:
    found = []
    for path in FILES:
        if str(path.relative_to(DATA)) in NOT_DICOM:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = pydicom.dcmread(path, force=True)
                if _has_private(ds):
                    found.append(path)
            except Exception:  # noqa: BLE001 - files pydicom cannot read are test_read_pydicom's
                continue
    return found


PRIVATE_FILES = _private_files()


@pytest.mark.parametrize("path", PRIVATE_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_private_elements_agree_with_pydicom(path: Path) -> None:
    creators = _our_creators()
    counts = {"compared": 0, "typed": 0}
    diffs: dict[str, str] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        original = path.read_bytes()
        implicit = _implicit_copy(pydicom.dcmread(path, force=True))
        for label, data in (("as is", original), ("implicit", implicit), ("UN", _un_copy(implicit))):
            ours, theirs = _read_both(data)
            _compare(ours, theirs, f"[{label}] ", creators, diffs, counts)
    assert not diffs, f"{path.name}: {len(diffs)} disagreements:\n" + "\n".join(
        f"  {k}: {v}" for k, v in list(diffs.items())[:40])


def test_the_private_comparison_covers_typed_elements() -> None:
    """Guard against a vacuous pass: the copies hold thousands of private elements that both
    dictionaries type, in implicit VR and as UN."""
    creators = _our_creators()
    counts = {"compared": 0, "typed": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in PRIVATE_FILES:
            implicit = _implicit_copy(pydicom.dcmread(path, force=True))
            for data in (implicit, _un_copy(implicit)):
                ours, theirs = _read_both(data)
                _compare(ours, theirs, "", creators, {}, counts)
    assert len(PRIVATE_FILES) >= 25
    assert counts["typed"] >= 3000, counts


# Where pydicom's copy of GDCM's dictionary (pydicom 3) and rawdicom's (GDCM commit 2cd05d1)
# differ, by entry (creator, "ggggxxee"), with the reason.
_MITRA_UTF8 = ("GDCM has since set these to UN: the element holds UTF-8 text its VR (PN, LO, LT, CS) "
               "cannot carry without a Specific Character Set; pydicom's older copy has the VRs")
DICTIONARY_VR_DIFFERENCES: dict[tuple[str, str], str] = {
    **{("MITRA OBJECT UTF8 ATTRIBUTES 1.0", f"0033xx{e}"): _MITRA_UTF8
       for e in ("02", "04", "06", "08", "0A", "0C", "0E", "13", "14", "15", "16", "17", "18", "19",
                 "1A", "1B", "1C", "1D", "1E")},
    ("TOSHIBA_MEC_OT3", "7019xx80"): "GDCM writes the choice 'OB_OW'; pydicom keeps that string as "
                                     "its VR, rawdicom reads it as 'OB or OW' (OW in implicit VR)",
}
# pydicom entries rawdicom does not use (tools/gen_dictionary.py counts them in private.tsv's header).
PYDICOM_ONLY_REASON = {
    "0003": "group 0003: no private elements allowed there (PS3.5 7.1)",
    "0005": "group 0005: no private elements allowed there (PS3.5 7.1)",
    "0032": "even group 0032: not a private group",
}


def _pydicom_entries() -> tuple[dict[tuple[str, str], str], dict[tuple[str, str], str]]:
    """pydicom's private entries by (creator, "ggggxxee"), and the full element numbers it keeps.

    pydicom keys GDCM's full element numbers ("00210010") as written and looks them up as whole
    tags, where no private data element can be (0x0010-0x00FF are the creators' slots); GDCM reads
    them, as rawdicom does, as the low byte. Both are returned under the xx form.
    """
    by_xx: dict[tuple[str, str], str] = {}
    full: dict[tuple[str, str], str] = {}
    for creator, entries in pydicom.datadict.private_dictionaries.items():
        for key, (vr, *_rest) in entries.items():
            key = key.upper().replace("X", "x")
            if key[4:6] == "xx" or key[2:6] == "xxxx":
                by_xx[creator, key] = vr
            elif key[4:6] == "00":
                full[creator, f"{key[:4]}xx{key[6:]}"] = vr
    return by_xx, full


def test_the_two_private_dictionaries_differ_only_as_listed() -> None:
    _our_creators()
    ours = {key: row[2] for key, row in dictionary._private.items()}
    by_xx, full = _pydicom_entries()
    theirs = {**by_xx, **full}
    differing = {key for key in ours.keys() & theirs.keys() if ours[key] != theirs[key]}
    assert differing == DICTIONARY_VR_DIFFERENCES.keys()
    assert ours.keys() <= theirs.keys()
    pydicom_only = theirs.keys() - ours.keys()
    assert {tag[:4] for _, tag in pydicom_only} <= PYDICOM_ONLY_REASON.keys(), pydicom_only
    # The full element numbers: rawdicom finds them, pydicom does not (see _pydicom_entries).
    assert len(full) > 1500
    assert all(dictionary.lookup_private(int(t[:4] + "10" + t[6:], 16), c) is not None
               for c, t in full if t[:4] not in PYDICOM_ONLY_REASON)
