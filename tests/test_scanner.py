"""The element stream: every VR in every encoding, sequences, UN, private tags,
context-dependent VRs and encapsulated pixel data, each built from its bytes."""

from __future__ import annotations

import struct
import warnings

import pytest

import rawdicom
from builders import (EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, JPEG_BASELINE, UNDEFINED, element,
                      encapsulated, item, item_delimiter, part10, sequence, sequence_delimiter,
                      txt, uid, ul, us)


def read_quiet(data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return rawdicom.read(data, **kw)


def pk(fmt: str, little: bool, *values) -> bytes:
    return struct.pack(("<" if little else ">") + fmt, *values)


# (VR, a tag whose dictionary VR it is, value bytes for byte order -> bytes, expected value)
VR_CASES = [
    ("AE", 0x00400241, lambda le: b"STORESCP", "STORESCP"),
    ("AS", 0x00101010, lambda le: b"042Y", "042Y"),
    ("AT", 0x00209165, lambda le: pk("HH", le, 0x0010, 0x0020), 0x00100020),
    ("CS", 0x00080060, lambda le: b"CT", "CT"),
    ("DA", 0x00080020, lambda le: b"20240131", "20240131"),
    ("DS", 0x00281050, lambda le: b"40\\-40", [40.0, -40.0]),
    ("DT", 0x0008002A, lambda le: b"20240131120000.5", "20240131120000.5"),
    ("FD", 0x00189087, lambda le: pk("d", le, 2.25), 2.25),
    ("FL", 0x00089459, lambda le: pk("f", le, 1.5), 1.5),
    ("IS", 0x00200013, lambda le: b"12", 12),
    ("LO", 0x00080070, lambda le: b"ACME Co ", "ACME Co"),
    ("LT", 0x00080108, lambda le: b"a\\b text", "a\\b text"),
    ("OB", 0x00420011, lambda le: b"\x01\x02\x03\x04", b"\x01\x02\x03\x04"),
    ("OD", 0x003A032E, lambda le: pk("d", le, 1.0), None),
    ("OF", 0x00181638, lambda le: pk("2f", le, 1.0, 2.0), None),
    ("OL", 0x00660040, lambda le: pk("2I", le, 1, 2), None),
    ("OV", 0x00720081, lambda le: pk("Q", le, 7), None),
    ("OW", 0x00281201, lambda le: pk("2H", le, 1, 2), None),
    ("PN", 0x00100010, lambda le: b"Doe^John", "Doe^John"),
    ("SH", 0x00200010, lambda le: b"S1", "S1"),
    ("SL", 0x00186020, lambda le: pk("i", le, -5), -5),
    ("SS", 0x00189219, lambda le: pk("h", le, -3), -3),
    ("ST", 0x00080081, lambda le: b"1 Main St ", "1 Main St"),
    ("SV", 0x00720082, lambda le: pk("q", le, -2 ** 40), -2 ** 40),
    ("TM", 0x00080030, lambda le: b"093000", "093000"),
    ("UC", 0x00080119, lambda le: b"LONGCODE", "LONGCODE"),
    ("UI", 0x00080018, lambda le: uid("1.2.3"), "1.2.3"),
    ("UL", 0x00081161, lambda le: pk("2I", le, 1, 70000), [1, 70000]),
    ("UN", 0x0072006D, lambda le: b"\x01\x02\x03\x04", b"\x01\x02\x03\x04"),
    ("UR", 0x00080120, lambda le: b"http://a.b/c", "http://a.b/c"),
    ("US", 0x00280010, lambda le: pk("H", le, 512), 512),
    ("UT", 0x0008030E, lambda le: b"free text ", "free text"),
    ("UV", 0x0008040C, lambda le: pk("Q", le, 2 ** 40), 2 ** 40),
]


def test_all_34_vrs_are_covered():
    assert len({c[0] for c in VR_CASES} | {"SQ"}) == 34
    assert {c[0] for c in VR_CASES} | {"SQ"} == set(rawdicom.scanner.VALID_VRS)


@pytest.mark.parametrize("vr,tag,make,expected", VR_CASES, ids=[c[0] for c in VR_CASES])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE],
                         ids=["explicit-le", "implicit-le", "explicit-be"])
