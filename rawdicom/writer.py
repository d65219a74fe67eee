"""Writing DICOM: a Dataset -> Part 10 bytes, the mirror image of the scanner.

``write(ds, dst)`` produces the 128-byte preamble, ``DICM``, a file meta
group (explicit VR little endian, its group length computed) and the dataset
in one of the uncompressed transfer syntaxes, the deflated one, or an
encapsulated one when the Pixel Data already is encapsulated.

Values are taken in the cheapest lossless way:

* a value never assigned since it was read is copied as its stored bytes
  (a zero-copy view), byte-swapped by its VR's element size when the byte
  order changes, so converting between the uncompressed transfer syntaxes is
  ``write(read(src), dst, transfer_syntax=...)``;
* an assigned value is encoded by :func:`rawdicom.values.encode_value`
  (padding rules, Specific Character Set); a ``bytes`` value is taken as the
  value bytes in the byte order of the dataset that holds it;
* sequences are always re-encoded item by item (an item may have changed),
  with defined or undefined lengths as asked;
* encapsulated Pixel Data is written as its Basic Offset Table and fragments.

Implicit VR loses the VR (PS3.5 6.2.2, 7.1.3): a reader takes it from the
dictionary, so a sequence whose tag the dictionary does not list as SQ
(private sequences) is written with undefined length, the one form a reader
recognises as a sequence without the VR; other private values read back as
UN bytes, or with their VR where the reader has a private dictionary.  A
private value read without a VR (implicit VR) is written in explicit VR with
the VR the private dictionary gave it; one read as explicit UN stays UN, as
it was read.  UN values are written unchanged in every encoding: their byte
order is unknown, so they are never swapped.  In explicit VR a value too long
for a 2-byte length field is written as UN (PS3.5 6.2.2) in little endian.
Group length elements (gggg,0000) that are present are written with their
length recomputed.  Changing (0008,0005) of a read dataset does not re-encode
the text values already there (their bytes are copied): assign them again.
"""

from __future__ import annotations

import array
import os
import struct
import zlib
from typing import IO, Any, Iterable, Union

from . import dictionary
from .dataset import IN_MEMORY, UNDEFINED_LENGTH, Dataset, Element
from .dictionary import TransferSyntax
from .encapsulated import EncapsulatedPixelData
from .errors import MalformedElementError
from .scanner import LONG_VRS, VALID_VRS
from .values import encode_value

__all__ = ["write", "to_bytes", "set_pixel_frames", "IMPLEMENTATION_CLASS_UID"]

Destination = Union[str, "os.PathLike[str]", IO[bytes]]
Chunk = Union[bytes, bytearray, memoryview]

#: rawdicom's Implementation Class UID (0002,0012): a UUID-derived UID (PS3.5 B.2).
IMPLEMENTATION_CLASS_UID = "2.25.288445488644533142445006337041728197036"

EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"
PIXEL_DATA = 0x7FE00010
_ITEM = 0xFFFEE000
_ITEM_DELIMITER = 0xFFFEE00D
_SEQUENCE_DELIMITER = 0xFFFEE0DD
_EXTENDED_OFFSET_TABLE = 0x7FE00001
_EXTENDED_OFFSET_TABLE_LENGTHS = 0x7FE00002
_NUMBER_OF_FRAMES = 0x00280008
_SOP_CLASS_UID = 0x00080016
_SOP_INSTANCE_UID = 0x00080018
# Meta elements the writer always makes itself (the rest of a read meta group is kept).
_GENERATED_META = frozenset((0x00020000, 0x00020001, 0x00020010, 0x00020012, 0x00020013))

# Binary VRs by the size of the unit whose bytes a change of byte order reverses.
# AT is a pair of 16-bit words; UN is never swapped (its encoding is unknown).
_SWAP_SIZE = {**dict.fromkeys(("US", "SS", "OW", "AT"), 2),
              **dict.fromkeys(("UL", "SL", "FL", "OF", "OL"), 4),
              **dict.fromkeys(("FD", "OD", "SV", "UV", "OV"), 8)}
