"""The element stream of one encoding: tags, VRs, lengths and value offsets.

The scanner walks a buffer and records each element's tag, VR, length and
value offset in a :class:`Dataset`, decoding nothing.  It knows the four
encodings (implicit/explicit VR, little/big endian), undefined lengths,
items and delimiters, sequences, and encapsulated pixel data fragments.

Every length is checked against the bytes that remain before anything is
sliced, nesting is capped, and every loop advances, so any buffer ends in a
Dataset or a :class:`DicomError` in linear time.  Defined-length sequences
are parsed only when their value is first asked for.
"""

from __future__ import annotations

import re
import struct
import warnings
import weakref
from functools import lru_cache, partial
from itertools import compress, count as counter, repeat
from operator import add, not_
from typing import Callable

from . import dictionary
from .dataset import CONTEXT_TAGS, PRIVATE_UN, UNDEFINED_LENGTH, Context, Dataset, Element
from .encapsulated import EncapsulatedPixelData
from .errors import (DicomError, DicomWarning, LimitExceededError, MalformedElementError,
                     TruncatedError, format_tag)
from .limits import Limits

__all__ = ["ENCODINGS", "Encoding", "NeedMoreData", "Scanner", "LONG_VRS", "VALID_VRS",
           "explicit_reading"]

ITEM = 0xFFFEE000
ITEM_DELIMITER = 0xFFFEE00D
SEQUENCE_DELIMITER = 0xFFFEE0DD
PIXEL_DATA = 0x7FE00010

# Explicit VR: these VRs have 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
_LONG_VRS = {vr.encode(): vr for vr in "OB OD OF OL OV OW SQ UC UN UR UT SV UV".split()}
_SHORT_VRS = {vr.encode(): vr for vr in
              "AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US".split()}
LONG_VRS = frozenset(_LONG_VRS.values())
# The VRs with a 4-byte length whose values the fast path stores as they are (not SQ, whose
# items are parsed, nor UN, which takes the dictionary's VR).
_PLAIN_LONG_VRS = {b: vr for b, vr in _LONG_VRS.items() if vr not in ("SQ", "UN")}
VALID_VRS = LONG_VRS | frozenset(_SHORT_VRS.values())
# What a delimiter met where an element was expected means (_delimiter_in_dataset).
_ITEM_ENDS_AFTER, _ITEM_ENDS_BEFORE, _SKIP, _STRAY_ITEM = range(4)
_SEQUENCE_DELIMITER_BYTES = {True: b"\xfe\xff\xdd\xe0\x00\x00\x00\x00",
                             False: b"\xff\xfe\xe0\xdd\x00\x00\x00\x00"}


def _find(buf: memoryview, needle: bytes, start: int, end: int) -> int:
    """The position of ``needle`` in ``buf[start:end]``, or -1, copying only what it searches.

    A memoryview has no find(); copying the whole rest of the data for each
    element made reading quadratic (a 2.5 MB stream of undefined-length
    values took 28 s).  Windows double in size, so the bytes copied are at
    most about twice the distance searched.
    """
    window = 4096
    pos = start
    while pos < end:
        stop = min(end, pos + window)
        found = bytes(buf[pos:stop]).find(needle)
        if found >= 0:
            return pos + found
        if stop == end:
            break
        pos = stop - len(needle) + 1
        window *= 2
    return -1


def explicit_reading(buf: memoryview, pos: int, end: int, enc: Encoding, tag: int,
                     vrb: bytes, short_length: int, strict: bool = False
                     ) -> tuple[int, int] | None:
    """(length, value offset) of an explicit VR element with VR bytes ``vrb`` that are no
    VR, read as dcmtk reads it, or None when that reading makes no consistent stream.

    Two capital letters are taken for a VR newer than this reader (2 reserved
    bytes and a 4-byte length: PS3.5 7.1.2 requires that form of every VR
    defined later), anything else for a 2-byte length.  Consistent: the value
    fits, and the data ends right after it or the next element has a higher
    tag (or is a delimiter) and VR bytes that are a VR, or (not ``strict``)
    the same bytes as this one: a writer that put NULs in one VR field often
    did in the next.
    """
    if vrb.isalpha() and vrb.isupper():
        if end - pos < 12:
            return None
        length, vpos = enc.u32(buf, pos + 8)[0], pos + 12
    else:
        length, vpos = short_length, pos + 8
    after = vpos + length
    if length == UNDEFINED_LENGTH or after > end:
        return None
    if after == end:
        return length, vpos
    if end - after < 8:
        return None
    g, e, next_vrb, _ = enc.header(buf, after)
    next_tag = g << 16 | e
    if g == 0xFFFE:
        consistent = next_tag in (ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER)
    else:
        consistent = next_tag > tag and (
            next_vrb in _SHORT_VRS or next_vrb in _LONG_VRS or (not strict and next_vrb == vrb))
    return (length, vpos) if consistent else None