def test_every_vr(vr, tag, make, expected, syntax):
    explicit = syntax != IMPLICIT_LE
    little = syntax != EXPLICIT_BE
    value = make(little)
    data = part10(element(tag, vr, value, explicit=explicit, little=little), syntax)
    ds = read_quiet(data)
    el = ds[tag]
    assert el.vr == vr
    assert el.length == len(value)
    assert bytes(el.raw) == value
    if expected is None:  # the O* VRs: bytes as stored, never swapped here
        expected = value
    assert el.value == expected
    assert el.vm == (len(expected) if isinstance(expected, list) else 1)


def test_explicit_header_forms():
    # 2-byte length form: tag, VR, length(2); 4-byte form: tag, VR, 00 00, length(4)
    short = element(0x00100010, "PN", b"AB")
    long = element(0x00420011, "OB", b"AB")
    assert short == b"\x10\x00\x10\x00PN\x02\x00AB"
    assert long == b"\x42\x00\x11\x00OB\x00\x00\x02\x00\x00\x00AB"
    big = b"x" * 70000
    text = b"y" * 0xFFFE
    ds = read_quiet(part10(element(0x00080108, "LT", text) + element(0x00420011, "OB", big)))
    assert ds[0x00080108].length == 0xFFFE and ds[0x00420011].length == 70000
    assert bytes(ds[0x00420011].raw) == big


def test_implicit_header_form_and_unknown_tag_is_un():
    raw = element(0x00100010, "PN", b"AB", explicit=False)
    assert raw == b"\x10\x00\x10\x00\x02\x00\x00\x00AB"
    ds = read_quiet(part10(raw + element(0x00131013, "??", b"zz", explicit=False), IMPLICIT_LE))
    assert ds[0x00131013].vr == "UN" and ds[0x00131013].value == b"zz"


def test_empty_values_are_none():
    ds = read_quiet(part10(element(0x00100010, "PN") + element(0x00280010, "US")))
    assert ds.PatientName is None and ds.Rows is None


def test_values_are_zero_copy_views(tmp_path):
    ds = read_quiet(part10(element(0x7FE00010, "OW", b"\0\1" * 100)))
    assert isinstance(ds["PixelData"].raw, memoryview)


# -- sequences ------------------------------------------------------------------------
def _items_ok(seq_value, n=2):
    assert [len(i) for i in seq_value] == [1] * n
    assert [i.CodeValue for i in seq_value] == ["A", "B"][:n]


CODE_A = element(0x00080100, "SH", txt("A"))
CODE_B = element(0x00080100, "SH", txt("B"))


@pytest.mark.parametrize("undefined", [True, False], ids=["seq-undef", "seq-defined"])
@pytest.mark.parametrize("undefined_items", [True, False], ids=["items-undef", "items-defined"])
@pytest.mark.parametrize("syntax", [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE])
def test_sequence_lengths(undefined, undefined_items, syntax):
    explicit = syntax != IMPLICIT_LE
    little = syntax != EXPLICIT_BE
    a = element(0x00080100, "SH", txt("A"), explicit=explicit, little=little)
    b = element(0x00080100, "SH", txt("B"), explicit=explicit, little=little)
    after = element(0x00100010, "PN", txt("After"), explicit=explicit, little=little)
    seq = sequence(0x00081032, [a, b], undefined=undefined, undefined_items=undefined_items,
                   explicit=explicit, little=little)
    ds = read_quiet(part10(seq + after, syntax))
    el = ds["ProcedureCodeSequence"]
    assert el.vr == "SQ" and el.vm == 2
    assert el.undefined_length is undefined
    _items_ok(el.value)
    assert el.value[0].parent is ds
    assert ds.PatientName == "After"