_ARRAY_CODE = {array.array(code).itemsize: code for code in "QLIH"}
# Text VRs: odd-length values are padded with a space; UI with NUL; bytes with NUL.
_SPACE_PADDED = frozenset(("AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "LT", "PN", "SH",
                           "ST", "TM", "UC", "UR", "UT"))


def write(ds: Dataset, dst: Destination, transfer_syntax: str | TransferSyntax | None = None,
          *, undefined_length_sequences: bool = False) -> None:
    """Write ``ds`` as a DICOM Part 10 file to a path or a binary file object.

    transfer_syntax: a UID (or TransferSyntax); by default the dataset's own,
        else Explicit VR Little Endian.  An encapsulated (compressed) syntax
        needs encapsulated Pixel Data: rawdicom does not compress or decompress,
        so Pixel Data read encapsulated is written in its own syntax only.
    undefined_length_sequences: write sequences and items with undefined
        lengths and delimiters instead of explicit lengths.

    Raises ValueError for a dataset that cannot be written in the syntax asked
    for, and the DicomError of a value that was cut short in the file it came from.
    """
    chunks = _file_chunks(ds, transfer_syntax, undefined_length_sequences)
    if isinstance(dst, (str, os.PathLike)):
        with open(dst, "wb") as f:
            _emit(f, chunks)
    else:
        _emit(dst, chunks)


def to_bytes(ds: Dataset, transfer_syntax: str | TransferSyntax | None = None, *,
             undefined_length_sequences: bool = False) -> bytes:
    """The bytes :func:`write` would write."""
    return b"".join(_file_chunks(ds, transfer_syntax, undefined_length_sequences))


def _emit(f: IO[bytes], chunks: Iterable[Chunk]) -> None:
    for chunk in chunks:
        f.write(chunk)


def set_pixel_frames(ds: Dataset, frames: Iterable[bytes], *,
                     extended_offset_table: bool = False) -> Element:
    """Set encapsulated Pixel Data from encoded frames, one fragment per frame.

    The offsets go to the Basic Offset Table, or with ``extended_offset_table``
    to (7FE0,0001)/(7FE0,0002) with an empty Basic Offset Table (needed past
    4 GiB).  Odd-length frames get a trailing NUL (PS3.5 A.4).  Number of
    Frames is set when there is more than one frame or it is present.  The
    dataset must then be written with the frames' (encapsulated) transfer syntax.
    """
    encoded = [bytes(f) for f in frames]
    if not encoded:
        raise ValueError("encapsulated Pixel Data needs at least one frame")
    lengths = [len(f) for f in encoded]
    padded = [f + b"\0" if len(f) % 2 else f for f in encoded]
    offsets, position = [], 0
    for frame in padded:
        offsets.append(position)
        position += 8 + len(frame)
    if extended_offset_table:
        table = b""
        ds.set(_EXTENDED_OFFSET_TABLE, struct.pack(f"<{len(offsets)}Q", *offsets), "OV")
        ds.set(_EXTENDED_OFFSET_TABLE_LENGTHS, struct.pack(f"<{len(lengths)}Q", *lengths), "OV")
    else:
        if offsets[-1] > 0xFFFFFFFF:
            raise ValueError("frames past 4 GiB need extended_offset_table=True")
        table = struct.pack(f"<{len(offsets)}I", *offsets)
        for tag in (_EXTENDED_OFFSET_TABLE, _EXTENDED_OFFSET_TABLE_LENGTHS):
            if tag in ds:
                del ds[tag]
    stream = bytearray()
    items = []
    for value in (table, *padded):
        items.append((len(stream), len(stream) + 8, len(value)))
        stream += struct.pack("<HHI", 0xFFFE, 0xE000, len(value)) + value
    data = bytes(stream)
    el = ds.set(PIXEL_DATA, data, "OB")
    el.length = UNDEFINED_LENGTH
    el.encapsulated = EncapsulatedPixelData(memoryview(data), items, PIXEL_DATA)
    if len(padded) > 1 or _NUMBER_OF_FRAMES in ds:
        ds.set(_NUMBER_OF_FRAMES, len(padded))
    return el