@lru_cache(maxsize=64)
def _with_creators(wanted: frozenset[int]) -> frozenset[int]:
    """The tags asked for and the private creators of those that are private data elements:
    an element is named and given its VR through its creator (cached: the same each file)."""
    return wanted | {c for c in map(dictionary.creator_tag, wanted) if c is not None}


@lru_cache(maxsize=64)
def _kept(wanted: frozenset[int]) -> frozenset[int]:
    """``wanted`` and the context tags (cached: thousands of tags when vendor blocks are asked)."""
    return wanted | frozenset(CONTEXT_TAGS)


class NeedMoreData(Exception):
    """Internal: a header-only read met the end of the prefix it was given."""


class Encoding:
    """Implicit or explicit VR, little or big endian, with its struct formats."""

    __slots__ = ("explicit_vr", "little_endian", "header", "u32", "item")

    def __init__(self, explicit_vr: bool, little_endian: bool) -> None:
        self.explicit_vr = explicit_vr
        self.little_endian = little_endian
        order = "<" if little_endian else ">"
        self.header = struct.Struct(order + ("HH2sH" if explicit_vr else "HHI")).unpack_from
        self.u32 = struct.Struct(order + "I").unpack_from
        self.item = struct.Struct(order + "HHI").unpack_from

    def __repr__(self) -> str:
        return (f"Encoding({'explicit' if self.explicit_vr else 'implicit'} VR, "
                f"{'little' if self.little_endian else 'big'} endian)")


ENCODINGS = {(explicit, little): Encoding(explicit, little)
             for explicit in (False, True) for little in (False, True)}
IMPLICIT_LE = ENCODINGS[False, True]


