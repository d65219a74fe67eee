"""Tests of rawdicom.charset: defined terms, ISO 2022 escapes, PS3.5 Annexes H-K.

pydicom.charset serves as an independent oracle: both must read the same
bytes to the same text (except where noted, with the reason).
"""

from __future__ import annotations

import codecs
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydicom import charset as pc

from rawdicom.charset import AFFECTED_VRS, codecs_for, decode_text, encode_text
from rawdicom.errors import DicomWarning

ESC = b"\x1b"
PN_DELIMS = {0x5E, 0x3D}
TEXT_DELIMS = {0x0D, 0x0A, 0x09, 0x0C}


def cc(notation: str) -> bytes:
    """PS3.5 column/row notation ("05/09 06/01") -> bytes."""
    return bytes(int(c) * 16 + int(r) for c, r in (pair.split("/") for pair in notation.split()))


# Where pydicom 3.0 is no oracle, and why.
ORACLE_GAPS = {
    "ISO_IR 203": "pydicom 3.0 does not know ISO 8859-15 and falls back to the default",
    "ISO 2022 IR 203": "pydicom 3.0 does not know ISO 8859-15 and falls back to the default",
    "ISO 2022 IR 58": "pydicom 3.0 decodes with Python's gb2312 codec, which keeps ESC $ ) A as text",
}