# -- the file -------------------------------------------------------------------------------
def _file_chunks(ds: Dataset, transfer_syntax: str | TransferSyntax | None,
                 undefined_length_sequences: bool) -> list[Chunk]:
    syntax = _target_syntax(ds, transfer_syntax)
    _check_pixel_data(ds, syntax, asked=transfer_syntax is not None)
    encoder = _Encoder(syntax.explicit_vr, syntax.little_endian, undefined_length_sequences)
    body = encoder.dataset(ds, skip_group_2=True)
    if syntax.deflated:
        # Raw deflate (PS3.5 A.5), padded to an even length.
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = b"".join([*(compressor.compress(c) for c in body), compressor.flush()])
        body = [deflated + b"\0" if len(deflated) % 2 else deflated]
    preamble = ds.preamble if isinstance(ds.preamble, bytes) and len(ds.preamble) == 128 \
        else bytes(128)
    return [preamble, b"DICM", *_meta_group(ds, syntax), *body]


def _target_syntax(ds: Dataset, wanted: str | TransferSyntax | None) -> TransferSyntax:
    """The transfer syntax to write: the one asked for, else the dataset's, else explicit LE."""
    if isinstance(wanted, TransferSyntax):
        return wanted
    if wanted is None:
        own = ds.transfer_syntax
        if isinstance(own, TransferSyntax) and dictionary.transfer_syntax(own.uid) is not None:
            return own
        meta_uid = ds.file_meta.get(0x00020010) if ds.file_meta is not None else None
        wanted = meta_uid if isinstance(meta_uid, str) and dictionary.transfer_syntax(meta_uid) \
            else EXPLICIT_VR_LITTLE_ENDIAN
    syntax = dictionary.transfer_syntax(wanted)
    if syntax is None:
        raise ValueError(f"unknown transfer syntax {wanted!r}")
    return syntax


def _check_pixel_data(ds: Dataset, syntax: TransferSyntax, asked: bool) -> None:
    """Pixel Data must already be in the form the syntax needs: rawdicom has no encoders.

    ``asked``: the caller chose the syntax (a mismatch is a ValueError); else it is
    the dataset's own, and a mismatch is a defect of the file it was read from.
    """
    el = ds._element(PIXEL_DATA)
    if el is None:
        return
    if el._defect is not None:
        raise el._defect  # e.g. fragments cut short by the end of the file read
    if el.encapsulated is not None and not syntax.encapsulated:
        message = (f"the Pixel Data is encapsulated (compressed): it cannot be written as "
                   f"{syntax.name} without decoding it first")
    elif el.encapsulated is None and syntax.encapsulated:
        message = (f"{syntax.name} needs encapsulated Pixel Data (see set_pixel_frames); "
                   "rawdicom does not compress")
    elif (el.encapsulated is not None and el.offset != IN_MEMORY
          and isinstance(ds.transfer_syntax, TransferSyntax)
          and ds.transfer_syntax.uid != syntax.uid):
        # Fragments read from the file are coded for the file's own syntax: writing them
        # under another UID would relabel, say, JPEG frames as RLE.  (Frames set with
        # set_pixel_frames are in memory: their syntax is the caller's to choose.)
        message = (f"the Pixel Data is coded as {ds.transfer_syntax.name}: it cannot be written "
                   f"as {syntax.name} without decoding and re-encoding it")
    else:
        return
    if asked:
        raise ValueError(message)
    raise MalformedElementError(f"the file's own transfer syntax does not fit its Pixel Data: "
                                f"{message}", offset=el.offset, tag=PIXEL_DATA)


