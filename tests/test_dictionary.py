"""rawdicom.dictionary against the standard's own sources and well-known tags."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rawdicom import dictionary as d

STANDARD = Path(__file__).resolve().parents[1].parent / "shared" / "standard"
SUPPLEMENT = Path(__file__).resolve().parents[1] / "tools" / "sources" / "uids_since_2013.tsv"
needs_standard = pytest.mark.skipif(not STANDARD.is_dir(), reason=f"standard sources not found at {STANDARD}")


@needs_standard
def test_element_count_equals_source() -> None:
    source = json.loads((STANDARD / "attributes.json").read_text(encoding="utf-8"))
    assert len(d.elements()) == len(source)
    masked = [e for e in source if "x" in e["tag"].lower()]
    assert len([e for e in d.elements() if e.kind == "repeating"]) == len(masked)


@needs_standard
def test_transfer_syntax_count_equals_source() -> None:
    # Counted straight from the XML text: rows of table A-1 whose type cell is "Transfer Syntax".
    text = (STANDARD / "part06.xml").read_text(encoding="utf-8")
    table = text[text.index('xml:id="table_A-1"'):text.index('xml:id="table_A-2"')]
    registered = len(re.findall(r">Transfer Syntax<", table))
    added = sum(1 for line in SUPPLEMENT.read_text(encoding="utf-8").splitlines()
                if line.startswith("1.") and "\tTransfer Syntax\t" in line)
    not_dataset_encodings = 2  # 1.2.840.10008.1.2.6.1 MIME and .6.2 XML: no PS3.5 Annex A section
    assert len(d.transfer_syntaxes()) == registered + added - not_dataset_encodings


WELL_KNOWN = [
    (0x00020000, "FileMetaInformationGroupLength", "UL", "1"),
    (0x00020001, "FileMetaInformationVersion", "OB", "1"),
    (0x00020002, "MediaStorageSOPClassUID", "UI", "1"),
    (0x00020003, "MediaStorageSOPInstanceUID", "UI", "1"),
    (0x00020010, "TransferSyntaxUID", "UI", "1"),
    (0x00020012, "ImplementationClassUID", "UI", "1"),
    (0x00080005, "SpecificCharacterSet", "CS", "1-n"),
    (0x00080008, "ImageType", "CS", "2-n"),
    (0x00080016, "SOPClassUID", "UI", "1"),
    (0x00080018, "SOPInstanceUID", "UI", "1"),
    (0x00080020, "StudyDate", "DA", "1"),
    (0x00080030, "StudyTime", "TM", "1"),
    (0x00080060, "Modality", "CS", "1"),
    (0x00080090, "ReferringPhysicianName", "PN", "1"),
    (0x00081140, "ReferencedImageSequence", "SQ", "1"),
    (0x00100010, "PatientName", "PN", "1"),
    (0x00100020, "PatientID", "LO", "1"),
    (0x00100030, "PatientBirthDate", "DA", "1"),
    (0x00101010, "PatientAge", "AS", "1"),
    (0x00180050, "SliceThickness", "DS", "1"),
    (0x00180088, "SpacingBetweenSlices", "DS", "1"),
    (0x00181030, "ProtocolName", "LO", "1"),
    (0x0020000D, "StudyInstanceUID", "UI", "1"),
    (0x0020000E, "SeriesInstanceUID", "UI", "1"),
    (0x00200013, "InstanceNumber", "IS", "1"),
    (0x00200032, "ImagePositionPatient", "DS", "3"),
    (0x00200037, "ImageOrientationPatient", "DS", "6"),
    (0x00280002, "SamplesPerPixel", "US", "1"),
    (0x00280004, "PhotometricInterpretation", "CS", "1"),
    (0x00280008, "NumberOfFrames", "IS", "1"),
    (0x00280010, "Rows", "US", "1"),
    (0x00280011, "Columns", "US", "1"),
    (0x00280030, "PixelSpacing", "DS", "2"),
    (0x00280100, "BitsAllocated", "US", "1"),
    (0x00280103, "PixelRepresentation", "US", "1"),
    (0x00281050, "WindowCenter", "DS", "1-n"),
    (0x00281052, "RescaleIntercept", "DS", "1"),
    (0x00281201, "RedPaletteColorLookupTableData", "OW", "1"),
    (0x00283006, "LUTData", "US or OW", "1-n or 1"),
    (0x00400275, "RequestAttributesSequence", "SQ", "1"),
    (0x0040A730, "ContentSequence", "SQ", "1"),
    (0x7FE00001, "ExtendedOffsetTable", "OV", "1"),
    (0x7FE00008, "FloatPixelData", "OF", "1"),
    (0x7FE00010, "PixelData", "OB or OW", "1"),
    (0xFFFEE000, "Item", "See Note 2", "1"),
]


@pytest.mark.parametrize(("tag", "keyword", "vr", "vm"), WELL_KNOWN)
def test_well_known_tags(tag: int, keyword: str, vr: str, vm: str) -> None:
    entry = d.lookup(tag)
    assert entry is not None
    assert (entry.tag, entry.keyword, entry.vr, entry.vm, entry.kind) == (tag, keyword, vr, vm, "standard")
    assert d.keyword_for(tag) == keyword
    assert d.tag_for(keyword) == tag


def test_specific_values() -> None:
    assert d.lookup(0x00280106).vr == "US or SS"  # SmallestImagePixelValue
    assert d.lookup(0x00080001).retired and not d.lookup(0x00100010).retired
    assert d.lookup(0x00100010).name == "Patient's Name"
    assert d.vr_for(0xFFFEE000) == "UN"  # no VR in the standard: implicit reading gets UN
    assert d.lookup(0x00080202).vr == ""  # retired, listed without VR, kept as written


@needs_standard
def test_every_repeating_family_resolves() -> None:
    source = json.loads((STANDARD / "attributes.json").read_text(encoding="utf-8"))
    masked = [e for e in source if "x" in e["tag"].lower()]
    families = {re.sub(r"[0-9A-F]", "_", e["tag"].upper()) for e in masked}
    assert len(families) >= 5  # 50xx, 60xx, 7Fxx groups; 31xx, 04x0, xxx0, xxxx elements
    for e in masked:
        digits = e["tag"].strip("()").replace(",", "")
        # an instance other than the first: x -> 2 keeps groups even (6002, 5002, 7F22)
        tag = int(re.sub("[xX]", "2", digits), 16)
        entry = d.lookup(tag)
        assert entry is not None, e["tag"]
        assert (entry.tag, entry.keyword, entry.vr, entry.kind) == (tag, e["keyword"],
                                                                    e["valueRepresentation"], "repeating")
        assert d.keyword_for(tag) == e["keyword"]
        assert d.vr_for(tag) == e["valueRepresentation"]


def test_repeating_examples() -> None:
    overlay = d.lookup((0x6002, 0x3000))
    assert overlay == d.Entry(0x60023000, "OB or OW", "1", "OverlayData", "Overlay Data", False, "repeating")
    assert d.lookup(0x501E3000).keyword == "CurveData"
    assert d.lookup(0x7F220010).keyword == "VariablePixelData"
    assert d.lookup(0x10101234).keyword == "ZonalMap"
    assert d.lookup(0x00280410).keyword == "RowsForNthOrderCoefficients"
    assert d.tag_for("OverlayData") == 0x60003000
    assert d.lookup(0x00280400).keyword == "TransformLabel"  # the standard's own tag beats 04x0
    assert d.tag_for("RowsForNthOrderCoefficients") == 0x00280410
    assert d.tag_for("ZonalMap") == 0x10101111  # 1010,0000 is a group length


def test_keyword_round_trip_for_every_entry() -> None:
    entries = d.elements()
    assert entries == sorted(entries, key=lambda e: e.tag)
    for entry in entries:
        assert d.lookup(entry.tag) == entry
        if entry.keyword:
            assert d.tag_for(entry.keyword) == entry.tag
            assert d.keyword_for(entry.tag) == entry.keyword
            assert d.parse_tag(entry.keyword) == entry.tag


def test_group_lengths() -> None:
    assert d.lookup(0x00020000).keyword == "FileMetaInformationGroupLength"  # the standard's own
    entry = d.lookup(0x00100000)
    assert (entry.vr, entry.vm, entry.name, entry.kind) == ("UL", "1", "Group Length", "group_length")
    assert d.vr_for(0x00100000) == "UL" and d.keyword_for(0x00100000) == ""
    assert d.lookup(0x60000000).kind == "group_length"  # not the 60xx mask
    assert d.lookup(0x00090000).kind == "group_length"


def test_private_tags() -> None:
    creator = d.lookup(0x00090010)
    assert (creator.vr, creator.name, creator.kind, creator.keyword) == ("LO", "Private Creator", "private_creator", "")
    assert d.lookup(0x001900FF).kind == "private_creator"
    data = d.lookup(0x00191001)
    assert (data.vr, data.name, data.kind, data.keyword) == ("UN", "Private tag data", "private", "")
    assert d.lookup(0x6001_3000).kind == "private"  # odd group: private, not the 60xx overlay
    assert d.lookup(0x00190001).kind == "private"  # below 0x10: not a creator slot
    assert d.vr_for(0x00090010) == "LO" and d.vr_for(0x00091010) == "UN"
    assert d.is_private(0x00090010) and not d.is_private(0x00100010)
    assert not d.is_private(0x00010010) and not d.is_private(0xFFFF0010)


def test_unknown_tags() -> None:
    assert d.lookup(0x00100001) is None
    assert d.lookup(0x00050010) is None  # forbidden odd group, not private
    assert d.vr_for(0x00100001) == "UN" and d.keyword_for(0x00100001) == ""
    for tag in (0, 0xFFFFFFFF, 0x0001_0001, 0xFFFF_0000):
        d.lookup(tag), d.vr_for(tag), d.keyword_for(tag)  # never raise for an int


def test_parse_tag_forms() -> None:
    for form in (0x0020000E, (0x0020, 0x000E), "0020,000E", "(0020,000E)", "0020000E", "(0020, 000e)",
                 "SeriesInstanceUID"):
        assert d.parse_tag(form) == 0x0020000E, form
    with pytest.raises(ValueError):
        d.parse_tag(-1)
    with pytest.raises(ValueError):
        d.parse_tag(0x1_0000_0000)
    with pytest.raises(ValueError):
        d.parse_tag((0x10000, 0))
    with pytest.raises(KeyError):
        d.parse_tag("NoSuchKeyword")
    with pytest.raises(TypeError):
        d.parse_tag(1.5)  # type: ignore[arg-type]


def test_uids() -> None:
    ct = d.uid("1.2.840.10008.5.1.4.1.1.2\0")
    assert ct is not None and ct.name == "CT Image Storage" and ct.type == "SOP Class"
    assert ct.keyword == "CTImageStorage"
    assert d.uid("1.2.840.10008.1.1 ").name == "Verification SOP Class"
    assert d.uid("1.2.3") is None
    assert d.uid("1.2.840.10008.3.1.2.3.3") is not None  # 2013 wrote it with a soft hyphen


@pytest.mark.parametrize(("uid", "explicit", "little", "deflated", "encapsulated", "retired"), [
    ("1.2.840.10008.1.2", False, True, False, False, False),
    ("1.2.840.10008.1.2.1", True, True, False, False, False),
    ("1.2.840.10008.1.2.2", True, False, False, False, True),
    ("1.2.840.10008.1.2.1.99", True, True, True, False, False),
    ("1.2.840.10008.1.2.1.98", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.50", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.70", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.90", True, True, False, True, False),
    ("1.2.840.10008.1.2.5", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.201", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.203", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.110", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.112", True, True, False, True, False),
    ("1.2.840.10008.1.2.4.95", True, True, True, False, False),
    ("1.2.840.10008.1.2.8.1", True, True, False, True, False),  # deflates frames, not the data set
    ("1.2.840.10008.1.2.4.52", True, True, False, True, True),
])
def test_transfer_syntaxes(uid: str, explicit: bool, little: bool, deflated: bool, encapsulated: bool,
                           retired: bool) -> None:
    ts = d.transfer_syntax(uid + "\0")
    assert ts is not None
    assert (ts.explicit_vr, ts.little_endian, ts.deflated, ts.encapsulated, ts.retired) == (
        explicit, little, deflated, encapsulated, retired)
    assert d.uid(uid).type == "Transfer Syntax"


def test_transfer_syntax_names() -> None:
    assert d.transfer_syntax("1.2.840.10008.1.2.1").keyword == "ExplicitVRLittleEndian"
    assert d.transfer_syntax("1.2.840.10008.1.2").keyword == "ImplicitVRLittleEndian"
    assert d.transfer_syntax("1.2.840.10008.1.2.5").name == "RLE Lossless"
    assert d.transfer_syntax("1.2.840.10008.1.2.4.112").name == "JPEG XL"
    assert d.transfer_syntax("1.2.840.10008.5.1.4.1.1.2") is None  # a SOP class, not a transfer syntax


def test_import_is_lazy_and_first_lookup_is_fast() -> None:
    code = (
        "import time, rawdicom.dictionary as d\n"
        "assert d._tables is None, 'tables loaded at import'\n"
        "t = time.perf_counter(); d.lookup(0x0020000E); t = time.perf_counter() - t\n"
        "print(f'{t * 1000:.1f}')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    ms = float(out.stdout)
    print(f"first lookup: {ms:.1f} ms")
    assert ms < 1000