def test_empty_sequences_and_items():
    seq1 = sequence(0x00081032, [])
    seq2 = sequence(0x00081140, [], undefined=False)
    seq3 = sequence(0x00081199, [b""])  # one empty item
    ds = read_quiet(part10(seq1 + seq2 + seq3))
    assert ds["ProcedureCodeSequence"].value == [] and ds["ProcedureCodeSequence"].vm == 0
    assert ds["ReferencedImageSequence"].value == []
    assert len(ds[0x00081199].value) == 1 and len(ds[0x00081199].value[0]) == 0


def test_nested_sequences_mixed_lengths():
    inner = sequence(0x00081032, [CODE_A], undefined=False)
    middle = sequence(0x00081140, [inner + element(0x00081155, "UI", uid("1.2"))],
                      undefined=True, undefined_items=True)
    outer = sequence(0x00081199, [middle, CODE_B], undefined=False, undefined_items=True)
    ds = read_quiet(part10(outer + element(0x00100010, "PN", txt("X"))))
    top = ds[0x00081199].value
    assert len(top) == 2
    mid = top[0].ReferencedImageSequence
    assert mid[0].ReferencedSOPInstanceUID == "1.2"
    assert mid[0].ProcedureCodeSequence[0].CodeValue == "A"
    assert mid[0].ProcedureCodeSequence[0].parent is mid[0]
    assert top[1].CodeValue == "B"
    depths = [(d, el.tag) for d, el in ds.walk()]
    assert depths == [(0, 0x00081199), (1, 0x00081140), (2, 0x00081032), (3, 0x00080100),
                      (2, 0x00081155), (1, 0x00080100), (0, 0x00100010)]
    assert "ReferencedImageSequence" in str(ds)


def test_sequence_items_inherit_charset():
    seq = sequence(0x00081032, [element(0x00080104, "LO", "Müller".encode("latin-1"))])
    ds = read_quiet(part10(element(0x00080005, "CS", txt("ISO_IR 100")) + seq))
    assert ds.ProcedureCodeSequence[0].CodeMeaning == "Müller"


# -- UN -------------------------------------------------------------------------------
def test_un_undefined_length_is_implicit_le_sequence():
    # PS3.5 6.2.2: UN of undefined length holds an implicit VR LE sequence, even in an
    # explicit (here: big endian) stream.
    content = element(0x00080100, "SH", txt("A"), explicit=False)
    un = (element(0x00081032, "UN", b"", length=UNDEFINED)
          + item(content, undefined=True) + sequence_delimiter())
    for syntax, little in ((EXPLICIT_LE, True), (EXPLICIT_BE, False)):
        if not little:  # the UN header itself follows the stream's byte order
            un_header = element(0x00081032, "UN", b"", length=UNDEFINED, little=False)
            data = un_header + item(content, undefined=True) + sequence_delimiter()
        else:
            data = un
        after = element(0x00100010, "PN", txt("After"), little=little)
        ds = read_quiet(part10(data + after, syntax))
        el = ds["ProcedureCodeSequence"]
        assert el.vr == "SQ"
        assert el.value[0].CodeValue == "A"
        assert ds.PatientName == "After"


def test_un_undefined_length_private_tag():
    content = element(0x00080100, "SH", txt("A"), explicit=False)
    data = (element(0x00090010, "LO", txt("ACME")) + element(0x00091001, "UN", length=UNDEFINED)
            + item(content) + sequence_delimiter())
    ds = read_quiet(part10(data))
    assert ds[0x00091001].vr == "SQ"
    assert ds[0x00091001].value[0].CodeValue == "A"


def test_explicit_un_with_known_tag_takes_dictionary_vr():
    data = (element(0x00280010, "UN", us(256)) + element(0x00280030, "UN", txt("0.5\\0.5")))
    ds = read_quiet(part10(data))
    assert ds["Rows"].vr == "US" and ds.Rows == 256
    assert ds["PixelSpacing"].vr == "DS" and ds.PixelSpacing == [0.5, 0.5]


def test_explicit_un_defined_length_sequence_is_implicit_le():
    content = element(0x00080100, "SH", txt("A"), explicit=False)
    body = item(content)
    ds = read_quiet(part10(element(0x00081032, "UN", body)))
    assert ds["ProcedureCodeSequence"].vr == "SQ"
    assert ds.ProcedureCodeSequence[0].CodeValue == "A"