class Scanner:
    """Parses one buffer; holds the bounds and stop conditions of the read."""

    def __init__(self, buf: memoryview, limits: Limits, *, stop_before_pixels: bool = False,
                 max_tag: int | None = None, wanted: frozenset[int] | None = None,
                 complete: bool = True) -> None:
        self.buf = buf
        # The bytes object buf views whole, else None: runs of elements are then matched
        # against the last file's layout (_Layout) by comparing bytes.
        base = getattr(buf, "obj", None)
        self.data = base if type(base) is bytes and len(buf) == len(base) == buf.nbytes else None
        # False when buf is only the first part of the source (a header-only read):
        # meeting its end then means "read the whole source", not "the data is cut".
        self.complete = complete
        # Warnings are held until the read succeeds (a prefix attempt may be retried).
        self.pending: list[str] | None = []
        self.limits = limits
        self.stop_before_pixels = stop_before_pixels
        self.max_tag = max_tag
        if wanted is not None:
            wanted = _with_creators(wanted)
        self.wanted = wanted
        # tags=: the elements kept while scanning; those deciding how others decode too
        self.kept = _kept(wanted) if wanted is not None else None
        self.data_end = len(buf)
        self.element_count = 0

    def warn(self, message: str, offset: int, tag: int | None = None) -> None:
        where = f"{format_tag(tag)} " if tag is not None else ""
        text = f"{where}at offset 0x{offset:X}: {message}"
        if self.pending is not None:
            self.pending.append(text)
        else:  # a sequence parsed lazily, after the read
            warnings.warn(text, DicomWarning, stacklevel=5)

    def emit_warnings(self) -> None:
        """Issue the warnings held during the read; later ones are issued at once."""
        pending, self.pending = self.pending or [], None
        for text in pending:
            warnings.warn(text, DicomWarning, stacklevel=4)

    def _count_one(self, pos: int, tag: int) -> None:
        """Count an item or a fragment against the element budget: each costs memory too."""
        self.element_count += 1
        if self.element_count > self.limits.max_elements:
            raise LimitExceededError(f"more than {self.limits.max_elements} elements, items "
                                     "and fragments", offset=pos, tag=tag)

    def _at_data_end(self) -> None:
        """The data ends here. In a prefix of the source, that asks for the whole source."""
        if not self.complete:
            raise NeedMoreData

    # -- datasets ---------------------------------------------------------------------
    def parse_dataset(self, ds: Dataset, pos: int, end: int, enc: Encoding, depth: int,
                      in_undefined_item: bool = False, top_level: bool = False,
                      stop_tag: int = 0xFFFE0000) -> int:
        """Fill ``ds`` with the elements in ``buf[pos:end]``; return where parsing stopped.

        ``in_undefined_item``: stop after an Item Delimitation Item.
        ``top_level``: apply the ``stop_before_pixels`` / ``tags=`` stop conditions.
        ``stop_tag``: stop before the first tag at or above it.

        The loop is the hot path of every read: an element with a defined
        length that is not a sequence is stored as a ``(vr, length, offset)``
        record, turned into an Element only when it is used.  Everything else
        goes through :meth:`_element`.
        """
        buf = self.buf
        records = ds._elements
        header = enc.header
        u32 = enc.u32
        explicit = enc.explicit_vr
        long_vrs = _LONG_VRS
        short_vrs = _SHORT_VRS
        vr_for = dictionary.vr_for
        wanted = kept = None
        if top_level:
            if self.stop_before_pixels:
                stop_tag = min(stop_tag, 0x7FE00008)
            if self.max_tag is not None:
                stop_tag = min(stop_tag, self.max_tag + 1)
            wanted, kept = self.wanted, self.kept
        budget = self.limits.max_elements - self.element_count
        count = 0
        last_tag = -1
        unordered = False
        while pos < end:
            if explicit:
                last_start = min(end - 8, pos + (budget - count) * 8 - 8)
                if self.data is None:
                    pos, last_tag, count = _plain_run(records, buf, pos, end, header, u32, last_tag,
                                                      stop_tag, count, last_start, kept)
                else:
                    pos, last_tag, count = _layout_run(self.data, records, buf, pos, end, header,
                                                       u32, last_tag, stop_tag, count, last_start,
                                                       kept)
                if pos >= end:
                    continue  # the loop ends, through its else clause
            if end - pos < 8:
                if end == self.data_end:
                    self._at_data_end()
                    self.warn(f"the data ends inside an element header; {end - pos} trailing "
                              "bytes ignored", pos)
                    pos = end
                    break
                self._truncated(f"element header needs 8 bytes, {end - pos} remain", pos)
            if explicit:
                g, e, vrb, length = header(buf, pos)
                tag = g << 16 | e
            else:
                g, e, length = header(buf, pos)
                tag = g << 16 | e
            if tag >= stop_tag:
                if g != 0xFFFE:
                    break
                action = self._delimiter_in_dataset(tag, pos, in_undefined_item)
                if action == _ITEM_ENDS_AFTER:
                    pos += 8
                    break
                if action == _ITEM_ENDS_BEFORE:
                    break
                if action == _STRAY_ITEM:
                    self.element_count += count  # items inside count against the budget too
                    count = 0
                    pos = self._stray_item(ds, pos, end, enc, depth)
                    budget = self.limits.max_elements - self.element_count
                    continue
                pos += 8
                continue
            count += 1
            if count > budget:
                raise LimitExceededError(f"more than {self.limits.max_elements} elements",
                                         offset=pos, tag=tag)
            from_un = False
            if explicit:
                vr = short_vrs.get(vrb)
                if vr is not None:
                    vpos = pos + 8
                else:
                    vr = long_vrs.get(vrb)
                    if vr is not None:
                        if end - pos < 12:
                            if end == self.data_end:
                                self._at_data_end()
                                self.warn("the data ends inside an element header", pos, tag)
                                pos = end
                                break
                            self._truncated("explicit VR header needs 12 bytes", pos, tag)
                        length = u32(buf, pos + 8)[0]
                        vpos = pos + 12
                    else:
                        vr, length, vpos = self._invalid_vr(tag, vrb, length, pos, end, enc)
                    if vr == "UN":
                        vr = self._un_vr(tag, length)
                        from_un = True
            else:
                vr = vr_for(tag)
                if vr == "UN" and g & 1:
                    vr = PRIVATE_UN  # the private dictionary may know it (Dataset._adopt_private)
                vpos = pos + 8
            # (With tags=, a defined-length sequence not asked for is stepped over.)
            if (length == UNDEFINED_LENGTH or length > end - vpos
                    or (vr == "SQ" and (wanted is None or tag in wanted))):
                # Items parsed inside count against the same budget: hand this count over first.
                self.element_count += count
                count = 0
                el, pos, ends = self._element(ds, tag, vr, length, vpos, end, enc, depth, from_un)
                budget = self.limits.max_elements - self.element_count
                record: Element | tuple[str, int, int] = el
            else:
                if length & 1 and vr != "UN" and vr != "OB" and vr is not PRIVATE_UN:
                    self.warn(f"odd value length {length}", pos, tag)
                if from_un and not enc.little_endian:
                    # A UN value given its VR is little endian whatever the transfer
                    # syntax (PS3.5 6.2.2): decode it so, in a big endian dataset too.
                    record = Element(tag, vr, length, vpos, length, ds._ctx.little_endian_view())
                else:
                    record = (vr, length, vpos)
                pos = vpos + length
                ends = False
            if tag > last_tag:
                last_tag = tag
                if kept is None or tag in kept:  # (tags=: as the fast path keeps them)
                    records[tag] = record
            elif tag in records:
                self.warn("duplicate element; the first one is kept", vpos, tag)
            else:
                unordered = True
                records[tag] = record
            if ends:
                break
        else:
            if end == self.data_end:
                self._at_data_end()
            if in_undefined_item:
                self.warn("item has no Item Delimitation Item before the end of its data", pos)
        self.element_count += count
        ds._ctx.scanner, ds._ctx.depth = self, depth  # for private sequences (dataset.py)
        self.settle(ds, unordered, wanted)
        return pos

    def settle(self, ds: Dataset, unordered: bool, wanted: frozenset[int] | None) -> None:
        """Make the elements parsed into ``ds`` a finished dataset: its context attributes
        noted, its elements in tag order, only those asked for (``tags=``) kept.

        Called when ``ds`` is parsed, and by the reader on a dataset cut short by an
        error, which becomes the error's ``partial``.
        """
        records = ds._elements
        ds._ctx.capture(records)
        if unordered:
            self.warn("elements are not in ascending tag order; sorted", ds.offset)
            records = ds.__dict__["_elements"] = dict(sorted(records.items()))
        if wanted is not None and not wanted.issuperset(records):
            # records are in tag order: filtering them keeps it (and costs the elements
            # present, not the tags asked for, which may be thousands: vendor private blocks;
            # the fast path kept only those asked for and the context ones already)
            ds.__dict__["_elements"] = {t: r for t, r in records.items() if t in wanted}

    def _element(self, ds: Dataset, tag: int, vr: str, length: int, vpos: int, end: int,
                 enc: Encoding, depth: int, from_un: bool) -> tuple[Element, int, bool]:
        """An element off the fast path: a sequence, an undefined length, a value cut short.

        Returns the element, the position after it, and whether the dataset ends there.
        """
        if length == UNDEFINED_LENGTH:
            el, after = self._undefined_length_element(ds, tag, vr, vpos, end, enc, depth,
                                                       enc.explicit_vr, from_un)
            return el, after, False
        remaining = end - vpos
        if length > remaining:
            if end != self.data_end:
                self._truncated(f"length {length} runs past the end of the data "
                                f"({remaining} bytes remain)", vpos, tag)
            self._at_data_end()
            # The data ends early: keep what was read; a cut sequence keeps the
            # items that are there, any other cut value raises when used.
            return self._truncated_value(ds, tag, vr, length, vpos, remaining, enc, depth,
                                         from_un), end, True
        # A defined-length sequence is parsed when its value is first used; an
        # explicit UN holding a sequence encodes it as implicit VR LE (6.2.2).
        return Element(tag, "SQ", length, vpos, length, ds._ctx,
                       lazy=self._sequence_parser(vpos, vpos + length,
                                                  IMPLICIT_LE if from_un else enc, depth + 1, ds,
                                                  tag)), vpos + length, False

    def _delimiter_in_dataset(self, tag: int, pos: int, in_undefined_item: bool) -> int:
        """What a tag of group FFFE means where a data element was expected."""
        if tag == ITEM_DELIMITER:
            if in_undefined_item:
                return _ITEM_ENDS_AFTER
            self.warn("Item Delimitation Item outside an undefined-length item; skipped", pos, tag)
            return _SKIP
        if tag == SEQUENCE_DELIMITER:
            if in_undefined_item:
                self.warn("item ends without its Item Delimitation Item", pos, tag)
                return _ITEM_ENDS_BEFORE
            self.warn("Sequence Delimitation Item outside a sequence; skipped", pos, tag)
            return _SKIP
        if tag == ITEM:
            if in_undefined_item:  # the next item of the sequence: this one lost its delimiter
                self.warn("item ends without its Item Delimitation Item before the next item",
                          pos, tag)
                return _ITEM_ENDS_BEFORE
            return _STRAY_ITEM
        raise MalformedElementError("element in the reserved group FFFE", offset=pos, tag=tag)

    def _stray_item(self, ds: Dataset, pos: int, end: int, enc: Encoding, depth: int) -> int:
        """Skip an item met where a data element was expected; return the position after it.

        Such items are left over from a sequence that ended too early (a
        Sequence Delimitation Item where an item's delimiter belonged), or
        written by a writer that lost a sequence header; dcmtk and GDCM read
        on past them.  An item of undefined length is parsed to its Item
        Delimitation Item (into a dataset that is then dropped), so that its
        elements do not land in the dataset around it.
        """
        self._count_one(pos, ITEM)
        length = enc.u32(self.buf, pos + 4)[0]
        if length == UNDEFINED_LENGTH:
            self.warn("item of undefined length outside any sequence; skipped", pos, ITEM)
            stray = Dataset(buf=self.buf, little_endian=enc.little_endian,
                            explicit_vr=enc.explicit_vr, parent=ds, offset=pos)
            return self.parse_dataset(stray, pos + 8, end, enc, depth, in_undefined_item=True)
        if length > end - pos - 8:
            if end == self.data_end:
                self._at_data_end()
            self.warn(f"item of length {length} outside any sequence runs past the end of its "
                      "data; its header skipped", pos, ITEM)
            return pos + 8
        self.warn(f"item of length {length} outside any sequence; skipped", pos, ITEM)
        return pos + 8 + length

    def _invalid_vr(self, tag: int, vrb: bytes, length: int, pos: int, end: int,
                    enc: Encoding) -> tuple[str, int, int]:
        """(VR, length, value offset) of an explicit VR element whose VR bytes are not a VR.

        Read as dcmtk does, when the element after it then starts where a
        consistent stream would (see :func:`explicit_reading`): two capital
        letters are a VR newer than this reader, in the 4-byte length form
        of new VRs; anything else (two spaces, NULs, "??") is followed by a
        2-byte length.  The VR is the dictionary's.  Otherwise the element is
        read as implicit VR: writers that switch encodings mid-stream exist,
        and a stream that is implicit throughout is caught before this
        (reader._check_encoding).
        """
        vr = dictionary.vr_for(tag)
        reading = explicit_reading(self.buf, pos, end, enc, tag, vrb, length)
        if reading is not None:
            length, vpos = reading
            form = "a 4-byte" if vpos == pos + 12 else "a 2-byte"
            self.warn(f"invalid VR {bytes(vrb)!r}; read with {form} length and the "
                      f"dictionary's VR {vr}", pos, tag)
            return vr, length, vpos
        self.warn(f"invalid VR {bytes(vrb)!r}; read as implicit VR", pos, tag)
        return vr, enc.u32(self.buf, pos + 4)[0], pos + 8

    def _un_vr(self, tag: int, length: int) -> str:
        """An explicit UN element whose tag the dictionary knows takes the dictionary's VR.

        PS3.5 6.2.2: UN carries its value as implicit VR little endian would;
        a reader that knows the tag may use its VR (as pydicom does by default).
        """
        if length == UNDEFINED_LENGTH:
            return "SQ"
        if (tag >> 16) & 1:
            # Private creators are LO (PS3.5 7.8.1); other private VRs may be in the
            # private dictionary, asked when the element is used (Dataset._adopt_private).
            return "LO" if 0x0010 <= (tag & 0xFFFF) <= 0x00FF else PRIVATE_UN
        return dictionary.vr_for(tag)

    @staticmethod
    def _truncated(message: str, pos: int, tag: int | None = None) -> None:
        """A length that runs past the end of its enclosing item or sequence.

        Its ``partial`` is set where the error leaves the reader (reader.read,
        _lazy_sequence).
        """
        # No local name for the error: a frame holding its own exception is a cycle.
        raise TruncatedError(message, offset=pos, tag=tag)

    def _truncated_value(self, ds: Dataset, tag: int, vr: str, length: int, vpos: int,
                         remaining: int, enc: Encoding, depth: int, from_un: bool) -> Element:
        """A value cut short by the end of the data: keep the header.

        A sequence keeps the items that are there (read leniently to the end
        of the data); any other value raises TruncatedError when used.
        """
        if vr == "SQ":
            self.warn(f"sequence of length {length} is cut short ({remaining} bytes remain); "
                      "its items are read to the end of the data", vpos, tag)
            return Element(tag, "SQ", length, vpos, remaining, ds._ctx,
                           lazy=self._sequence_parser(vpos, vpos + remaining,
                                                      IMPLICIT_LE if from_un else enc, depth + 1,
                                                      ds, tag))
        self.warn(f"value of length {length} is cut short ({remaining} bytes remain); "
                  "reading it will raise", vpos, tag)
        el = Element(tag, vr, length, vpos, remaining, ds._ctx)
        el._defect = TruncatedError(f"length {length} runs past the end of the data "
                                    f"({remaining} bytes remain)", offset=vpos, tag=tag)
        return el

    # -- undefined lengths --------------------------------------------------------------
    def _undefined_length_element(self, ds: Dataset, tag: int, vr: str, vpos: int, end: int,
                                  enc: Encoding, depth: int, explicit: bool, from_un: bool
                                  ) -> tuple[Element, int]:
        if tag == PIXEL_DATA or (vr in ("OB", "OW") and explicit):
            return self._encapsulated(ds, tag, vr, vpos, end, enc)
        if vr == "SQ" or vr == "UN" or " or " in vr:
            # UN of undefined length is an implicit VR little endian sequence (PS3.5 6.2.2);
            # an implicit stream's undefined length element of unknown VR is a sequence too.
            seq_enc = IMPLICIT_LE if from_un else enc
            items, after, size = self.parse_sequence(vpos, end, seq_enc, depth + 1, ds, tag,
                                                     undefined=True)
            return Element(tag, "SQ", UNDEFINED_LENGTH, vpos, size, ds._ctx, value=items), after
        # Another VR with undefined length: its value runs to the sequence delimiter.
        found = _find(self.buf, _SEQUENCE_DELIMITER_BYTES[enc.little_endian], vpos, end)
        if found < 0:
            if end == self.data_end:
                self._at_data_end()
            self._truncated("undefined length value without a Sequence Delimitation Item",
                            vpos, tag)
        self.warn(f"undefined length for VR {vr}", vpos, tag)
        return Element(tag, vr, UNDEFINED_LENGTH, vpos, found - vpos, ds._ctx), found + 8

    def _encapsulated(self, ds: Dataset, tag: int, vr: str, vpos: int, end: int, enc: Encoding
                      ) -> tuple[Element, int]:
        """Encapsulated pixel data: Basic Offset Table item, fragments, sequence delimiter."""
        buf = self.buf
        item = enc.item
        items: list[tuple[int, int, int]] = []
        pos = vpos
        defect = None
        while True:
            if end - pos < 8:
                if pos == end == self.data_end and len(items) > 1:
                    # The last fragment ends the file: only the delimiter is missing, and the
                    # fragments are whole (GDCM decodes them too).
                    self._at_data_end()
                    self.warn("encapsulated pixel data ends without a Sequence Delimitation "
                              "Item; its fragments end with the data and are read", pos, tag)
                    break
                defect = TruncatedError("encapsulated pixel data ends without a Sequence "
                                        "Delimitation Item", offset=pos, tag=tag)
                break
            g, e, length = item(buf, pos)
            item_tag = g << 16 | e
            if item_tag == ITEM:
                if length > end - pos - 8:
                    defect = TruncatedError(f"fragment length {length} runs past the end of the "
                                            f"data ({end - pos - 8} bytes remain)",
                                            offset=pos, tag=tag)
                    break
                self._count_one(pos, tag)
                items.append((pos, pos + 8, length))
                pos += 8 + length
            elif item_tag == SEQUENCE_DELIMITER:
                break
            else:
                defect = MalformedElementError(f"expected a fragment item, found "
                                               f"{format_tag(item_tag)}", offset=pos, tag=tag)
                break
        size = pos - vpos
        # PS3.5 A.4 says OB; OW as written is reported as written, anything else as OB.
        el = Element(tag, vr if vr == "OW" else "OB", UNDEFINED_LENGTH, vpos, size, ds._ctx)
        if defect is not None:
            if isinstance(defect, TruncatedError):
                self._at_data_end()
            self.warn(f"{defect}; the rest of the header is kept, reading pixels will raise",
                      pos, tag)
            el._defect = defect
            return el, end
        if not items:
            el._defect = MalformedElementError("encapsulated pixel data has no Basic Offset "
                                               "Table item", offset=vpos, tag=tag)
        el.encapsulated = EncapsulatedPixelData(buf, items, tag)
        return el, min(pos + 8, end)

    # -- sequences ---------------------------------------------------------------------
    def _sequence_parser(self, start: int, end: int, enc: Encoding, depth: int, parent: Dataset,
                         tag: int) -> Callable[[], list[Dataset]]:
        """What parses a defined-length sequence when its value is first used.

        It holds the parent weakly (and its Context strongly): the parent holds
        the element that holds this, and a strong reference would make a cycle.
        """
        return partial(self._lazy_sequence, start, end, enc, depth, weakref.ref(parent),
                       parent._ctx, tag)

    def parse_private_sequence(self, start: int, end: int, depth: int, parent: Dataset,
                               tag: int) -> list[Dataset]:
        """The items of a defined-length private value the private dictionary says is SQ.

        Called by the dataset once the read is over; the value was read without a VR or as
        UN, so its items are implicit VR little endian (PS3.5 6.2.2).
        """
        items, _, _ = self.parse_sequence(start, end, IMPLICIT_LE, depth, parent, tag,
                                          undefined=False)
        return items

    def _lazy_sequence(self, start: int, end: int, enc: Encoding, depth: int,
                       parent_ref: "weakref.ref[Dataset]", parent_ctx: Context,
                       tag: int) -> list[Dataset]:
        try:
            items, _, _ = self.parse_sequence(start, end, enc, depth, parent_ref(), tag,
                                              undefined=False, parent_ctx=parent_ctx)
        except DicomError as exc:
            exc.partial = parent_ref()  # the dataset whose sequence this is
            raise
        return items

    def parse_sequence(self, pos: int, end: int, enc: Encoding, depth: int,
                       parent: Dataset | None, tag: int, *, undefined: bool,
                       parent_ctx: Context | None = None) -> tuple[list[Dataset], int, int]:
        """Items of a sequence; returns (items, position after the sequence, value size)."""
        if depth > self.limits.max_depth:
            raise LimitExceededError(f"sequences nested deeper than {self.limits.max_depth}",
                                     offset=pos, tag=tag)
        start = pos
        buf = self.buf
        item_header = enc.item
        items: list[Dataset] = []
        while pos < end:
            if end - pos < 8:
                if end == self.data_end:
                    self._at_data_end()
                    self.warn(f"the data ends inside an item header; {end - pos} trailing bytes "
                              "ignored", pos, tag)
                    return items, end, end - start
                self._truncated(f"item header needs 8 bytes, {end - pos} remain", pos, tag)
            g, e, length = item_header(buf, pos)
            item_tag = g << 16 | e
            if item_tag == ITEM:
                self._count_one(pos, tag)
                item = Dataset(buf=buf, little_endian=enc.little_endian,
                               explicit_vr=enc.explicit_vr, parent=parent, offset=pos)
                if parent is None:  # the parent is gone (only this sequence was kept)
                    item._ctx.parent = parent_ctx
                if length == UNDEFINED_LENGTH:
                    pos = self.parse_dataset(item, pos + 8, end, enc, depth,
                                             in_undefined_item=True)
                else:
                    item_end = pos + 8 + length
                    if item_end > end:
                        if end != self.data_end:
                            self._truncated(f"item length {length} runs past the end of "
                                            f"the sequence ({end - pos - 8} bytes remain)",
                                            pos, tag)
                        self._at_data_end()
                        self.warn(f"item length {length} runs past the end of the data; read "
                                  f"to the end ({end - pos - 8} bytes)", pos, tag)
                        item_end = end
                    self.parse_dataset(item, pos + 8, item_end, enc, depth)
                    pos = item_end
                items.append(item)
            elif item_tag == SEQUENCE_DELIMITER:
                if undefined:
                    return items, pos + 8, pos - start
                self.warn("Sequence Delimitation Item in a defined-length sequence; ignored",
                          pos, tag)
                pos += 8
            elif item_tag == ITEM_DELIMITER:
                self.warn("Item Delimitation Item without an item; skipped", pos, tag)
                pos += 8
            else:
                raise MalformedElementError(f"expected an item (FFFE,E000) in the sequence, "
                                            f"found {format_tag(item_tag)}", offset=pos, tag=tag)
        if undefined:
            self._at_data_end()
            self.warn("sequence has no Sequence Delimitation Item before the end of the data",
                      pos, tag)
        return items, pos, pos - start


