"""Specific Character Set (0008,0005): bytes of text values <-> ``str``.

DICOM names its character sets with *defined terms* (PS3.3 C.12.1.1.2) and,
when (0008,0005) has more than one value, lets a value switch between them
with ISO/IEC 2022 escape sequences (PS3.5 6.1.2.5).  Python has codecs for
every underlying set but none that speaks DICOM's flavour of ISO 2022 (its
delimiter rules differ from ISO-2022-JP and no Python codec combines, say,
ISO 8859-1 in G1 with JIS X 0208 in G0), so this module runs the ISO 2022
state machine itself and hands each run of bytes to the codec of the set
that is designated for it.

The rest of rawdicom only sees three functions: :func:`codecs_for` turns the
(0008,0005) value into a hashable ``charset`` tuple, :func:`decode_text` and
:func:`encode_text` convert one element's value with it.

Decoding never raises for bad bytes: undecodable bytes become U+FFFD with a
:class:`~rawdicom.errors.DicomWarning`.  Bytes above 0x7F in the default
repertoire (forbidden, but common in real files) are read as ISO 8859-1, with
a warning, because that loses nothing and is what other toolkits show.
"""

from __future__ import annotations

import codecs
import warnings
from dataclasses import dataclass
from functools import lru_cache

from rawdicom.errors import DicomWarning

__all__ = ["DEFAULT_CHARSET", "AFFECTED_VRS", "codecs_for", "decode_text", "encode_text"]

#: The charset of a dataset without (0008,0005): the default repertoire (ASCII).
DEFAULT_CHARSET: tuple[str, ...] = ()

#: VRs whose values are decoded with the Specific Character Set (PS3.5 6.1.2.5.1);
#: every other text VR uses the default repertoire.
AFFECTED_VRS = frozenset({"SH", "LO", "ST", "LT", "UC", "UT", "PN"})

_ESC = 0x1B
_CR, _LF, _FF, _TAB = 0x0D, 0x0A, 0x0C, 0x09
_BACKSLASH, _CARET, _EQUALS = 0x5C, 0x5E, 0x3D

# Bytes that restore the initial code element state (PS3.5 6.1.2.5.3), per VR.
# Backslash separates values only in the VRs that allow VM > 1.
_TEXT_DELIMS = frozenset({_CR, _LF, _FF, _TAB})
_MULTI_DELIMS = _TEXT_DELIMS | {_BACKSLASH}
_PN_DELIMS = _MULTI_DELIMS | {_CARET, _EQUALS}
_DELIMS_BY_VR = {"PN": _PN_DELIMS, "ST": _TEXT_DELIMS, "LT": _TEXT_DELIMS, "UT": _TEXT_DELIMS}

# JIS X 0201 katakana (ISO-IR 13) is read with Python's shift_jis codec, whose
# single bytes 0xA1-0xDF are those katakana (U+FF61-U+FF9F) and whose low half
# is ASCII. The standard allows no more in ISO-IR 13, but Japanese scanners
# write Shift-JIS kanji, Greek and Cyrillic there (``Test-ДΘﾈ`` as 84 44 83 A6
# C8): a lead byte and its trail byte (which may lie below 0x80) are one
# character, as pydicom 3 (the reference reader) reads them. Bytes that are
# no Shift-JIS become U+FFFD. Written back, only the katakana are ISO-IR 13.
_KANA = "x-jis-x-0201"
_SJIS_LEAD = frozenset(range(0x81, 0xA0)) | frozenset(range(0xE0, 0xFD))
_SJIS_TRAIL = frozenset(range(0x40, 0x7F)) | frozenset(range(0x80, 0xFD))


@dataclass(frozen=True)
class _CodeElement:
    """A graphic character set that an ISO 2022 escape sequence designates.

    ``g1`` says whether it is designated to G1 (used through the GR area,
    bytes >= 0x80) or to G0 (the GL area, bytes < 0x80).  A ``double_byte``
    G0 set (JIS X 0208/0212) is decoded by lifting each byte pair into GR and
    prefixing ``euc_prefix``, which yields EUC-JP that Python can decode.
    """

    escape: bytes
    codec: str
    g1: bool
    double_byte: bool = False
    euc_prefix: bytes = b""


