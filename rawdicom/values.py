"""Decoding and encoding of element values, one rule per Value Representation.

The reader finds an element's VR and value bytes; :func:`decode_value` turns
them into Python values when a user asks (PS3.5 6.2):

* text VRs -> ``str`` (decoded with the Specific Character Set where the VR
  is affected by it, padding removed), ``PersonName`` for PN, ``float`` for
  DS, ``int`` for IS; split on backslash where the VR allows VM > 1;
* binary numbers -> ``int``/``float``; AT -> the tag as an ``int``;
* OB OD OF OL OV OW UN -> ``bytes``, untouched (swapping OW is the pixel
  layer's job);
* VM 1 -> the value, VM > 1 -> a ``list``, an empty value -> ``None``.

Bad values have one documented policy: a value that does not parse (DS
``"1.5 mm"``, US with 3 bytes) is returned as its text (for binary VRs, its
raw bytes) with a :class:`~rawdicom.errors.DicomWarning`, so one bad element
never stops a read.  Under :func:`set_strict` ``(True)`` it raises
:class:`~rawdicom.errors.ValueDecodeError` instead.  Nothing here raises any
other exception for any bytes.

Decoding is on the path of every value access, so it dispatches through a
dict to per-VR functions, keeps ``struct.Struct`` objects per VR and byte
order, and reads ASCII text (almost all text) without touching the charset
machinery.
"""

from __future__ import annotations

import datetime
import struct
import sys
import warnings
from typing import Any, Callable

from rawdicom.charset import AFFECTED_VRS, DEFAULT_CHARSET, decode_text, encode_text
from rawdicom.errors import DicomWarning, ValueDecodeError

__all__ = [
    "STRICT",
    "set_strict",
    "decode_value",
    "encode_value",
    "value_multiplicity",
    "PersonName",
    "to_date",
    "to_time",
    "to_datetime",
]

#: When true, a value that does not parse raises ValueDecodeError instead of
#: warning and returning its text.  Change it with :func:`set_strict`.
STRICT = False


def set_strict(strict: bool) -> None:
    """Choose the bad-value policy: raise (True) or warn and return the text (False)."""
    global STRICT
    STRICT = bool(strict)


#: The signature of every per-VR decoder: (raw, little_endian, charset) -> value.
_Decoder = Callable[[Any, bool, tuple[str, ...]], Any]


def _bad_value(message: str, fallback: Any) -> Any:
    """Apply the bad-value policy: the fallback with a warning, or an error."""
    if STRICT:
        raise ValueDecodeError(message)
    warnings.warn(message, DicomWarning, stacklevel=4)
    return fallback


# ---------------------------------------------------------------- PersonName

class PersonName(str):
    """A PN value: the full text, plus its component groups and components.

    A ``str`` subclass so that comparing, printing and sorting names needs no
    conversion; the parts are computed on access since most code never asks.
    Groups are split on ``=`` (alphabetic, ideographic, phonetic), components
    on ``^`` (family, given, middle, prefix, suffix); a missing part is ``''``.
    """

    __slots__ = ()

    @property
    def components(self) -> tuple[str, ...]:
        """The component groups present, in order (alphabetic first)."""
        return tuple(self.split("="))

    def _group(self, index: int) -> str:
        groups = self.split("=")
        return groups[index] if index < len(groups) else ""

    @property
    def alphabetic(self) -> str:
        """The first component group (single-byte, Latin usually)."""
        return self._group(0)

    @property
    def ideographic(self) -> str:
        """The second component group (kanji, hanja, hanzi)."""
        return self._group(1)

    @property
    def phonetic(self) -> str:
        """The third component group (hiragana, hangul...)."""
        return self._group(2)

    def _component(self, index: int) -> str:
        parts = self.alphabetic.split("^")
        return parts[index] if index < len(parts) else ""

    @property
    def family_name(self) -> str:
        """Component 1 of the alphabetic group."""
        return self._component(0)

    @property
    def given_name(self) -> str:
        """Component 2 of the alphabetic group."""
        return self._component(1)

    @property
    def middle_name(self) -> str:
        """Component 3 of the alphabetic group."""
        return self._component(2)

    @property
    def name_prefix(self) -> str:
        """Component 4 of the alphabetic group."""
        return self._component(3)

    @property
    def name_suffix(self) -> str:
        """Component 5 of the alphabetic group."""
        return self._component(4)