def _plain_run(records: dict, buf: memoryview, pos: int, end: int, header, u32,
               last_tag: int, stop_tag: int, count: int, last_start: int,
               kept: frozenset[int] | None) -> tuple[int, int, int]:
    """The fast path of parse_dataset: a run of plain explicit VR elements.

    Most elements of a header are such: in order, fitting the data, never a
    sequence; a VR with a 2-byte length, or one with a 4-byte length but SQ and
    UN (OB, OW, UT...: their header whole in the data, an even length but for OB,
    as parse_dataset would store them without a word).  The run stops at the
    first element that is not, which parse_dataset then handles in full.
    Returns (pos, last_tag, count).  The element budget needs no test per
    element: every element takes at least 8 bytes, so the run may only start
    elements up to ``last_start`` (parse_dataset's bound).  With ``kept`` (tags=) only the elements in it
    are stored.
    """
    short_vrs = _SHORT_VRS
    long_vrs = _PLAIN_LONG_VRS
    while pos <= last_start:
        g, e, vrb, length = header(buf, pos)
        tag = g << 16 | e
        after = pos + 8 + length
        if not last_tag < tag < stop_tag or vrb not in short_vrs or after > end or length & 1:
            # not a plain short element: perhaps a plain long one (the rarer case)
            vr = long_vrs.get(vrb)
            if vr is None or not last_tag < tag < stop_tag or end - pos < 12:
                break
            length = u32(buf, pos + 8)[0]
            after = pos + 12 + length  # (an undefined length runs past the end)
            if after > end or (length & 1 and vr != "OB"):
                break
            last_tag = tag
            if kept is None or tag in kept:
                records[tag] = (vr, length, pos + 12)
            pos = after
            count += 1
            continue
        last_tag = tag
        if kept is None or tag in kept:
            records[tag] = (short_vrs[vrb], length, pos + 8)
        pos = after
        count += 1
    return pos, last_tag, count


