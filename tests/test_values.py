"""Tests of rawdicom.values: one rule per VR, the bad-value policy, PN, DA/TM/DT."""

from __future__ import annotations

import datetime
import struct
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rawdicom import values
from rawdicom.errors import DicomError, DicomWarning, ValueDecodeError
from rawdicom.values import (
    PersonName,
    decode_value,
    encode_value,
    set_strict,
    to_date,
    to_datetime,
    to_time,
    value_multiplicity,
)

ALL_VRS = ("AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI "
           "UL UN UR US UT UV").split()
CHARSETS = [(), ("ISO_IR 100",), ("ISO_IR 192",), ("GB18030",), ("GBK",), ("ISO_IR 13",),
            ("", "ISO 2022 IR 87", "ISO 2022 IR 159"), ("ISO 2022 IR 13", "ISO 2022 IR 87"),
            ("", "ISO 2022 IR 149"), ("", "ISO 2022 IR 58"), ("ISO 2022 IR 100", "ISO 2022 IR 126")]


@pytest.fixture(autouse=True)
def _clean_policy():
    """Warnings fail a test unless expected; strict mode never leaks between tests."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DicomWarning)
        yield
    set_strict(False)


def dec(vr: str, raw: bytes, little_endian: bool = True, charset: tuple[str, ...] = ()):
    return decode_value(vr, raw, little_endian, charset)


# ------------------------------------------------------------------ text VRs

@pytest.mark.parametrize("vr, raw, expected", [
    ("AE", b" STORESCP ", "STORESCP"),
    ("AS", b"045Y", "045Y"),
    ("CS", b"ORIGINAL\\PRIMARY\\AXIAL ", ["ORIGINAL", "PRIMARY", "AXIAL"]),
    ("CS", b" MONOCHROME2", "MONOCHROME2"),
    ("DA", b"20240131", "20240131"),
    ("DT", b"20240131123000.5+0100", "20240131123000.5+0100"),
    ("TM", b"123000.5 ", "123000.5"),
    ("UI", b"1.2.840.10008.1.2\x00", "1.2.840.10008.1.2"),
    ("UI", b"1.2\\1.3\x00", ["1.2", "1.3"]),
    ("SH", b" AB ", "AB"),
    ("LO", b"one\\ two ", ["one", "two"]),
    ("UC", b"a\\b ", ["a", "b"]),
    ("ST", b"  indented\\not split  ", "  indented\\not split"),
    ("LT", b"line 1\r\nline 2 ", "line 1\r\nline 2"),
    ("UT", b" x\\y ", " x\\y"),
    ("UR", b"http://a/b\\c ", "http://a/b\\c"),
    ("LO", b"a\\\\b", ["a", "", "b"]),
    ("LO", b"NUL padded\x00", "NUL padded"),
])
def test_text_vrs(vr, raw, expected):
    assert dec(vr, raw) == expected
    assert dec(vr, raw, False) == expected  # byte order does not matter for text
    assert dec(vr, memoryview(raw)) == expected


@pytest.mark.parametrize("vr", ["AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH",
                                "ST", "TM", "UC", "UI", "UR", "UT"])
@pytest.mark.parametrize("raw", [b"", b" ", b"  ", b"\x00", b"\x00\x00"])
def test_empty_text_is_none(vr, raw):
    assert dec(vr, raw) is None


def test_charset_applies_only_to_affected_vrs():
    cs = ("ISO_IR 144",)
    assert dec("LO", "Иван".encode("iso8859_5"), charset=cs) == "Иван"
    assert dec("PN", "Иван^".encode("iso8859_5") + b" ", charset=cs) == "Иван^"
    with pytest.warns(DicomWarning):
        assert dec("CS", b"\xe9", charset=cs) == "é"  # default repertoire, read as ISO 8859-1


def test_multivalued_iso2022_split_after_decoding():
    raw = b"\x1b$B;\\\x1b(B\\b"  # the first 0x5C is the second byte of a kanji
    assert dec("LO", raw, charset=("", "ISO 2022 IR 87")) == [
        bytes([0xBB, 0xDC]).decode("euc_jp"), "b"]


# ---------------------------------------------------------------- DS and IS

@pytest.mark.parametrize("raw, expected", [
    (b"1.5", 1.5), (b" -2.5E3 ", -2500.0), (b"1\\2.5\\-3e-1", [1.0, 2.5, -0.3]), (b"+.5 ", 0.5),
    (b"1\\\\2", [1.0, None, 2.0]),
])
def test_ds(raw, expected):
    assert dec("DS", raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (b"12", 12), (b" -7 ", -7), (b"+3", 3), (b"1\\2\\3 ", [1, 2, 3]), (b"2147483648", 2147483648),
])
def test_is(raw, expected):
    assert dec("IS", raw) == expected


def test_is_tolerates_integral_decimal_with_warning():
    with pytest.warns(DicomWarning, match="not an integer string"):
        assert dec("IS", b"1.0 ") == 1


@pytest.mark.parametrize("vr, raw, text", [
    ("DS", b"1.5 mm", "1.5 mm"),
    ("DS", b"1_0", "1_0"),
    ("DS", b"1\\x", ["1", "x"]),
    ("IS", b"abc ", "abc"),
    ("IS", b"1.5", "1.5"),
    ("IS", b"1_000", "1_000"),
])
def test_bad_text_value_policy(vr, raw, text):
    with pytest.warns(DicomWarning, match="does not parse"):
        assert dec(vr, raw) == text
    set_strict(True)
    assert values.STRICT
    with pytest.raises(ValueDecodeError):
        dec(vr, raw)


# ------------------------------------------------------------ binary numbers

@pytest.mark.parametrize("vr, code", [("US", "H"), ("SS", "h"), ("UL", "I"), ("SL", "i"),
                                      ("FL", "f"), ("FD", "d"), ("UV", "Q"), ("SV", "q")])
@pytest.mark.parametrize("little_endian", [True, False])
def test_binary_numbers(vr, code, little_endian):
    order = "<" if little_endian else ">"
    numbers = [1, 2, 3] if code.isupper() else [-1, 2, -3]
    if code in "fd":
        numbers = [0.5, -1.25, 3.0]
    assert dec(vr, struct.pack(order + code, numbers[0]), little_endian) == numbers[0]
    assert dec(vr, struct.pack(f"{order}3{code}", *numbers), little_endian) == numbers
    assert dec(vr, b"", little_endian) is None
    raw = encode_value(vr, numbers, little_endian, ())
    assert raw == struct.pack(f"{order}3{code}", *numbers)
    assert encode_value(vr, numbers[0], little_endian, ()) == struct.pack(order + code, numbers[0])


@pytest.mark.parametrize("vr", ["US", "SS", "UL", "SL", "FL", "FD", "UV", "SV", "AT"])
def test_bad_binary_length_policy(vr):
    raw = b"\x01\x02\x03"
    with pytest.warns(DicomWarning, match="not a multiple"):
        assert dec(vr, raw) == raw
    set_strict(True)
    with pytest.raises(ValueDecodeError):
        dec(vr, raw)


def test_at():
    assert dec("AT", b"\x10\x00\x20\x00") == 0x00100020
    assert dec("AT", b"\x00\x10\x00\x20", False) == 0x00100020
    assert dec("AT", b"\x08\x00\x05\x00\xe0\x7f\x10\x00") == [0x00080005, 0x7FE00010]
    assert dec("AT", b"") is None
    assert encode_value("AT", 0x7FE00010, False, ()) == b"\x7f\xe0\x00\x10"
    assert encode_value("AT", [0x00080005, 0x7FE00010], True, ()) == b"\x08\x00\x05\x00\xe0\x7f\x10\x00"


@pytest.mark.parametrize("vr", ["OB", "OD", "OF", "OL", "OV", "OW", "UN"])
def test_bytes_vrs_are_raw(vr):
    raw = b"\x01\x02\x03\x04"
    assert dec(vr, raw) == raw
    assert dec(vr, memoryview(raw), False) == raw  # no swapping: the pixel layer's job
    assert type(dec(vr, memoryview(raw))) is bytes
    assert dec(vr, b"") is None
    assert encode_value(vr, b"\x01", True, ()) == b"\x01\x00"


def test_multi_vr_strings_and_unknown_vrs():
    assert dec("US or SS", b"\x01\x00") == 1
    assert dec("US or SS or OW", b"\x01\x00\x02\x00") == [1, 2]
    assert dec("OB or OW", b"\x01\x00") == b"\x01\x00"
    assert dec("SQ", b"\x01\x00") == b"\x01\x00"
    assert dec("??", b"\x01\x00") == b"\x01\x00"
    assert encode_value("US or SS", 1, True, ()) == b"\x01\x00"


# ------------------------------------------------------------------ encoding

@pytest.mark.parametrize("vr, value, expected", [
    ("UI", "1.2.3", b"1.2.3\x00"),
    ("UI", "1.2", b"1.2\x00"),
    ("UI", "1.23", b"1.23"),
    ("CS", ["ORIGINAL", "PRIMARY"], b"ORIGINAL\\PRIMARY"),
    ("CS", ["A", "B"], b"A\\B "),
    ("LO", "abc", b"abc "),
    ("PN", PersonName("Doe^John"), b"Doe^John"),
    ("DS", [1.5, 2], b"1.5\\2 "),
    ("DS", 0.1 + 0.2, b"0.3 "),
    ("DS", 1e-20, b"1e-20 "),
    ("IS", [1, -2], b"1\\-2"),
    ("DA", datetime.date(2024, 1, 31), b"20240131"),
    ("TM", datetime.time(12, 30, 0, 500000), b"123000.500000 "),
    ("DT", datetime.datetime(2024, 1, 31, 12, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=-5))),
     b"20240131123000-0500 "),
    ("LT", "a\\b", b"a\\b "),
    ("LO", None, b""),
])
def test_encode_value_padding(vr, value, expected):
    assert encode_value(vr, value, True, ()) == expected


def test_encode_ds_fits_16_characters():
    for number in (1 / 3, -1 / 3, 123456.789012345678, 1e300, -1.2345678901234567e-300, 2 ** 60):
        text = encode_value("DS", number, True, ()).decode().strip()
        assert len(text) <= 16
        assert float(text) == pytest.approx(number, rel=1e-9)


def test_encode_with_charset_round_trip():
    cs = ("", "ISO 2022 IR 87")
    raw = encode_value("PN", "Yamada^Tarou=山田^太郎", True, cs)
    assert len(raw) % 2 == 0
    assert dec("PN", raw, charset=cs) == "Yamada^Tarou=山田^太郎"


def test_encode_wrong_type_is_type_error():
    with pytest.raises(TypeError):
        encode_value("LO", 3, True, ())
    with pytest.raises(TypeError):
        encode_value("LT", ["a", "b"], True, ())


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                                blacklist_characters="\\"), max_size=8),
                min_size=1, max_size=4))
def test_text_written_then_read(parts):
    parts = [p.strip() for p in parts]
    decoded = dec("LO", encode_value("LO", parts, True, ()))
    expected = parts if len(parts) > 1 else (parts[0] or None)
    assert decoded == expected


# ------------------------------------------------------------ multiplicity

@pytest.mark.parametrize("vr, value, vm", [
    ("LO", None, 0), ("LO", "a", 1), ("CS", ["a", "b"], 2), ("US", 3, 1), ("US", [1, 2, 3], 3),
    ("OB", b"\x00\x01", 1), ("LT", "a\\b", 1), ("LO", "", 0), ("PN", PersonName("a^b"), 1),
])
def test_value_multiplicity(vr, value, vm):
    assert value_multiplicity(vr, value) == vm


# ---------------------------------------------------------------- PersonName

def test_person_name_components():
    pn = dec("PN", b"Doe^John^Quincy^Dr.^Jr.=\xe5\xb1\xb1^x=y ", charset=("ISO_IR 192",))
    assert isinstance(pn, PersonName) and pn == "Doe^John^Quincy^Dr.^Jr.=山^x=y"
    assert (pn.family_name, pn.given_name, pn.middle_name, pn.name_prefix, pn.name_suffix) == (
        "Doe", "John", "Quincy", "Dr.", "Jr.")
    assert (pn.alphabetic, pn.ideographic, pn.phonetic) == ("Doe^John^Quincy^Dr.^Jr.", "山^x", "y")
    assert pn.components == ("Doe^John^Quincy^Dr.^Jr.", "山^x", "y")


def test_person_name_drops_trailing_empty_groups():
    # PS3.5 J.1 writes the empty phonetic group's '='; it may be omitted (6.2.1).
    assert dec("PN", b"Wang^XiaoDong=\xe7\x8e\x8b^\xe5\xb0\x8f\xe6\x9d\xb1=",
               charset=("ISO_IR 192",)) == "Wang^XiaoDong=王^小東"
    assert dec("PN", b"Doe^John^^==\\=X") == ["Doe^John^^", "=X"]


def test_person_name_missing_parts_are_empty():
    pn = PersonName("Doe")
    assert (pn.given_name, pn.name_suffix, pn.ideographic, pn.phonetic) == ("", "", "", "")
    assert dec("PN", b"A^B\\C^D") == ["A^B", "C^D"]
    assert [p.given_name for p in dec("PN", b"A^B\\C^D")] == ["B", "D"]


def test_person_name_annex_h_japanese():
    raw = (b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B="
           b"\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B")
    pn = dec("PN", raw, charset=("", "ISO 2022 IR 87"))
    assert pn.ideographic == "山田^太郎" and pn.phonetic == "やまだ^たろう"
    assert pn.given_name == "Tarou"


# ------------------------------------------------------------ DA / TM / DT

@pytest.mark.parametrize("text, expected", [
    ("20240131", datetime.date(2024, 1, 31)), ("2024.01.31", datetime.date(2024, 1, 31)),
    (" 19991231 ", datetime.date(1999, 12, 31)),
])
def test_to_date(text, expected):
    assert to_date(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("12", datetime.time(12)), ("1230", datetime.time(12, 30)), ("123045", datetime.time(12, 30, 45)),
    ("123045.5", datetime.time(12, 30, 45, 500000)), ("123045.123456", datetime.time(12, 30, 45, 123456)),
    ("12:30:45", datetime.time(12, 30, 45)), ("235960", datetime.time(23, 59, 59)),
])
def test_to_time(text, expected):
    assert to_time(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("2024", datetime.datetime(2024, 1, 1)),
    ("202402", datetime.datetime(2024, 2, 1)),
    ("20240203", datetime.datetime(2024, 2, 3)),
    ("2024020312", datetime.datetime(2024, 2, 3, 12)),
    ("20240203123045.25", datetime.datetime(2024, 2, 3, 12, 30, 45, 250000)),
    ("20240203123045+0130", datetime.datetime(2024, 2, 3, 12, 30, 45,
                                              tzinfo=datetime.timezone(datetime.timedelta(hours=1.5)))),
    ("2024-0500", datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))),
])
def test_to_datetime(text, expected):
    result = to_datetime(text)
    assert result == expected and result.tzinfo == expected.tzinfo


@pytest.mark.parametrize("func, text", [
    (to_date, "2024013"), (to_date, "20241331"), (to_date, "abcdefgh"), (to_date, ""),
    (to_time, "1"), (to_time, "256000"), (to_time, "1230.5"), (to_time, "123045.1234567"),
    (to_datetime, "20"), (to_datetime, "20241301"), (to_datetime, "2024+2500"), (to_datetime, "2024x"),
])
def test_invalid_dates_raise_value_decode_error(func, text):
    with pytest.raises(ValueDecodeError):
        func(text)


# ------------------------------------------------------------------ never crash

@settings(max_examples=300, deadline=None)
@given(vr=st.sampled_from(ALL_VRS + ["US or SS", "OB or OW", "XX"]), raw=st.binary(max_size=64),
       little_endian=st.booleans(), charset=st.sampled_from(CHARSETS), strict=st.booleans())
def test_decode_never_raises_anything_but_dicom_errors(vr, raw, little_endian, charset, strict):
    set_strict(strict)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = decode_value(vr, raw, little_endian, charset)
        except DicomError:
            assert strict
            return
        finally:
            set_strict(False)
    value_multiplicity(vr, value)


@settings(max_examples=200, deadline=None)
@given(raw=st.binary(max_size=48).map(lambda b: b.replace(b"\x1b", b"") + b"\x1b" + b)
       | st.lists(st.sampled_from([b"\x1b$B", b"\x1b(B", b"\x1b(J", b"\x1b)I", b"\x1b$)C", b"\x1b$)A",
                                   b"\x1b-A", b"\x1b$(D", b"\x1b", b"$B", b"^", b"=", b"\\", b"\r\n",
                                   b"\xb0\xa1", b"\x30\x21", b"a", b"\xff"]), max_size=20).map(b"".join),
       vr=st.sampled_from(["PN", "LO", "LT"]), charset=st.sampled_from(CHARSETS))
def test_iso2022_machine_never_raises(raw, vr, charset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(decode_value(vr, raw, True, charset), (str, list, type(None)))


def test_a_number_the_vr_cannot_hold_is_a_value_error():
    with pytest.raises(ValueError, match="cannot be written as US"):
        encode_value("US", 70000, True, ())
    with pytest.raises(ValueError, match="cannot be written as SS"):
        encode_value("SS", [1, -40000], False, ())