def oracle(raw: bytes, charset: tuple[str, ...], vr: str, expected: str) -> bool:
    """Whether pydicom reads the same bytes as ``expected`` (True where it cannot tell)."""
    if ORACLE_GAPS.keys() & set(charset):
        return True
    encodings = pc.convert_encodings(list(charset) or ["ISO_IR 6"])
    return pc.decode_bytes(raw, encodings, PN_DELIMS if vr == "PN" else TEXT_DELIMS) == expected


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    """A test that expects no warning fails if one is emitted."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", DicomWarning)
        yield


# --------------------------------------------------------------- codecs_for

@pytest.mark.parametrize("value, expected", [
    (None, ()),
    ("", ()),
    ([""], ()),
    ("ISO_IR 100", ("ISO_IR 100",)),
    (["ISO_IR 192"], ("ISO_IR 192",)),
    (["", "ISO 2022 IR 87"], ("", "ISO 2022 IR 87")),
    ("\\ISO 2022 IR 87", ("", "ISO 2022 IR 87")),
    (["ISO 2022 IR 13", "ISO 2022 IR 87"], ("ISO 2022 IR 13", "ISO 2022 IR 87")),
    (["ISO_IR 100 "], ("ISO_IR 100",)),
    ("ISO_IR 6", ()),
])
def test_codecs_for_defined_terms(value, expected):
    assert codecs_for(value) == expected


@pytest.mark.parametrize("misspelt, expected", [
    ("ISO IR 100", "ISO_IR 100"),
    ("ISO_IR_100", "ISO_IR 100"),
    ("ISO-IR 100", "ISO_IR 100"),
    ("iso_ir 100", "ISO_IR 100"),
    ("ISO_IR 192 ".replace("_", "-"), "ISO_IR 192"),
    ("ISO_2022_IR_6", "ISO 2022 IR 6"),
    ("ISO 2022 IR 6".replace(" ", "-"), "ISO 2022 IR 6"),
    ("ISO2022IR87", "ISO 2022 IR 87"),
    ("utf-8", "ISO_IR 192"),
    ("latin_1", "ISO_IR 100"),
])
def test_codecs_for_tolerates_misspellings_with_warning(misspelt, expected):
    with pytest.warns(DicomWarning, match="incorrect"):
        assert codecs_for([misspelt]) == (expected,)


def test_codecs_for_misspellings_agree_with_pydicom():
    for misspelt in ("ISO IR 100", "ISO_IR_100", "ISO-IR 100", "ISO-IR 144"):
        with pytest.warns(DicomWarning):
            term = codecs_for(misspelt)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs, ours = pc.convert_encodings([misspelt])[0], pc.convert_encodings([term])[0]
        assert codecs.lookup(theirs).name == codecs.lookup(ours).name


def test_codecs_for_unknown_term_falls_back_to_default():
    with pytest.warns(DicomWarning, match="unknown"):
        assert codecs_for("KLINGON") == ()
    with pytest.warns(DicomWarning, match="unknown"):
        assert codecs_for(["", "ISO 2022 IR 999"]) == ("", "")


def test_codecs_for_drops_extensions_of_utf8():
    with pytest.warns(DicomWarning, match="no code extensions"):
        assert codecs_for(["ISO_IR 192", "ISO 2022 IR 87"]) == ("ISO_IR 192",)


def test_charset_is_hashable():
    assert hash(codecs_for(["", "ISO 2022 IR 149"]))


# ------------------------------------------------- every defined term round trip

SAMPLES = {
    "ISO_IR 100": "Günther^Hélène",
    "ISO_IR 101": "Wałęsa^Łódź",
    "ISO_IR 109": "Ħaġar^Ġużè",
    "ISO_IR 110": "Ķēniņš^Ūla",
    "ISO_IR 144": "Люкceмбypг^Иван",
    "ISO_IR 127": "قباني^لنزار",
    "ISO_IR 126": "Διονυσιος^Γιωργος",
    "ISO_IR 138": "שרון^דבורה",
    "ISO_IR 148": "Çavuşoğlu^Şükrü",
    "ISO_IR 203": "Œuvre^€uro",
    "ISO_IR 13": "ﾔﾏﾀﾞ^ﾀﾛｳ",
    "ISO_IR 166": "ประเทศไทย^ภาษา",
    "ISO_IR 192": "Wang^XiaoDong=王^小東=",
    "GB18030": "Wang^XiaoDong=王^小东=",
    "GBK": "Wang^XiaoDong=王^小东=",
}
SINGLE_EXTENDED = {f"ISO 2022 IR {t[7:]}": s for t, s in SAMPLES.items() if t.startswith("ISO_IR")
                   and t != "ISO_IR 192"}
MULTI_BYTE = {
    ("", "ISO 2022 IR 87"): "Yamada^Tarou=山田^太郎=やまだ^たろう",
    ("ISO 2022 IR 13", "ISO 2022 IR 87"): "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう",
    ("", "ISO 2022 IR 87", "ISO 2022 IR 159"): "Yamada=丂乚=やまだ",  # U+4E02 and U+4E5A are JIS X 0212
    ("", "ISO 2022 IR 149"): "Hong^Gildong=洪^吉洞=홍^길동",
    ("", "ISO 2022 IR 58"): "Zhang^XiaoDong=张^小东=",
    ("ISO 2022 IR 100", "ISO 2022 IR 126", "ISO 2022 IR 144"): "Günther^Διονυσιος=Люкceмбypг",
    ("ISO 2022 IR 6", "ISO 2022 IR 100"): "Günther^Hélène",
}
CASES = ([((t,), s) for t, s in SAMPLES.items()]
         + [(("", t), s) for t, s in SINGLE_EXTENDED.items()]
         + [((t,), s) for t, s in SINGLE_EXTENDED.items()]
         + list(MULTI_BYTE.items()))


@pytest.mark.parametrize("charset, text", CASES, ids=[" \\ ".join(c) for c, _ in CASES])
@pytest.mark.parametrize("vr", ["PN", "LO"])
def test_round_trip_and_oracle(charset, text, vr):
    raw = encode_text(text, charset, vr)
    assert decode_text(raw, charset, vr) == text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert oracle(raw, charset, vr, text)


@pytest.mark.parametrize("charset", [c for c, _ in CASES])
def test_ascii_is_ascii_in_every_charset(charset):
    assert encode_text("Doe^John", charset, "PN") == b"Doe^John"
    assert decode_text(b"Doe^John", charset, "PN") == "Doe^John"


def test_iso2022_single_byte_sets_use_escapes():
    charset = ("ISO 2022 IR 100", "ISO 2022 IR 126")
    raw = encode_text("é^Δ", charset, "PN")
    # é needs no escape (Value 1 is the initial G1); Δ designates ISO-IR 126 to G1,
    # which needs no switch back at the end (only G0 must be restored).
    assert raw == b"\xe9^\x1b-F\xc4"
    assert decode_text(raw, charset, "PN") == "é^Δ"
    assert oracle(raw, charset, "PN", "é^Δ")


def test_iso2022_g1_restored_at_pn_delimiters():
    charset = ("ISO 2022 IR 100", "ISO 2022 IR 126")
    raw = encode_text("Δ^é", charset, "PN")
    # Value 1 (ISO-IR 100) must be active again before '^' (PS3.5 6.1.2.5.3).
    assert raw == b"\x1b-F\xc4\x1b-A^\xe9"
    assert decode_text(raw, charset, "PN") == "Δ^é"
    # A decoder restores it at the delimiter even when the writer did not.
    assert decode_text(b"\x1b-F\xc4^\xe9", charset, "PN") == "Δ^é"


def test_backslash_resets_in_multivalued_but_not_in_text():
    charset = ("ISO 2022 IR 100", "ISO 2022 IR 126")
    assert decode_text(b"\x1b-F\xc4\\\xe9", charset, "LO") == "Δ\\é"
    assert decode_text(b"\x1b-F\xc4\\\xe9", charset, "LT") == "Δ\\ι"
    assert decode_text(b"\x1b-F\xc4\r\n\xe9", charset, "LT") == "Δ\r\né"


def test_caret_inside_jis_pair_is_no_delimiter():
    # やまだ is 24 64 24 5E 24 40: the 5E there is half a character, not '^'.
    raw = b"\x1b$B$d$^$@\x1b(B^x"
    assert decode_text(raw, ("", "ISO 2022 IR 87"), "PN") == "やまだ^x"


def test_multibyte_0x5c_second_byte_is_not_a_delimiter():
    # A JIS X 0208 character whose second byte is 0x5C: a multi-valued
    # LO must not split inside it (pydicom splits raw bytes on 0x5C first).
    char = bytes([0x3B | 0x80, 0x5C | 0x80]).decode("euc_jp")
    charset = ("", "ISO 2022 IR 87")
    raw = encode_text(f"{char}\\b", charset, "LO")
    assert raw == b"\x1b$B;\\\x1b(B\\b"
    assert decode_text(raw, charset, "LO").split("\\") == [char, "b"]
    gbk_char = next(chr(c) for c in range(0x4E00, 0x9FA5) if chr(c).encode("gbk")[1:] == b"\\")
    raw = encode_text(f"{gbk_char}\\b", ("GBK",), "LO")
    assert decode_text(raw, ("GBK",), "LO").split("\\") == [gbk_char, "b"]


# ---------------------------------------------------- PS3.5 Annexes H, I, J, K

H1 = cc("05/09 06/01 06/13 06/01 06/04 06/01 5/14 05/04 06/01 07/02 06/15 07/05 03/13 01/11 02/04 "
        "04/02 03/11 03/03 04/05 04/04 01/11 02/08 04/02 05/14 01/11 02/04 04/02 04/02 04/00 04/15 "
        "03/10 01/11 02/08 04/02 03/13 01/11 02/04 04/02 02/04 06/04 02/04 05/14 02/04 04/00 01/11 "
        "02/08 04/02 05/14 01/11 02/04 04/02 02/04 03/15 02/04 06/13 02/04 02/06 01/11 02/08 04/02")
H2 = cc("13/04 12/15 12/00 13/14 05/14 12/00 13/11 11/03 03/13 01/11 02/04 04/02 03/11 03/03 04/05 "
        "04/04 01/11 02/08 04/10 05/14 01/11 02/04 04/02 04/02 04/00 04/15 03/10 01/11 02/08 04/10 "
        "03/13 01/11 02/04 04/02 02/04 06/04 02/04 05/14 02/04 04/00 01/11 02/08 04/10 05/14 01/11 "
        "02/04 04/02 02/04 03/15 02/04 06/13 02/04 02/06 01/11 02/08 04/10")
I1 = cc("04/08 06/15 06/14 06/07 05/14 04/07 06/09 06/12 06/04 06/15 06/14 06/07 03/13 01/11 02/04 "
        "02/09 04/03 15/11 15/03 05/14 01/11 02/04 02/09 04/03 13/01 12/14 13/04 13/07 03/13 01/11 "
        "02/04 02/09 04/03 12/08 10/11 05/14 01/11 02/04 02/09 04/03 11/01 14/06 11/05 11/15")
# The bytes printed in J.2 and J.4 have no space before the Chinese characters,
# though the text shown above them does; the tests follow the bytes.
LINES = "The first line includes{0}.\r\nThe second line includes{0}, too.\r\nThe third line.\r\n"


@pytest.mark.parametrize("charset, raw, text", [
    (("", "ISO 2022 IR 87"), H1, "Yamada^Tarou=山田^太郎=やまだ^たろう"),                 # H.3.1
    (("ISO 2022 IR 13", "ISO 2022 IR 87"), H2, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎=やまだ^たろう"),        # H.3.2
    (("", "ISO 2022 IR 149"), I1, "Hong^Gildong=洪^吉洞=홍^길동"),                       # I.2
    (("ISO_IR 192",), bytes.fromhex("57616e675e5869616f446f6e673de78e8b5ee5b08fe69db13d"),
     "Wang^XiaoDong=王^小東="),                                                         # J.1
    (("GB18030",), bytes.fromhex("57616e675e5869616f446f6e673dcdf55ed0a1b6ab3d"),
     "Wang^XiaoDong=王^小东="),                                                         # J.3
    (("GBK",), bytes.fromhex("57616e675e5869616f446f6e673dcdf55ed0a1b6ab3d"),
     "Wang^XiaoDong=王^小东="),                                                         # J (GBK)
    (("", "ISO 2022 IR 58"), bytes.fromhex("5A68616E675E5869616F446F6E673D1B2429 41D5C55E1B242941D0A1B6AB3D"
                                          .replace(" ", "")), "Zhang^XiaoDong=张^小东="),  # K.2
])
def test_annex_person_names(charset, raw, text):
    assert decode_text(raw, charset, "PN") == text
    assert encode_text(text, charset, "PN") == raw
    assert oracle(raw, charset, "PN", text)


def test_annex_i_long_text_korean_without_escapes_between_sets():
    # I.3: one escape at the head of each line; ASCII and Hangul then mix freely.
    hangul = "한글".encode("euc_kr")
    raw = (b"\x1b$)CThe first line includes " + hangul + b".\r\n"
           b"\x1b$)CThe second line includes " + hangul + b", too.\r\nThe third line")
    text = "The first line includes 한글.\r\nThe second line includes 한글, too.\r\nThe third line"
    charset = ("", "ISO 2022 IR 149")
    assert decode_text(raw, charset, "LT") == text
    assert oracle(raw, charset, "LT", text)
    assert decode_text(encode_text(text, charset, "LT"), charset, "LT") == text


def test_annex_j_long_text_utf8_and_gb18030():
    utf8 = bytes.fromhex(
        "546865206669727374206c696e6520696e636c75646573e4b8ade696872e0d0a"
        "546865207365636f6e64206c696e6520696e636c75646573e4b8ade696872c20746f6f2e0d0a"
        "546865207468697264206c696e652e0d0a")
    gb = bytes.fromhex(
        "546865206669727374206c696e6520696e636c75646573d6d0cec42e0d0a"
        "546865207365636f6e64206c696e6520696e636c75646573d6d0cec42c20746f6f2e0d0a"
        "546865207468697264206c696e652e0d0a")
    text = LINES.format("中文")
    for charset, raw in ((("ISO_IR 192",), utf8), (("GB18030",), gb), (("GBK",), gb)):
        assert decode_text(raw, charset, "LT") == text
        assert encode_text(text, charset, "LT") == raw
        assert oracle(raw, charset, "LT", text)


def test_annex_k_long_text_gb2312():
    raw = bytes.fromhex(
        "312e1b242941b5dad2bbd0d0cec4d7d6a1a30d0a"
        "322e1b242941b5dab6fed0d0cec4d7d6a1a30d0a"
        "332e1b242941b5dac8fdd0d0cec4d7d6a1a30d0a")
    text = "1.第一行文字。\r\n2.第二行文字。\r\n3.第三行文字。\r\n"
    charset = ("", "ISO 2022 IR 58")
    assert decode_text(raw, charset, "LT") == text
    assert encode_text(text, charset, "LT") == raw
    assert oracle(raw, charset, "LT", text)


# ------------------------------------------------------------ VRs and errors

def test_unaffected_vrs_use_the_default_repertoire():
    assert "CS" not in AFFECTED_VRS and "PN" in AFFECTED_VRS
    raw = "ι".encode("iso8859_7")
    assert raw == b"\xe9"
    assert decode_text(raw, ("ISO_IR 126",), "LO") == "ι"
    with pytest.warns(DicomWarning, match="does not allow"):
        assert decode_text(raw, ("ISO_IR 126",), "CS") == "é"  # read as ISO 8859-1


def test_high_bytes_in_default_repertoire_read_as_latin1_with_warning():
    with pytest.warns(DicomWarning):
        assert decode_text(b"G\xfcnther", (), "PN") == "Günther"
    with pytest.warns(DicomWarning):
        assert encode_text("Günther", (), "PN") == b"G\xfcnther"


def test_missing_escape_falls_back_to_declared_g1_set():
    # Korean files often carry EUC-KR without the escape sequence.
    with pytest.warns(DicomWarning):
        assert decode_text("홍길동".encode("euc_kr"), ("", "ISO 2022 IR 149"), "PN") == "홍길동"


@pytest.mark.parametrize("charset, raw", [
    (("ISO_IR 192",), b"caf\xc3"),
    (("GB18030",), b"a\x81"),
    (("ISO_IR 13",), b"\x80\xa0"),             # no Shift-JIS either (0x81 0x40 is U+3000)
    (("", "ISO 2022 IR 87"), b"\x1b$B;"),        # half a JIS X 0208 pair
    (("", "ISO 2022 IR 87"), b"\x1b$B\x7f\x7f"),  # not a JIS X 0208 character
])
def test_undecodable_bytes_are_replaced_with_warning(charset, raw):
    with pytest.warns(DicomWarning):
        assert "\ufffd" in decode_text(raw, charset, "LO")


def test_unknown_escape_sequence_is_kept_with_warning():
    with pytest.warns(DicomWarning, match="unknown ISO 2022 escape"):
        assert decode_text(b"a\x1b%Gb", ("", "ISO 2022 IR 100"), "LO") == "a\x1b%Gb"


def test_undeclared_escape_is_used_with_warning():
    with pytest.warns(DicomWarning, match="does not declare"):
        assert decode_text(b"\x1b-F\xc4", ("", "ISO 2022 IR 100"), "LO") == "Δ"


def test_unencodable_character_written_as_question_mark():
    with pytest.warns(DicomWarning):
        assert encode_text("a山", ("ISO_IR 100",), "LO") == b"a?"
    with pytest.warns(DicomWarning):
        assert encode_text("a山", ("", "ISO 2022 IR 100"), "LO") == b"a?"


# ------------------------------------------------------------ property tests

@settings(max_examples=300, deadline=None)
@given(data=st.data(), case=st.sampled_from(CASES), vr=st.sampled_from(["PN", "LO", "LT"]))
def test_any_text_of_the_charset_round_trips(data, case, vr):
    """Any mix of the charset's characters and delimiters survives encode -> decode."""
    charset, sample = case
    alphabet = sorted(set(sample) | set("ab ^=\\\r\n\t"))
    text = data.draw(st.text(alphabet=alphabet, max_size=30))
    assert decode_text(encode_text(text, charset, vr), charset, vr) == text