def _meta_group(ds: Dataset, syntax: TransferSyntax) -> list[Chunk]:
    """The file meta group: kept elements of the dataset's own, the generated ones."""
    from . import __version__

    encoder = _Encoder(True, True, False)
    entries: dict[int, list[Chunk]] = {}
    for source in (ds, ds.file_meta):  # elements of group 2 in the dataset, then the meta group
        if source is None:
            continue
        for el in source.elements():
            if el.tag >> 16 == 2 and el.tag not in _GENERATED_META:
                entries[el.tag] = encoder.element(source, el)
    for tag, keyword in ((0x00020002, _SOP_CLASS_UID), (0x00020003, _SOP_INSTANCE_UID)):
        value = ds.get(keyword)
        if isinstance(value, str) and value:
            entries[tag] = encoder.value(tag, "UI", encode_value("UI", value, True, ()))
    generated = ((0x00020001, "OB", b"\0\1"), (0x00020010, "UI", syntax.uid),
                 (0x00020012, "UI", IMPLEMENTATION_CLASS_UID),
                 (0x00020013, "SH", f"RAWDICOM_{__version__}"[:16]))
    for tag, vr, value in generated:
        entries[tag] = encoder.value(tag, vr, encode_value(vr, value, True, ()))
    body = [chunk for tag in sorted(entries) for chunk in entries[tag]]
    length = sum(map(len, body))
    return [*encoder.value(0x00020000, "UL", struct.pack("<I", length)), *body]


# -- the dataset ----------------------------------------------------------------------------
def _swap(data: Chunk, size: int) -> Chunk:
    """Reverse the byte order of each ``size``-byte unit; a ragged tail stays as it is."""
    whole = len(data) - len(data) % size
    if not whole:
        return data
    units = array.array(_ARRAY_CODE[size], bytes(data[:whole]))
    units.byteswap()
    return units.tobytes() + bytes(data[whole:])


def _is_sequence(vr: str, value: Any) -> bool:
    return vr == "SQ" or (isinstance(value, list) and bool(value)
                          and all(isinstance(v, Dataset) for v in value))


