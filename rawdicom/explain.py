"""The bytes of a DICOM file, explained: every byte from offset 0, in order, with its meaning.

``explain(data)`` walks the file with its own small walker (independent of ``scanner.py``,
so that the two check each other) and returns a list of :class:`Entry`: the preamble, the
``DICM`` prefix, then one entry per data element, item and delimiter, each made of
:class:`Part` s (tag, VR, reserved, length, value; or an item's tag and length) that cover
the bytes exactly once, in order. :func:`format_entries` lays them out as an annotated hex
listing.

:class:`Walk` is the same walk streamed, for files of any size (``rawdicom explain`` uses
it): from a path or a binary file object it reads element headers, the short values it
decodes (at most ``MEANING_BYTES`` of each) and the bytes the listing prints, never a whole
large value: memory stays bounded by a few of those, not by the file. Entries come one at a
time (``for entry in walk``), :func:`format_walk` lays them out as they come.

What "every byte" means here: the whole file. Values (Pixel Data included) are one part
each, however long; encapsulated Pixel Data is its items (the Basic Offset Table, each
fragment) and its Sequence Delimitation Item. A deflated dataset (PS3.5 A.5) is one part of
the file; its inflated bytes are then explained as a second byte space (``Part.space ==
"inflated"``) with offsets in the inflated data (inflated in memory, at most 256 MiB). Bytes
the walker cannot make sense of (a file cut short, a length running past its end) end the
walk in one ``unparsed`` part and ``problem`` says why: the walk never raises for bad bytes.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterator, Union

from . import dictionary
from .charset import codecs_for
from .errors import DicomError, format_tag
from .scanner import LONG_VRS, VALID_VRS
from .regular_file import open_regular
from .values import decode_value

__all__ = ["Part", "Entry", "Explanation", "Walk", "explain", "format_entries", "format_walk"]

ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010
UNDEFINED = 0xFFFFFFFF
MEANING_BYTES = 4096  # the most of one value read to say what it means
_MAX_DEPTH = 64
_MAX_INFLATED = 1 << 28
_WINDOW = 1 << 16  # bytes read ahead of an element header
_BINARY_VRS = frozenset(("OB", "OD", "OF", "OL", "OV", "OW", "UN"))
_VR_BYTES = frozenset(vr.encode() for vr in VALID_VRS)
_DELIMITER_NAMES = {ITEM: "Item", ITEM_END: "Item Delimitation Item",
                    SEQUENCE_END: "Sequence Delimitation Item"}

Source = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", IO[bytes]]


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


class _Space:
    """Random access to one byte space (bytes in memory, or a seekable file), read through
    a small window so that many short header reads cost few system calls."""

    def __init__(self, data: bytes | None = None, file: IO[bytes] | None = None) -> None:
        self.data = data
        self.file = file
        if data is not None:
            self.size = len(data)
        else:
            assert file is not None
            self.size = file.seek(0, os.SEEK_END)
        self.window_start = 0
        self.window = b""

    def read(self, pos: int, count: int) -> bytes:
        """Up to ``count`` bytes at ``pos`` (fewer at the end)."""
        count = max(0, min(count, self.size - pos))
        if self.data is not None:
            return bytes(self.data[pos:pos + count])
        offset = pos - self.window_start
        if 0 <= offset and offset + count <= len(self.window):
            return self.window[offset:offset + count]
        assert self.file is not None
        self.file.seek(pos)
        if count > _WINDOW // 2:
            return self.file.read(count)
        self.window_start, self.window = pos, self.file.read(min(_WINDOW, self.size - pos))
        return self.window[:count]


class _Walker:
    """The walk of one byte space: generators that yield each entry once its header parts
    are known (an element after its value, a sequence before its items)."""

    def __init__(self, space: _Space, name: str) -> None:
        self.space = space
        self.name = name
        self.pending: Entry | None = None  # the entry being read (yielded when complete)
        self.done = 0  # where the last part ends

    def read(self, pos: int, count: int) -> bytes:
        return self.space.read(pos, count)

    def new(self, kind: str, depth: int, tag: int | None, title: str) -> Entry:
        self.pending = Entry(kind, depth, tag, title)
        return self.pending

    def emit(self, entry: Entry) -> Entry:
        self.pending = None
        return entry

    def part(self, entry: Entry, start: int, end: int, role: str, meaning: str) -> None:
        entry.parts.append(Part(start, end, role, meaning, self.name))
        self.done = max(self.done, end)

    def need(self, pos: int, count: int, end: int, what: str) -> None:
        if end - pos < count:
            raise _Stop(f"at offset 0x{pos:X}: {what} needs {count} bytes, {max(end - pos, 0)} "
                        "remain")

    # -- one dataset ------------------------------------------------------------------------
    def dataset(self, pos: int, end: int, explicit: bool, little: bool, depth: int,
                charset: tuple[str, ...], in_item: bool = False, stop_group: int | None = None
                ) -> Iterator[Entry]:
        """Walk elements from ``pos``; returns (as the generator's value) where the walk
        stopped (``end``, after an Item Delimitation Item when ``in_item``, or before the
        first element of another group than ``stop_group``)."""
        order = "<" if little else ">"
        while pos < end:
            self.need(pos, 8, end, "an element header")
            group, elem = struct.unpack(order + "HH", self.read(pos, 4))
            tag = group << 16 | elem
            if stop_group is not None and group != stop_group:
                return pos
            if tag == ITEM:
                raise _Stop(f"at offset 0x{pos:X}: an item (FFFE,E000) where a data element "
                            "was expected")
            if tag in (ITEM_END, SEQUENCE_END):
                yield self.delimiter(pos, order, depth, tag)
                pos += 8
                if tag == ITEM_END and in_item:
                    return pos
                continue
            pos, charset = yield from self.element(pos, end, explicit, little, depth, charset)
        return pos

    def delimiter(self, pos: int, order: str, depth: int, tag: int) -> Entry:
        entry = self.new("delimiter", depth, tag, f"{format_tag(tag)} {_DELIMITER_NAMES[tag]}")
        length = struct.unpack(order + "I", self.read(pos + 4, 4))[0]
        self.part(entry, pos, pos + 4, "tag", f"{format_tag(tag)} {_DELIMITER_NAMES[tag]}")
        self.part(entry, pos + 4, pos + 8, "length",
                  f"{length} (a delimiter's length is always 0)" if length == 0
                  else f"{length}: should be 0")
        return self.emit(entry)

    def element(self, pos: int, end: int, explicit: bool, little: bool, depth: int,
                charset: tuple[str, ...]) -> Iterator[Entry]:
        """One element (generator; its value: the position after it and the charset)."""
        order = "<" if little else ">"
        endian = "little endian" if little else "big endian"
        header = self.read(pos, 12)
        group, elem = struct.unpack_from(order + "HH", header)
        tag = group << 16 | elem
        keyword = dictionary.keyword_for(tag)
        entry_info = dictionary.lookup(tag)
        name = keyword or (entry_info.name if entry_info is not None else "unknown")
        entry = self.new("element", depth, tag, f"{format_tag(tag)} {name}")
        self.part(entry, pos, pos + 4, "tag",
                  f"{format_tag(tag)} {name}: group 0x{group:04X}, element 0x{elem:04X}, "
                  f"{endian}")
        implicit_vr = False
        if explicit and header[4:6] in _VR_BYTES:
            vr = header[4:6].decode()
            self.part(entry, pos + 4, pos + 6, "vr", f"{vr}" + (
                ": long form, 2 reserved bytes and a 4-byte length follow" if vr in LONG_VRS
                else ": short form, a 2-byte length follows"))
            if vr in LONG_VRS:
                self.need(pos, 12, end, f"the {vr} header")
                self.part(entry, pos + 6, pos + 8, "reserved", "reserved, 0000")
                length = struct.unpack_from(order + "I", header, 8)[0]
                self.part(entry, pos + 8, pos + 12, "length", _length_text(length, 4, endian))
                vpos = pos + 12
            else:
                length = struct.unpack_from(order + "H", header, 6)[0]
                self.part(entry, pos + 6, pos + 8, "length", _length_text(length, 2, endian))
                vpos = pos + 8
        else:
            implicit_vr = True
            vr = dictionary.vr_for(tag)
            length = struct.unpack_from(order + "I", header, 4)[0]
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
            yield self.emit(entry)
            pos = yield from self.sequence(vpos, end, length, explicit, little, depth, charset)
            return pos, charset
        if length == UNDEFINED:
            if tag == PIXEL_DATA or vr in ("OB", "OW", "OB or OW"):
                yield self.emit(entry)
                pos = yield from self.encapsulated(vpos, end, depth)
                return pos, charset
            raise _Stop(f"at offset 0x{vpos:X}: undefined length for {vr} (not a sequence)")
        if length > end - vpos:
            raise _Stop(f"{format_tag(tag)} at offset 0x{vpos:X}: length {length} runs past "
                        f"the end of the data ({end - vpos} bytes remain)")
        binary = vr in _BINARY_VRS or " or " in vr
        raw = b"" if binary else self.read(vpos, min(length, MEANING_BYTES))
        if tag == 0x00080005 and length <= MEANING_BYTES:
            try:
                charset = codecs_for(decode_value("CS", raw, little, ()))
            except DicomError:
                pass
        self.part(entry, vpos, vpos + length, "value",
                  _meaning(vr, raw, little, charset, length))
        yield self.emit(entry)
        return vpos + length, charset

    def sequence(self, vpos: int, end: int, length: int, explicit: bool, little: bool,
                 depth: int, charset: tuple[str, ...]) -> Iterator[Entry]:
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
            group, elem, item_length = struct.unpack(order + "HHI", self.read(pos, 8))
            tag = group << 16 | elem
            if tag == SEQUENCE_END:
                yield self.delimiter(pos, order, depth + 1, tag)
                pos += 8
                if length == UNDEFINED:
                    return pos
                continue
            if tag != ITEM:
                raise _Stop(f"at offset 0x{pos:X}: {format_tag(tag)} where an item was "
                            "expected")
            number += 1
            item = self.new("item", depth + 1, ITEM, f"Item {number}")
            self.part(item, pos, pos + 4, "tag", f"(FFFE,E000) Item {number}")
            if item_length == UNDEFINED:
                self.part(item, pos + 4, pos + 8, "length",
                          "undefined (0xFFFFFFFF): the item ends at an Item Delimitation Item")
                yield self.emit(item)
                pos = yield from self.dataset(pos + 8, stop, explicit, little, depth + 2,
                                              charset, in_item=True)
            else:
                if item_length > stop - pos - 8:
                    raise _Stop(f"at offset 0x{pos:X}: item length {item_length} runs past "
                                "the end of its sequence")
                self.part(item, pos + 4, pos + 8, "length", f"{item_length} bytes of elements")
                yield self.emit(item)
                pos = yield from self.dataset(pos + 8, pos + 8 + item_length, explicit, little,
                                              depth + 2, charset)
        if length == UNDEFINED:
            raise _Stop("the sequence has no Sequence Delimitation Item before the end of "
                        "the data")
        return pos

    def encapsulated(self, vpos: int, end: int, depth: int) -> Iterator[Entry]:
        """Encapsulated Pixel Data (PS3.5 A.4): the offset table item, fragments, delimiter."""
        pos, number = vpos, 0
        while True:
            self.need(pos, 8, end, "an item header")
            group, elem, length = struct.unpack("<HHI", self.read(pos, 8))
            tag = group << 16 | elem
            if tag == SEQUENCE_END:
                yield self.delimiter(pos, "<", depth + 1, tag)
                return pos + 8
            if tag != ITEM:
                raise _Stop(f"at offset 0x{pos:X}: {format_tag(tag)} where a fragment item "
                            "was expected")
            if length > end - pos - 8:
                raise _Stop(f"at offset 0x{pos:X}: fragment length {length} runs past the end "
                            "of the data")
            title = "Basic Offset Table" if number == 0 else f"Fragment {number}"
            item = self.new("fragment", depth + 1, ITEM, title)
            self.part(item, pos, pos + 4, "tag", f"(FFFE,E000) item: {title}")
            self.part(item, pos + 4, pos + 8, "length", f"{length} bytes")
            if number == 0:
                shown = min(length // 4, 7)  # _short shows six, and whether there are more
                offsets = list(struct.unpack(f"<{shown}I", self.read(pos + 8, 4 * shown)))
                meaning = (f"offsets of {length // 4} frame(s): {_short(offsets)}" if offsets
                           else "empty: no offsets (frames are found from the fragments)")
            else:
                head = self.read(pos + 8, min(length, 2))
                meaning = f"{length} bytes of compressed frame data" + (
                    " (starts with a JPEG marker FFD8)" if head == b"\xff\xd8" else "")
            if length:
                self.part(item, pos + 8, pos + 8 + length, "value", meaning)
            yield self.emit(item)
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
    """The decoded value, short, as a learner reads it. ``raw``: the value's first
    MEANING_BYTES bytes at most (nothing of a binary value, which is only counted)."""
    if not length:
        return "empty (length 0)"
    if vr in _BINARY_VRS or " or " in vr:
        return f"{length} bytes of {vr} data"
    cut = len(raw) < length
    if cut:  # a long value: what its first bytes say, whole numbers only
        size = {"AT": 4, "FD": 8, "FL": 4, "SL": 4, "SS": 2, "SV": 8, "UL": 4, "US": 2,
                "UV": 8}.get(vr, 1)
        raw = raw[:len(raw) - len(raw) % size]
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = decode_value(vr, raw, little, charset)
        except DicomError as exc:
            return f"cannot be decoded: {exc.reason}"
    if vr == "AT":  # tags; bytes when the length is no multiple of 4 (a damaged value)
        value = [_tag_text(v) for v in value] if isinstance(value, list) else _tag_text(value)
    text = _short(value, 8) if isinstance(value, list) else repr(value)
    if vr == "UI" and isinstance(value, str):
        entry = dictionary.uid(value)
        if entry is not None:
            text += f" = {entry.name}"
    if cut:
        return f"{text[:80]}... ({length} bytes, read up to {len(raw)})"
    return text if len(text) <= 100 else text[:97] + "..."


def _tag_text(value: Any) -> str:
    """An AT value: a tag, or the bytes of a value whose length is no multiple of 4."""
    if isinstance(value, int):
        return format_tag(value)
    return f"{bytes(value).hex(' ')} (not a tag: AT values are 4 bytes each)"


# -- the file ----------------------------------------------------------------------------------
class Walk:
    """The explanation of a file, streamed: ``for entry in walk`` gives the entries in
    order, reading only element headers, the first MEANING_BYTES of values it decodes and
    nothing of binary values; then ``problem`` says why the walk stopped early (None when it
    did not). ``read(space, start, end)`` gives bytes of a byte space for a listing.

    source: a path, a binary file object (seekable; read from, not closed) or bytes.
    """

    def __init__(self, source: Source) -> None:
        self._close: IO[bytes] | None = None
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._file = _Space(data=bytes(source) if not isinstance(source, bytes) else source)
        elif isinstance(source, (str, os.PathLike)):
            self._close = os.fdopen(open_regular(source), "rb")  # never a FIFO or a device
            self._file = _Space(file=self._close)
        else:
            self._file = _Space(file=source)
        self.size = self._file.size
        self.spaces: dict[str, _Space] = {"file": self._file}
        self.problem: str | None = None

    def close(self) -> None:
        """Close the file opened from a path (a file object given stays open)."""
        if self._close is not None:
            self._close.close()
            self._close = None

    def __enter__(self) -> "Walk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def read(self, space: str, start: int, end: int) -> bytes:
        return self.spaces[space].read(start, end - start)

    def __iter__(self) -> Iterator[Entry]:
        walker = _Walker(self._file, "file")
        try:
            yield from self._walk(walker)
        except _Stop as stop:
            self.problem = str(stop)
            walker = self._current
            # Parts of the entry that was being read stay; the rest is unparsed.
            if walker.pending is not None and walker.pending.parts:
                yield walker.emit(walker.pending)
            if walker.done < walker.space.size:
                entry = Entry("unparsed", 0, None, "Unparsed")
                walker.part(entry, walker.done, walker.space.size, "unparsed", self.problem)
                yield entry

    def _walk(self, walker: _Walker) -> Iterator[Entry]:
        self._current = walker
        space = self._file
        pos = 0
        if space.size >= 132 and space.read(128, 4) == b"DICM":
            entry = Entry("preamble", 0, None, "Preamble")
            zero = "all zero" if not any(space.read(0, 128)) else \
                "not all zero: an application's own"
            walker.part(entry, 0, 128, "preamble", f"128 bytes for applications' own use, {zero}")
            yield entry
            entry = Entry("prefix", 0, None, "DICM prefix")
            walker.part(entry, 128, 132, "prefix", "'DICM': this is a DICOM Part 10 file")
            yield entry
            pos = 132
        syntax = None
        if space.read(pos, 2) == b"\x02\x00":
            found: list[Entry] = []
            pos = yield from _keep(walker.dataset(pos, space.size, True, True, 0, (),
                                                  stop_group=2), 0x00020010, found)
            if found:
                value = found[0].parts[-1]
                syntax = space.read(value.start, min(value.end - value.start, 256)).decode(
                    "ascii", "replace").strip("\0 ")
        explicit, little, deflated = _encoding(syntax, space.read(pos, 8))
        if not deflated:
            yield from walker.dataset(pos, space.size, explicit, little, 0, ())
            return
        inflated = _inflate(space, pos)
        entry = Entry("deflated", 0, None, "Deflated data set")
        walker.part(entry, pos, space.size, "deflated",
                    f"{space.size - pos} bytes of raw deflate (PS3.5 A.5) inflating to "
                    f"{len(inflated)} bytes; explained below, offsets in the inflated data")
        yield entry
        self.spaces["inflated"] = _Space(data=inflated)
        walker = _Walker(self.spaces["inflated"], "inflated")
        self._current = walker
        yield from walker.dataset(0, len(inflated), explicit, little, 0, ())


def _keep(entries: Iterator[Entry], tag: int, found: list[Entry]) -> Iterator[Entry]:
    """Pass the entries on, keeping in ``found`` the top-level element ``tag`` with its value;
    the walk's own value (where it stopped) is returned."""
    walk = iter(entries)
    while True:
        try:
            entry = next(walk)
        except StopIteration as end:
            return end.value
        if entry.tag == tag and entry.depth == 0 and len(entry.parts) >= 3:
            found.append(entry)
        yield entry


def explain(data: bytes) -> Explanation:
    """Every byte of ``data`` (a whole DICOM file) accounted for, in order (module docstring).

    All entries at once, with the bytes: for a file of any size, stream it with :class:`Walk`.
    """
    data = bytes(data)
    walk = Walk(data)
    entries = list(walk)
    spaces = {"file": data}
    if "inflated" in walk.spaces:
        inflated = walk.spaces["inflated"].data
        assert inflated is not None
        spaces["inflated"] = inflated
    return Explanation(entries, spaces, walk.problem)


def _encoding(uid: str | None, first: bytes) -> tuple[bool, bool, bool]:
    """(explicit VR, little endian, deflated) of the dataset, from its UID or its first bytes."""
    syntax = dictionary.transfer_syntax(uid) if uid else None
    if syntax is not None:
        return syntax.explicit_vr, syntax.little_endian, syntax.deflated
    if len(first) < 8:
        return True, True, False
    little = not (first[0] == 0 and first[1] != 0)
    return first[4:6] in _VR_BYTES, little, False


def _inflate(space: _Space, pos: int) -> bytes:
    """The deflated dataset from ``pos`` on, inflated (at most _MAX_INFLATED bytes), read
    a chunk at a time."""
    for wbits in (-15, 15):
        inflater = zlib.decompressobj(wbits)
        out = bytearray()
        at = pos
        try:
            while at < space.size and not inflater.eof:
                chunk = space.read(at, 1 << 20)
                at += len(chunk)
                out += inflater.decompress(chunk, _MAX_INFLATED + 1 - len(out))
                if len(out) > _MAX_INFLATED or inflater.unconsumed_tail:
                    raise _Stop(f"the deflated data set inflates past {_MAX_INFLATED} bytes")
        except zlib.error:
            continue
        return bytes(out)
    raise _Stop("the deflated data set cannot be inflated")


# -- the listing -------------------------------------------------------------------------------
_COLOURS = {"tag": "36", "vr": "33", "reserved": "2", "length": "35", "value": "0",
            "preamble": "2", "prefix": "1;32", "deflated": "1;34", "unparsed": "1;31"}
_BYTES_PER_LINE = 8
_LINES_PER_VALUE = 2

Reader = Callable[[str, int, int], bytes]  # (space, start, end) -> those bytes


def format_entries(explanation: Explanation, *, colour: bool = False, limit: int | None = None,
                   offset: int | None = None, tag: int | None = None) -> str:
    """The annotated hex listing: per entry a title line, then one line per part (offset,
    bytes in hex, role, meaning). Long values show their first bytes and their size.

    limit: at most this many entries; offset: start at the entry holding this file offset
    (an offset in the inflated data for a deflated file's dataset); tag: only the elements
    with this tag, and what they hold.
    """
    def read(space: str, start: int, end: int) -> bytes:
        return explanation.data[space][start:end]

    return "\n".join(_lines(iter(explanation.entries), read, colour, limit, offset, tag))


def format_walk(walk: Walk, *, colour: bool = False, limit: int | None = None,
                offset: int | None = None, tag: int | None = None) -> Iterator[str]:
    """The lines of :func:`format_entries` for a streamed :class:`Walk`, as they come."""
    return _lines(iter(walk), walk.read, colour, limit, offset, tag)


def _lines(entries: Iterator[Entry], read: Reader, colour: bool, limit: int | None,
           offset: int | None, tag: int | None) -> Iterator[str]:
    shown = 0
    keep_depth: int | None = None  # inside a --tag match: its depth
    for entry in entries:
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
        yield from _entry_lines(read, entry, colour)


def _paint(text: str, role: str, colour: bool) -> str:
    return f"\x1b[{_COLOURS.get(role, '0')}m{text}\x1b[0m" if colour else text


def _entry_lines(read: Reader, entry: Entry, colour: bool) -> list[str]:
    indent = "  " * entry.depth
    space = entry.parts[0].space
    where = "" if space == "file" else " (inflated)"
    lines = [_paint(f"{indent}{entry.title}{where}", "prefix" if entry.kind != "element"
                    else "tag", colour)]
    shown = _LINES_PER_VALUE * _BYTES_PER_LINE
    for part in entry.parts:
        size = part.end - part.start
        chunk = read(space, part.start, part.start + min(size, shown))  # only what is shown
        rows = [chunk[i:i + _BYTES_PER_LINE] for i in range(0, len(chunk), _BYTES_PER_LINE)]
        for index, row in enumerate(rows or [b""]):
            hexes = " ".join(f"{b:02X}" for b in row)
            start = part.start + index * _BYTES_PER_LINE
            label = f"{part.role:<8} {part.meaning}" if index == 0 else ""
            lines.append(f"{indent}  {start:08X}  {_paint(f'{hexes:<{3 * _BYTES_PER_LINE - 1}}', part.role, colour)}"
                         f"  {label}".rstrip())
        if size > shown:
            lines.append(f"{indent}  {'':8}  ... {size - shown}"
                         f" more bytes, to offset {part.end:08X}")
    return lines