# ------------------------------------------------- Japanese: ISO-IR 13 and Shift-JIS
# Japanese scanners declare ``ISO_IR 13\ISO 2022 IR 87`` (or ISO 2022 IR 13) and write, besides
# the JIS X 0208 runs PS3.5 H.3 describes, Shift-JIS double bytes in the ISO-IR 13 state
# (which the standard does not allow, and pydicom 3, the reference reader, decodes as
# Shift-JIS). Built byte by byte: rawdicom reads each value as pydicom does.
SJIS = {"Test-ДΘﾈ": b"Test-\x84\x44\x83\xa6\xc8",    # the value from the field
        "山田^太郎": b"\x8eR\x93c^\x91\xbe\x98Y",      # trail bytes below 0x80
        "ﾔﾏﾀﾞ^ﾀﾛｳ": b"\xd4\xcf\xc0\xde^\xc0\xdb\xb3"}   # JIS X 0201 katakana only


@pytest.mark.parametrize("first", ["ISO_IR 13", "ISO 2022 IR 13"])
@pytest.mark.parametrize("text", list(SJIS))
@pytest.mark.parametrize("vr", ["PN", "LO", "LT"])
def test_shift_jis_in_iso_ir_13_as_pydicom(first, text, vr):
    raw = SJIS[text]
    for charset in ((first,), (first, "ISO 2022 IR 87")):
        assert decode_text(raw, charset, vr) == text
        assert oracle(raw, charset, vr, text)


