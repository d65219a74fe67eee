"""Small byte builders, so that each reader test shows the bytes it is about.

Every builder returns ``bytes``.  Nothing here pads or fixes anything on its
own: a test that wants an odd length, a lying length or a missing delimiter
writes exactly that.  ``txt`` and ``uid`` are the two padding helpers.

    element(0x00100010, "PN", b"Doe^John")            # explicit VR little endian
    element(0x00100010, "PN", b"Doe^John", explicit=False)
    element(0x7FE00010, "OB", b"", length=0xFFFFFFFF)  # a header that lies
"""

from __future__ import annotations

import struct
import zlib
from typing import Iterable, Sequence

UNDEFINED = 0xFFFFFFFF
ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
JPEG_BASELINE = "1.2.840.10008.1.2.4.50"
RLE = "1.2.840.10008.1.2.5"

# VRs with 2 reserved bytes and a 4-byte length in explicit VR (PS3.5 7.1.2).
LONG_VRS = frozenset("OB OD OF OL OV OW SQ UC UN UR UT SV UV".split())


def txt(text: str | bytes, pad: bytes = b" ") -> bytes:
    """Text value bytes padded to even length (space; UI uses ``uid``)."""
    data = text.encode("latin-1") if isinstance(text, str) else text
    return data + pad if len(data) % 2 else data


def uid(value: str) -> bytes:
    """A UI value: ASCII, padded to even length with NUL."""
    return txt(value, b"\0")


def _order(little: bool) -> str:
    return "<" if little else ">"


def tag_bytes(tag: int, little: bool = True) -> bytes:
    return struct.pack(_order(little) + "HH", tag >> 16, tag & 0xFFFF)


def element(tag: int, vr: str, value: bytes = b"", *, explicit: bool = True,
            little: bool = True, length: int | None = None) -> bytes:
    """One data element: header + value.  ``length`` overrides the written length.

    In explicit VR, the header form (2- or 4-byte length) follows ``vr``; a
    ``vr`` that is not a real VR (e.g. ``"??"``) is written in the 2-byte form.
    """
    n = len(value) if length is None else length
    o = _order(little)
    head = tag_bytes(tag, little)
    if not explicit:
        return head + struct.pack(o + "I", n) + value
    code = vr.encode("latin-1")
    assert len(code) == 2, vr
    if vr in LONG_VRS:
        return head + code + b"\0\0" + struct.pack(o + "I", n) + value
    if n > 0xFFFF:
        raise ValueError(f"length {n} does not fit the 2-byte length form of {vr}")
    return head + code + struct.pack(o + "H", n) + value


def item(content: bytes = b"", *, undefined: bool = False, little: bool = True,
         length: int | None = None) -> bytes:
    """An item (FFFE,E000) holding ``content``; undefined length adds its delimiter."""
    o = _order(little)
    if undefined:
        return (tag_bytes(ITEM, little) + struct.pack(o + "I", UNDEFINED) + content
                + item_delimiter(little=little))
    n = len(content) if length is None else length
    return tag_bytes(ITEM, little) + struct.pack(o + "I", n) + content


def item_delimiter(*, little: bool = True) -> bytes:
    return tag_bytes(ITEM_DELIMITER, little) + b"\0\0\0\0"


def sequence_delimiter(*, little: bool = True) -> bytes:
    return tag_bytes(SEQUENCE_DELIMITER, little) + b"\0\0\0\0"


def sequence(tag: int, items: Iterable[bytes], *, undefined: bool = True,
             undefined_items: bool = False, explicit: bool = True, little: bool = True,
             vr: str = "SQ") -> bytes:
    """A sequence element whose items hold the given dataset bytes.

    ``undefined``: the sequence has undefined length and ends with a
    Sequence Delimitation Item; ``undefined_items``: so do its items.
    """
    body = b"".join(item(content, undefined=undefined_items, little=little)
                    for content in items)
    if undefined:
        return (element(tag, vr, body, explicit=explicit, little=little, length=UNDEFINED)
                + sequence_delimiter(little=little))
    return element(tag, vr, body, explicit=explicit, little=little)


def encapsulated(fragments: Sequence[bytes], offset_table: Sequence[int] | None = None, *,
                 tag: int = 0x7FE00010, vr: str = "OB", delimiter: bool = True) -> bytes:
    """Encapsulated pixel data (always explicit VR LE): BOT item, fragments, delimiter.

    ``offset_table``: the Basic Offset Table entries (``None``: empty table).
    """
    bot = struct.pack(f"<{len(offset_table)}I", *offset_table) if offset_table else b""
    body = item(bot) + b"".join(item(f) for f in fragments)
    out = element(tag, vr, body, length=UNDEFINED)
    return out + sequence_delimiter() if delimiter else out


def meta(transfer_syntax_uid: str | None, *, group_length: bool = True,
         sop_class: str = "1.2.840.10008.5.1.4.1.1.7",
         sop_instance: str = "1.2.3.4.5.6.7.8.9") -> bytes:
    """A file meta group (explicit VR LE), optionally without its group length
    and, with ``transfer_syntax_uid=None``, without a transfer syntax."""
    body = element(0x00020001, "OB", b"\0\1")
    body += element(0x00020002, "UI", uid(sop_class))
    body += element(0x00020003, "UI", uid(sop_instance))
    if transfer_syntax_uid is not None:
        body += element(0x00020010, "UI", uid(transfer_syntax_uid))
    body += element(0x00020012, "UI", uid("1.2.826.0.1.3680043.9.9999"))
    if group_length:
        body = element(0x00020000, "UL", struct.pack("<I", len(body))) + body
    return body


def part10(dataset_bytes: bytes, transfer_syntax_uid: str | None = EXPLICIT_LE, *,
           preamble: bool = True, group_length: bool = True) -> bytes:
    """A Part 10 file: optional 128-byte preamble + DICM, meta group, dataset bytes
    (given as they go in the file: already deflated for a deflated syntax)."""
    head = b"\0" * 128 + b"DICM" if preamble else b""
    return head + meta(transfer_syntax_uid, group_length=group_length) + dataset_bytes


def deflate(data: bytes) -> bytes:
    """Raw deflate (no zlib header), as the Deflated transfer syntax requires."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def us(*values: int, little: bool = True) -> bytes:
    return struct.pack(f"{_order(little)}{len(values)}H", *values)


def ul(*values: int, little: bool = True) -> bytes:
    return struct.pack(f"{_order(little)}{len(values)}I", *values)


def small_dataset(*, explicit: bool = True, little: bool = True) -> bytes:
    """A few ordinary elements in ascending order, for framing tests."""
    return (element(0x00080016, "UI", uid("1.2.840.10008.5.1.4.1.1.7"), explicit=explicit,
                    little=little)
            + element(0x00080060, "CS", txt("OT"), explicit=explicit, little=little)
            + element(0x00100010, "PN", txt("Doe^John"), explicit=explicit, little=little)
            + element(0x00200013, "IS", txt("7"), explicit=explicit, little=little)
            + element(0x00280010, "US", us(2, little=little), explicit=explicit, little=little))