_ASCII = _CodeElement(b"\x1b(B", "ascii", g1=False)
# ISO-IR 14 differs from ASCII only in the glyphs of 0x5C (YEN SIGN) and 0x7E
# (OVERLINE); they are kept as '\\' and '~' so that 0x5C still splits values
# (PS3.5 6.1.2.3) and ASCII text round-trips.
_ROMAJI = _CodeElement(b"\x1b(J", "ascii", g1=False)
_JIS_X_0208 = _CodeElement(b"\x1b$B", "euc_jp", g1=False, double_byte=True)
_JIS_X_0212 = _CodeElement(b"\x1b$(D", "euc_jp", g1=False, double_byte=True, euc_prefix=b"\x8f")
_KATAKANA = _CodeElement(b"\x1b)I", _KANA, g1=True)
_KS_X_1001 = _CodeElement(b"\x1b$)C", "euc_kr", g1=True)
_GB_2312 = _CodeElement(b"\x1b$)A", "gb2312", g1=True)


def _g1(final: str, codec: str) -> _CodeElement:
    """An ISO 8859 upper half, designated to G1 by ESC 02/13 F (a 96-set)."""
    return _CodeElement(b"\x1b-" + final.encode("ascii"), codec, g1=True)


@dataclass(frozen=True)
class _Term:
    """What one defined term means: its Python codec for whole values, and
    the code elements it designates (G0, G1), which are also the initial
    state when it is Value 1."""

    codec: str
    g0: _CodeElement | None
    g1: _CodeElement | None


_SINGLE_BYTE = {  # ISO-IR number -> (Python codec, G1 escape final byte)
    "100": ("latin_1", "A"),
    "101": ("iso8859_2", "B"),
    "109": ("iso8859_3", "C"),
    "110": ("iso8859_4", "D"),
    "144": ("iso8859_5", "L"),
    "127": ("iso8859_6", "G"),
    "126": ("iso8859_7", "F"),
    "138": ("iso8859_8", "H"),
    "148": ("iso8859_9", "M"),
    "203": ("iso8859_15", "b"),
    "166": ("tis_620", "T"),
}

_TERMS: dict[str, _Term] = {
    "": _Term("ascii", _ASCII, None),
    "ISO 2022 IR 6": _Term("ascii", _ASCII, None),
    "ISO_IR 13": _Term(_KANA, _ROMAJI, _KATAKANA),
    "ISO 2022 IR 13": _Term(_KANA, _ROMAJI, _KATAKANA),
    "ISO 2022 IR 87": _Term("ascii", _JIS_X_0208, None),
    "ISO 2022 IR 159": _Term("ascii", _JIS_X_0212, None),
    "ISO 2022 IR 149": _Term("euc_kr", None, _KS_X_1001),
    "ISO 2022 IR 58": _Term("gb2312", None, _GB_2312),
    "ISO_IR 192": _Term("utf_8", None, None),
    "GB18030": _Term("gb18030", None, None),
    "GBK": _Term("gbk", None, None),
}
for _number, (_codec, _final) in _SINGLE_BYTE.items():
    _TERMS[f"ISO_IR {_number}"] = _Term(_codec, _ASCII, _g1(_final, _codec))
    _TERMS[f"ISO 2022 IR {_number}"] = _Term(_codec, _ASCII, _g1(_final, _codec))

_ESCAPES: dict[bytes, _CodeElement] = {
    e.escape: e for t in _TERMS.values() for e in (t.g0, t.g1) if e is not None
}
_LONGEST_ESCAPE = max(len(e) for e in _ESCAPES)

# Misspellings seen in real files ("ISO IR 100", "ISO_IR_100", "iso-ir 100",
# "ISO 2022 IR 6"...) all collapse to the same letters and digits.
_COMPACT = {"".join(ch for ch in t.upper() if ch.isalnum()): t for t in _TERMS if t}
# A Python codec name where a defined term belongs ("latin-1", "utf-8").
_BY_CODEC = {codecs.lookup(_codec).name: f"ISO_IR {_number}" for _number, (_codec, _) in _SINGLE_BYTE.items()}
_BY_CODEC.update({"utf-8": "ISO_IR 192", "gb18030": "GB18030", "gbk": "GBK", "gb2312": "ISO 2022 IR 58",
                  "ascii": ""})