# -- layouts: runs matched against the last file's -------------------------------------------
# The files of a folder repeat a few header layouts: the same elements in the same order,
# most values of the same length. A run of plain elements (_plain_run) is remembered per
# (encoding, tag before it, stop tag, tags kept) as its elements' header bytes, places and
# records; the next run from the same start compares its header bytes at those places
# (shifted by where it starts) in C, takes the elements whose headers are equal as the walk
# would (equal header bytes: the same tag, VR and length, so the same decision), and walks
# only an element whose header differs (a value of another length: the places after it
# shift by the difference). tests/test_scanner_layout.py checks it against the walk.
_LAYOUTS: dict[tuple, "_Layout"] = {}
_MAX_LAYOUTS = 64
_MIN_LAYOUT = 8  # elements: a shorter run is walked, not remembered


class _Layout:
    """A run of plain elements as one file had it: per element, its header's place and
    bytes, its tag, its record (vr, length, value offset), and whether it was kept."""

    __slots__ = ("n", "starts", "heads", "tags", "vrs", "lengths", "offsets", "entries", "afters",
                 "flags", "volatile", "segments", "proven")

    def __init__(self, data: bytes, start: int, stop: int, header, u32,
                 kept: frozenset[int] | None) -> None:
        starts, stops, tags, vrs, lengths = [], [], [], [], []
        pos = start
        while pos < stop:  # (each element was taken by _plain_run: its header is whole)
            g, e, vrb, length = header(data, pos)
            vr = _SHORT_VRS.get(vrb)
            size = 8
            if vr is None:
                vr, length, size = _PLAIN_LONG_VRS[vrb], u32(data, pos + 8)[0], 12
            starts.append(pos)
            stops.append(pos + size)
            tags.append(g << 16 | e)
            vrs.append(vr)
            lengths.append(length)
            pos += size + length
        self.n = len(starts)
        self.starts = tuple(starts)
        self.heads = tuple(map(data.__getitem__, map(slice, starts, stops)))
        self.tags, self.vrs, self.lengths, self.offsets = \
            tuple(tags), tuple(vrs), tuple(lengths), tuple(stops)
        self.entries = tuple(zip(vrs, lengths, stops))
        self.afters = tuple(map(int.__add__, stops, lengths))
        self.flags = tuple(True for _ in tags) if kept is None else \
            tuple(tag in kept for tag in tags)
        # Elements whose header differed in a later file (a value of another length), and
        # the stretches between them: start -> (end, a pattern of the stretch's header bytes
        # and value lengths), matched in one call.
        self.volatile: set[int] = set()
        self.segments: dict[int, tuple[int, re.Pattern[bytes]]] | None = None
        # Whether a later file took most of its run from this layout: only then are the
        # patterns compiled (about a millisecond: files of layouts each their own never pay it).
        self.proven = False

    def stretches(self) -> dict[int, tuple[int, re.Pattern[bytes]]]:
        """The stretches of elements between the volatile ones (two elements at least)."""
        if self.segments is None:
            segments = {}
            j = 0
            for k in sorted(self.volatile) + [self.n]:
                if k - j >= 2:
                    pattern = b"".join(re.escape(h) + b".{%d}" % length for h, length in
                                       zip(self.heads[j:k], self.lengths[j:k]))
                    segments[j] = (k, re.compile(pattern, re.DOTALL))
                j = k + 1
            self.segments = segments
        return self.segments


