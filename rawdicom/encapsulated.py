"""Encapsulated pixel data: the item structure of PS3.5 A.4, without decoding.

Encapsulated Pixel Data is a sequence of items: first the Basic Offset Table
(possibly empty), then one or more fragments, then a sequence delimiter.  The
scanner records where each item's bytes lie; this module turns them into
frames, by the Extended Offset Table (7FE0,0001/0002), the Basic Offset Table,
or, when both are empty, by the fragment structure and the codecs' own start
markers.  Decoding the frames is the pixel layer's job.
"""

from __future__ import annotations

import struct

from .errors import PixelDataError

__all__ = ["EncapsulatedPixelData", "frame_start_marker"]

# The first bytes of a codestream: where one appears at the start of a
# fragment, a new frame begins (used only when no offset table says it).
_START_MARKERS = (
    b"\xff\xd8\xff",            # JPEG (all processes) and JPEG-LS: SOI followed by a marker
    b"\xff\x4f\xff\x51",        # JPEG 2000 / HTJ2K codestream: SOC SIZ
    b"\x00\x00\x00\x0cjP  ",    # JPEG 2000 JP2 file format signature box
    b"\xff\x0a",                # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",    # JPEG XL container
)


def frame_start_marker(fragment: bytes | memoryview) -> bool:
    """True when ``fragment`` begins with the start marker of a known codestream."""
    head = bytes(fragment[:8])
    return any(head.startswith(m) for m in _START_MARKERS)


class EncapsulatedPixelData:
    """Where the Basic Offset Table and the fragments of encapsulated pixel data lie.

    ``items`` are ``(item_offset, value_offset, length)`` triples in the
    dataset buffer, the first one being the Basic Offset Table item.
    """

    def __init__(self, buf: memoryview, items: list[tuple[int, int, int]], tag: int) -> None:
        self._buf = buf
        self._items = items
        self.tag = tag

    @property
    def basic_offset_table(self) -> list[int]:
        """The Basic Offset Table's offsets (empty when the table is empty)."""
        if not self._items:
            return []
        item_offset, offset, length = self._items[0]
        if length % 4:
            raise PixelDataError(f"Basic Offset Table length {length} is not a multiple of 4",
                                 offset=item_offset, tag=self.tag)
        return list(struct.unpack_from(f"<{length // 4}I", self._buf, offset))

    @property
    def fragments(self) -> list[memoryview]:
        """Each fragment's bytes, as zero-copy views."""
        buf = self._buf
        return [buf[off:off + n] for _, off, n in self._items[1:]]

    def frames(self, number_of_frames: int = 1, extended_offsets: bytes | None = None,
               extended_lengths: bytes | None = None) -> list[bytes | memoryview]:
        """The encoded bytes of every frame (views where a frame is one fragment)."""
        if number_of_frames < 1:
            raise PixelDataError(f"Number of Frames is {number_of_frames}", tag=self.tag)
        fragments = self._items[1:]
        if not fragments:
            raise PixelDataError("encapsulated pixel data has no fragment", tag=self.tag)
        if extended_offsets:
            return self._frames_from_extended_table(extended_offsets, extended_lengths or b"",
                                                    number_of_frames)
        table = self.basic_offset_table
        if table:
            return self._frames_from_basic_table(table, number_of_frames)
        if number_of_frames == 1:
            return [self._join(fragments)]
        if len(fragments) == number_of_frames:
            return [self._buf[off:off + n] for _, off, n in fragments]
        return self._frames_from_markers(number_of_frames)

    def _join(self, fragments: list[tuple[int, int, int]]) -> bytes | memoryview:
        buf = self._buf
        if len(fragments) == 1:
            _, off, n = fragments[0]
            return buf[off:off + n]
        return b"".join(buf[off:off + n] for _, off, n in fragments)

    def _frames_from_basic_table(self, table: list[int], number_of_frames: int
                                 ) -> list[bytes | memoryview]:
        fragments = self._items[1:]
        base = fragments[0][0]
        starts = {item_offset - base: i for i, (item_offset, _, _) in enumerate(fragments)}
        indices = []
        for k, value in enumerate(table):
            index = starts.get(value)
            if index is None or (indices and index <= indices[-1]):
                raise PixelDataError(f"Basic Offset Table entry {k} ({value}) does not point "
                                     "at a fragment", offset=self._items[0][1], tag=self.tag)
            indices.append(index)
        if len(indices) != number_of_frames:
            raise PixelDataError(f"Basic Offset Table has {len(indices)} entries for "
                                 f"{number_of_frames} frames", offset=self._items[0][1],
                                 tag=self.tag)
        bounds = indices + [len(fragments)]
        return [self._join(fragments[bounds[k]:bounds[k + 1]]) for k in range(len(indices))]

    def _frames_from_extended_table(self, offsets: bytes, lengths: bytes, number_of_frames: int
                                    ) -> list[bytes | memoryview]:
        if len(offsets) % 8 or len(lengths) != len(offsets):
            raise PixelDataError("Extended Offset Table and its lengths differ in size or are "
                                 "not 64-bit values", tag=0x7FE00001)
        count = len(offsets) // 8
        if count != number_of_frames:
            raise PixelDataError(f"Extended Offset Table has {count} entries for "
                                 f"{number_of_frames} frames", tag=0x7FE00001)
        offs = struct.unpack(f"<{count}Q", offsets)
        lens = struct.unpack(f"<{count}Q", lengths)
        fragments = self._items[1:]
        base = fragments[0][0]
        by_start = {item_offset - base: (i, off, n)
                    for i, (item_offset, off, n) in enumerate(fragments)}
        frames: list[bytes | memoryview] = []
        previous = -1
        for k, (start, length) in enumerate(zip(offs, lens)):
            found = by_start.get(start)
            if found is None or length > found[2]:
                raise PixelDataError(f"Extended Offset Table entry {k} (offset {start}, length "
                                     f"{length}) points outside the fragments", tag=0x7FE00001)
            # Each frame its own fragment, in order, as in the Basic Offset Table path: a
            # table repeating one offset would make a small file decode to any number of frames.
            if found[0] <= previous:
                raise PixelDataError(f"Extended Offset Table entry {k} (offset {start}) does not "
                                     "follow the previous frame's fragment", tag=0x7FE00001)
            previous = found[0]
            frames.append(self._buf[found[1]:found[1] + length])
        return frames

    def _frames_from_markers(self, number_of_frames: int) -> list[bytes | memoryview]:
        """Group fragments into frames where a fragment starts a new codestream."""
        fragments = self._items[1:]
        buf = self._buf
        starts = [i for i, (_, off, n) in enumerate(fragments)
                  if frame_start_marker(buf[off:off + min(n, 8)])]
        if len(starts) != number_of_frames or starts[0] != 0:
            raise PixelDataError(
                f"cannot tell the {number_of_frames} frames apart in {len(fragments)} fragments "
                f"without an offset table ({len(starts)} fragments start a codestream)",
                tag=self.tag)
        bounds = starts + [len(fragments)]
        return [self._join(fragments[bounds[k]:bounds[k + 1]]) for k in range(len(starts))]