# "ISO_IR 6" is no defined term, but common enough to accept silently as ASCII.
_ALIASES = {"ISO_IR 6": ""}


def _normalise_term(term: str) -> str:
    """One (0008,0005) value -> its defined term, warning when it had to guess."""
    term = term.strip(" \x00")
    if term in _TERMS:
        return term
    if term in _ALIASES:
        return _ALIASES[term]
    guess = _COMPACT.get("".join(ch for ch in term.upper() if ch.isalnum()))
    if guess is None:
        try:
            guess = _BY_CODEC.get(codecs.lookup(term).name)
        except (LookupError, ValueError):  # ValueError: a NUL in the term
            guess = None
    if guess is None:
        warnings.warn(f"unknown Specific Character Set {term!r}: using the default repertoire",
                      DicomWarning, stacklevel=3)
        return ""
    warnings.warn(f"incorrect Specific Character Set {term!r}: assuming {guess!r}",
                  DicomWarning, stacklevel=3)
    return guess


def codecs_for(specific_character_set: str | list[str] | None) -> tuple[str, ...]:
    """The (0008,0005) value(s) -> the ``charset`` tuple taken by the other functions.

    The tuple holds defined terms, Value 1 first (``''`` for the default
    repertoire), so it is hashable and printable.  ``()`` is the default
    repertoire.  A single string holding backslash-separated values is split.
    UTF-8, GB18030 and GBK forbid code extensions: further values are dropped
    with a warning rather than trusted.
    """
    if not specific_character_set:
        return DEFAULT_CHARSET
    if isinstance(specific_character_set, str):
        specific_character_set = specific_character_set.split("\\")
    terms = tuple(_normalise_term(t) for t in specific_character_set)
    if len(terms) > 1 and terms[0] in ("ISO_IR 192", "GB18030", "GBK"):
        warnings.warn(f"Specific Character Set {terms[0]!r} allows no code extensions: "
                      f"ignoring {terms[1:]!r}", DicomWarning, stacklevel=2)
        terms = terms[:1]
    if terms == ("",):
        return DEFAULT_CHARSET
    return terms


@dataclass(frozen=True)
class _Plan:
    """Everything decode/encode need for one charset, computed once per charset."""

    codec: str                      # Python codec for a value without escapes
    g0: _CodeElement                # initial G0
    g1: _CodeElement | None         # initial G1
    fallbacks: tuple[str, ...]      # codecs to try when Value 1 is ASCII but bytes are not
    elements: tuple[_CodeElement, ...]  # every declared set, in declaration order (encoder)
    extended: bool                  # more than one value: escapes may be emitted


@lru_cache(maxsize=64)
def _plan(charset: tuple[str, ...]) -> _Plan:
    """Resolve a charset tuple (cached: datasets share a handful of charsets)."""
    terms = [_TERMS.get(t, _TERMS[""]) for t in charset] or [_TERMS[""]]
    first = terms[0]
    elements: list[_CodeElement] = []
    for term in terms:
        for element in (term.g0, term.g1):
            if element is not None and element not in elements:
                elements.append(element)
    fallbacks: tuple[str, ...] = ()
    if first.codec == "ascii":
        fallbacks = tuple(t.g1.codec for t in terms[1:] if t.g1 is not None) + ("latin_1",)
    return _Plan(
        codec=first.codec,
        # A double-byte G0 set is never the initial state: text starts in ASCII.
        g0=first.g0 if first.g0 is not None and not first.g0.double_byte else _ASCII,
        g1=first.g1,
        fallbacks=fallbacks,
        elements=tuple(elements),
        extended=len(terms) > 1,
    )


# --------------------------------------------------------------------- decode

def _decode(data: bytes, codec: str) -> tuple[str, bool]:
    """Decode with one codec; the flag says whether bytes had to be replaced."""
    if codec == _KANA:
        codec = "shift_jis"
    try:
        return data.decode(codec), False
    except UnicodeDecodeError:
        return data.decode(codec, "replace"), True


def _decode_fallback(data: bytes, fallbacks: tuple[str, ...]) -> str:
    """Bytes that the designated sets do not cover, read by the first codec that takes them all."""
    for codec in fallbacks:
        text, replaced = _decode(data, codec)
        if not replaced:
            return text
    return data.decode("latin_1")