def test_explicit_un_unknown_tag_stays_un():
    ds = read_quiet(part10(element(0x00091001, "UN", b"\x01\x02")))
    assert ds[0x00091001].vr == "UN" and ds[0x00091001].value == b"\x01\x02"


# -- group lengths, private tags --------------------------------------------------------
def test_group_length_elements():
    body = (element(0x00080000, "UL", ul(10)) + element(0x00080060, "CS", txt("CT"))
            + element(0x00100000, "UL", ul(0)))
    for explicit, syntax in ((True, EXPLICIT_LE), (False, IMPLICIT_LE)):
        data = body if explicit else (element(0x00080000, "UL", ul(10), explicit=False)
                                      + element(0x00080060, "CS", txt("CT"), explicit=False)
                                      + element(0x00100000, "UL", ul(0), explicit=False))
        ds = read_quiet(part10(data, syntax))
        assert ds[0x00080000].vr == "UL" and ds[0x00080000].value == 10
        assert ds[0x00100000].value == 0
        assert ds.Modality == "CT"


def test_private_tags_and_creators():
    data = (element(0x00090010, "LO", txt("ACME 1.0")) + element(0x00090011, "LO", txt("OTHER"))
            + element(0x00091001, "LO", txt("secret")) + element(0x00091101, "US", us(3)))
    ds = read_quiet(part10(data))
    assert ds[0x00090010].value == "ACME 1.0" and ds[0x00090010].is_private
    assert ds[0x00091001].value == "secret" and ds[0x00091001].vr == "LO"
    assert ds[0x00091101].value == 3
    # implicit: private creators are LO, private data elements UN
    idata = b"".join(element(t, vr, v, explicit=False) for t, vr, v in
                     [(0x00090010, "LO", txt("ACME 1.0")), (0x00091001, "LO", txt("secret"))])
    ds = read_quiet(part10(idata, IMPLICIT_LE))
    assert ds[0x00090010].vr == "LO" and ds[0x00090010].value == "ACME 1.0"
    assert ds[0x00091001].vr == "UN" and ds[0x00091001].value == b"secret"
    assert "ACME" in str(ds)


# -- implicit VR with context-dependent VRs ---------------------------------------------
@pytest.mark.parametrize("rep,expected", [(0, 65535), (1, -1), (None, 65535)])
def test_us_or_ss_by_pixel_representation(rep, expected):
    body = b""
    if rep is not None:
        body += element(0x00280103, "US", us(rep), explicit=False)
    body += element(0x00280106, "US", b"\xff\xff", explicit=False)  # Smallest Image Pixel Value
    ds = read_quiet(part10(body, IMPLICIT_LE))
    assert ds["SmallestImagePixelValue"].vr == ("SS" if rep == 1 else "US")
    assert ds.SmallestImagePixelValue == expected


def test_us_or_ss_inherited_from_parent():
    inner = element(0x00280106, "US", b"\xfe\xff", explicit=False)
    seq = sequence(0x00081140, [inner], explicit=False)
    body = seq + element(0x00280103, "US", us(1), explicit=False)
    ds = read_quiet(part10(body, IMPLICIT_LE))
    item_ds = ds[0x00081140].value[0]
    assert item_ds["SmallestImagePixelValue"].vr == "SS"
    assert item_ds.SmallestImagePixelValue == -2


def test_lut_data_us_or_ow():
    def lut(first):
        return (element(0x00283002, "US", us(first, 0, 16), explicit=False)
                + element(0x00283006, "US", us(10, 20), explicit=False))
    seq_us = sequence(0x00283010, [lut(1)], explicit=False)
    ds = read_quiet(part10(seq_us, IMPLICIT_LE))
    el = ds.VOILUTSequence[0]["LUTData"]
    assert el.vr == "US"
    seq_ow = sequence(0x00283010, [lut(2)], explicit=False)
    ds = read_quiet(part10(seq_ow, IMPLICIT_LE))
    el = ds.VOILUTSequence[0]["LUTData"]
    assert el.vr == "OW" and el.value == us(10, 20)


