"""The DICOM JSON model (PS3.18 Annex F): a Dataset as JSON objects, and back.

``to_json(ds)`` gives the plain objects ``json.dumps`` takes: a dict keyed by the tag as
eight upper-case hex digits, in ascending tag order, each attribute an object with ``vr``
and one of ``Value`` (an array), ``InlineBinary`` (base64) or ``BulkDataURI``, or only
``vr`` when the value is empty (F.2.5). The rules, per VR (F.2.3):

* AE AS CS DA DT LO LT SH ST TM UC UI UR UT: strings; an empty value inside a multi-valued
  attribute is ``null`` (F.2.5);
* PN: objects with ``Alphabetic``, ``Ideographic``, ``Phonetic`` (F.2.2), each left out when
  empty (``{}`` for an empty name inside a multi-valued attribute);
* DS IS FL FD SL SS SV UL US UV: JSON numbers. A DS keeps the text it was written with
  (``1.50`` stays ``1.50``, see :class:`DecimalString` and :func:`dumps`), so that the bytes
  come back; DS or IS text that JSON cannot spell as a number (``.5``, ``+1``, ``007``) is
  a string of that text, as F.2.3 allows for IS and DS "to preserve the original format",
  and so is a DS or IS that is not a number at all (``"1.5 mm"``). Not-a-number and
  infinities have no JSON number: FL and FD give the strings ``"NaN"``, ``"Infinity"``,
  ``"-Infinity"`` (which :func:`from_json` reads back), a DS its own text;
* AT: the tag as an eight-digit hex string (``"00100010"``);
* SQ: an array of item objects (an empty sequence has no ``Value``);
* OB OD OF OL OV OW UN: ``InlineBinary``, the base64 of the value bytes in little endian
  order (values of a big endian dataset are swapped; UN is never swapped), or, above
  ``bulk_data_threshold`` bytes, ``BulkDataURI`` as ``bulk_data_uri`` names it.

Group lengths (gggg,0000) are left out: they describe an encoding, which the model has
not; the file meta group is not part of the dataset and is left out too.

``from_json(obj)`` is the reverse. It writes the attributes as an explicit VR little endian
stream (text encoded with the Specific Character Set the object declares) and reads that
with :func:`rawdicom.read`: the Dataset it gives decodes lazily and is written by
:func:`rawdicom.write` like one read from a file, and JSON -> Dataset -> JSON is stable.
Malformed JSON objects (a key that is not a tag, an unknown VR, a value of the wrong type or
out of range, sequences nested past ``Limits.max_depth``) are a :class:`JSONModelError`
naming the attribute, and nothing else: it is a ``ValueError`` and a ``DicomError`` (see
rawdicom/errors.py for why both). from_json does no I/O: a ``BulkDataURI`` is fetched only
by the loader the caller gives.
"""

from __future__ import annotations

import array
import base64
import json
import math
import re
import reprlib
import struct
import warnings
from typing import Any, Callable, Iterator

from .charset import codecs_for
from .dataset import Dataset, Element
from .errors import DicomError, DicomWarning, JSONModelError, format_tag
from .limits import DEFAULT_LIMITS, Limits
from .scanner import LONG_VRS, VALID_VRS
from .values import _format_ds, encode_value

__all__ = ["to_json", "from_json", "dumps", "loads", "DecimalString", "bulk_bytes",
           "JSONModelError"]

BULK_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
_INT_VRS = frozenset(("IS", "SL", "SS", "SV", "UL", "US", "UV"))
_FLOAT_VRS = frozenset(("FL", "FD"))
_STRING_VRS = frozenset(("AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UI",
                         "UR", "UT"))
_SINGLE_VRS = frozenset(("LT", "ST", "UT", "UR"))  # VM 1: a backslash is text
_SWAP = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
_ARRAY_CODE = {array.array(code).itemsize: code for code in "QLIH"}
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_PN_GROUPS = ("Alphabetic", "Ideographic", "Phonetic")
_ITEM = 0xFFFEE000
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_SPECIFIC_CHARACTER_SET = "00080005"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
_TAG_KEY = re.compile(r"[0-9A-Fa-f]{8}")
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80

BulkDataURI = Callable[[Element, tuple[int, ...]], str]
BulkDataLoader = Callable[[str], bytes]


class DecimalString(float):
    """A DS value that remembers its text, so that ``1.50`` is written back as ``1.50``.

    It is a float everywhere (``json.dumps`` writes it as one); :func:`dumps` writes its text.
    """

    __slots__ = ("text",)

    def __new__(cls, text: str) -> "DecimalString":
        self = super().__new__(cls, text)
        self.text = text
        return self

    def __repr__(self) -> str:
        return self.text