def _decode_run(data: bytes, element: _CodeElement | None, plan_fallbacks: tuple[str, ...]) -> tuple[str, bool]:
    """Decode a run of GL (G0) or GR (G1) bytes with the set designated there."""
    if element is None:
        # Nothing is designated to G1 (an escape was missing or a delimiter
        # reset it): read the bytes as the first declared set that takes them.
        return _decode_fallback(data, plan_fallbacks), True
    if not element.double_byte:
        return _decode(data, element.codec)
    bad = len(data) % 2 == 1
    lifted = bytes(b | 0x80 for b in data[: len(data) - bad])
    if element.euc_prefix:
        p = element.euc_prefix
        lifted = b"".join(p + lifted[i:i + 2] for i in range(0, len(lifted), 2))
    text, replaced = _decode(lifted, element.codec)
    return text + "\ufffd" * bad, replaced or bad


def _shift_jis_end(raw: bytes, i: int) -> int:
    """The end of a run of high bytes read in ISO-IR 13 from ``i``: each Shift-JIS lead
    byte takes its trail byte with it, even one below 0x80 (see ``_KANA``)."""
    n = len(raw)
    while i < n and raw[i] >= 0x80:
        if raw[i] in _SJIS_LEAD and i + 1 < n and raw[i + 1] in _SJIS_TRAIL:
            i += 2
        else:
            i += 1
    return i


def _decode_iso2022(raw: bytes, plan: _Plan, delims: frozenset[int]) -> tuple[str, bool]:
    """The ISO 2022 state machine of PS3.5 6.1.2.5.3.

    Escape sequences designate a set to G0 or G1; bytes < 0x80 are read in
    G0, bytes >= 0x80 in G1.  After a delimiter (read in a single-byte G0:
    inside a JIS X 0208 pair, 0x5E is half a kanji, not a caret) the initial
    designations come back, as the standard requires encoders to ensure.
    """
    out: list[str] = []
    bad = False
    g0, g1 = plan.g0, plan.g1
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == _ESC:
            for size in range(3, _LONGEST_ESCAPE + 1):
                element = _ESCAPES.get(raw[i:i + size])
                if element is not None:
                    break
            if element is None:
                warnings.warn(f"unknown ISO 2022 escape sequence {raw[i:i + 4]!r}: kept as text",
                              DicomWarning, stacklevel=4)
                out.append("\x1b")
                i += 1
                continue
            if element not in plan.elements:
                warnings.warn(f"escape sequence {element.escape!r} designates a character set "
                              "that (0008,0005) does not declare", DicomWarning, stacklevel=4)
            if element.g1:
                g1 = element
            else:
                g0 = element
            i += size
            continue
        if b < 0x80 and (b < 0x21 or not g0.double_byte):
            # Single-byte GL characters (or a control/space amid double bytes).
            if b in delims:
                out.append(chr(b))
                g0, g1 = plan.g0, plan.g1
                i += 1
                continue
            j = i + 1
            while j < n:
                c = raw[j]
                if c >= 0x80 or c == _ESC or c in delims or (g0.double_byte and c >= 0x21):
                    break
                j += 1
            out.append(raw[i:j].decode("ascii"))
            i = j
            continue
        j = i + 1
        high = b >= 0x80
        if high and g1 is not None and g1.codec == _KANA:
            j = _shift_jis_end(raw, i)
        else:
            while j < n and raw[j] != _ESC and (raw[j] >= 0x80) == high and (high or raw[j] >= 0x21):
                j += 1
        text, replaced = _decode_run(raw[i:j], g1 if high else g0, plan.fallbacks)
        out.append(text)
        bad = bad or replaced
        i = j
    return "".join(out), bad