# ------------------------------------------------------------- text decoders

def _to_float(text: str) -> float:
    """DS text -> float; ``float`` also takes ``1_0``, which DS does not allow."""
    if "_" in text:
        raise ValueError(text)
    return float(text)


def _to_int(text: str) -> int:
    """IS text -> int, tolerating integral decimals ("1.0") that some writers emit."""
    if "_" in text:
        raise ValueError(text)
    try:
        return int(text)
    except ValueError:
        number = float(text)
        if not number.is_integer():
            raise
        warnings.warn(f"IS value {text!r} is not an integer string: read as {int(number)}",
                      DicomWarning, stacklevel=5)
        return int(number)


def _to_person_name(text: str) -> PersonName:
    """PN text -> PersonName without trailing empty component groups.

    PS3.5 6.2.1 lets a writer omit them, so ``Wang^XiaoDong=王^小東=`` and
    ``Wang^XiaoDong=王^小東`` are the same name and should compare equal.
    """
    return PersonName(text.rstrip("="))


def _text_decoder(vr: str, *, multi: bool, leading: bool,
                  convert: Callable[[str], Any] | None = None) -> _Decoder:
    """Build the decoder of one text VR.

    ``multi``: backslash separates values (else it is a literal character).
    ``leading``: leading spaces are padding too (PS3.5 table 6.2-1).
    ``convert``: str -> number for DS/IS, PersonName for PN.
    """
    affected = vr in AFFECTED_VRS

    def decode(raw: Any, little_endian: bool, charset: tuple[str, ...]) -> Any:
        if type(raw) is not bytes:
            raw = bytes(raw)
        if raw.isascii() and 27 not in raw:
            text = raw.decode("ascii")
        else:
            text = decode_text(raw, charset if affected else DEFAULT_CHARSET, vr)
        if multi and "\\" in text:
            parts = text.split("\\")
            parts = [p.strip(" \x00") for p in parts] if leading else [p.rstrip(" \x00") for p in parts]
            if convert is None:
                return parts
            try:
                return [convert(p) if p else None for p in parts]
            except ValueError:
                return _bad_value(f"{vr} value {text!r} does not parse", parts)
        text = text.strip(" \x00") if leading else text.rstrip(" \x00")
        if not text:
            return None
        if convert is None:
            return text
        try:
            return convert(text)
        except ValueError:
            return _bad_value(f"{vr} value {text!r} does not parse", text)

    return decode


# ----------------------------------------------------------- binary decoders

_NATIVE_LITTLE = sys.byteorder == "little"
_NUMBER_FORMATS = {"US": "H", "SS": "h", "UL": "I", "SL": "i", "FL": "f", "FD": "d", "UV": "Q", "SV": "q"}


def _number_decoder(vr: str, code: str) -> _Decoder:
    """Build the decoder of one binary number VR, with its Structs made once."""
    single = {True: struct.Struct("<" + code), False: struct.Struct(">" + code)}
    size = single[True].size
    # Many values in the machine's own byte order: a memoryview cast is the fastest reading.
    native = struct.calcsize(code) == size

    def decode(raw: Any, little_endian: bool, charset: tuple[str, ...]) -> Any:
        length = len(raw)
        if length == size:
            return single[little_endian].unpack(raw)[0]
        if not length:
            return None
        if length % size:
            return _bad_value(f"{vr} value of {length} bytes is not a multiple of {size}", bytes(raw))
        if little_endian == _NATIVE_LITTLE and native:
            return memoryview(raw).cast("B").cast(code).tolist()
        return list(struct.unpack(f"{'<' if little_endian else '>'}{length // size}{code}", raw))

    return decode