def _layout_run(data: bytes, records: dict, buf: memoryview, pos: int, end: int, header, u32,
                last_tag: int, stop_tag: int, count: int, last_start: int,
                kept: frozenset[int] | None) -> tuple[int, int, int]:
    """_plain_run over ``data`` (the bytes ``buf`` views), taking from the layout of the last
    run from the same start the elements whose header bytes are the same (see _Layout);
    the same records, position, last tag and count as _plain_run gives."""
    key = (header, last_tag, stop_tag, kept)
    layout = _LAYOUTS.get(key)
    start, first = pos, count
    matched = 0
    if layout is not None:
        n, starts, heads, tags = layout.n, layout.starts, layout.heads, layout.tags
        afters, flags = layout.afters, layout.flags
        j = 0
        delta = pos - starts[0]
        stretches = layout.stretches() if layout.proven else {}
        while True:
            stretch = stretches.get(j)
            if stretch is not None and stretch[1].match(data, pos, end) is not None:
                k = stretch[0]  # (a stretch of headers the same, values of the same lengths)
            else:  # the first element from j whose header differs (compared in C, lazily)
                places = starts[j:] if j else starts
                if delta:
                    places = map(add, places, repeat(delta))
                k = next(compress(counter(j), map(not_, map(data.startswith,
                                                            heads[j:] if j else heads, places))), n)
            if k > j:
                i = k - 1
                if afters[i] + delta > end or starts[i] + delta > last_start:
                    break  # (the data or the element budget ends within: walked)
                if delta:
                    taken = zip(tags[j:k], zip(layout.vrs[j:k], layout.lengths[j:k],
                                               map(add, layout.offsets[j:k], repeat(delta))))
                else:
                    taken = zip(tags[j:k], layout.entries[j:k])
                records.update(compress(taken, flags[j:k]))
                matched += k - j
                last_tag, count, pos = tags[i], count + k - j, afters[i] + delta
            if k == n or pos > last_start:
                break
            # element k differs from the layout's: one step of the walk
            if k not in layout.volatile:
                layout.volatile.add(k)
                layout.segments = None  # (for the next file)
            after, step_tag, stepped = _plain_run(records, buf, pos, end, header, u32, last_tag,
                                                  stop_tag, count, pos, kept)
            if stepped == count:  # no plain element: the run ends here
                return pos, last_tag, count
            pos, last_tag, count = after, step_tag, stepped
            j = k + 1
            if j == n or step_tag != tags[k]:
                break
            delta = pos - starts[j]
    pos, last_tag, count = _plain_run(records, buf, pos, end, header, u32, last_tag, stop_tag,
                                      count, last_start, kept)
    if count - first >= _MIN_LAYOUT and matched * 2 < count - first:  # (a layout of its own)
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[key] = _Layout(data, start, pos, header, u32, kept)
    elif matched:
        layout.proven = True  # type: ignore[union-attr]
    return pos, last_tag, count