class _Encoder:
    """Element streams of one encoding, as lists of chunks (views of the source where possible)."""

    def __init__(self, explicit_vr: bool, little_endian: bool, undefined_lengths: bool) -> None:
        self.explicit = explicit_vr
        self.little = little_endian
        self.undefined = undefined_lengths
        order = "<" if little_endian else ">"
        self.tag_and_u32 = struct.Struct(order + "HHI").pack
        self.tag_vr_u16 = struct.Struct(order + "HH2sH").pack
        self.tag_vr_u32 = struct.Struct(order + "HH2s2xI").pack
        self.u32 = struct.Struct(order + "I").pack

    def header(self, tag: int, vr: str, length: int) -> bytes:
        group, elem = tag >> 16, tag & 0xFFFF
        if not self.explicit:
            return self.tag_and_u32(group, elem, length)
        if vr in LONG_VRS:
            return self.tag_vr_u32(group, elem, vr.encode(), length)
        return self.tag_vr_u16(group, elem, vr.encode(), length)

    def dataset(self, ds: Dataset, skip_group_2: bool = False) -> list[Chunk]:
        """The elements of ``ds`` in ascending tag order; group lengths recomputed."""
        out: list[Chunk] = []
        group_length: tuple[int, int] | None = None  # (tag, index in out) awaiting its value
        for el in sorted(ds.elements(), key=lambda e: e.tag):
            tag = el.tag
            if skip_group_2 and tag >> 16 == 2:
                continue
            if group_length is not None and tag >> 16 != group_length[0] >> 16:
                self._close_group(out, *group_length)
                group_length = None
            if tag & 0xFFFF == 0:
                group_length = (tag, len(out))
                continue
            out += self.element(ds, el)
        if group_length is not None:
            self._close_group(out, *group_length)
        return out

    def _close_group(self, out: list[Chunk], tag: int, index: int) -> None:
        length = sum(map(len, out[index:]))
        out[index:index] = self.value(tag, "UL", self.u32(length))

    def element(self, ds: Dataset, el: Element) -> list[Chunk]:
        """One element: stored bytes when unchanged, else its encoded value."""
        vr = el.vr
        if el.encapsulated is not None:
            return self.encapsulated(el)
        stored = ds._buf is not None and el.offset != IN_MEMORY
        if vr == "SQ" or not stored:
            value = el.value
            if _is_sequence(vr, value):
                return self.sequence(el.tag, value or [])
            if isinstance(value, (bytes, bytearray, memoryview)):
                data = self.ordered(vr, value, ds.little_endian)
            else:
                data = encode_value(vr, value, self.little, ds.charset)
        elif el._private is not None and el._private[1] and ds.explicit_vr:
            # Read as explicit UN, given a VR by the private dictionary: written as it was read.
            return self.value(el.tag, "UN", el.raw)
        else:  # as stored: in the byte order of its context (UN values are little endian)
            data = self.ordered(vr, el.raw, el._ctx.little_endian if el._ctx else ds.little_endian)
        return self.value(el.tag, vr, data)

    def ordered(self, vr: str, data: Chunk, little_endian: bool) -> Chunk:
        """Value bytes stored in ``little_endian`` order, in the order being written."""
        size = _SWAP_SIZE.get(vr)
        return data if size is None or little_endian == self.little else _swap(data, size)

    def value(self, tag: int, vr: str, data: Chunk) -> list[Chunk]:
        """Header and value bytes, padded to even length."""
        if vr not in VALID_VRS:
            raise ValueError(f"{dictionary.keyword_for(tag) or hex(tag)}: cannot write VR {vr!r}")
        if len(data) % 2:
            data = bytes(data) + (b" " if vr in _SPACE_PADDED else b"\0")
        if self.explicit and vr not in LONG_VRS and len(data) > 0xFFFF:
            # Too long for a 2-byte length: UN, whose bytes are little endian (PS3.5 6.2.2).
            if not self.little and vr in _SWAP_SIZE:
                data = _swap(data, _SWAP_SIZE[vr])
            vr = "UN"
        if len(data) >= UNDEFINED_LENGTH:
            raise ValueError(f"{dictionary.keyword_for(tag) or hex(tag)}: a value of "
                             f"{len(data)} bytes does not fit a 32-bit length")
        return [self.header(tag, vr, len(data)), data]

    def sequence(self, tag: int, items: list[Dataset]) -> list[Chunk]:
        # In implicit VR only an undefined length marks a sequence the dictionary does not know.
        undefined = self.undefined or (not self.explicit and dictionary.vr_for(tag) != "SQ")
        body: list[Chunk] = []
        for item in items:
            content = self.dataset(item)
            if self.undefined:
                body += [self.tag_and_u32(0xFFFE, 0xE000, UNDEFINED_LENGTH), *content,
                         self.tag_and_u32(0xFFFE, 0xE00D, 0)]
            else:
                body += [self.tag_and_u32(0xFFFE, 0xE000, sum(map(len, content))), *content]
        if undefined:
            return [self.header(tag, "SQ", UNDEFINED_LENGTH), *body,
                    self.tag_and_u32(0xFFFE, 0xE0DD, 0)]
        return [self.header(tag, "SQ", sum(map(len, body))), *body]

    def encapsulated(self, el: Element) -> list[Chunk]:
        """Basic Offset Table item, fragment items, Sequence Delimitation Item (PS3.5 A.4)."""
        pixels = el.encapsulated
        assert pixels is not None
        table = pixels.basic_offset_table
        # The offsets in "<", not in the writer's order: every encapsulated transfer syntax
        # is little endian (PS3.5 A.4), and _check_pixel_data refuses any other target.
        out: list[Chunk] = [self.header(el.tag, "OW" if el.vr == "OW" else "OB",
                                        UNDEFINED_LENGTH),
                            self.tag_and_u32(0xFFFE, 0xE000, 4 * len(table)),
                            struct.pack(f"<{len(table)}I", *table)]
        for fragment in pixels.fragments:
            out += [self.tag_and_u32(0xFFFE, 0xE000, len(fragment)), fragment]
        out.append(self.tag_and_u32(0xFFFE, 0xE0DD, 0))
        return out