def test_implicit_pixel_data_is_ow():
    ds = read_quiet(part10(element(0x7FE00010, "OW", b"\0\1\2\3", explicit=False), IMPLICIT_LE))
    assert ds["PixelData"].vr == "OW" and ds.PixelData == b"\0\1\2\3"


# -- encapsulated pixel data --------------------------------------------------------------
def test_encapsulated_single_frame_fragments():
    frags = [b"\xff\xd8\xff\xdbAB", b"CD"]
    ds = read_quiet(part10(encapsulated(frags) + element(0xFFFCFFFC, "OB", b"pad!"),
                           JPEG_BASELINE))
    el = ds["PixelData"]
    enc = el.encapsulated
    assert el.vr == "OB" and el.undefined_length
    assert enc.basic_offset_table == []
    assert [bytes(f) for f in enc.fragments] == frags
    assert [bytes(f) for f in enc.frames(1)] == [b"".join(frags)]
    assert 0xFFFCFFFC in ds  # parsing continued after the sequence delimiter


def test_encapsulated_basic_offset_table_frames():
    frags = [b"\xff\xd8\xff\xdb11", b"12", b"\xff\xd8\xff\xdb21"]
    bot = [0, 8 + 6 + 8 + 2]
    ds = read_quiet(part10(element(0x00280008, "IS", txt("2")) + encapsulated(frags, bot),
                           JPEG_BASELINE))
    enc = ds["PixelData"].encapsulated
    assert enc.basic_offset_table == bot
    assert [bytes(f) for f in enc.frames(2)] == [frags[0] + frags[1], frags[2]]


def test_encapsulated_one_fragment_per_frame_without_table():
    frags = [b"\xff\xd8\xff\xdb1!", b"\xff\xd8\xff\xdb2!"]
    ds = read_quiet(part10(encapsulated(frags), JPEG_BASELINE))
    assert [bytes(f) for f in ds["PixelData"].encapsulated.frames(2)] == frags


def test_encapsulated_extended_offset_table():
    frags = [b"\xff\xd8\xff\xdb1!", b"\xff\xd8\xff\xdb22"]
    offsets = struct.pack("<2Q", 0, 14)
    lengths = struct.pack("<2Q", 6, 6)
    body = (element(0x7FE00001, "OV", offsets) + element(0x7FE00002, "OV", lengths)
            + encapsulated(frags))
    ds = read_quiet(part10(body, JPEG_BASELINE))
    enc = ds["PixelData"].encapsulated
    frames = enc.frames(2, ds[0x7FE00001].value, ds[0x7FE00002].value)
    assert [bytes(f) for f in frames] == frags


def test_encapsulated_frames_by_start_markers():
    frags = [b"\xff\xd8\xff\xdb1!", b"more", b"\xff\xd8\xff\xdb2!"]
    ds = read_quiet(part10(encapsulated(frags), JPEG_BASELINE))
    frames = ds["PixelData"].encapsulated.frames(2)
    assert [bytes(f) for f in frames] == [frags[0] + frags[1], frags[2]]


def test_item_delimiter_builder_bytes():
    assert item_delimiter() == b"\xfe\xff\x0d\xe0\0\0\0\0"
    assert sequence_delimiter(little=False) == b"\xff\xfe\xe0\xdd\0\0\0\0"


def test_un_given_its_vr_in_big_endian_is_read_little_endian():
    """PS3.5 6.2.2: a UN value is little endian whatever the transfer syntax; once its VR is
    known it decodes so, and writing it out keeps the values."""
    big = "1.2.840.10008.1.2.2"
    body = element(0x00181310, "UN", struct.pack("<4H", 0, 1, 2, 3), little=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = rawdicom.read(part10(body, big))
    assert ds["AcquisitionMatrix"].vr == "US" and ds.AcquisitionMatrix == [0, 1, 2, 3]
    for syntax in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1", big):
        assert rawdicom.read(rawdicom.to_bytes(ds, syntax)).AcquisitionMatrix == [0, 1, 2, 3]