def test_iso_ir_13_with_jis_x_0208_escapes_as_pydicom():
    """PS3.5 H.3.1: katakana in G1, kanji after ESC $ B, back to ISO-IR 14 with ESC ( J; then
    the same with Shift-JIS where the standard wants katakana (pydicom reads both)."""
    charset = ("ISO 2022 IR 13", "ISO 2022 IR 87")
    annex = (cc("13/04 12/15 12/00 13/14 05/14 12/00 13/11 11/03 03/13") + ESC + b"$B"
             + cc("03/11 03/03 04/05 04/04") + ESC + b"(J" + cc("05/14") + ESC + b"$B"
             + cc("04/02 04/00 04/15 03/10") + ESC + b"(J" + cc("03/13"))
    mixed = b"\x84\x44" + ESC + b"$B" + cc("03/11 03/03") + ESC + b"(J\xc8\x83\xa6"
    for raw, text in ((annex, "ﾔﾏﾀﾞ^ﾀﾛｳ=山田^太郎="), (mixed, "Д山ﾈΘ")):
        assert decode_text(raw, charset, "PN") == text
        assert oracle(raw, charset, "PN", text)


def test_bytes_that_are_no_shift_jis_are_replaced_as_pydicom():
    raw = b"a\x80b\xa0c\x84"          # not a lead byte, not a character, a lead byte alone
    with pytest.warns(DicomWarning):
        ours = decode_text(raw, ("ISO_IR 13",), "LO")
    assert ours == "a\ufffdb\ufffdc\ufffd"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's own warning about the same bytes
        assert oracle(raw, ("ISO_IR 13",), "LO", ours)


def test_shift_jis_trail_bytes_that_look_like_delimiters_as_pydicom():
    """A Shift-JIS trail byte 0x5C (表 is 95 5C, ソ is 83 5C) is half a character, not a
    value separator: whole files read by rawdicom and by pydicom 3 give the same values."""
    import io

    import pydicom

    import rawdicom
    from builders import element, part10, txt
    values = {"PatientName": (0x00100010, "PN", b"\x95\x5c^\x83\x5c ", "表^ソ"),
              "StudyDescription": (0x00081030, "LO", b"\x95\x5c\x8eR", "表山"),
              "StudyComments": (0x00324000, "LT", b"\x95\x5c\x8eR", "表山")}
    body = element(0x00080005, "CS", txt("ISO_IR 13")) + b"".join(
        element(tag, vr, raw) for tag, vr, raw, _ in sorted(values.values()))
    data = part10(body)
    ours = rawdicom.read(data)
    theirs = pydicom.dcmread(io.BytesIO(data), force=True)
    for keyword, (*_, text) in values.items():
        assert str(getattr(ours, keyword)) == str(theirs.get(keyword)) == text