# -- Dataset -> JSON ------------------------------------------------------------------------
def to_json(ds: Dataset, *, bulk_data_threshold: int | None = None,
            bulk_data_uri: BulkDataURI | None = None) -> dict[str, Any]:
    """The DICOM JSON model of ``ds`` (see the module docstring for the rules).

    bulk_data_threshold, bulk_data_uri: binary values (OB OD OF OL OV OW UN) longer than
        the threshold are given as ``BulkDataURI``, the string ``bulk_data_uri(element,
        path)`` returns (``path``: the tags from the top dataset down, item indices between);
        both or neither. Everything else is inline.

    Raises the DicomError of an element whose value is cut short in its file.
    """
    if (bulk_data_threshold is None) != (bulk_data_uri is None):
        raise ValueError("bulk_data_threshold and bulk_data_uri go together")
    return _dataset(ds, bulk_data_threshold, bulk_data_uri, ())


def _dataset(ds: Dataset, threshold: int | None, uri: BulkDataURI | None,
             path: tuple[int, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for el in ds:
        if el.tag & 0xFFFF == 0 or el.tag >> 16 == 2:
            continue  # group lengths; group 2 belongs to the file meta information
        out[f"{el.tag:08X}"] = _attribute(ds, el, threshold, uri, (*path, el.tag))
    return out


def _attribute(ds: Dataset, el: Element, threshold: int | None, uri: BulkDataURI | None,
               path: tuple[int, ...]) -> dict[str, Any]:
    vr = el.vr
    attribute: dict[str, Any] = {"vr": vr}
    if vr == "SQ":
        items = el.value or []
        if items:
            attribute["Value"] = [_dataset(item, threshold, uri, (*path, index))
                                  for index, item in enumerate(items)]
        return attribute
    if vr in BULK_VRS or el.encapsulated is not None:
        data = bulk_bytes(el, ds)
        if data:
            if threshold is not None and uri is not None and len(data) > threshold:
                attribute["BulkDataURI"] = uri(el, path)
            else:
                attribute["InlineBinary"] = base64.b64encode(data).decode("ascii")
        return attribute
    value = el.value
    if value is None:
        return attribute
    if isinstance(value, bytes):  # a binary number VR whose bytes did not parse: as they are
        attribute["InlineBinary"] = base64.b64encode(bulk_bytes(el, ds)).decode("ascii")
        return attribute
    values = value if isinstance(value, list) else [value]
    if vr in ("DS", "IS"):
        attribute["Value"] = _number_strings(el, values)
    elif vr == "PN":
        attribute["Value"] = [_person_name(v) for v in values]
    elif vr == "AT":
        attribute["Value"] = [f"{v:08X}" if isinstance(v, int) else None for v in values]
    elif vr in _FLOAT_VRS:
        attribute["Value"] = [_float(v) for v in values]
    elif vr in _INT_VRS:
        attribute["Value"] = [v if isinstance(v, int) or v is None else str(v) for v in values]
    else:
        attribute["Value"] = [v if v not in ("", None) else None for v in values]
    return attribute


def bulk_bytes(el: Element, ds: Dataset) -> bytes:
    """A binary value's bytes in little endian order (PS3.18 F.2.7), whatever the dataset's."""
    data = bytes(el.raw)
    ctx_little = el._ctx.little_endian if el._ctx is not None else ds.little_endian
    size = _SWAP.get(el.vr)
    if ctx_little or size is None or el.encapsulated is not None or len(data) % size:
        return data
    units = array.array(_ARRAY_CODE[size], data)
    units.byteswap()
    return units.tobytes()


def _number_strings(el: Element, values: list[Any]) -> list[Any]:
    """DS and IS values as JSON numbers, each in its own text where JSON can spell it.

    Text JSON cannot spell as a number (``.5``, ``+1``, ``0012``) is given as a string of
    that text, which F.2.3 allows for IS and DS "to preserve the original format"; so is a
    value that is not a number at all. Non-finite DS values are strings too (see _float).
    """
    try:
        texts = [t.strip(" \0") for t in bytes(el.raw).decode("ascii").split("\\")]
    except UnicodeDecodeError:
        texts = []
    if len(texts) != len(values):
        texts = [""] * len(values)
    out: list[Any] = []
    for value, text in zip(values, texts):
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, str):  # not a number: as written
            out.append(value)
        elif isinstance(value, float) and not math.isfinite(value):
            out.append(text if text else _float(value))
        elif not _JSON_NUMBER.fullmatch(text):
            out.append(text or value)
        elif el.vr == "DS":
            out.append(DecimalString(text))
        else:
            out.append(value)
    return out


def _float(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def _person_name(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    groups = str(value).split("=")
    return {name: text for name, text in zip(_PN_GROUPS, groups) if text}


# -- JSON text ------------------------------------------------------------------------------
def dumps(obj: Any, indent: int | None = None) -> str:
    """JSON text of a model object, with DS values in their own text (``json.dumps`` would
    write ``1.50`` as ``1.5``). ``indent``: spaces per level, None for one line."""
    return "".join(_chunks(obj, indent, 0))


def _chunks(obj: Any, indent: int | None, level: int) -> Iterator[str]:
    if isinstance(obj, DecimalString):
        yield obj.text
    elif isinstance(obj, dict):
        if not obj:
            yield "{}"
            return
        yield "{"
        for i, (key, value) in enumerate(obj.items()):
            yield ("," if i else "") + _newline(indent, level + 1, i) + json.dumps(key) + ": "
            yield from _chunks(value, indent, level + 1)
        yield _newline(indent, level) + "}"
    elif isinstance(obj, list):
        if not obj or not any(isinstance(v, (dict, list)) for v in obj):
            # strings and numbers on one line: "Value": ["ORIGINAL", "PRIMARY"]
            yield "[" + ", ".join("".join(_chunks(v, None, 0)) for v in obj) + "]"
            return
        yield "["
        for i, value in enumerate(obj):
            yield ("," if i else "") + _newline(indent, level + 1, i)
            yield from _chunks(value, indent, level + 1)
        yield _newline(indent, level) + "]"
    else:
        yield json.dumps(obj, ensure_ascii=False, allow_nan=False)


def _newline(indent: int | None, level: int, index: int = 0) -> str:
    """What comes before an entry (``index`` > 0: after a comma) or a closing bracket."""
    if indent is None:
        return " " if index else ""
    return "\n" + " " * (indent * level)


def loads(text: str | bytes) -> Any:
    """Parse JSON text, keeping each decimal number's text (for DS values, see dumps).

    Text that is not JSON, or nests deeper than Python's parser goes, is a JSONModelError.
    """
    try:
        return json.loads(text, parse_float=DecimalString)
    except RecursionError:
        raise JSONModelError("the JSON text nests too deep to parse") from None
    except ValueError as exc:  # json.JSONDecodeError, UnicodeDecodeError
        raise JSONModelError(f"not JSON text: {_short_text(exc)}") from None


# -- JSON -> Dataset ------------------------------------------------------------------------
def from_json(obj: dict[str, Any], *, bulk_data: BulkDataLoader | None = None,
              limits: Limits | None = None) -> Dataset:
    """The Dataset of a DICOM JSON model object (``json.load``'s or :func:`loads`' output).

    bulk_data: what fetches the bytes of a ``BulkDataURI`` (given the URI); without it a
        BulkDataURI is a JSONModelError: from_json itself opens no file and no socket.
        What the loader raises is its own and goes through unchanged.
    limits: sequences may nest ``limits.max_depth`` deep (as in a file read with them).

    Any object that is not a well-formed DICOM JSON dataset (a key that is not a tag, an
    unknown VR, a value of the wrong type or out of its VR's range, nesting past the limit)
    is a :class:`~rawdicom.errors.JSONModelError` naming the attribute, and nothing else.
    """
    from .reader import read

    limits = limits or DEFAULT_LIMITS
    if not isinstance(obj, dict):
        raise JSONModelError(f"a DICOM JSON dataset is an object, not {type(obj).__name__}")
    body = b"".join(_elements(obj, (), bulk_data, "", 0, limits.max_depth))
    syntax = _EXPLICIT_LE.encode() + b"\0"
    meta = _header(0x00020010, "UI", len(syntax)) + syntax
    meta = _header(0x00020000, "UL", 4) + struct.pack("<I", len(meta)) + meta
    try:
        return read(bytes(128) + b"DICM" + meta + body, limits=limits)
    except DicomError as exc:  # what the attributes make is not a dataset (a hostile fragment)
        raise JSONModelError(f"the attributes do not make a dataset: {exc}") from None


def _header(tag: int, vr: str, length: int) -> bytes:
    if vr in LONG_VRS:
        return struct.pack("<HH2s2xI", tag >> 16, tag & 0xFFFF, vr.encode(), length)
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr.encode(), length)


def _short(value: Any) -> str:
    """A value for an error message: bounded in length and depth, whatever it holds."""
    return _REPR.repr(value)


def _elements(obj: dict[str, Any], parent_charset: tuple[str, ...],
              bulk_data: BulkDataLoader | None, where: str, depth: int,
              max_depth: int) -> Iterator[bytes]:
    charset = parent_charset
    attribute = obj.get(_SPECIFIC_CHARACTER_SET)
    if isinstance(attribute, dict) and isinstance(attribute.get("Value"), list):
        terms = attribute["Value"]
        if all(isinstance(t, str) or t is None for t in terms):
            charset = codecs_for([t or "" for t in terms])  # else refused as its element
    tags: dict[int, str] = {}
    for key in obj:
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
            raise JSONModelError(f"{where}{_short(key)}: not a tag (eight hex digits)")
        tag = int(key, 16)
        if tag in tags:
            raise JSONModelError(f"{where}{format_tag(tag)}: given twice ({tags[tag]!r}, "
                                 f"{key!r})")
        if tag >> 16 == 0xFFFE:
            raise JSONModelError(f"{where}{format_tag(tag)}: an item or delimiter tag, not an "
                                 "attribute")
        tags[tag] = key
    for tag in sorted(tags):
        if tag & 0xFFFF == 0 or tag >> 16 == 2:
            continue  # group lengths (recomputed on writing), file meta elements
        name = f"{where}{format_tag(tag)}"
        attribute = obj[tags[tag]]
        vr = attribute.get("vr") if isinstance(attribute, dict) else None
        if not isinstance(vr, str) or vr not in VALID_VRS:
            raise JSONModelError(f"{name}: an attribute is an object with a 'vr' (one of the "
                                 f"DICOM VRs), not {_short(attribute)}")
        yield from _element(tag, vr, attribute, charset, bulk_data, name, depth, max_depth)


def _element(tag: int, vr: str, attribute: dict[str, Any], charset: tuple[str, ...],
             bulk_data: BulkDataLoader | None, name: str, depth: int,
             max_depth: int) -> Iterator[bytes]:
    if vr == "SQ":
        items = attribute.get("Value") or []
        if not isinstance(items, list):
            raise JSONModelError(f"{name}: a sequence's Value is an array of objects")
        if items and depth >= max_depth:
            raise JSONModelError(f"{name}: sequences nested deeper than {max_depth} "
                                 "(Limits.max_depth)")
        body = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise JSONModelError(f"{name}: item {index + 1} is not an object")
            content = b"".join(_elements(item, charset, bulk_data, f"{name} item {index + 1} ",
                                         depth + 1, max_depth))
            body.append(struct.pack("<HHI", 0xFFFE, 0xE000, _length(len(content), name))
                        + content)
        data = b"".join(body)
        yield _header(tag, "SQ", _length(len(data), name)) + data
        return
    data = _value_bytes(vr, attribute, charset, bulk_data, name)
    if len(data) % 2:
        data += b"\0"  # binary values: text values come padded from encode_value
    if (tag == _PIXEL_DATA and vr in ("OB", "OW") and data[:4] == b"\xfe\xff\x00\xe0"):
        # Encapsulated Pixel Data (its InlineBinary holds the items): undefined length.
        yield _header(tag, vr, 0xFFFFFFFF) + data + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        return
    if vr not in LONG_VRS and len(data) > 0xFFFF:
        vr = "UN"  # too long for a 2-byte length (PS3.5 6.2.2), as the writer does
    yield _header(tag, vr, _length(len(data), name)) + data


def _length(length: int, name: str) -> int:
    """A length the 4-byte field can hold (0xFFFFFFFF means undefined)."""
    if length >= 0xFFFFFFFF:
        raise JSONModelError(f"{name}: {length} bytes, more than a DICOM length can hold")
    return length


def _value_bytes(vr: str, attribute: dict[str, Any], charset: tuple[str, ...],
                 bulk_data: BulkDataLoader | None, name: str) -> bytes:
    if "InlineBinary" in attribute:
        inline = attribute["InlineBinary"]
        if not isinstance(inline, str):
            raise JSONModelError(f"{name}: InlineBinary is a base64 string, not "
                                 f"{type(inline).__name__}")
        try:
            return base64.b64decode(inline, validate=True)
        except ValueError as exc:  # binascii.Error; non-ASCII text
            raise JSONModelError(f"{name}: InlineBinary is not base64: {exc}") from None
    if "BulkDataURI" in attribute:
        uri = attribute["BulkDataURI"]
        if not isinstance(uri, str):
            raise JSONModelError(f"{name}: BulkDataURI is a string, not {type(uri).__name__}")
        if bulk_data is None:
            raise JSONModelError(f"{name}: BulkDataURI {_short(uri)} and no bulk_data loader "
                                 "to fetch it")
        data = bulk_data(uri)
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"{name}: the bulk_data loader gave {type(data).__name__}, not bytes")
        return bytes(data)
    values = attribute.get("Value")
    if values is None:
        return b""
    if not isinstance(values, list):
        raise JSONModelError(f"{name}: Value is an array, not {type(values).__name__}")
    if not values:
        return b""
    try:
        return _encode(vr, values, charset)
    except (TypeError, ValueError, OverflowError, struct.error) as exc:
        # TypeError: a value of the wrong JSON type; ValueError (UnicodeEncodeError too): text
        # the VR or the character set cannot hold; OverflowError, struct.error: a number
        # outside its VR's range. The message is bounded: the value may be huge or deep.
        raise JSONModelError(f"{name}: {vr} Value {_short(values)}: {_short_text(exc)}") from None


def _short_text(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


def _encode(vr: str, values: list[Any], charset: tuple[str, ...]) -> bytes:
    """The value bytes of a non-empty Value array; a TypeError or ValueError for bad values."""
    if vr == "PN":
        texts = [_pn_text(v) for v in values]
        return encode_value("PN", texts if len(texts) > 1 else texts[0], True, charset)
    if vr == "AT":
        return encode_value("AT", [_at_tag(v) for v in values], True, ())
    if vr == "DS":
        texts = [_ds_text(v) for v in values]
        return encode_value("DS", texts if len(texts) > 1 else texts[0], True, ())
    if vr == "IS":
        texts = [_is_text(v) for v in values]
        return encode_value("IS", texts if len(texts) > 1 else texts[0], True, ())
    if vr in _FLOAT_VRS or vr in _INT_VRS:
        present = [v for v in values if v is not None]
        if len(present) != len(values):
            # A binary number has no empty form: PS3.5 has no way to write the null.
            warnings.warn(f"{vr} Value {_short(values)}: null left out (a binary number cannot "
                          "be empty)", DicomWarning, stacklevel=5)
            values = present
    if vr in _FLOAT_VRS:
        return encode_value(vr, [_float_value(v) for v in values], True, ())
    if vr in _INT_VRS:
        return encode_value(vr, [_int_value(v) for v in values], True, ())
    if vr in _STRING_VRS:
        texts = ["" if v is None else v for v in values]
        if any(not isinstance(t, str) for t in texts):
            raise TypeError("strings expected")
        if vr in _SINGLE_VRS:
            return encode_value(vr, texts[0], True, charset)
        return encode_value(vr, texts if len(texts) > 1 else texts[0], True, charset)
    raise ValueError(f"a {vr} attribute takes InlineBinary or BulkDataURI, not Value")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _at_tag(value: Any) -> int:
    if not isinstance(value, str) or not _TAG_KEY.fullmatch(value):
        raise ValueError("an AT value is a tag, eight hex digits")
    return int(value, 16)


def _float_value(value: Any) -> float:
    if isinstance(value, str):  # "NaN", "Infinity" (F.2.3), or lenient: a number's text
        return _NON_FINITE[value] if value in _NON_FINITE else float(value)
    if not _number(value):
        raise TypeError("numbers expected")
    return float(value)


def _int_value(value: Any) -> int:
    if isinstance(value, str):  # lenient: an integer's text
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 512.0: a writer that knows only doubles
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError("integers expected")
    return value


def _is_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # not a number, or a format to keep ("007"): as written
        return value
    return str(_int_value(value))


def _pn_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):  # lenient: a name given as its text
        return value
    if not isinstance(value, dict):
        raise TypeError("a PN value is an object with Alphabetic, Ideographic, Phonetic")
    groups = [value.get(group) for group in _PN_GROUPS]
    if any(g is not None and not isinstance(g, str) for g in groups):
        raise TypeError("a PN component group is a string")
    return "=".join(g or "" for g in groups).rstrip("=")


def _ds_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, DecimalString):
        return value.text
    if isinstance(value, str):  # not a number ("1.5 mm"), or NaN / Infinity: as written
        return value
    if not _number(value):
        raise TypeError("numbers expected")
    return _format_ds(value)