_TAG = {True: struct.Struct("<HH"), False: struct.Struct(">HH")}


def _decode_at(raw: Any, little_endian: bool, charset: tuple[str, ...]) -> Any:
    """AT: (group, element) pairs of 16-bit words -> ``(group << 16) | element``."""
    length = len(raw)
    if not length:
        return None
    if length % 4:
        return _bad_value(f"AT value of {length} bytes is not a multiple of 4", bytes(raw))
    tags = [(g << 16) | e for g, e in _TAG[little_endian].iter_unpack(raw)]
    return tags[0] if length == 4 else tags


def _decode_bytes(raw: Any, little_endian: bool, charset: tuple[str, ...]) -> bytes | None:
    """OB OD OF OL OV OW UN (and VRs this module has no rule for): the raw bytes."""
    return bytes(raw) or None


_DECODERS: dict[str, _Decoder] = {
    # Leading and trailing spaces are insignificant (PS3.5 table 6.2-1).
    "AE": _text_decoder("AE", multi=True, leading=True),
    "CS": _text_decoder("CS", multi=True, leading=True),
    "SH": _text_decoder("SH", multi=True, leading=True),
    "LO": _text_decoder("LO", multi=True, leading=True),
    "DS": _text_decoder("DS", multi=True, leading=True, convert=_to_float),
    "IS": _text_decoder("IS", multi=True, leading=True, convert=_to_int),
    # Only trailing padding.
    "AS": _text_decoder("AS", multi=True, leading=False),
    "DA": _text_decoder("DA", multi=True, leading=False),
    "DT": _text_decoder("DT", multi=True, leading=False),
    "TM": _text_decoder("TM", multi=True, leading=False),
    "UI": _text_decoder("UI", multi=True, leading=False),
    "UC": _text_decoder("UC", multi=True, leading=False),
    "PN": _text_decoder("PN", multi=True, leading=False, convert=_to_person_name),
    # Always VM 1: a backslash is part of the text; leading spaces are significant.
    "ST": _text_decoder("ST", multi=False, leading=False),
    "LT": _text_decoder("LT", multi=False, leading=False),
    "UT": _text_decoder("UT", multi=False, leading=False),
    "UR": _text_decoder("UR", multi=False, leading=False),
    "AT": _decode_at,
}
_DECODERS.update({vr: _number_decoder(vr, code) for vr, code in _NUMBER_FORMATS.items()})
_DECODERS.update({vr: _decode_bytes for vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN")})


def _resolve(vr: str) -> str:
    """A multi-VR string ("US or SS", "OB or OW") -> its first VR.

    The Dataset resolves these from the context before decoding (Pixel
    Representation, ...); this fallback for a caller that did not reads
    "US or SS" as unsigned.
    """
    return vr.split(" or ", 1)[0].strip()


def decode_value(vr: str, raw: bytes | memoryview, little_endian: bool, charset: tuple[str, ...]) -> Any:
    """Value bytes of one element -> its Python value (see the module docstring).

    ``charset`` is :func:`rawdicom.charset.codecs_for` of the dataset's
    (0008,0005).  SQ and unknown VRs give the raw bytes, as UN would.
    """
    decoder = _DECODERS.get(vr)
    if decoder is None:
        decoder = _DECODERS.get(_resolve(vr), _decode_bytes)
    return decoder(raw, little_endian, charset)


def value_multiplicity(vr: str, value: Any) -> int:
    """The VM of a decoded value: 0 when empty, the length of a list, else 1."""
    if value is None:
        return 0
    if isinstance(value, (str, bytes)):
        return 1 if value else 0
    if isinstance(value, list):
        return len(value)
    return 1


# ------------------------------------------------------------------ encoding

def _format_ds(number: float | int | str) -> str:
    """A DS string of at most 16 characters that reads back as ``number``, or closest."""
    if isinstance(number, str):
        return number
    if isinstance(number, int) or float(number).is_integer() and abs(number) < 1e15:
        text = str(int(number))
        if len(text) <= 16:
            return text
    text = repr(float(number))
    for precision in range(16, 0, -1):
        if len(text) <= 16:
            return text
        text = f"{float(number):.{precision}g}"
    return text


def _format_value(vr: str, value: Any) -> str:
    """One value (not a list) -> its DICOM text."""
    if vr == "DS":
        return _format_ds(value)
    if vr == "IS" and not isinstance(value, str):
        return str(int(value))
    if vr == "DA" and isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value.strftime("%Y%m%d")
    if vr == "TM" and isinstance(value, datetime.time):
        return value.strftime("%H%M%S.%f" if value.microsecond else "%H%M%S")
    if vr == "DT" and isinstance(value, datetime.datetime):
        text = value.strftime("%Y%m%d%H%M%S.%f" if value.microsecond else "%Y%m%d%H%M%S")
        return text + value.strftime("%z") if value.tzinfo is not None else text
    if not isinstance(value, str):
        raise TypeError(f"{vr} value must be a str, not {type(value).__name__}")
    return value


def _encode_text_value(vr: str, value: Any, charset: tuple[str, ...]) -> bytes:
    """Text (or a list of values joined by backslash), padded to even length."""
    if isinstance(value, (list, tuple)):
        if vr in ("ST", "LT", "UT", "UR"):
            raise TypeError(f"{vr} has VM 1: a list cannot be encoded")
        text = "\\".join("" if v is None else _format_value(vr, v) for v in value)
    else:
        text = _format_value(vr, value)
    data = encode_text(text, charset, vr)
    if len(data) % 2:
        data += b"\x00" if vr == "UI" else b" "
    return data


def _encode_numbers(vr: str, value: Any, little_endian: bool) -> bytes:
    """One number or a list, packed; a value the VR cannot hold is the caller's ValueError."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    code = _NUMBER_FORMATS[vr]
    try:
        return struct.pack(f"{'<' if little_endian else '>'}{len(values)}{code}", *values)
    except struct.error as exc:
        raise ValueError(f"{value!r} cannot be written as {vr}: {exc}") from None


def _encode_at(value: Any, little_endian: bool) -> bytes:
    """Tag ints -> (group, element) word pairs."""
    tags = list(value) if isinstance(value, (list, tuple)) else [value]
    pack = _TAG[little_endian].pack
    return b"".join(pack(t >> 16, t & 0xFFFF) for t in tags)


_TEXT_VRS = frozenset(vr for vr, d in _DECODERS.items() if vr != "AT" and vr not in _NUMBER_FORMATS
                      and d is not _decode_bytes)


def encode_value(vr: str, value: Any, little_endian: bool, charset: tuple[str, ...]) -> bytes:
    """A Python value -> value bytes for the writer, padded to even length (PS3.5 6.2).

    Text is padded with a space, UI with NUL, bytes with NUL.  Accepts what
    :func:`decode_value` returns, plus numbers for DS/IS and ``datetime``
    objects for DA/TM/DT.  A value of the wrong Python type is a TypeError.
    """
    if vr not in _DECODERS:
        vr = _resolve(vr)
    if value is None:
        return b""
    if vr in _TEXT_VRS:
        return _encode_text_value(vr, value, charset)
    if vr in _NUMBER_FORMATS:
        return _encode_numbers(vr, value, little_endian)
    if vr == "AT":
        return _encode_at(value, little_endian)
    data = bytes(value)
    return data + b"\x00" if len(data) % 2 else data


# ---------------------------------------------------------- date/time helpers

def _digits(text: str, what: str) -> None:
    """Refuse anything but ASCII digits (``int`` would take "+1", " 1", "١")."""
    if not text.isdigit() or not text.isascii():
        raise ValueDecodeError(f"{what} {text!r} is not a valid value")


def to_date(da: str) -> datetime.date:
    """DA ``YYYYMMDD`` (or ACR-NEMA ``YYYY.MM.DD``) -> ``date``; ValueDecodeError if invalid."""
    text = da.strip()
    if len(text) == 10 and text[4] == text[7] == ".":
        text = text[:4] + text[5:7] + text[8:]
    _digits(text, "DA")
    if len(text) != 8:
        raise ValueDecodeError(f"DA {da!r} is not YYYYMMDD")
    try:
        return datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise ValueDecodeError(f"DA {da!r}: {exc}") from None


def _split_fraction(text: str, what: str) -> tuple[str, int]:
    """``"HHMMSS.FFF"`` -> ``("HHMMSS", microseconds)``."""
    whole, dot, fraction = text.partition(".")
    if not dot:
        return whole, 0
    if fraction:
        _digits(fraction, what)
    if len(fraction) > 6:
        raise ValueDecodeError(f"{what} {text!r} has more than 6 fraction digits")
    return whole, int(fraction.ljust(6, "0") or 0)


def _time_parts(text: str, what: str) -> tuple[int, int, int, int]:
    """``HH[MM[SS[.F]]]`` -> hour, minute, second, microsecond (second 60 -> 59)."""
    whole, micro = _split_fraction(text, what)
    _digits(whole, what)
    if len(whole) not in (2, 4, 6) or (micro and len(whole) != 6):
        raise ValueDecodeError(f"{what} {text!r} is not HH[MM[SS[.FFFFFF]]]")
    hour, minute, second = int(whole[:2]), int(whole[2:4] or 0), int(whole[4:6] or 0)
    # A leap second is valid DICOM but not a valid datetime.time.
    return hour, minute, min(second, 59), micro


def to_time(tm: str) -> datetime.time:
    """TM ``HH``, ``HHMM``, ``HHMMSS[.FFFFFF]`` (or ACR-NEMA ``HH:MM:SS``) -> ``time``."""
    text = tm.strip().replace(":", "")
    try:
        return datetime.time(*_time_parts(text, "TM"))
    except ValueError as exc:
        raise ValueDecodeError(f"TM {tm!r}: {exc}") from None


def to_datetime(dt: str) -> datetime.datetime:
    """DT ``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]`` -> ``datetime``.

    Missing parts take their first value (month 1, day 1, hour 0...).  With a
    ``+ZZXX``/``-ZZXX`` offset the result is timezone-aware, otherwise naive
    (the dataset's Timezone Offset From UTC is the caller's to apply).
    """
    text = dt.strip()
    tz = None
    for sign in "+-":
        head, found, offset = text.rpartition(sign)
        if found and len(offset) == 4 and offset.isdigit() and len(head) >= 4:
            minutes = int(offset[:2]) * 60 + int(offset[2:])
            if minutes >= 24 * 60:
                raise ValueDecodeError(f"DT {dt!r}: offset out of range")
            tz = datetime.timezone(datetime.timedelta(minutes=minutes if sign == "+" else -minutes))
            text = head
            break
    whole, micro = _split_fraction(text, "DT")
    _digits(whole, "DT")
    if len(whole) not in (4, 6, 8, 10, 12, 14) or (micro and len(whole) != 14):
        raise ValueDecodeError(f"DT {dt!r} is not YYYY[MM[DD[HH[MM[SS[.FFFFFF]]]]]][&ZZXX]")
    year, month, day = int(whole[:4]), int(whole[4:6] or 1), int(whole[6:8] or 1)
    hour, minute, second = int(whole[8:10] or 0), int(whole[10:12] or 0), min(int(whole[12:14] or 0), 59)
    try:
        return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError as exc:
        raise ValueDecodeError(f"DT {dt!r}: {exc}") from None
