"""The bytes of a DICOM file, explained: every byte from offset 0, in order, with its meaning.

``explain(data)`` walks the file with its own small walker (independent of ``scanner.py``,
so that the two check each other) and returns a list of :class:`Entry`: the preamble, the
``DICM`` prefix, then one entry per data element, item and delimiter, each made of
:class:`Part` s (tag, VR, reserved, length, value; or an item's tag and length) that cover
the bytes exactly once, in order. :func:`format_entries` lays them out as an annotated hex
listing.

What "every byte" means here: the whole file. Values (Pixel Data included) are one part
each, however long; encapsulated Pixel Data is its items (the Basic Offset Table, each
fragment) and its Sequence Delimitation Item. A deflated dataset (PS3.5 A.5) is one part of
the file; its inflated bytes are then explained as a second byte space (``Part.space ==
"inflated"``) with offsets in the inflated data. Bytes the walker cannot make sense of (a
file cut short, a length running past its end) end the walk in one ``unparsed`` part and
``Explanation.problem`` says why: the walk never raises for bad bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from typing import Any

from . import dictionary
from .charset import codecs_for
from .errors import DicomError, format_tag
from .scanner import LONG_VRS, VALID_VRS
from .values import decode_value

__all__ = ["Part", "Entry", "Explanation", "explain", "format_entries"]

ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
UNDEFINED = 0xFFFFFFFF
_MAX_DEPTH = 64
_MAX_INFLATED = 1 << 28
_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)
_DELIMITER_NAMES = {ITEM: "Item", ITEM_END: "Item Delimitation Item",
                    SEQUENCE_END: "Sequence Delimitation Item"}


@dataclass
class Part:
    """Bytes ``start:end`` of one byte space and what they are (role: tag, vr, reserved,
    length, value, preamble, prefix, deflated, unparsed)."""

    start: int
    end: int
    role: str
    meaning: str
    space: str = "file"


@dataclass
class Entry:
    """One element, item, delimiter or framing block: its parts, its nesting depth."""

    kind: str  # preamble, prefix, element, item, delimiter, fragment, deflated, unparsed
    depth: int
    tag: int | None
    title: str
    parts: list[Part] = field(default_factory=list)

    @property
    def start(self) -> int:
        return self.parts[0].start

    @property
    def end(self) -> int:
        return self.parts[-1].end


@dataclass
class Explanation:
    entries: list[Entry]
    data: dict[str, bytes]  # byte space -> its bytes ("file", and "inflated" when deflated)
    problem: str | None = None


class _Stop(Exception):
    """The walk cannot go on: the rest of the bytes are unparsed (the message says why)."""


class _Walker:
    def __init__(self, buf: bytes, space: str, entries: list[Entry]) -> None:
        self.buf = buf
        self.space = space
        self.entries = entries

    def part(self, entry: Entry, start: int, end: int, role: str, meaning: str) -> None:
        entry.parts.append(Part(start, end, role, meaning, self.space))

    def need(self, pos: int, count: int, end: int, what: str) -> None:
        if end - pos < count:
            raise _Stop(f"at offset 0x{pos:X}: {what} needs {count} bytes, {max(end - pos, 0)} "
                        "remain")

    # -- one dataset ------------------------------------------------------------------------
    def dataset(self, pos: int, end: int, explicit: bool, little: bool, depth: int,
                charset: tuple[str, ...], in_item: bool = False, stop_group: int | None = None
                ) -> int:
        """Walk elements from ``pos``; returns where the walk stopped (``end``, after an
        Item Delimitation Item when ``in_item``, or before the first element of another
        group than ``stop_group``)."""
        order = "<" if little else ">"
        while pos < end:
            self.need(pos, 8, end, "an element header")
            group, elem = struct.unpack_from(order + "HH", self.buf, pos)
            tag = group << 16 | elem
            if stop_group is not None and group != stop_group:
                return pos
            if tag == ITEM:
                raise _Stop(f"at offset 0x{pos:X}: an item (FFFE,E000) where a data element "
                            "was expected")
            if tag in (ITEM_END, SEQUENCE_END):
                pos = self.delimiter(pos, order, depth, tag)
                if tag == ITEM_END and in_item:
                    return pos
                continue
            pos, charset = self.element(pos, end, explicit, little, depth, charset)
        return pos

    def delimiter(self, pos: int, order: str, depth: int, tag: int) -> int:
        entry = Entry("delimiter", depth, tag, f"{format_tag(tag)} {_DELIMITER_NAMES[tag]}")
        self.entries.append(entry)
        length = struct.unpack_from(order + "I", self.buf, pos + 4)[0]
        self.part(entry, pos, pos + 4, "tag", f"{format_tag(tag)} {_DELIMITER_NAMES[tag]}")
        self.part(entry, pos + 4, pos + 8, "length",
                  f"{length} (a delimiter's length is always 0)" if length == 0
                  else f"{length}: should be 0")
        return pos + 8

    def element(self, pos: int, end: int, explicit: bool, little: bool, depth: int,
                charset: tuple[str, ...]) -> tuple[int, tuple[str, ...]]:
        order = "<" if little else ">"
        endian = "little endian" if little else "big endian"
        buf = self.buf
        group, elem = struct.unpack_from(order + "HH", buf, pos)
        tag = group << 16 | elem
        keyword = dictionary.keyword_for(tag)
        entry_info = dictionary.lookup(tag)
        name = keyword or (entry_info.name if entry_info is not None else "unknown")
        entry = Entry("element", depth, tag, f"{format_tag(tag)} {name}")
        self.entries.append(entry)
        self.part(entry, pos, pos + 4, "tag",
                  f"{format_tag(tag)} {name}: group 0x{group:04X}, element 0x{elem:04X}, "
                  f"{endian}")
        implicit_vr = False
        if explicit and bytes(buf[pos + 4:pos + 6]) in _VR_BYTES:
            vr = bytes(buf[pos + 4:pos + 6]).decode()
            self.part(entry, pos + 4, pos + 6, "vr", f"{vr}" + (
                ": long form, 2 reserved bytes and a 4-byte length follow" if vr in LONG_VRS
                else ": short form, a 2-byte length follows"))
            if vr in LONG_VRS:
                self.need(pos, 12, end, f"the {vr} header")
                self.part(entry, pos + 6, pos + 8, "reserved", "reserved, 0000")
                length = struct.unpack_from(order + "I", buf, pos + 8)[0]
                self.part(entry, pos + 8, pos + 12, "length", _length_text(length, 4, endian))
                vpos = pos + 12
            else:
                length = struct.unpack_from(order + "H", buf, pos + 6)[0]
                self.part(entry, pos + 6, pos + 8, "length", _length_text(length, 2, endian))
                vpos = pos + 8
        else:
            implicit_vr = True
            vr = dictionary.vr_for(tag)
            length = struct.unpack_from(order + "I", buf, pos + 4)[0]
            how = "implicit VR" if not explicit else "no VR where one was expected (implicit)"
            self.part(entry, pos + 4, pos + 8, "length",
                      _length_text(length, 4, endian) + f"; {how}: the dictionary says {vr}")
            vpos = pos + 8
        if vr == "UN" and length == UNDEFINED:
            vr = "SQ"  # PS3.5 6.2.2: UN of undefined length is an implicit VR LE sequence
            explicit, little = False, True
        elif implicit_vr and length == UNDEFINED and vr not in ("OB", "OW", "OB or OW"):
            vr = "SQ"
        if vr == "SQ" or (" or " in vr and length == UNDEFINED and tag != PIXEL_DATA):
            return self.sequence(entry, vpos, end, length, explicit, little, depth,
                                 charset), charset
        if length == UNDEFINED:
            if tag == PIXEL_DATA or vr in ("OB", "OW", "OB or OW"):
                return self.encapsulated(entry, vpos, end, little, depth), charset
            raise _Stop(f"at offset 0x{vpos:X}: undefined length for {vr} (not a sequence)")
        if length > end - vpos:
            raise _Stop(f"{format_tag(tag)} at offset 0x{vpos:X}: length {length} runs past "
                        f"the end of the data ({end - vpos} bytes remain)")
        raw = bytes(buf[vpos:vpos + length])
        if tag == 0x00080005:
            try:
                charset = codecs_for(decode_value("CS", raw, little, ()))
            except DicomError:
                pass
        self.part(entry, vpos, vpos + length, "value",
                  _meaning(vr, raw, little, charset, length))
        return vpos + length, charset

    def sequence(self, entry: Entry, vpos: int, end: int, length: int, explicit: bool,
                 little: bool, depth: int, charset: tuple[str, ...]) -> int:
        if depth >= _MAX_DEPTH:
            raise _Stop(f"at offset 0x{vpos:X}: sequences nested deeper than {_MAX_DEPTH}")
        order = "<" if little else ">"
        stop = end if length == UNDEFINED else vpos + length
        if stop > end:
            raise _Stop(f"at offset 0x{vpos:X}: sequence length {length} runs past the end "
                        f"of the data ({end - vpos} bytes remain)")
        pos, number = vpos, 0
        while pos < stop:
            self.need(pos, 8, stop, "an item header")
            group, elem, item_length = struct.unpack_from(order + "HHI", self.buf, pos)
            tag = group << 16 | elem
            if tag == SEQUENCE_END:
                pos = self.delimiter(pos, order, depth + 1, tag)
                if length == UNDEFINED:
                    return pos
                continue
            if tag != ITEM:
                raise _Stop(f"at offset 0x{pos:X}: {format_tag(tag)} where an item was "
                            "expected")
            number += 1
            item = Entry("item", depth + 1, ITEM, f"Item {number}")
            self.entries.append(item)
            self.part(item, pos, pos + 4, "tag", f"(FFFE,E000) Item {number}")
            if item_length == UNDEFINED:
                self.part(item, pos + 4, pos + 8, "length",
                          "undefined (0xFFFFFFFF): the item ends at an Item Delimitation Item")
                pos = self.dataset(pos + 8, stop, explicit, little, depth + 2, charset,
                                   in_item=True)
            else:
                if item_length > stop - pos - 8:
                    raise _Stop(f"at offset 0x{pos:X}: item length {item_length} runs past "
                                "the end of its sequence")
                self.part(item, pos + 4, pos + 8, "length", f"{item_length} bytes of elements")
                pos = self.dataset(pos + 8, pos + 8 + item_length, explicit, little, depth + 2,
                                   charset)
        if length == UNDEFINED:
            raise _Stop("the sequence has no Sequence Delimitation Item before the end of "
                        "the data")
        return pos

    def encapsulated(self, entry: Entry, vpos: int, end: int, little: bool, depth: int) -> int:
        """Encapsulated Pixel Data (PS3.5 A.4): the offset table item, fragments, delimiter."""
        pos, number = vpos, 0
        while True:
            self.need(pos, 8, end, "an item header")
            group, elem, length = struct.unpack_from("<HHI", self.buf, pos)
            tag = group << 16 | elem
            if tag == SEQUENCE_END:
                return self.delimiter(pos, "<", depth + 1, tag)
            if tag != ITEM:
                raise _Stop(f"at offset 0x{pos:X}: {format_tag(tag)} where a fragment item "
                            "was expected")
            if length > end - pos - 8:
                raise _Stop(f"at offset 0x{pos:X}: fragment length {length} runs past the end "
                            "of the data")
            title = "Basic Offset Table" if number == 0 else f"Fragment {number}"
            item = Entry("fragment", depth + 1, ITEM, title)
            self.entries.append(item)
            self.part(item, pos, pos + 4, "tag", f"(FFFE,E000) item: {title}")
            self.part(item, pos + 4, pos + 8, "length", f"{length} bytes")
            if number == 0:
                offsets = list(struct.unpack_from(f"<{length // 4}I", self.buf, pos + 8))
                meaning = (f"offsets of {len(offsets)} frame(s): {_short(offsets)}" if offsets
                           else "empty: no offsets (frames are found from the fragments)")
            else:
                head = bytes(self.buf[pos + 8:pos + 12])
                meaning = f"{length} bytes of compressed frame data" + (
                    " (starts with a JPEG marker FFD8)" if head[:2] == b"\xff\xd8" else "")
            if length:
                self.part(item, pos + 8, pos + 8 + length, "value", meaning)
            pos += 8 + length
            number += 1


def _length_text(length: int, size: int, endian: str) -> str:
    if length == UNDEFINED:
        return "undefined (0xFFFFFFFF): the value ends at a delimiter"
    return f"{length} (a {size * 8}-bit {endian} length)"


def _short(values: list[Any], count: int = 6) -> str:
    shown = ", ".join(map(str, values[:count]))
    return f"[{shown}{', ...' if len(values) > count else ''}]"


def _meaning(vr: str, raw: bytes, little: bool, charset: tuple[str, ...], length: int) -> str:
    """The decoded value, short, as a learner reads it."""
    if not raw:
        return "empty (length 0)"
    if vr in ("OB", "OD", "OF", "OL", "OV", "OW", "UN") or " or " in vr:
        return f"{length} bytes of {vr} data"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = decode_value(vr, raw, little, charset)
        except DicomError as exc:
            return f"cannot be decoded: {exc.reason}"
    if vr == "AT":
        value = [format_tag(v) for v in value] if isinstance(value, list) else format_tag(value)
    text = _short(value, 8) if isinstance(value, list) else repr(value)
    if vr == "UI" and isinstance(value, str):
        entry = dictionary.uid(value)
        if entry is not None:
            text += f" = {entry.name}"
    return text if len(text) <= 100 else text[:97] + "..."


# -- the file ----------------------------------------------------------------------------------
def explain(data: bytes) -> Explanation:
    """Every byte of ``data`` (a whole DICOM file) accounted for, in order (module docstring)."""
    data = bytes(data)
    entries: list[Entry] = []
    walker = _Walker(data, "file", entries)
    spaces = {"file": data}
    pos = 0
    problem = None
    try:
        if len(data) >= 132 and data[128:132] == b"DICM":
            entry = Entry("preamble", 0, None, "Preamble")
            entries.append(entry)
            zero = "all zero" if not any(data[:128]) else "not all zero: an application's own"
            walker.part(entry, 0, 128, "preamble",
                        f"128 bytes for applications' own use, {zero}")
            entry = Entry("prefix", 0, None, "DICM prefix")
            entries.append(entry)
            walker.part(entry, 128, 132, "prefix", "'DICM': this is a DICOM Part 10 file")
            pos = 132
        syntax = None
        if data[pos:pos + 2] == b"\x02\x00":
            pos = walker.dataset(pos, len(data), True, True, 0, (), stop_group=2)
            syntax = _transfer_syntax(data, entries)
        explicit, little, deflated = _encoding(syntax, data, pos)
        if deflated:
            inflated = _inflate(data[pos:])
            entry = Entry("deflated", 0, None, "Deflated data set")
            entries.append(entry)
            walker.part(entry, pos, len(data), "deflated",
                        f"{len(data) - pos} bytes of raw deflate (PS3.5 A.5) inflating to "
                        f"{len(inflated)} bytes; explained below, offsets in the inflated data")
            spaces["inflated"] = inflated
            walker = _Walker(inflated, "inflated", entries)
            pos = walker.dataset(0, len(inflated), explicit, little, 0, ())
        else:
            pos = walker.dataset(pos, len(data), explicit, little, 0, ())
    except _Stop as stop:
        problem = str(stop)
        buf = walker.buf
        done = max((p.end for e in entries for p in e.parts if p.space == walker.space),
                   default=0)
        # Parts of the entry that was being read stay; the rest is unparsed.
        if done < len(buf):
            entry = Entry("unparsed", 0, None, "Unparsed")
            entries.append(entry)
            walker.part(entry, done, len(buf), "unparsed", problem)
    return Explanation([e for e in entries if e.parts], spaces, problem)


def _transfer_syntax(data: bytes, entries: list[Entry]) -> str | None:
    for entry in entries:
        if entry.tag == 0x00020010 and len(entry.parts) >= 3:
            value = entry.parts[-1]
            return data[value.start:value.end].decode("ascii", "replace").strip("\0 ")
    return None


def _encoding(uid: str | None, data: bytes, pos: int) -> tuple[bool, bool, bool]:
    """(explicit VR, little endian, deflated) of the dataset, from its UID or its first bytes."""
    syntax = dictionary.transfer_syntax(uid) if uid else None
    if syntax is not None:
        return syntax.explicit_vr, syntax.little_endian, syntax.deflated
    if len(data) - pos < 8:
        return True, True, False
    little = not (data[pos] == 0 and data[pos + 1] != 0)
    return bytes(data[pos + 4:pos + 6]) in _VR_BYTES, little, False


def _inflate(data: bytes) -> bytes:
    for wbits in (-15, 15):
        inflater = zlib.decompressobj(wbits)
        try:
            out = inflater.decompress(data, _MAX_INFLATED)
        except zlib.error:
            continue
        if inflater.unconsumed_tail:
            raise _Stop(f"the deflated data set inflates past {_MAX_INFLATED} bytes")
        return out
    raise _Stop("the deflated data set cannot be inflated")


# -- the listing -------------------------------------------------------------------------------
_COLOURS = {"tag": "36", "vr": "33", "reserved": "2", "length": "35", "value": "0",
            "preamble": "2", "prefix": "1;32", "deflated": "1;34", "unparsed": "1;31"}
_BYTES_PER_LINE = 8
_LINES_PER_VALUE = 2


def format_entries(explanation: Explanation, *, colour: bool = False, limit: int | None = None,
                   offset: int | None = None, tag: int | None = None) -> str:
    """The annotated hex listing: per entry a title line, then one line per part (offset,
    bytes in hex, role, meaning). Long values show their first bytes and their size.

    limit: at most this many entries; offset: start at the entry holding this file offset
    (an offset in the inflated data for a deflated file's dataset); tag: only the elements
    with this tag, and what they hold.
    """
    lines: list[str] = []
    shown = 0
    keep_depth: int | None = None  # inside a --tag match: its depth
    for entry in explanation.entries:
        if tag is not None:
            if keep_depth is not None and entry.depth > keep_depth:
                pass
            elif entry.tag == tag and entry.kind == "element":
                keep_depth = entry.depth
            else:
                keep_depth = None
                continue
        if offset is not None and entry.end <= offset:
            continue
        if limit is not None and shown >= limit:
            break
        shown += 1
        lines += _entry_lines(explanation, entry, colour)
    return "\n".join(lines)


def _paint(text: str, role: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS.get(role, '0')}m{text}\x1b[0m" if colour else text


def _entry_lines(explanation: Explanation, entry: Entry, colour: bool) -> list[str]:
    indent = "  " * entry.depth
    space = entry.parts[0].space
    where = "" if space == "file" else " (inflated)"
    lines = [_paint(f"{indent}{entry.title}{where}", "prefix" if entry.kind != "element"
                    else "tag", colour)]
    data = explanation.data[space]
    for part in entry.parts:
        chunk = data[part.start:part.end]
        rows = [chunk[i:i + _BYTES_PER_LINE] for i in range(0, len(chunk), _BYTES_PER_LINE)]
        more = len(rows) - _LINES_PER_VALUE
        if more > 0:
            rows = rows[:_LINES_PER_VALUE]
        for index, row in enumerate(rows or [b""]):
            hexes = " ".join(f"{b:02X}" for b in row)
            start = part.start + index * _BYTES_PER_LINE
            label = f"{part.role:<8} {part.meaning}" if index == 0 else ""
            lines.append(f"{indent}  {start:08X}  {_paint(f'{hexes:<{3 * _BYTES_PER_LINE - 1}}', part.role, colour)}"
                         f"  {label}".rstrip())
        if more > 0:
            lines.append(f"{indent}  {'':8}  ... {part.end - part.start - _LINES_PER_VALUE * _BYTES_PER_LINE}"
                         f" more bytes, to offset {part.end:08X}")
    return lines