def decode_text(raw: bytes, charset: tuple[str, ...], vr: str) -> str:
    """One element's value bytes -> ``str`` (padding and value splitting are the caller's).

    ``vr`` decides whether the charset applies at all (only SH LO ST LT UC UT
    PN) and which bytes are delimiters that reset ISO 2022 state.  Never
    raises for bad bytes: they become U+FFFD with a DicomWarning.
    """
    if raw.isascii() and _ESC not in raw:
        return raw.decode("ascii")
    if vr not in AFFECTED_VRS:
        charset = DEFAULT_CHARSET
    plan = _plan(charset)
    if _ESC in raw and plan.codec not in ("utf_8", "gb18030", "gbk"):
        text, bad = _decode_iso2022(raw, plan, _DELIMS_BY_VR.get(vr, _MULTI_DELIMS))
    elif plan.fallbacks:
        # Value 1 is ASCII, yet the bytes are not: read them as well as we can.
        text, bad = _decode_fallback(raw, plan.fallbacks), True
    else:
        text, bad = _decode(raw, plan.codec)
    if bad:
        warnings.warn(f"{vr} value has bytes that {charset or 'the default repertoire'!r} does not allow: "
                      "read as the nearest declared character set, or replaced with U+FFFD",
                      DicomWarning, stacklevel=2)
    return text


# --------------------------------------------------------------------- encode

def _encode_char(ch: str, element: _CodeElement | None) -> bytes | None:
    """``ch`` in the set ``element`` (GL or GR bytes as they go on the wire), or None."""
    if element is None:
        return None
    if element.codec == "ascii":
        return ch.encode("ascii") if ch < "\x80" else None
    if element.codec == _KANA:
        return bytes([ord(ch) - 0xFF61 + 0xA1]) if "\uff61" <= ch <= "\uff9f" else None
    try:
        data = ch.encode(element.codec)
    except UnicodeEncodeError:
        return None
    if element.double_byte:
        if data[:1] == b"\x8e" or len(data) != 2 + len(element.euc_prefix) \
                or not data.startswith(element.euc_prefix):
            return None
        return bytes(b & 0x7F for b in data[len(element.euc_prefix):])
    return data if data[0] >= 0x80 else None


def _encode_iso2022(text: str, plan: _Plan, delims: frozenset[int], vr: str) -> bytes:
    """Mirror of :func:`_decode_iso2022`: designate sets as characters need them,
    and restore the initial G0 before each delimiter and at the end."""
    out = bytearray()
    g0, g1 = plan.g0, plan.g1
    for ch in text:
        code = ord(ch)
        if code < 0x20 or code in delims:
            if g0 is not plan.g0:
                out += plan.g0.escape
            if g1 is not plan.g1 and plan.g1 is not None:
                out += plan.g1.escape
            g0, g1 = plan.g0, plan.g1
            out.append(code)
            continue
        data = _encode_char(ch, g0) or _encode_char(ch, g1)
        if data is None:
            for element in plan.elements:
                data = _encode_char(ch, element)
                if data is not None:
                    out += element.escape
                    if element.g1:
                        g1 = element
                    else:
                        g0 = element
                    break
        if data is None:
            warnings.warn(f"{ch!r} cannot be encoded in {vr} with {plan.elements!r}: written as '?'",
                          DicomWarning, stacklevel=3)
            data = b"?"
            if g0.double_byte:
                out += plan.g0.escape
                g0 = plan.g0
        out += data
    if g0 is not plan.g0:
        out += plan.g0.escape
    return bytes(out)


def encode_text(text: str, charset: tuple[str, ...], vr: str) -> bytes:
    """``str`` -> value bytes for the writer, the mirror of :func:`decode_text`.

    With code extensions (more than one value in (0008,0005)) each character
    goes in the first declared set that has it, with the escape sequences
    PS3.5 6.1.2.5.3 asks for.  A character no declared set has is written as
    ``?`` with a DicomWarning.  Text outside ASCII in the default repertoire
    is written as ISO 8859-1 with a warning, mirroring the reading side.
    """
    if text.isascii():
        return text.encode("ascii")
    if vr not in AFFECTED_VRS:
        charset = DEFAULT_CHARSET
    plan = _plan(charset)
    if plan.extended or plan.codec == _KANA:
        return _encode_iso2022(text, plan, _DELIMS_BY_VR.get(vr, _MULTI_DELIMS), vr)
    if plan.codec == "ascii":
        warnings.warn(f"{vr} text outside the default repertoire: written as ISO 8859-1",
                      DicomWarning, stacklevel=2)
        codec = "latin_1"
    else:
        codec = plan.codec
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        warnings.warn(f"{vr} text has characters that {charset!r} cannot encode: written as '?'",
                      DicomWarning, stacklevel=2)
        return text.encode(codec, "replace")
